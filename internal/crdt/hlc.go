package crdt

import (
	"sync"
	"time"
)

// Timestamp is a hybrid logical clock reading: the upper 48 bits are
// milliseconds since the Unix epoch, the lower 16 a logical counter that
// orders events within one millisecond or when a clock runs behind a
// timestamp it has seen. Larger is later; comparison is integer comparison.
type Timestamp uint64

const logicalBits = 16

// Wall returns the physical part of t.
func (t Timestamp) Wall() time.Time {
	return time.UnixMilli(int64(t >> logicalBits))
}

// Logical returns the logical counter of t.
func (t Timestamp) Logical() uint16 { return uint16(t) }

// MakeTimestamp builds a timestamp from a wall time and a counter.
func MakeTimestamp(wall time.Time, logical uint16) Timestamp {
	return Timestamp(uint64(wall.UnixMilli())<<logicalBits | uint64(logical))
}

// Clock is a hybrid logical clock (Kulkarni et al.): its readings never go
// backwards, always exceed every timestamp it was told about, and stay close
// to wall time. Safe for concurrent use.
type Clock struct {
	mu   sync.Mutex
	last Timestamp
	now  func() time.Time
}

// NewClock returns a clock reading now (time.Now when nil).
func NewClock(now func() time.Time) *Clock {
	if now == nil {
		now = time.Now
	}
	return &Clock{now: now}
}

// Now returns a timestamp later than every one returned or observed before.
func (c *Clock) Now() Timestamp {
	c.mu.Lock()
	defer c.mu.Unlock()
	wall := MakeTimestamp(c.now(), 0)
	if wall > c.last {
		c.last = wall
	} else {
		c.last++
	}
	return c.last
}

// Observe moves the clock past a timestamp received from another node, so
// that this node's next write orders after it.
func (c *Clock) Observe(t Timestamp) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t > c.last {
		c.last = t
	}
}
