package pool

import (
	"time"

	"github.com/heckhq/heck/internal/objects"
	"github.com/heckhq/heck/internal/target"
)

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
	// Test is the test that ejected it: ReasonFailures, ReasonErrorRate
	// or ReasonLatency.
	Test string `json:"test,omitempty"`
}

// Active reports whether the ejection holds at now.
func (e *Ejection) Active(now time.Time) bool { return e != nil && now.Before(e.Until) }

// EjectionKind is the registration of ejections as replicated objects,
// keyed pool/member: the pool's judge writes them, every node reads them.
var EjectionKind = objects.Kind[Ejection]{
	Name: "ejection",
	Validate: func(key string, e Ejection) error {
		if key != e.Key() || !ValidName(e.Pool) || !target.ValidID(e.Member) || e.Until.Before(e.At) || e.Count < 1 {
			return target.FieldError{Field: "ejection", Value: key, Problem: "is not a valid ejection",
				Fix: "key it pool/member, with until after at and a count of 1 or more"}
		}
		return nil
	},
}

// Ejections is the replicated set of ejections.
type Ejections = objects.Collection[Ejection]

// State is a pool's panic state as its judge last decided it, replicated
// (kind "poolstate", keyed by pool name) so that every node records the
// same panic events, with the same ids, whichever node judged.
type State struct {
	Pool    string    `json:"pool"`
	Panic   bool      `json:"panic"`
	Since   time.Time `json:"since"`
	Healthy int       `json:"healthy"`
	Members int       `json:"members"`
}

// StateKind is the registration of pool states.
var StateKind = objects.Kind[State]{
	Name: "poolstate",
	Validate: func(key string, s State) error {
		if key != s.Pool || !ValidName(s.Pool) || s.Healthy < 0 || s.Members < s.Healthy {
			return target.FieldError{Field: "poolstate", Value: key, Problem: "is not a valid pool state",
				Fix: "key it by the pool's name, with 0 <= healthy <= members"}
		}
		return nil
	},
}
