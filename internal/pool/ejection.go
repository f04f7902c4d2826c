package pool

import "time"

// Ejection is an outlier ejection in force: the member is held out of the
// pool until Until, then reinstated on its own. Count is how many times in
// a row the member has been ejected (each lasts longer); Reason says which
// test ejected it.
type Ejection struct {
	Pool   string    `json:"pool"`
	Member string    `json:"member"`
	At     time.Time `json:"at"`
	Until  time.Time `json:"until"`
	Count  int       `json:"count"`
	Reason string    `json:"reason"`
}

// Active reports whether the ejection holds at now.
func (e *Ejection) Active(now time.Time) bool { return e != nil && now.Before(e.Until) }
