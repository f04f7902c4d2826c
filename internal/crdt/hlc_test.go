package crdt

import (
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// fakeWall is a wall clock that a test moves, forwards and backwards.
type fakeWall struct {
	mu sync.Mutex
	ms int64
}

func (f *fakeWall) now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return time.UnixMilli(f.ms)
}

func (f *fakeWall) set(ms int64) {
	f.mu.Lock()
	f.ms = ms
	f.mu.Unlock()
}

func TestTimestampParts(t *testing.T) {
	wall := time.UnixMilli(1_700_000_123_456)
	ts := MakeTimestamp(wall, 42)
	if !ts.Wall().Equal(wall) || ts.Logical() != 42 {
		t.Errorf("MakeTimestamp round trip: wall %v logical %d", ts.Wall(), ts.Logical())
	}
	if MakeTimestamp(wall, 65535) >= MakeTimestamp(wall.Add(time.Millisecond), 0) {
		t.Error("a later millisecond must order after every counter of the earlier one")
	}
}

// Property: whatever the wall clock does and whatever is observed, every
// reading exceeds every earlier reading and every observed timestamp, and
// equals the wall clock whenever the wall clock is ahead.
func TestClockMonotoneAndObserve(t *testing.T) {
	check(t, "hlc", func(seed uint64) bool {
		r := rand.New(rand.NewPCG(seed, 3))
		w := &fakeWall{ms: 1_700_000_000_000}
		c := NewClock(w.now)
		var last Timestamp
		for range 200 {
			switch r.IntN(4) {
			case 0: // wall jumps forward or back
				w.set(w.ms + int64(r.IntN(200)) - 100)
			case 1: // a timestamp from a node whose clock runs ahead
				seen := MakeTimestamp(time.UnixMilli(w.ms+int64(r.IntN(50))), uint16(r.IntN(1<<16)))
				c.Observe(seen)
				if n := c.Now(); n <= seen || n <= last {
					return false
				} else {
					last = n
				}
			default:
				n := c.Now()
				if n <= last {
					return false
				}
				if wt := MakeTimestamp(w.now(), 0); wt > last && n != wt {
					return false // ahead wall clock: reading is the wall time
				}
				last = n
			}
		}
		return true
	})
}

func TestClockObserveOlderIsNoop(t *testing.T) {
	w := &fakeWall{ms: 5000}
	c := NewClock(w.now)
	a := c.Now()
	c.Observe(a - 100)
	if b := c.Now(); b != a+1 {
		t.Errorf("Now after observing an older stamp = %v, want %v", b, a+1)
	}
}

func TestClockConcurrentUnique(t *testing.T) {
	c := NewClock(nil)
	const g, n = 4, 2000
	out := make([][]Timestamp, g)
	var wg sync.WaitGroup
	for i := range g {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range n {
				out[i] = append(out[i], c.Now())
			}
		}()
	}
	wg.Wait()
	seen := map[Timestamp]bool{}
	for _, s := range out {
		for j, ts := range s {
			if seen[ts] {
				t.Fatalf("duplicate timestamp %v", ts)
			}
			seen[ts] = true
			if j > 0 && ts <= s[j-1] {
				t.Fatalf("readings of one goroutine went backwards")
			}
		}
	}
}
