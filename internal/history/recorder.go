// Package history owns what heck remembers of each target's results: the
// Recorder that sits between the scheduler and the store, folding every
// result into per-target per-minute rollups, keeping raw results around
// failures and changes, and pruning old records (transitions too: the
// transition log in internal/events writes them); and the queries of this
// node's own records (Rollups, History, Uptime, RecentRaw), which see
// stored records and those still waiting in memory alike, with the pure
// functions over rollups (Grid, Points, UptimeOf) that internal/node also
// applies to rollups merged from every member.
//
// Record is called from every probe goroutine and never waits on the
// store: it touches one of 64 sharded in-memory maps. The Recorder's owner
// goroutine (Run) writes closed minutes and raw results once a
// second in batches. When the store fails, rollups stay in memory and are
// retried (no check count is lost); raw results beyond a bound are
// dropped and counted.
package history

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heckhq/heck/internal/probe"
	"github.com/heckhq/heck/internal/store"
)

// Store is the part of store.Store the recorder uses.
type Store interface {
	AddRollups(ctx context.Context, rs []store.Rollup) error
	Rollups(ctx context.Context, targetID string, from, to time.Time) ([]store.Rollup, error)
	AddResults(ctx context.Context, rs []store.Result) error
	Results(ctx context.Context, targetID string, from, to time.Time, limit int) ([]store.Result, error)
	Prune(ctx context.Context, r store.Retention, now time.Time) error
}

// RecorderOptions tune a Recorder; zero fields take the defaults.
type RecorderOptions struct {
	// Retention is applied by Prune every PruneEvery; zero fields keep
	// their records forever.
	Retention store.Retention
	// FlushEvery is how often pending records are written. Default 1s.
	FlushEvery time.Duration
	// PruneEvery is how often old records are pruned (also once when Run
	// starts). Default 1h.
	PruneEvery time.Duration
	// FlushTimeout bounds the final flush when Run stops. Default 10s.
	FlushTimeout time.Duration
	// MaxPendingResults bounds raw results waiting for the store; more are
	// dropped and counted. Default 20,000.
	MaxPendingResults int
	// BatchSize is the most records one store call writes. Default 5,000.
	BatchSize int
	// Now is the clock that closes minutes; default time.Now.
	Now func() time.Time
	// Logger reports store failures; nil discards.
	Logger *slog.Logger
}

// RecorderStats are the recorder's counters, for metrics.
type RecorderStats struct {
	// RowsWritten counts rollups and raw results stored.
	RowsWritten uint64
	// WriteErrors counts failed store writes (their records are retried,
	// except raw results beyond the pending bound).
	WriteErrors uint64
	// DroppedResults counts raw results dropped because too many were
	// waiting for the store.
	DroppedResults uint64
	// LastFlush is how long the last flush took.
	LastFlush time.Duration
	// Pending records waiting for the store (closed rollups, not the
	// minutes still open).
	PendingRollups int
	PendingResults int
}

const numShards = 64

// Recorder records results and serves history. Safe for concurrent use.
type Recorder struct {
	st   Store
	opts RecorderOptions
	log  *slog.Logger

	seed   maphash.Seed
	shards [numShards]shard

	// pmu guards everything taken out of the shards and not yet stored,
	// and commits. Lock order: pmu, then a shard's mu. Never held across
	// store I/O.
	pmu        sync.Mutex
	rollups    pending[store.Rollup]
	results    pending[store.Result]
	commits    uint64 // store writes that succeeded
	lastSweep  int64  // minute (unix seconds) of the last sweep
	lastFlush  time.Duration
	failing    bool // the last write failed (to log only when that changes)
	rawPending atomic.Int64

	// gate is held exclusively around each store write and its removal
	// from memory; a query that keeps racing commits takes it shared.
	gate sync.RWMutex
	// flushMu serialises flushes.
	flushMu sync.Mutex

	running atomic.Bool

	rowsWritten, writeErrors, droppedResults atomic.Uint64
}

// pending holds records waiting for the store: unsent, and the batch
// being written.
type pending[T any] struct {
	unsent   []T
	inflight []T
}

func (p *pending[T]) len() int { return len(p.unsent) + len(p.inflight) }

