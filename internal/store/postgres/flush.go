package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/heckhq/heck/internal/store"
	"github.com/heckhq/heck/internal/store/sqlkit"
)

// Staging tables, one set per connection (created when it connects):
// COPY fills them, one INSERT ... SELECT moves their rows into place, and
// they empty themselves at commit.
const stagingDDL = `
CREATE TEMPORARY TABLE IF NOT EXISTS results_in (
	target text, at bigint, ok boolean, latency bigint, message text, details bytea
) ON COMMIT DELETE ROWS;
CREATE TEMPORARY TABLE IF NOT EXISTS rollups_in (
	target text, start bigint, n bigint, fails bigint, lat_sum bigint, lat_max bigint, buckets bigint[]
) ON COMMIT DELETE ROWS;
CREATE TEMPORARY TABLE IF NOT EXISTS rollups_hour_in (
	target text, start bigint, n bigint, fails bigint, lat_sum bigint, lat_max bigint, buckets bigint[]
) ON COMMIT DELETE ROWS`

// run is the store's one writer goroutine: it writes queued records in
// batches as they come, retries failed batches with backoff, creates the
// partitions of the coming days, and reports drops. Close stops it: it
// then writes what is queued until Options.CloseTimeout passes.
func (s *Store) run() {
	defer close(s.done)
	maint := time.NewTicker(s.opts.MaintainEvery)
	defer maint.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel() }()
	stop := s.stop
	var deadline <-chan time.Time
	beginStop := func() {
		stop = nil
		t := time.NewTimer(s.opts.CloseTimeout)
		deadline = t.C
		cancel()
		ctx, cancel = context.WithTimeout(context.Background(), s.opts.CloseTimeout)
	}
	attempt := 0
	for {
		s.reportDrops()
		select {
		case <-deadline:
			return
		case <-maint.C: // also when the queue is never empty
			s.maintain(ctx)
		default:
		}
		b := s.q.take(s.opts.BatchSize)
		if b.empty() {
			if stop == nil {
				return // closing, and everything is written
			}
			select {
			case <-s.q.wake:
			case <-maint.C:
				s.maintain(ctx)
			case <-stop:
				beginStop()
			}
			continue
		}
		left, rejected, err := s.writeBatch(ctx, b)
		s.q.done(b, left, rejected, err)
		if err == nil {
			if s.failing {
				s.failing = false
				s.log.Info("postgres store: writes work again", "database", s.db)
			}
			attempt = 0
			continue
		}
		if !s.failing {
			s.failing = true
			res, ro := s.q.pending()
			s.log.Warn("postgres store: write failed; keeping records in memory and retrying",
				"database", s.db, "queued_results", res, "queued_rollups", ro, "err", err)
		}
		t := time.NewTimer(backoff(attempt, s.opts.RetryMin, s.opts.RetryMax))
		attempt++
		select {
		case <-t.C:
		case <-deadline:
			t.Stop()
			return
		case <-stop:
			t.Stop()
			beginStop()
		}
	}
}

// backoff is the wait before retry attempt (from 0): doubling from lo up
// to hi, with jitter so nodes sharing a database do not retry in step.
func backoff(attempt int, lo, hi time.Duration) time.Duration {
	d := lo << min(attempt, 20)
	if d <= 0 || d > hi {
		d = hi
	}
	return d/2 + rand.N(d/2+1)
}

// reportDrops hands the drops since the last report to Options.OnDrop, at
// most once per Options.DropReportEvery, and logs them.
func (s *Store) reportDrops() {
	if time.Since(s.lastDropReport) < s.opts.DropReportEvery {
		return
	}
	r, ok := s.q.dropReport()
	if !ok {
		return
	}
	s.lastDropReport = time.Now()
	s.log.Warn("postgres store: the write queue is full; dropped the oldest raw results",
		"database", s.db, "dropped", r.Dropped, "dropped_total", r.Total,
		"oldest", r.Oldest, "newest", r.Newest, "queue", s.opts.Queue)
	if s.opts.OnDrop != nil {
		s.opts.OnDrop(r)
	}
}

// maintain creates the partitions of the coming days.
func (s *Store) maintain(ctx context.Context) {
	c, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := s.parts.ensureAhead(c, s.pool, s.opts.Now()); err != nil && ctx.Err() == nil {
		s.log.Warn("postgres store: create the partitions of the coming days; retrying later", "database", s.db, "err", err)
	}
}

// permanent reports whether the database refused a write for its data (a
// data exception or an integrity violation), which no retry can mend.
func permanent(err error) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || len(pe.Code) < 2 {
		return false
	}
	return pe.Code[:2] == "22" || pe.Code[:2] == "23"
}

