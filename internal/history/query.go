package history

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/heckhq/heck/internal/store"
)

// MaxPoints bounds the points one History call returns.
const MaxPoints = 100_000

// readConsistent reads records that live partly in memory and partly in
// the store so that each is counted once: snap copies the in-memory ones
// (called with pmu held; it reports whether it found any), then read asks
// the store. A write committed in between could be seen twice, so then the
// read is done again; after a few tries it holds the write gate instead.
func (rec *Recorder) readConsistent(snap func() bool, read func() error) error {
	for attempt := 0; ; attempt++ {
		gated := attempt >= 3
		if gated {
			rec.gate.RLock()
		}
		rec.pmu.Lock()
		c0 := rec.commits
		saw := snap()
		rec.pmu.Unlock()
		err := read()
		rec.pmu.Lock()
		c1 := rec.commits
		rec.pmu.Unlock()
		if gated {
			rec.gate.RUnlock()
		}
		if err != nil || !saw || c0 == c1 || gated {
			return err
		}
	}
}

// Rollups returns this node's own rollups of the target with Minute in
// [from, to), stored and in memory (the open minute included), merged by
// minute, oldest first.
func (rec *Recorder) Rollups(ctx context.Context, id string, from, to time.Time) ([]store.Rollup, error) {
	return rec.readRollups(ctx, id, from, to, func() ([]store.Rollup, error) { return rec.st.Rollups(ctx, id, from, to) })
}

// SpanStore is a store that also keeps coarser rollups than minutes
// (internal/store/postgres and internal/store/sqlite keep hours): RollupSpans returns rollups over
// [from, to), none crossing a step of the grid from + k*step, so grouped by
// that grid they sum to what the minutes sum to.
type SpanStore interface {
	RollupSpans(ctx context.Context, targetID string, from, to time.Time, step time.Duration) ([]store.Rollup, error)
}

// RollupsIn is Rollups for a caller that sums them into steps of step from
// from (Points, internal/node's groups): from a SpanStore it reads rollups
// as coarse as fit in a step (a 30-day uptime reads hours, not 43,200
// minutes); each starts within the step its minutes belong to.
func (rec *Recorder) RollupsIn(ctx context.Context, id string, from, to time.Time, step time.Duration) ([]store.Rollup, error) {
	ss, ok := rec.st.(SpanStore)
	if !ok {
		return rec.Rollups(ctx, id, from, to)
	}
	return rec.readRollups(ctx, id, from, to, func() ([]store.Rollup, error) { return ss.RollupSpans(ctx, id, from, to, step) })
}

// readRollups merges the target's rollups in memory with those read from the
// store.
func (rec *Recorder) readRollups(ctx context.Context, id string, from, to time.Time, readStore func() ([]store.Rollup, error)) ([]store.Rollup, error) {
	in := minutesIn(from, to)
	var mem, stored []store.Rollup
	snap := func() bool {
		mem = rec.appendMemRollups(mem[:0], id, in)
		return len(mem) > 0
	}
	read := func() (err error) {
		stored, err = readStore()
		return err
	}
	if err := rec.readConsistent(snap, read); err != nil {
		return nil, err
	}
	if len(mem) == 0 {
		return stored, nil
	}
	return mergeByMinute(append(stored, mem...)), nil
}

// minutesIn reports whether a minute (unix seconds) starts in [from, to).
func minutesIn(from, to time.Time) func(int64) bool {
	lo, hi := from.Unix(), to.Unix()
	if to.Nanosecond() > 0 {
		hi++
	}
	if from.Nanosecond() > 0 {
		lo++
	}
	return func(m int64) bool { return m >= lo && m < hi }
}

// appendMemRollups appends the target's rollups the recorder holds in
// memory with a minute in: the open minute, closed minutes waiting for a
// flush and the batch being written. The caller holds pmu.
func (rec *Recorder) appendMemRollups(mem []store.Rollup, id string, in func(int64) bool) []store.Rollup {
	sh := rec.shard(id)
	sh.mu.Lock()
	if a := sh.targets[id]; a != nil && a.count > 0 && in(a.minute) {
		mem = append(mem, a.rollup(id))
	}
	for _, r := range sh.closed {
		if r.TargetID == id && in(r.Minute.Unix()) {
			mem = append(mem, r)
		}
	}
	sh.mu.Unlock()
	for _, s := range [][]store.Rollup{rec.rollups.unsent, rec.rollups.inflight} {
		for _, r := range s {
			if r.TargetID == id && in(r.Minute.Unix()) {
				mem = append(mem, r)
			}
		}
	}
	return mem
}

