// Package events owns the stream of state transitions: the one place where
// every consumer (the store, the server-sent event stream, metrics, and
// later notifications) learns that a target went up or down.
//
// A Bus fans each transition out to its subscribers without ever blocking
// the publisher: a subscriber that falls behind by more than its buffer
// loses the oldest transitions it has not read and is told how many.
package events

import (
	"sync"
	"time"

	"github.com/heckhq/heck/internal/health"
)

// Transition is a change of a target's state.
type Transition struct {
	// ID is derived from the change itself (the target, and the observer
	// and sequence of the observation that made it), so every node gives
	// the same change the same id.
	ID string `json:"id,omitempty"`
	// Seq is the transition's position in this node's log (its order of
	// arrival here; it differs between nodes): the cursor of readers.
	Seq      int64        `json:"-"`
	TargetID string       `json:"target_id"`
	From     health.State `json:"from"`
	To       health.State `json:"to"`
	At       time.Time    `json:"at"`
	// Cause is the human message of the result that tipped the state.
	Cause string `json:"cause"`
	// Observer is the node that judged it.
	Observer string `json:"observer,omitempty"`
}

// Bus fans transitions out to subscribers.
type Bus struct {
	mu     sync.Mutex
	subs   map[*Subscription]struct{}
	closed bool
}

// NewBus returns an empty bus.
func NewBus() *Bus { return &Bus{subs: map[*Subscription]struct{}{}} }

// Subscription receives transitions published after it was made.
type Subscription struct {
	bus     *Bus
	mu      sync.Mutex
	buf     []Transition
	size    int
	dropped uint64
	notify  chan struct{}
	done    chan struct{}
	once    sync.Once
}

// Subscribe returns a subscription that buffers up to size transitions.
func (b *Bus) Subscribe(size int) *Subscription {
	if size < 1 {
		size = 1
	}
	s := &Subscription{bus: b, size: size, notify: make(chan struct{}, 1), done: make(chan struct{})}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		s.once.Do(func() { close(s.done) })
		return s
	}
	b.subs[s] = struct{}{}
	return s
}

// Publish hands t to every subscriber. It never blocks.
func (b *Bus) Publish(t Transition) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		s.push(t)
	}
}

// Close ends every subscription.
func (b *Bus) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	for s := range b.subs {
		s.once.Do(func() { close(s.done) })
		delete(b.subs, s)
	}
}

func (s *Subscription) push(t Transition) {
	s.mu.Lock()
	if len(s.buf) >= s.size {
		copy(s.buf, s.buf[1:])
		s.buf = s.buf[:len(s.buf)-1]
		s.dropped++
	}
	s.buf = append(s.buf, t)
	s.mu.Unlock()
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// C is signalled whenever transitions are waiting; read them with Drain.
func (s *Subscription) C() <-chan struct{} { return s.notify }

// Done is closed when the subscription or its bus is closed.
func (s *Subscription) Done() <-chan struct{} { return s.done }

// Drain returns the waiting transitions and how many were dropped since
// the last Drain because the subscriber fell behind.
func (s *Subscription) Drain() (ts []Transition, dropped uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ts, s.buf = s.buf, nil
	dropped, s.dropped = s.dropped, 0
	return ts, dropped
}

// Close ends the subscription.
func (s *Subscription) Close() {
	s.bus.mu.Lock()
	delete(s.bus.subs, s)
	s.bus.mu.Unlock()
	s.once.Do(func() { close(s.done) })
}