// writeBatch writes b in one transaction. When the database refuses it for
// its data, it writes each call of b alone and rejects those refused
// (logging them), so one bad record does not hold back the rest. left is
// what is still unwritten (b when err is not nil).
func (s *Store) writeBatch(ctx context.Context, b batch) (left batch, rejected int, err error) {
	err = s.writeTx(ctx, b)
	if err == nil {
		return batch{}, 0, nil
	}
	if !permanent(err) {
		return b, 0, err
	}
	parts := splitCalls(b)
	if len(parts) == 1 {
		s.log.Error("postgres store: the database refused records; dropping them", "database", s.db,
			"results", len(b.results), "rollups", b.rollupCount(), "err", err)
		return batch{}, len(b.results) + b.rollupCount(), nil
	}
	for i, p := range parts {
		perr := s.writeTx(ctx, p)
		switch {
		case perr == nil:
		case permanent(perr):
			rejected += len(p.results) + p.rollupCount()
			s.log.Error("postgres store: the database refused records; dropping them", "database", s.db,
				"results", len(p.results), "rollups", p.rollupCount(), "err", perr)
		default:
			for _, q := range parts[i:] {
				left.results = append(left.results, q.results...)
				left.rollups = append(left.rollups, q.rollups...)
			}
			return left, rejected, perr
		}
	}
	return batch{}, rejected, nil
}

// splitCalls cuts b into one batch per acknowledged call, in order.
func splitCalls(b batch) []batch {
	var out []batch
	for i := 0; i < len(b.results); {
		j := i + 1
		for j < len(b.results) && b.results[j].seq == b.results[i].seq {
			j++
		}
		out = append(out, batch{results: b.results[i:j]})
		i = j
	}
	for _, c := range b.rollups {
		out = append(out, batch{rollups: []queuedRollups{c}})
	}
	return out
}

// attemptTimeout bounds one batch write.
const attemptTimeout = time.Minute

// writeTx writes b's results and rollups, and the hour rollups they make,
// in one transaction, after making sure their days have partitions.
func (s *Store) writeTx(ctx context.Context, b batch) error {
	ctx, cancel := context.WithTimeout(ctx, attemptTimeout)
	defer cancel()
	if err := s.parts.ensureFor(ctx, s.pool, s.opts.Now(), b); err != nil {
		return err
	}
	return s.write(ctx, "write queued records", func(tx pgx.Tx) error {
		if len(b.results) > 0 {
			if err := copyResults(ctx, tx, s.observer, b.results); err != nil {
				return err
			}
		}
		if len(b.rollups) > 0 {
			minutes, hours := groupRollups(b.rollups)
			if err := upsertRollups(ctx, tx, "rollups_in", "rollups", "minute", s.observer, minutes); err != nil {
				return err
			}
			if err := upsertRollups(ctx, tx, "rollups_hour_in", "rollups_hour", "hour", s.observer, hours); err != nil {
				return err
			}
		}
		return nil
	})
}

