package health

import (
	"slices"
	"time"
)

// Verdict is what heck says of a target, derived from observations.
type Verdict struct {
	// State is the verdict: the owners' (majority) state, Stale when no
	// owner observation is fresh, Unknown when nothing was observed.
	State State
	// Last is the last real state behind a Stale verdict (State otherwise).
	Last State
	// Observer and At say whose observation the verdict rests on and how
	// fresh it is: the later of its probe time and its observer's
	// watermark.
	Observer string
	At       time.Time
	// Stale is set when the observation the verdict rests on is older
	// than StaleAfter intervals.
	Stale bool
	// Fallback is set when no current owner has observed the target and
	// the verdict rests on the freshest observation of any observer.
	Fallback bool
	// Observations are every observation of the target, sorted by
	// observer, for display.
	Observations []Observation
}

// severity orders states for breaking ties among owners: the worse state
// wins, so that a split between vantage points never hides a failure.
var severity = [...]int{Unknown: 0, Up: 1, Late: 2, Degraded: 3, Impacted: 4, Down: 5, Stale: -1}

func worse(a, b State) bool {
	sa, sb := -1, -1
	if int(a) < len(severity) {
		sa = severity[a]
	}
	if int(b) < len(severity) {
		sb = severity[b]
	}
	return sa > sb
}

// freshness returns when o was last vouched for: its probe time, or its
// observer's watermark when that is later and covers o. A watermark
// ("everything I probe was probed as of At") covers the observer's
// observations of the same life (sequence epoch) that it has not released:
// an observer that stops probing a target releases it, and a restarted one
// republishes what it probes under a new epoch.
func (t *Table) freshness(o *Observation) time.Time {
	at := o.At
	l := t.observers[o.Observer]
	if o.Released || l == nil || !l.hasWM || !l.wm.At.After(at) || SeqEpoch(l.wm.Seq) != SeqEpoch(o.Seq) {
		return at
	}
	return l.wm.At
}

func intervalOf(o *Observation) time.Duration {
	if o.Interval > 0 {
		return o.Interval
	}
	return DefaultInterval
}

// Verdict derives the state of targetID from the observations of its
// current owners (owners, as the ring computes them), judged at now.
//
//   - An observation is fresh while the later of its probe time and its
//     observer's watermark is within StaleAfter (3) intervals of now.
//   - Fresh owner observations vote; the state with most votes wins, and a
//     tie goes to the worse state (down > impacted > degraded > late > up >
//     unknown), so a split between vantage points never hides a failure.
//     Unknown votes count only when no owner has anything better.
//   - When no owner observation is fresh, the verdict is Stale, with Last
//     holding the freshest owner observation's state.
//   - When no owner has observed the target at all (new owners, or a view
//     change), the freshest observation of any observer stands in alone,
//     with Fallback set, and Stale as above.
//   - A released observation (its observer stopped probing the target)
//     never votes and is never fresh; it stands in, as Stale, only when
//     there is nothing else.
func (t *Table) Verdict(targetID string, owners []string, now time.Time) Verdict {
	t.mu.RLock()
	defer t.mu.RUnlock()
	row := t.targets[targetID]
	v := Verdict{Observations: slices.Clone(row)}
	if len(row) == 0 {
		return v
	}
	type cand struct {
		o     *Observation
		at    time.Time
		fresh bool
	}
	minStale := t.MinStale()
	judge := func(o *Observation) cand {
		iv := intervalOf(o)
		at := t.freshness(o)
		return cand{o: o, at: at, fresh: !o.Released && now.Sub(at) <= max(time.Duration(t.opts.StaleAfter)*iv, minStale)}
	}
	var owned []cand
	for i := range v.Observations {
		o := &v.Observations[i]
		if !o.Released && slices.Contains(owners, o.Observer) {
			owned = append(owned, judge(o))
		}
	}
	if len(owned) == 0 {
		// No owner has a word: the freshest observation of anyone, one
		// still probed before one released.
		v.Fallback = true
		var best *cand
		for i := range v.Observations {
			c := judge(&v.Observations[i])
			if best == nil || best.o.Released && !c.o.Released ||
				best.o.Released == c.o.Released && c.at.After(best.at) {
				best = &c
			}
		}
		owned = append(owned, *best)
	}

	// Votes among fresh observations.
	var votes [Stale + 1]int
	anyFresh := false
	for _, c := range owned {
		if c.fresh && c.o.State <= Stale {
			votes[c.o.State]++
			anyFresh = true
		}
	}
	if !anyFresh {
		best := owned[0]
		for _, c := range owned[1:] {
			if c.at.After(best.at) {
				best = c
			}
		}
		v.State, v.Last, v.Observer, v.At, v.Stale = Stale, best.o.State, best.o.Observer, best.at, true
		return v
	}
	win := Unknown
	for s := Unknown + 1; s <= Stale; s++ {
		if votes[s] > votes[win] || votes[s] == votes[win] && votes[s] > 0 && worse(s, win) || win == Unknown && votes[s] > 0 {
			win = s
		}
	}
	// The freshest fresh observation in the winning state speaks for it.
	var best *cand
	for i := range owned {
		c := &owned[i]
		if c.fresh && c.o.State == win && (best == nil || c.at.After(best.at)) {
			best = c
		}
	}
	v.State, v.Last, v.Observer, v.At = win, win, best.o.Observer, best.at
	return v
}