// mergeByMinute sorts rs by minute and merges those of the same minute, in
// place.
func mergeByMinute(rs []store.Rollup) []store.Rollup {
	slices.SortStableFunc(rs, func(a, b store.Rollup) int { return a.Minute.Compare(b.Minute) })
	out := rs[:0]
	for _, r := range rs {
		if n := len(out); n > 0 && out[n-1].Minute.Equal(r.Minute) {
			out[n-1].Merge(r)
			continue
		}
		out = append(out, r)
	}
	return out
}

// QueueingStore is a store that acknowledges rollups before they are in
// the database (internal/store/postgres queues them for its writer):
// PendingRollups returns those of the target with Minute in [from, to)
// not committed yet.
type QueueingStore interface {
	PendingRollups(targetID string, from, to time.Time) []store.Rollup
}

// PendingRollups returns this node's rollups of the target with Minute in
// [from, to) that are not in the store yet (the open minute, closed
// minutes waiting for a flush, the batch being written, and those a
// QueueingStore holds in its queue), merged by minute, oldest first. A
// node sharing its store with the others answers a peer's cluster read
// with these alone: the peer reads the stored ones itself.
func (rec *Recorder) PendingRollups(id string, from, to time.Time) []store.Rollup {
	var mem []store.Rollup
	// Held shared, the write gate keeps a batch from being handed to the
	// store meanwhile: each record is seen once, here or in the store's
	// own queue.
	rec.gate.RLock()
	defer rec.gate.RUnlock()
	if q, ok := rec.st.(QueueingStore); ok {
		mem = append(mem, q.PendingRollups(id, from, to)...)
	}
	rec.pmu.Lock()
	mem = rec.appendMemRollups(mem, id, minutesIn(from, to))
	rec.pmu.Unlock()
	return mergeByMinute(mem)
}

// roundStep rounds step up to whole minutes, at least one.
func roundStep(step time.Duration) time.Duration {
	if step <= time.Minute {
		return time.Minute
	}
	return (step + time.Minute - 1) / time.Minute * time.Minute
}

