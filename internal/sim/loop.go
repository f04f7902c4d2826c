package sim

import "time"

// event is one thing to do at a virtual instant; seq keeps events of the
// same instant in the order they were scheduled, so a run is deterministic.
type event struct {
	at  int64 // virtual ns since the start
	seq uint64
	fn  func()
}

// loop is the discrete-event loop: a binary heap of events and the virtual
// clock, which jumps from one event to the next. Nothing in a simulation
// runs on another goroutine, so no code under test sees real time pass.
type loop struct {
	now  int64
	seq  uint64
	heap []event
}

func (l *loop) less(i, j int) bool {
	a, b := &l.heap[i], &l.heap[j]
	if a.at != b.at {
		return a.at < b.at
	}
	return a.seq < b.seq
}

// at schedules fn at virtual time t (not before now).
func (l *loop) at(t int64, fn func()) {
	if t < l.now {
		t = l.now
	}
	l.seq++
	l.heap = append(l.heap, event{at: t, seq: l.seq, fn: fn})
	i := len(l.heap) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !l.less(i, p) {
			break
		}
		l.heap[i], l.heap[p] = l.heap[p], l.heap[i]
		i = p
	}
}

// after schedules fn d from now.
func (l *loop) after(d time.Duration, fn func()) { l.at(l.now+int64(d), fn) }

func (l *loop) pop() event {
	h := l.heap
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h[last] = event{}
	h = h[:last]
	l.heap = h
	i := 0
	for {
		c := 2*i + 1
		if c >= len(h) {
			break
		}
		if c+1 < len(h) && l.less(c+1, c) {
			c++
		}
		if !l.less(c, i) {
			break
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
	return top
}

// run executes events up to and including virtual time until, or until
// stop reports true (checked between events).
func (l *loop) run(until int64, stop func() bool) {
	for len(l.heap) > 0 && l.heap[0].at <= until {
		e := l.pop()
		l.now = e.at
		e.fn()
		if stop != nil && stop() {
			return
		}
	}
	if l.now < until {
		l.now = until
	}
}

// every runs fn every d from first, while fn returns true.
func (l *loop) every(first int64, d time.Duration, fn func() bool) {
	var tick func()
	tick = func() {
		if fn() {
			l.after(d, tick)
		}
	}
	l.at(first, tick)
}
