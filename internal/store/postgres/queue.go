package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/heckhq/heck/internal/store"
)

// DefaultQueue is how many records (raw results and rollups) may wait in
// memory for the database by default.
const DefaultQueue = 1_000_000

// errClosed is returned by writes to a closed store.
var errClosed = errors.New("the postgres store is closed")

// deque is a FIFO ring buffer whose taken items can be put back at the
// front (a batch that failed to write goes back where it was).
type deque[T any] struct {
	buf  []T
	head int
	n    int
}

func (d *deque[T]) len() int { return d.n }

func (d *deque[T]) grow(need int) {
	if need <= len(d.buf) {
		return
	}
	c := max(16, 2*len(d.buf))
	for c < need {
		c *= 2
	}
	nb := make([]T, c)
	for i := range d.n {
		nb[i] = d.buf[(d.head+i)%len(d.buf)]
	}
	d.buf, d.head = nb, 0
}

func (d *deque[T]) pushBack(v T) {
	d.grow(d.n + 1)
	d.buf[(d.head+d.n)%len(d.buf)] = v
	d.n++
}

// pushFront puts vs back at the front, vs[0] first.
func (d *deque[T]) pushFront(vs []T) {
	d.grow(d.n + len(vs))
	for i := len(vs) - 1; i >= 0; i-- {
		d.head = (d.head - 1 + len(d.buf)) % len(d.buf)
		d.buf[d.head] = vs[i]
		d.n++
	}
}

// front returns the first item; the deque must not be empty.
func (d *deque[T]) front() *T { return &d.buf[d.head] }

// popFront removes and returns the first item.
func (d *deque[T]) popFront() T {
	var zero T
	v := d.buf[d.head]
	d.buf[d.head] = zero
	d.head = (d.head + 1) % len(d.buf)
	d.n--
	if d.n == 0 {
		d.head = 0
		if len(d.buf) > 1024 {
			d.buf = nil // let a drained burst's memory go
		}
	}
	return v
}

// queuedResult is a raw result waiting for the database, with the
// sequence of the call that acknowledged it.
type queuedResult struct {
	seq uint64
	r   store.Result
}

// queuedRollups are one AddRollups call's rollups, written together so a
// reader never sees part of a call.
type queuedRollups struct {
	seq uint64
	rs  []store.Rollup
}

// batch is what the flusher writes in one transaction.
type batch struct {
	results []queuedResult
	rollups []queuedRollups
}

func (b *batch) empty() bool { return len(b.results) == 0 && len(b.rollups) == 0 }

func (b *batch) rollupCount() int {
	n := 0
	for _, c := range b.rollups {
		n += len(c.rs)
	}
	return n
}

// DropReport says which raw results a full queue dropped since the last
// report: their number, the total so far, and the range of their times.
type DropReport struct {
	Dropped        uint64
	Total          uint64
	Oldest, Newest time.Time
}

// QueueStats are the write queue's figures, for metrics.
type QueueStats struct {
	// QueuedResults and QueuedRollups wait in memory (a batch being
	// written included).
	QueuedResults, QueuedRollups int
	// Written counts records committed (raw results and rollups).
	Written uint64
	// Dropped counts raw results dropped because the queue was full.
	Dropped uint64
	// Rejected counts records the database refused as invalid (a data
	// error), dropped after being written alone.
	Rejected uint64
	// Failures counts failed batch writes (retried).
	Failures uint64
}

// queue holds acknowledged writes until the flusher commits them. It is
// bounded by limit records (raw results plus rollups, not counting the
// batch being written): when full, the oldest raw results are dropped;
// rollups are never dropped, a call that finds the queue full of them
// waits for room.
type queue struct {
	mu      sync.Mutex
	limit   int
	results deque[queuedResult]
	rollups deque[queuedRollups]
	rollupN int // rollups in the deque

	seq         uint64          // sequence of the last acknowledged call
	inflightMin uint64          // lowest sequence in the batch being written; 0: none
	inflightN   [2]int          // results, rollups being written
	inflight    []queuedRollups // the rollups of the batch being written
	closed      bool

	// changed is closed (and replaced) whenever records settle, come back
	// or a write fails: what barrier waiters and full-queue waiters wait on.
	changed chan struct{}
	// wake tells the flusher there is work.
	wake chan struct{}

	failures uint64
	lastErr  error
	waiting  int // barrier calls waiting (for tests)

	written, dropped, rejected uint64
	// the drops not yet reported
	unreported     uint64
	oldest, newest time.Time
}

