package events

import (
	"context"
	"fmt"
	"slices"

	"github.com/heckhq/heck/internal/store"
)

// Backfill adds the transitions another node listed that this log missed:
// changes decided while this node was down, or on the other side of a
// partition. It returns how many it added.
//
// Laid out in time order with this node's own list of the target's
// changes, a transition is added only when it changes the state the
// target was in just before it (a state it already had is the same change
// heard twice) and the next change in the merged list is not this node's
// own record of the same state (that is the same change, judged here
// later under its own id, as both sides of a healed partition do). Either
// way one outage is listed once. Ids already here are skipped; the log's
// head moves only for a change newer than it.
func (l *Log) Backfill(ctx context.Context, ts []Transition) (int, error) {
	byTarget := map[string][]Transition{}
	for _, t := range ts {
		if t.TargetID == "" || t.ID == "" || t.At.IsZero() {
			continue // not a change this log can place
		}
		byTarget[t.TargetID] = append(byTarget[t.TargetID], t)
	}
	added := 0
	for target, in := range byTarget {
		n, err := l.backfillTarget(ctx, target, in)
		added += n
		if err != nil {
			return added, err
		}
	}
	return added, nil
}

func (l *Log) backfillTarget(ctx context.Context, target string, in []Transition) (int, error) {
	slices.SortFunc(in, func(a, b Transition) int { return a.At.Compare(b.At) })
	first := in[0].At
	// This node's own list from the first incoming change on, and the one
	// change before it.
	local, err := l.Query(ctx, store.TransitionQuery{TargetID: target, From: first})
	if err != nil {
		return 0, fmt.Errorf("backfill %s: %w", target, err)
	}
	before, err := l.Query(ctx, store.TransitionQuery{TargetID: target, To: first, Limit: 1})
	if err != nil {
		return 0, fmt.Errorf("backfill %s: %w", target, err)
	}
	type entry struct {
		Transition
		incoming bool
	}
	known := make(map[string]bool, len(local)+len(before))
	all := make([]entry, 0, len(local)+len(before)+len(in))
	for _, t := range append(before, local...) {
		known[t.ID] = true
		all = append(all, entry{Transition: t})
	}
	for _, t := range in {
		if known[t.ID] {
			continue
		}
		if _, err := l.st.TransitionByID(ctx, t.ID); err == nil {
			continue // stored here, outside the window read
		}
		known[t.ID] = true
		all = append(all, entry{Transition: t, incoming: true})
	}
	// Oldest first; at the same instant this node's own record first.
	slices.SortStableFunc(all, func(a, b entry) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		switch {
		case a.incoming == b.incoming:
			return 0
		case b.incoming:
			return -1
		default:
			return 1
		}
	})
	added := 0
	var prev *Transition // the latest change kept so far
	for i := range all {
		e := &all[i]
		if !e.incoming {
			prev = &e.Transition
			continue
		}
		if prev != nil && prev.To == e.To {
			continue // the target was in that state already
		}
		if i+1 < len(all) && !all[i+1].incoming && all[i+1].To == e.To {
			continue // this node listed the same change just after, itself
		}
		t := e.Transition
		t.Seq = 0
		if _, ok := l.Append(ctx, t); !ok {
			continue
		}
		prev = &e.Transition
		added++
	}
	return added, nil
}
