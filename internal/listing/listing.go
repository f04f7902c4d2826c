// Package listing owns how a list of targets is filtered, ordered and
// paged: the query (state, label selector, kind, pool, free text), the
// stable order by id, and the opaque cursor a page ends with. The REST API
// (GET /api/v1/targets) and the web UI list targets through it, over a
// Source, so that both page alike and neither builds the status of a target
// it does not show.
package listing

import (
	"sort"

	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/target"
	"github.com/heckhq/heck/internal/wire"
)

// Source is what a listing reads: the targets in id order, with their
// spec, state and full status fetched on demand. The listing asks for the
// spec only when the query filters on it, for the state only of the
// targets the spec filters keep (and only when the query filters by
// state), and for the status only of the targets it returns; for one
// target it asks in that order (Spec, State, Status), so a Source may keep
// the last one it built. A Source may be a snapshot of ids whose targets
// go away while it is read: Spec returns nil and Status false for those,
// and the listing skips them.
type Source interface {
	// Len is the number of targets.
	Len() int
	// ID is the id of the i-th target; ids are unique and ascending.
	ID(i int) string
	// Spec is the i-th target's spec, nil when it is gone; the listing
	// only reads it.
	Spec(i int) *target.Spec
	// State is the i-th target's state, as Status would say it.
	State(i int) health.State
	// Status is the i-th target's status as a listing shows it, false
	// when the target is gone.
	Status(i int) (wire.TargetStatus, bool)
}

// Walk calls fn, in id order, with the status of every target of src that
// q selects: the whole list when q is not paged, else at most q.Limit
// targets after q.After. It returns the cursor of the next page ("" when
// there is none) and the first error fn returns, which ends the walk.
func Walk(src Source, q *Query, fn func(ts *wire.TargetStatus) error) (next string, err error) {
	n := src.Len()
	i := 0
	if q.After != "" {
		i = sort.Search(n, func(j int) bool { return src.ID(j) > q.After })
	}
	shown, last := 0, ""
	for ; i < n; i++ {
		if q.filtersSpec() {
			if s := src.Spec(i); s == nil || !q.matchSpec(s) {
				continue
			}
		}
		if q.filtersState() && !q.matchState(src.State(i)) {
			continue
		}
		if q.Paged() && shown == q.Limit {
			// One more target matches: there is a next page (which may
			// turn out empty if that target goes away meanwhile).
			return EncodeCursor(last), nil
		}
		ts, ok := src.Status(i)
		if !ok {
			continue
		}
		if err := fn(&ts); err != nil {
			return "", err
		}
		shown++
		last = src.ID(i)
	}
	return "", nil
}

// Page is one page of a listing.
type Page struct {
	Targets []wire.TargetStatus
	// Next is the cursor of the next page, "" on the last.
	Next string
}

// List collects what Walk walks.
func List(src Source, q *Query) Page {
	var p Page
	if q.Paged() {
		p.Targets = make([]wire.TargetStatus, 0, min(q.Limit, src.Len()))
	}
	p.Next, _ = Walk(src, q, func(ts *wire.TargetStatus) error {
		p.Targets = append(p.Targets, *ts)
		return nil
	})
	if p.Targets == nil {
		p.Targets = []wire.TargetStatus{}
	}
	return p
}

// Statuses is a Source over statuses already built (a backend that has no
// cheaper way to list), ordered by id once.
type Statuses struct {
	ts    []wire.TargetStatus
	order []int32 // ts's indexes by id: sorting these, not the big structs
	specs []target.Spec
}

// FromStatuses returns a Source over ts, which it does not reorder and the
// caller must not change while the Source is read. When a status's Spec
// lacks the id, name, kind or labels, the spec filters see the status's.
func FromStatuses(ts []wire.TargetStatus) *Statuses {
	s := &Statuses{ts: ts, order: make([]int32, len(ts))}
	for i := range s.order {
		s.order[i] = int32(i)
	}
	sort.Slice(s.order, func(i, j int) bool { return ts[s.order[i]].ID < ts[s.order[j]].ID })
	for i := range ts {
		if sp := &ts[i].Spec; sp.ID == "" || sp.Kind == "" || sp.Name == "" && ts[i].Name != "" || sp.Labels == nil && ts[i].Labels != nil {
			s.specs = make([]target.Spec, len(ts))
			break
		}
	}
	if s.specs != nil {
		for i := range ts {
			sp := ts[i].Spec
			if sp.ID == "" {
				sp.ID = ts[i].ID
			}
			if sp.Name == "" {
				sp.Name = ts[i].Name
			}
			if sp.Kind == "" {
				sp.Kind = ts[i].Kind
			}
			if sp.Labels == nil {
				sp.Labels = ts[i].Labels
			}
			s.specs[i] = sp
		}
	}
	return s
}

// Len implements Source.
func (s *Statuses) Len() int { return len(s.ts) }

// ID implements Source.
func (s *Statuses) ID(i int) string { return s.ts[s.order[i]].ID }

// Spec implements Source.
func (s *Statuses) Spec(i int) *target.Spec {
	if s.specs != nil {
		return &s.specs[s.order[i]]
	}
	return &s.ts[s.order[i]].Spec
}

// State implements Source.
func (s *Statuses) State(i int) health.State { return s.ts[s.order[i]].State }

// Status implements Source.
func (s *Statuses) Status(i int) (wire.TargetStatus, bool) { return s.ts[s.order[i]], true }

// Count returns how many targets of src q selects, ignoring its paging,
// and how many of those are in each state: the "n of N" and state totals
// a dashboard shows beside a page. It reads every target's state (a
// status is built per target that the spec filters keep), never a full
// listing's JSON.
func Count(src Source, q *Query) (total int, byState map[health.State]int) {
	byState = map[health.State]int{}
	for i, n := 0, src.Len(); i < n; i++ {
		if q.filtersSpec() {
			if s := src.Spec(i); s == nil || !q.matchSpec(s) {
				continue
			}
		}
		st := src.State(i)
		if q.filtersState() && !q.matchState(st) {
			continue
		}
		total++
		byState[st]++
	}
	return total, byState
}