func newQueue(limit int) *queue {
	return &queue{limit: limit, changed: make(chan struct{}), wake: make(chan struct{}, 1)}
}

// size is the records counted against limit. Called with mu held.
func (q *queue) size() int { return q.results.len() + q.rollupN }

// notify wakes every waiter. Called with mu held.
func (q *queue) notify() {
	close(q.changed)
	q.changed = make(chan struct{})
}

func (q *queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// noteDrop counts one dropped raw result. Called with mu held.
func (q *queue) noteDrop(r *store.Result) {
	q.dropped++
	if q.unreported == 0 || r.At.Before(q.oldest) {
		q.oldest = r.At
	}
	if q.unreported == 0 || r.At.After(q.newest) {
		q.newest = r.At
	}
	q.unreported++
}

// dropOldest drops the oldest queued raw result; false when none is
// queued. Called with mu held.
func (q *queue) dropOldest() bool {
	if q.results.len() == 0 {
		return false
	}
	r := q.results.popFront()
	q.noteDrop(&r.r)
	return true
}

// addResults acknowledges rs. It never waits: a full queue drops its
// oldest raw results, and when it holds none (it is full of rollups) the
// oldest of rs themselves.
func (q *queue) addResults(rs []store.Result) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return errClosed
	}
	q.seq++
	for i := range rs {
		if q.size() >= q.limit && !q.dropOldest() {
			q.noteDrop(&rs[i])
			continue
		}
		q.results.pushBack(queuedResult{seq: q.seq, r: rs[i]})
	}
	q.signal()
	return nil
}

// addRollups acknowledges rs, dropping raw results to make room; when the
// queue is full of rollups it waits for room until ctx is done or wait
// passes. A call larger than the whole queue goes in when the queue is
// empty.
func (q *queue) addRollups(ctx context.Context, rs []store.Rollup, wait time.Duration) error {
	var timeout <-chan time.Time
	q.mu.Lock()
	for {
		if q.closed {
			q.mu.Unlock()
			return errClosed
		}
		for q.size()+len(rs) > q.limit && q.dropOldest() {
		}
		if q.size()+len(rs) <= q.limit || q.size() == 0 {
			q.seq++
			q.rollups.pushBack(queuedRollups{seq: q.seq, rs: rs})
			q.rollupN += len(rs)
			q.signal()
			q.mu.Unlock()
			return nil
		}
		ch, last := q.changed, q.lastErr
		q.mu.Unlock()
		if timeout == nil {
			t := time.NewTimer(wait)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("the write queue is full of %d rollups waiting for the database: %w", q.limit, ctx.Err())
		case <-timeout:
			if last == nil {
				last = errors.New("writes are slower than the rollups arrive")
			}
			return fmt.Errorf("the write queue is full of rollups waiting for the database (queue %d; raise store.postgres.queue, or check the database): %w",
				q.limit, last)
		}
		q.mu.Lock()
	}
}

// take removes up to max records (at least one call of rollups) from the
// queue as the next batch.
func (q *queue) take(maxN int) batch {
	q.mu.Lock()
	defer q.mu.Unlock()
	var b batch
	for q.results.len() > 0 && len(b.results) < maxN {
		b.results = append(b.results, q.results.popFront())
	}
	n := 0
	for q.rollups.len() > 0 && (n == 0 || n+len(q.rollups.front().rs) <= maxN) {
		c := q.rollups.popFront()
		q.rollupN -= len(c.rs)
		n += len(c.rs)
		b.rollups = append(b.rollups, c)
	}
	q.inflightMin = 0
	if len(b.results) > 0 {
		q.inflightMin = b.results[0].seq
	}
	if len(b.rollups) > 0 && (q.inflightMin == 0 || b.rollups[0].seq < q.inflightMin) {
		q.inflightMin = b.rollups[0].seq
	}
	q.inflightN = [2]int{len(b.results), n}
	q.inflight = b.rollups
	if !b.empty() {
		q.notify() // rollup waiters: there is room now
	}
	return b
}