// Grid says which points a history over [from, to) in steps of step has:
// step rounded up to whole minutes (at least one), the first point's start
// aligned to a multiple of step since the Unix epoch (it holds from), and
// n points, the last holding to. It refuses an empty range and more than
// MaxPoints points.
func Grid(from, to time.Time, step time.Duration) (start time.Time, rstep time.Duration, n int, err error) {
	if !from.Before(to) {
		return time.Time{}, 0, 0, fmt.Errorf("from %s is not before to %s: set from earlier than to",
			from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	step = roundStep(step)
	stepS := int64(step / time.Second)
	s := from.Unix()
	s -= ((s % stepS) + stepS) % stepS
	start = time.Unix(s, 0).UTC()
	span := to.Sub(start)
	pts := int64((span + step - 1) / step)
	if pts > MaxPoints {
		return time.Time{}, 0, 0, fmt.Errorf("step %s over %s makes %d points, more than %d: use a larger step or a shorter range",
			step, to.Sub(from), pts, MaxPoints)
	}
	return start, step, int(pts), nil
}

// Points sums rollups (of any span: minutes, or groups of minutes that
// start on the grid) into n points of step from start. Every step is
// present, empty ones with a zero count; rollups off the grid's range are
// left out.
func Points(rs []store.Rollup, start time.Time, step time.Duration, n int) []Point {
	stepS := int64(step / time.Second)
	s0 := start.Unix()
	sums := make([]store.Rollup, n)
	for _, r := range rs {
		d := r.Minute.Unix() - s0
		if d < 0 {
			continue
		}
		if i := d / stepS; i < int64(n) {
			sums[i].Merge(r)
		}
	}
	pts := make([]Point, n)
	for i := range sums {
		pts[i] = point(time.Unix(s0+int64(i)*stepS, 0).UTC(), &sums[i])
	}
	return pts
}

// History returns the target's results over [from, to) in points of step
// (rounded up to whole minutes, at least one) aligned to multiples of step
// since the Unix epoch; the first point holds from. Every step is present,
// empty ones with a zero count. Open and unwritten minutes count too.
func (rec *Recorder) History(ctx context.Context, targetID string, from, to time.Time, step time.Duration) ([]Point, error) {
	start, step, n, err := Grid(from, to, step)
	if err != nil {
		return nil, fmt.Errorf("history of %q: %w", targetID, err)
	}
	rs, err := rec.RollupsIn(ctx, targetID, start, to, step)
	if err != nil {
		return nil, fmt.Errorf("history of %q: %w", targetID, err)
	}
	return Points(rs, start, step, n), nil
}

func point(start time.Time, r *store.Rollup) Point {
	p := Point{Start: start, Count: r.Count, Failures: r.Failures}
	if r.Count == 0 {
		return p
	}
	p.Avg = time.Duration(r.LatencySum/uint64(r.Count)) * time.Microsecond
	p.Max = time.Duration(r.LatencyMax) * time.Microsecond
	p.P50, p.P95, p.P99 = r.Quantile(0.50), r.Quantile(0.95), r.Quantile(0.99)
	return p
}

// UptimeWindows are the windows of Uptime: 24 hours, 7 and 30 days.
var UptimeWindows = [3]time.Duration{24 * time.Hour, 7 * 24 * time.Hour, 30 * 24 * time.Hour}

// UptimeRange is the range of rollups the uptime as of now is computed
// from: minutes that start in the longest window, now included.
func UptimeRange(now time.Time) (from, to time.Time) {
	return now.Add(-UptimeWindows[2]), now.Add(1)
}

// UptimeOf returns the share of successful checks in rs over each of
// UptimeWindows before now (a rollup counts in a window when its start is
// in it), -1 for a window with no checks. rs may be minutes or groups of
// minutes whose starts fall on the windows' starts.
func UptimeOf(rs []store.Rollup, now time.Time) Uptime {
	var total, fails [3]uint64
	for _, r := range rs {
		for i, w := range UptimeWindows {
			if !r.Minute.Before(now.Add(-w)) {
				total[i] += uint64(r.Count)
				fails[i] += uint64(r.Failures)
			}
		}
	}
	share := func(i int) float64 {
		if total[i] == 0 {
			return -1
		}
		return float64(total[i]-fails[i]) / float64(total[i])
	}
	return Uptime{Day: share(0), Week: share(1), Month: share(2)}
}

// Uptime returns the share of successful checks of the target over the 24
// hours, 7 days and 30 days before now (minutes starting in the window),
// -1 for a window with no checks.
func (rec *Recorder) Uptime(ctx context.Context, targetID string, now time.Time) (Uptime, error) {
	from, to := UptimeRange(now)
	rs, err := rec.Rollups(ctx, targetID, from, to)
	if err != nil {
		return Uptime{}, fmt.Errorf("uptime of %q: %w", targetID, err)
	}
	return UptimeOf(rs, now), nil
}

// RecentRaw returns the target's last kept raw results, newest first, at
// most limit (0: all), those not yet written included.
func (rec *Recorder) RecentRaw(ctx context.Context, targetID string, limit int) ([]store.Result, error) {
	var mem, stored []store.Result
	snap := func() bool {
		mem = mem[:0]
		sh := rec.shard(targetID)
		sh.mu.Lock()
		for _, r := range sh.raw {
			if r.TargetID == targetID {
				mem = append(mem, r)
			}
		}
		sh.mu.Unlock()
		for _, s := range [][]store.Result{rec.results.unsent, rec.results.inflight} {
			for _, r := range s {
				if r.TargetID == targetID {
					mem = append(mem, r)
				}
			}
		}
		return len(mem) > 0
	}
	read := func() (err error) {
		stored, err = rec.st.Results(ctx, targetID, time.Time{}, time.Time{}, max(limit, 0))
		return err
	}
	if err := rec.readConsistent(snap, read); err != nil {
		return nil, fmt.Errorf("recent results of %q: %w", targetID, err)
	}
	all := append(mem, stored...)
	slices.SortStableFunc(all, func(a, b store.Result) int { return b.At.Compare(a.At) })
	if limit > 0 && len(all) > limit {
		all = all[:limit]
	}
	return all, nil
}