// copyResults copies rs into the staging table and moves them into
// results under observer; two results of one target at the same
// nanosecond keep the later acknowledged (the earlier are left out here,
// so the insert need not sort).
func copyResults(ctx context.Context, tx pgx.Tx, observer string, rs []queuedResult) error {
	type key struct {
		target string
		at     int64
	}
	seen := make(map[key]struct{}, len(rs))
	keep := make([]bool, len(rs))
	for i := len(rs) - 1; i >= 0; i-- {
		k := key{rs[i].r.TargetID, sqlkit.NanosLo(rs[i].r.At)}
		if _, dup := seen[k]; !dup {
			seen[k] = struct{}{}
			keep[i] = true
		}
	}
	rows := func(withObserver bool) pgx.CopyFromSource {
		i := 0
		return pgx.CopyFromFunc(func() ([]any, error) {
			for i < len(rs) && !keep[i] {
				i++
			}
			if i == len(rs) {
				return nil, nil
			}
			r := &rs[i].r
			i++
			var details []byte
			if len(r.Details) > 0 {
				details = r.Details
			}
			if withObserver {
				return []any{r.TargetID, sqlkit.NanosLo(r.At), observer, r.OK, int64(r.Latency), r.Message, details}, nil
			}
			return []any{r.TargetID, sqlkit.NanosLo(r.At), r.OK, int64(r.Latency), r.Message, details}, nil
		})
	}
	// Straight into results, the common case; when a result is stored
	// already (a batch retried after its commit went unacknowledged, or
	// the same instant written twice), through staging and an upsert.
	sp, err := tx.Begin(ctx)
	if err != nil {
		return fmt.Errorf("copy %d results: %w", len(rs), err)
	}
	_, err = sp.CopyFrom(ctx, pgx.Identifier{"results"},
		[]string{"target", "at", "observer", "ok", "latency", "message", "details"}, rows(true))
	var pe *pgconn.PgError
	switch {
	case err == nil:
		if err := sp.Commit(ctx); err != nil {
			return fmt.Errorf("copy %d results: %w", len(rs), err)
		}
		return nil
	case errors.As(err, &pe) && pe.Code == "23505": // unique_violation
		if err := sp.Rollback(ctx); err != nil {
			return fmt.Errorf("copy %d results: %w", len(rs), err)
		}
	default:
		return fmt.Errorf("copy %d results: %w", len(rs), err)
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"results_in"},
		[]string{"target", "at", "ok", "latency", "message", "details"}, rows(false)); err != nil {
		return fmt.Errorf("copy %d results: %w", len(rs), err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO results (target, at, observer, ok, latency, message, details)
		SELECT target, at, $1, ok, latency, message, details FROM results_in
		ON CONFLICT (target, at, observer) DO UPDATE SET ok = excluded.ok, latency = excluded.latency,
		message = excluded.message, details = excluded.details`, observer); err != nil {
		return fmt.Errorf("insert %d results: %w", len(rs), err)
	}
	return nil
}

// spanKey is one target's minute or hour.
type spanKey struct {
	target string
	start  int64 // unix seconds
}

// groupRollups sums the batch's rollups by target and minute, and by
// target and hour, so each upsert touches every row once.
func groupRollups(calls []queuedRollups) (minutes, hours map[spanKey]*store.Rollup) {
	minutes, hours = map[spanKey]*store.Rollup{}, map[spanKey]*store.Rollup{}
	add := func(m map[spanKey]*store.Rollup, k spanKey, r *store.Rollup) {
		if cur := m[k]; cur != nil {
			cur.Merge(*r)
			return
		}
		c := *r
		m[k] = &c
	}
	for _, c := range calls {
		for i := range c.rs {
			r := &c.rs[i]
			m := sqlkit.MinuteOf(r.Minute)
			add(minutes, spanKey{r.TargetID, m}, r)
			add(hours, spanKey{r.TargetID, hourOf(m)}, r)
		}
	}
	return minutes, hours
}

// hourOf is the unix second starting the hour of unix second s.
func hourOf(s int64) int64 { return s - ((s%3600)+3600)%3600 }

// rollupRow is r as a row of a rollup staging table.
func rollupRow(k spanKey, r *store.Rollup) []any {
	buckets := make([]int64, store.NumBuckets)
	for j, n := range r.Buckets {
		buckets[j] = int64(n)
	}
	return []any{k.target, k.start, int64(r.Count), int64(r.Failures),
		int64(min(r.LatencySum, math.MaxInt64)), int64(r.LatencyMax), buckets}
}

// upsertRollups copies rs into staging and merges them into table (keyed
// by target, col and observer): counts and sums add up, maxima take the
// larger, buckets add up one by one.
func upsertRollups(ctx context.Context, tx pgx.Tx, staging, table, col, observer string, rs map[spanKey]*store.Rollup) error {
	rows := make([][]any, 0, len(rs))
	for k, r := range rs {
		rows = append(rows, rollupRow(k, r))
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{staging},
		[]string{"target", "start", "n", "fails", "lat_sum", "lat_max", "buckets"}, pgx.CopyFromRows(rows)); err != nil {
		return fmt.Errorf("copy %d %s: %w", len(rows), table, err)
	}
	_, err := tx.Exec(ctx, `INSERT INTO `+table+` (target, `+col+`, observer, n, fails, lat_sum, lat_max, buckets)
		SELECT target, start, $1, n, fails, lat_sum, lat_max, buckets FROM `+staging+`
		ON CONFLICT (target, `+col+`, observer) DO UPDATE SET n = `+table+`.n + excluded.n,
		fails = `+table+`.fails + excluded.fails, lat_sum = `+table+`.lat_sum + excluded.lat_sum,
		lat_max = greatest(`+table+`.lat_max, excluded.lat_max),
		buckets = ARRAY(SELECT a + b FROM unnest(`+table+`.buckets, excluded.buckets) AS u(a, b))`, observer)
	if err != nil {
		return fmt.Errorf("merge %d %s: %w", len(rows), table, err)
	}
	return nil
}
