// Package apitest provides an in-memory api.Backend for tests of the API,
// its client and the command line.
package apitest

import (
	"context"
	"sync"
	"time"

	"github.com/heckhq/heck/internal/api"
	"github.com/heckhq/heck/internal/events"
	"github.com/heckhq/heck/internal/history"
	"github.com/heckhq/heck/internal/store"
	"github.com/heckhq/heck/internal/target"
)

// Backend is an in-memory api.Backend. Its exported fields may be set
// before use; its methods are safe for concurrent use.
type Backend struct {
	// Bus carries the transitions Publish sends to subscribers.
	Bus *events.Bus
	// SubscriptionSize is the buffer of each subscription (default 16).
	SubscriptionSize int

	mu          sync.Mutex
	targets     map[string]api.TargetStatus
	points      map[string][]history.Point
	uptime      map[string]history.Uptime
	transitions map[string][]events.Transition
	readyErr    error
	putErr      error
	// lastRange records the last History query.
	lastFrom, lastTo time.Time
	lastStep         time.Duration
}

// New returns an empty backend.
func New() *Backend {
	return &Backend{Bus: events.NewBus(), targets: map[string]api.TargetStatus{},
		points: map[string][]history.Point{}, uptime: map[string]history.Uptime{},
		transitions: map[string][]events.Transition{}}
}

// Set adds or replaces a target's status as is.
func (b *Backend) Set(st api.TargetStatus) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.targets[st.ID] = st
}

// SetHistory sets what History, Uptime and Transitions return for id.
func (b *Backend) SetHistory(id string, pts []history.Point, u history.Uptime, ts []events.Transition) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.points[id], b.uptime[id], b.transitions[id] = pts, u, ts
}

// SetReady sets the error Ready returns.
func (b *Backend) SetReady(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.readyErr = err
}

// SetPutError sets the error PutTarget returns.
func (b *Backend) SetPutError(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.putErr = err
}

// LastRange returns the range of the last History call.
func (b *Backend) LastRange() (from, to time.Time, step time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.lastFrom, b.lastTo, b.lastStep
}

// Spec returns the stored spec of id, unredacted.
func (b *Backend) Spec(id string) (target.Spec, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	st, ok := b.targets[id]
	return st.Spec, ok
}

// Publish sends t to every subscriber.
func (b *Backend) Publish(t events.Transition) { b.Bus.Publish(t) }

// Targets implements api.Backend.
func (b *Backend) Targets(context.Context) []api.TargetStatus {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]api.TargetStatus, 0, len(b.targets))
	for _, t := range b.targets {
		out = append(out, t)
	}
	return out
}

// Target implements api.Backend.
func (b *Backend) Target(_ context.Context, id string) (api.TargetStatus, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	t, ok := b.targets[id]
	return t, ok
}

// PutTarget implements api.Backend.
func (b *Backend) PutTarget(_ context.Context, spec target.Spec) (bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.putErr != nil {
		return false, b.putErr
	}
	old, ok := b.targets[spec.ID]
	st := api.StatusOf(spec)
	if ok {
		st.State, st.Since, st.Cause, st.Last, st.Recent = old.State, old.Since, old.Cause, old.Last, old.Recent
	}
	b.targets[spec.ID] = st
	return !ok, nil
}

// DeleteTarget implements api.Backend.
func (b *Backend) DeleteTarget(_ context.Context, id string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.targets[id]; !ok {
		return store.ErrNotFound
	}
	delete(b.targets, id)
	return nil
}

// History implements api.Backend.
func (b *Backend) History(_ context.Context, id string, from, to time.Time, step time.Duration) ([]history.Point, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lastFrom, b.lastTo, b.lastStep = from, to, step
	return b.points[id], nil
}

// Uptime implements api.Backend.
func (b *Backend) Uptime(_ context.Context, id string) (history.Uptime, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if u, ok := b.uptime[id]; ok {
		return u, nil
	}
	return history.Uptime{Day: -1, Week: -1, Month: -1}, nil
}

// Transitions implements api.Backend.
func (b *Backend) Transitions(_ context.Context, id string, limit int) ([]events.Transition, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	ts := b.transitions[id]
	if len(ts) > limit {
		ts = ts[:limit]
	}
	return ts, nil
}

// Subscribe implements api.Backend.
func (b *Backend) Subscribe() *events.Subscription {
	n := b.SubscriptionSize
	if n <= 0 {
		n = 16
	}
	return b.Bus.Subscribe(n)
}

// Ready implements api.Backend.
func (b *Backend) Ready(context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.readyErr
}

var _ api.Backend = (*Backend)(nil)