// done settles a written batch; left is what of it is still unwritten (all
// of it when err is not nil, or the rest of a split batch), put back at
// the front. Putting back may overfill the queue: the oldest raw results
// go first.
func (q *queue) done(b, left batch, rejected int, err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.inflightMin, q.inflightN, q.inflight = 0, [2]int{}, nil
	q.rejected += uint64(rejected)
	q.written += uint64(len(b.results)-len(left.results)+b.rollupCount()-left.rollupCount()) - uint64(rejected)
	if !left.empty() {
		q.results.pushFront(left.results)
		q.rollups.pushFront(left.rollups)
		q.rollupN += left.rollupCount()
		for q.size() > q.limit && q.dropOldest() {
		}
	}
	if err != nil {
		q.failures++
		q.lastErr = err
	}
	q.notify()
}

// settled reports whether every call up to seq is written (or dropped).
// Called with mu held.
func (q *queue) settled(seq uint64) bool {
	lo := q.inflightMin
	if q.results.len() > 0 && (lo == 0 || q.results.front().seq < lo) {
		lo = q.results.front().seq
	}
	if q.rollups.len() > 0 && (lo == 0 || q.rollups.front().seq < lo) {
		lo = q.rollups.front().seq
	}
	return lo == 0 || lo > seq
}

// barrier waits until every write acknowledged before the call is in the
// database, so a read sees its own writes. It gives up with the error of a
// write that fails meanwhile (the database is unreachable, so the read
// would fail too: during an outage a read waits for the writer's next
// attempt, at most Options.RetryMax), or when ctx is done.
func (q *queue) barrier(ctx context.Context) error {
	q.mu.Lock()
	seq, fails := q.seq, q.failures
	for !q.settled(seq) {
		if q.failures > fails {
			err := q.lastErr
			n := q.size() + q.inflightN[0] + q.inflightN[1]
			q.mu.Unlock()
			return fmt.Errorf("%d records wait for the database: %w", n, err)
		}
		ch := q.changed
		q.waiting++
		q.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			q.mu.Lock()
			q.waiting--
			q.mu.Unlock()
			return fmt.Errorf("wait for queued writes: %w", ctx.Err())
		}
		q.mu.Lock()
		q.waiting--
	}
	q.mu.Unlock()
	return nil
}

// close refuses further writes.
func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.notify()
	q.mu.Unlock()
	q.signal()
}

// dropReport returns the drops since the last report, if any.
func (q *queue) dropReport() (DropReport, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.unreported == 0 {
		return DropReport{}, false
	}
	r := DropReport{Dropped: q.unreported, Total: q.dropped, Oldest: q.oldest, Newest: q.newest}
	q.unreported = 0
	return r, true
}

func (q *queue) stats() QueueStats {
	q.mu.Lock()
	defer q.mu.Unlock()
	return QueueStats{
		QueuedResults: q.results.len() + q.inflightN[0], QueuedRollups: q.rollupN + q.inflightN[1],
		Written: q.written, Dropped: q.dropped, Rejected: q.rejected, Failures: q.failures,
	}
}

// pending is how many records are queued or being written.
func (q *queue) pending() (results, rollups int) {
	st := q.stats()
	return st.QueuedResults, st.QueuedRollups
}

// lastError is the error of the last failed write, or one saying writes
// were merely slow.
func (q *queue) lastError() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.lastErr == nil {
		return errors.New("the database did not take them in time")
	}
	return q.lastErr
}

// pendingRollups returns copies of the queued rollups (the batch being
// written included) of target with their minute in [lo, hi) unix seconds.
func (q *queue) pendingRollups(target string, lo, hi int64) []store.Rollup {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []store.Rollup
	add := func(rs []store.Rollup) {
		for _, r := range rs {
			if m := r.Minute.Unix(); r.TargetID == target && m >= lo && m < hi {
				out = append(out, r)
			}
		}
	}
	for _, c := range q.inflight {
		add(c.rs)
	}
	for i := range q.rollups.len() {
		add(q.rollups.buf[(q.rollups.head+i)%len(q.rollups.buf)].rs)
	}
	return out
}