type shard struct {
	mu      sync.Mutex
	targets map[string]*agg
	closed  []store.Rollup
	raw     []store.Result
	_       [40]byte // keep shards on separate cache lines
}

// agg is one target's open minute, 64 bytes (a store.Rollup with its
// target and time is 120): every target has one, so it is kept compact.
// Bucket counts are 16 bits; a minute is closed early, before any could
// overflow, and the store merges the rollups of one minute.
type agg struct {
	minute   int64  // unix seconds of the open minute
	sum      uint64 // latency sum, µs
	count    uint32
	failures uint32
	max      uint32 // latency max, µs
	buckets  [store.NumBuckets]uint16
	failing  bool // the last result failed
}

// maxAggCount is the most results an agg takes before it is closed.
const maxAggCount = math.MaxUint16

// add folds one result into the open minute.
func (a *agg) add(ok bool, latency time.Duration) {
	// As store.Rollup.Add does (a test holds them equal).
	a.count++
	if !ok {
		a.failures++
	}
	us := max(latency.Microseconds(), 0)
	a.sum += uint64(us)
	a.max = max(a.max, uint32(min(us, math.MaxUint32)))
	a.buckets[store.BucketOf(latency)]++
}

// rollup returns the open minute as a store.Rollup of id.
func (a *agg) rollup(id string) store.Rollup {
	r := store.Rollup{TargetID: id, Minute: minuteTime(a.minute), Count: a.count, Failures: a.failures,
		LatencySum: a.sum, LatencyMax: a.max}
	for i, n := range a.buckets {
		r.Buckets[i] = uint32(n)
	}
	return r
}

// reset empties the open minute, keeping failing.
func (a *agg) reset() {
	*a = agg{minute: a.minute, failing: a.failing}
}

