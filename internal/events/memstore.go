package events

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/heckhq/heck/internal/store"
)

// MemoryStore is a LogStore in memory, for tests and API fakes.
type MemoryStore struct {
	mu   sync.Mutex
	rows []store.Transition
}

// AddTransitions appends ts, skipping ids already held.
func (m *MemoryStore) AddTransitions(_ context.Context, ts []store.Transition) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, t := range ts {
		if t.ID != "" && slices.ContainsFunc(m.rows, func(r store.Transition) bool { return r.ID == t.ID }) {
			continue
		}
		if t.Seq == 0 {
			t.Seq = int64(len(m.rows)) + 1
			if n := len(m.rows); n > 0 {
				t.Seq = m.rows[n-1].Seq + 1
			}
		}
		m.rows = append(m.rows, t)
	}
	return nil
}

// Transitions returns what q selects, newest first.
func (m *MemoryStore) Transitions(_ context.Context, q store.TransitionQuery) ([]store.Transition, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.Transition
	for _, t := range m.rows {
		if (q.TargetID == "" || t.TargetID == q.TargetID) && !t.At.Before(q.From) && (q.To.IsZero() || t.At.Before(q.To)) && typeMatches(q, t.Type) {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(a, b store.Transition) int {
		if c := b.At.Compare(a.At); c != 0 {
			return c
		}
		return int(b.Seq - a.Seq)
	})
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}

// TransitionsAfter returns up to limit transitions after seq, in order.
func (m *MemoryStore) TransitionsAfter(_ context.Context, after int64, limit int) ([]store.Transition, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.Transition
	for _, t := range m.rows {
		if t.Seq > after && (limit <= 0 || len(out) < limit) {
			out = append(out, t)
		}
	}
	return out, nil
}

// TransitionByID returns the transition with id.
func (m *MemoryStore) TransitionByID(_ context.Context, id string) (store.Transition, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, t := range m.rows {
		if t.ID == id {
			return t, nil
		}
	}
	return store.Transition{}, fmt.Errorf("transition %s: %w", id, store.ErrNotFound)
}

// TransitionHeads returns each target's latest transition and the last seq.
func (m *MemoryStore) TransitionHeads(_ context.Context) ([]store.Transition, int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	heads := map[string]store.Transition{}
	var last int64
	for _, t := range m.rows {
		if t.Type != "" {
			continue
		}
		if h, ok := heads[t.TargetID]; !ok || t.At.After(h.At) || t.At.Equal(h.At) && t.Seq > h.Seq {
			heads[t.TargetID] = t
		}
		last = max(last, t.Seq)
	}
	out := make([]store.Transition, 0, len(heads))
	for _, h := range heads {
		out = append(out, h)
	}
	return out, last, nil
}

// NewMemoryLog returns a Log over a MemoryStore that writes through at
// once (no Run needed): for tests and API fakes.
func NewMemoryLog() *Log {
	l, _ := OpenLog(context.Background(), &MemoryStore{}, LogOptions{})
	l.sync = true
	return l
}

// typeMatches applies a query's type filter (see store.TransitionQuery).
func typeMatches(q store.TransitionQuery, typ string) bool {
	switch {
	case q.Type == store.TypeTransition:
		return typ == ""
	case q.Type != "":
		return typ == q.Type
	}
	return q.Events || typ == ""
}