// NewRecorder returns a recorder writing to st.
func NewRecorder(st Store, opts RecorderOptions) *Recorder {
	if opts.FlushEvery <= 0 {
		opts.FlushEvery = time.Second
	}
	if opts.PruneEvery <= 0 {
		opts.PruneEvery = time.Hour
	}
	if opts.FlushTimeout <= 0 {
		opts.FlushTimeout = 10 * time.Second
	}
	if opts.MaxPendingResults <= 0 {
		opts.MaxPendingResults = 20000
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 5000
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Recorder{st: st, opts: opts, log: opts.Logger, seed: maphash.MakeSeed()}
	for i := range r.shards {
		r.shards[i].targets = map[string]*agg{}
	}
	r.lastSweep = math.MinInt64 // the first flush sweeps
	return r
}

func (rec *Recorder) shard(id string) *shard {
	return &rec.shards[maphash.String(rec.seed, id)%numShards]
}

// minuteOf returns the unix second starting t's minute.
func minuteOf(t time.Time) int64 {
	s := t.Unix()
	m := s % 60
	if m < 0 {
		m += 60
	}
	return s - m
}

func minuteTime(m int64) time.Time { return time.Unix(m, 0).UTC() }

// Record folds one result of targetID, taken at at, into its minute's
// rollup, and keeps the raw result when it failed, when it caused a
// transition, or when it is the first success after failures. It never
// waits on the store.
func (rec *Recorder) Record(targetID string, at time.Time, r probe.Result, transition bool) {
	if at.IsZero() {
		at = rec.opts.Now()
	}
	m := minuteOf(at)
	sh := rec.shard(targetID)
	sh.mu.Lock()
	a := sh.targets[targetID]
	if a == nil {
		a = &agg{minute: m}
		sh.targets[targetID] = a
	}
	switch {
	case a.count == 0:
		a.minute = m
		a.add(r.OK, r.Latency)
	case m == a.minute:
		if a.count == maxAggCount {
			sh.close(targetID, a)
		}
		a.add(r.OK, r.Latency)
	case m > a.minute:
		sh.close(targetID, a)
		a.minute = m
		a.add(r.OK, r.Latency)
	default:
		// A late result for a minute already closed: its own rollup,
		// which the store merges into the one written before.
		late := store.Rollup{TargetID: targetID, Minute: minuteTime(m)}
		late.Add(r.OK, r.Latency)
		sh.closed = append(sh.closed, late)
	}
	keep := !r.OK || transition || a.failing
	a.failing = !r.OK
	sh.mu.Unlock()
	if keep {
		rec.keepRaw(sh, targetID, at, r)
	}
}

// close moves the open minute of id, a, to the shard's closed list.
// Called with sh.mu held.
func (sh *shard) close(id string, a *agg) {
	sh.closed = append(sh.closed, a.rollup(id))
	a.reset()
}

func (rec *Recorder) keepRaw(sh *shard, id string, at time.Time, r probe.Result) {
	if rec.rawPending.Add(1) > int64(rec.opts.MaxPendingResults) {
		rec.rawPending.Add(-1)
		rec.droppedResults.Add(1)
		return
	}
	res := store.Result{TargetID: id, At: at, OK: r.OK, Latency: r.Latency, Message: r.Message}
	if b, err := json.Marshal(r.Details); err == nil && string(b) != "{}" {
		res.Details = b
	}
	sh.mu.Lock()
	sh.raw = append(sh.raw, res)
	sh.mu.Unlock()
}

// Forget drops what the recorder holds in memory for a removed target.
// A batch already being written still lands; delete the target's stored
// data after calling Forget.
func (rec *Recorder) Forget(targetID string) {
	rec.pmu.Lock()
	defer rec.pmu.Unlock()
	sh := rec.shard(targetID)
	sh.mu.Lock()
	delete(sh.targets, targetID)
	sh.closed = dropTarget(sh.closed, targetID, func(r *store.Rollup) string { return r.TargetID })
	before := len(sh.raw)
	sh.raw = dropTarget(sh.raw, targetID, func(r *store.Result) string { return r.TargetID })
	dropped := before - len(sh.raw)
	sh.mu.Unlock()
	rec.rollups.unsent = dropTarget(rec.rollups.unsent, targetID, func(r *store.Rollup) string { return r.TargetID })
	before = len(rec.results.unsent)
	rec.results.unsent = dropTarget(rec.results.unsent, targetID, func(r *store.Result) string { return r.TargetID })
	dropped += before - len(rec.results.unsent)
	rec.rawPending.Add(-int64(dropped))
}

func dropTarget[T any](s []T, id string, key func(*T) string) []T {
	out := s[:0]
	for i := range s {
		if key(&s[i]) != id {
			out = append(out, s[i])
		}
	}
	clear(s[len(out):])
	return out
}

// Stats returns the recorder's counters.
func (rec *Recorder) Stats() RecorderStats {
	rec.pmu.Lock()
	st := RecorderStats{
		LastFlush:      rec.lastFlush,
		PendingRollups: rec.rollups.len(),
	}
	for i := range rec.shards {
		sh := &rec.shards[i]
		sh.mu.Lock()
		st.PendingRollups += len(sh.closed)
		sh.mu.Unlock()
	}
	rec.pmu.Unlock()
	st.PendingResults = int(rec.rawPending.Load())
	st.RowsWritten = rec.rowsWritten.Load()
	st.WriteErrors = rec.writeErrors.Load()
	st.DroppedResults = rec.droppedResults.Load()
	return st
}

// Run is the recorder's owner loop: it flushes every FlushEvery, prunes
// every PruneEvery (and once at start) and, when ctx is done, writes
// everything it holds, the minutes still open included, and returns. The
// error reports records the final flush could not write.
func (rec *Recorder) Run(ctx context.Context) error {
	if !rec.running.CompareAndSwap(false, true) {
		return errors.New("history recorder: Run called twice")
	}
	defer rec.running.Store(false)
	var wg sync.WaitGroup
	r := rec.opts.Retention
	if r.Results > 0 || r.Rollups > 0 || r.Transitions > 0 || r.Tombstones > 0 {
		wg.Go(func() { rec.pruneLoop(ctx) })
	}
	tick := time.NewTicker(rec.opts.FlushEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rec.opts.FlushTimeout)
			defer cancel()
			if err := rec.flush(fctx, true); err != nil {
				st := rec.Stats()
				return fmt.Errorf("history recorder: final flush left %d rollups and %d results unwritten: %w",
					st.PendingRollups, st.PendingResults, err)
			}
			return nil
		case <-tick.C:
			_ = rec.flush(ctx, false) // failures are counted, logged and retried
		}
	}
}

func (rec *Recorder) pruneLoop(ctx context.Context) {
	t := time.NewTicker(rec.opts.PruneEvery)
	defer t.Stop()
	for {
		start := time.Now()
		if err := rec.st.Prune(ctx, rec.opts.Retention, rec.opts.Now()); err != nil {
			if ctx.Err() != nil {
				return
			}
			rec.writeErrors.Add(1)
			rec.log.Warn("history: prune failed; retrying at the next prune", "err", err)
		} else {
			rec.log.Debug("history: pruned", "took", time.Since(start))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Flush writes every closed minute and raw result waiting in
// memory; minutes still open stay open.
func (rec *Recorder) Flush(ctx context.Context) error { return rec.flush(ctx, false) }

// flush writes what is pending; all closes the open minutes too.
func (rec *Recorder) flush(ctx context.Context, all bool) error {
	rec.flushMu.Lock()
	defer rec.flushMu.Unlock()
	start := time.Now()
	nowMin := minuteOf(rec.opts.Now())
	rec.pmu.Lock()
	if all || nowMin > rec.lastSweep {
		rec.lastSweep = max(nowMin, rec.lastSweep)
		rec.sweep(nowMin, all)
	}
	for i := range rec.shards {
		sh := &rec.shards[i]
		sh.mu.Lock()
		// The closed lists are let go, not kept for reuse: once a minute
		// every target's rollup passes through them, and keeping their
		// capacity would hold a rollup's worth of memory per target for
		// good.
		rec.rollups.unsent = append(rec.rollups.unsent, sh.closed...)
		sh.closed = nil
		rec.results.unsent = append(rec.results.unsent, sh.raw...)
		sh.raw = nil
		sh.mu.Unlock()
	}
	rec.pmu.Unlock()

	err := errors.Join(
		writeAll(ctx, rec, &rec.results, rec.st.AddResults, func(n int) { rec.rawPending.Add(-int64(n)) }),
		writeAll(ctx, rec, &rec.rollups, rec.st.AddRollups, nil),
	)
	rec.pmu.Lock()
	rec.lastFlush = time.Since(start)
	switch {
	case err != nil && !rec.failing:
		rec.log.Warn("history: store write failed; keeping records in memory and retrying", "err", err)
	case err == nil && rec.failing:
		rec.log.Info("history: store writes work again")
	}
	rec.failing = err != nil
	rec.pmu.Unlock()
	return err
}

// sweep closes every open minute before nowMin (every one when all).
// Called with pmu held.
func (rec *Recorder) sweep(nowMin int64, all bool) {
	for i := range rec.shards {
		sh := &rec.shards[i]
		sh.mu.Lock()
		for id, a := range sh.targets {
			if a.count > 0 && (all || a.minute < nowMin) {
				sh.close(id, a)
			}
		}
		sh.mu.Unlock()
	}
}

// writeAll writes p's unsent records in batches; a failed batch goes back
// to the front of unsent for the next flush.
func writeAll[T any](ctx context.Context, rec *Recorder, p *pending[T], write func(context.Context, []T) error, done func(int)) error {
	for {
		rec.pmu.Lock()
		if len(p.unsent) == 0 {
			p.unsent = nil // release the backing array
			rec.pmu.Unlock()
			return nil
		}
		n := min(len(p.unsent), rec.opts.BatchSize)
		batch := p.unsent[:n:n]
		p.inflight, p.unsent = batch, p.unsent[n:]
		rec.pmu.Unlock()

		rec.gate.Lock()
		err := write(ctx, batch)
		rec.pmu.Lock()
		p.inflight = nil
		if err != nil {
			p.unsent = append(batch, p.unsent...)
		} else {
			rec.commits++
		}
		rec.pmu.Unlock()
		rec.gate.Unlock()
		if err != nil {
			if ctx.Err() == nil { // a write cut short by shutdown is no store error
				rec.writeErrors.Add(1)
			}
			return err
		}
		rec.rowsWritten.Add(uint64(n))
		if done != nil {
			done(n)
		}
	}
}
