package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/heckhq/heck/internal/crdt"
	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/store"
	"github.com/heckhq/heck/internal/store/sqlkit"
)

// Time conversions. A zero time is an open bound; times outside what int64
// nanoseconds hold are clamped.

// secsCeil is the smallest whole second s with s >= t; a zero t is open
// (open gives the bound's side: MinInt64 or MaxInt64).
func secsCeil(t time.Time, open int64) int64 {
	if t.IsZero() {
		return open
	}
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}

// write runs fn in one transaction.
func (s *Store) write(ctx context.Context, what string, fn func(tx pgx.Tx) error) error {
	if err := pgx.BeginFunc(ctx, s.pool, fn); err != nil {
		return fmt.Errorf("%s (postgres database %s): %w", what, s.db, err)
	}
	return nil
}

// retry runs fn (a synchronous write) until it succeeds, fails for good
// (a refusal of its data or statement), ctx is done, or Options.RetryFor
// passes: a database restarting briefly delays the write, it does not
// fail it.
func (s *Store) retry(ctx context.Context, fn func() error) error {
	deadline := time.Now().Add(s.opts.RetryFor)
	for attempt := 0; ; attempt++ {
		err := fn()
		if err == nil || ctx.Err() != nil || !retryable(err) {
			return err
		}
		wait := backoff(attempt, s.opts.RetryMin, s.opts.RetryMax)
		if time.Now().Add(wait).After(deadline) {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// retryable reports whether a failed write may succeed when tried again:
// anything but a refusal by the database of the data (class 22, 23) or of
// the statement itself (class 42: a bug, not an outage).
func retryable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return !permanent(err) && !strings.HasPrefix(pe.Code, "42")
	}
	return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}

// checkID refuses a target id PostgreSQL text cannot hold.
func checkID(what, id string) error {
	switch {
	case id == "":
		return fmt.Errorf("%s: a record with an empty target id", what)
	case strings.IndexByte(id, 0) >= 0 || !utf8.ValidString(id):
		return fmt.Errorf("%s: target id %q is not UTF-8 text without NUL bytes", what, id)
	}
	return nil
}

// cleanText makes s storable as PostgreSQL text: invalid UTF-8 and NUL
// bytes become U+FFFD.
func cleanText(s string) string {
	if strings.IndexByte(s, 0) < 0 && utf8.ValidString(s) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// sendBatch sends b in tx and checks every statement's result.
func sendBatch(ctx context.Context, tx pgx.Tx, b *pgx.Batch) error {
	br := tx.SendBatch(ctx, b)
	for range b.Len() {
		if _, err := br.Exec(); err != nil {
			_ = br.Close()
			return err
		}
	}
	return br.Close()
}

// putObject resolves last-writer-wins in SQL: a stored row is replaced only
// by a newer entry (later stamp, then larger node, then a tombstone over a
// value), so a late older write is a no-op whoever sends it.
const putObject = `INSERT INTO objects (kind, key, value, stamp, node, deleted) VALUES ($1, $2, $3, $4, $5, $6)
	ON CONFLICT (kind, key) DO UPDATE SET value = excluded.value, stamp = excluded.stamp,
	node = excluded.node, deleted = excluded.deleted
	WHERE excluded.stamp > objects.stamp
	   OR (excluded.stamp = objects.stamp AND (excluded.node > objects.node
	       OR (excluded.node = objects.node AND excluded.deleted AND NOT objects.deleted)))`

// PutObjects upserts entries of kind in one transaction.
func (s *Store) PutObjects(ctx context.Context, kind string, recs []store.ObjectRecord) error {
	if len(recs) == 0 {
		return nil
	}
	if kind == "" {
		return errors.New("put objects: empty kind")
	}
	b := &pgx.Batch{}
	for _, r := range recs {
		if r.Key == "" {
			return fmt.Errorf("put %s objects: an object with an empty key", kind)
		}
		v := r.Value
		if v == nil || r.Deleted {
			v = []byte{}
		}
		b.Queue(putObject, kind, r.Key, v, sqlkit.StampKey(r.Stamp), r.Node, r.Deleted)
	}
	return s.retry(ctx, func() error {
		return s.write(ctx, "put "+kind+" objects", func(tx pgx.Tx) error { return sendBatch(ctx, tx, b) })
	})
}

// Objects returns every entry of kind, tombstones included, by key.
func (s *Store) Objects(ctx context.Context, kind string) ([]store.ObjectRecord, error) {
	rows, err := s.pool.Query(ctx, "SELECT key, value, stamp, node, deleted FROM objects WHERE kind = $1 ORDER BY key", kind)
	if err != nil {
		return nil, fmt.Errorf("read %s objects: %w", kind, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.ObjectRecord, error) {
		var r store.ObjectRecord
		var k int64
		err := row.Scan(&r.Key, &r.Value, &k, &r.Node, &r.Deleted)
		r.Stamp = sqlkit.StampOf(k)
		if len(r.Value) == 0 {
			r.Value = nil
		}
		return r, err
	})
	if err != nil {
		return nil, fmt.Errorf("read %s objects: %w", kind, err)
	}
	return out, nil
}

// transitionLockKey serialises the writers that choose seqs (Seq 0): the
// next seq is one above the largest stored, taken under this transaction
// advisory lock.
const transitionLockKey int64 = 0x6865636b_00000002

// AddTransitions appends transitions in one transaction; one whose id is
// stored already is skipped (ON CONFLICT (id) DO NOTHING). A clash of seqs
// is an error, never a silent drop.
func (s *Store) AddTransitions(ctx context.Context, ts []store.Transition) error {
	if len(ts) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	auto := false
	for _, tr := range ts {
		if tr.TargetID == "" {
			return errors.New("add transitions: a transition with an empty target id")
		}
		if err := checkID("add transitions", tr.TargetID); err != nil {
			return err
		}
		// Free text the database cannot hold is mended, not refused: a
		// refused transition would wait in the caller's memory forever.
		tr.Cause, tr.Subject, tr.Before, tr.After = cleanText(tr.Cause), cleanText(tr.Subject), cleanText(tr.Before), cleanText(tr.After)
		var id *string
		if tr.ID != "" {
			id = &tr.ID
		}
		seq := "$1::bigint"
		if tr.Seq <= 0 {
			auto = true
			seq = "(SELECT coalesce(max(seq), 0) + 1 FROM transitions WHERE $1::bigint IS NULL)"
		}
		var seqArg *int64
		if tr.Seq > 0 {
			seqArg = &tr.Seq
		}
		b.Queue(`INSERT INTO transitions (seq, id, target, at, from_state, to_state, cause, observer,
			type, subject, detail_before, detail_after)
			VALUES (`+seq+`, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (id) DO NOTHING`,
			seqArg, id, tr.TargetID, sqlkit.NanosLo(tr.At), int32(tr.From), int32(tr.To), tr.Cause, tr.Observer,
			tr.Type, tr.Subject, tr.Before, tr.After)
	}
	return s.retry(ctx, func() error {
		return s.write(ctx, "add transitions", func(tx pgx.Tx) error {
			if auto {
				if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", transitionLockKey); err != nil {
					return err
				}
			}
			return sendBatch(ctx, tx, b)
		})
	})
}

const transitionCols = `seq, coalesce(id, ''), target, at, from_state, to_state, cause, observer,
	type, subject, detail_before, detail_after FROM transitions`

// Transitions returns matching transitions, newest first.
func (s *Store) Transitions(ctx context.Context, q store.TransitionQuery) ([]store.Transition, error) {
	query := `SELECT ` + transitionCols + ` WHERE at >= $1 AND at < $2`
	args := []any{sqlkit.NanosLo(q.From), sqlkit.NanosHi(q.To)}
	switch {
	case q.Type == store.TypeTransition, q.Type == "" && !q.Events:
		query += " AND type = ''"
	case q.Type != "":
		args = append(args, q.Type)
		query += fmt.Sprintf(" AND type = $%d", len(args))
	}
	if q.TargetID != "" {
		args = append(args, q.TargetID)
		query += fmt.Sprintf(" AND target = $%d", len(args))
	}
	query += " ORDER BY at DESC, seq DESC"
	if q.Limit > 0 {
		args = append(args, q.Limit)
		query += fmt.Sprintf(" LIMIT $%d", len(args))
	}
	return s.readTransitions(ctx, query, args...)
}

// TransitionsAfter returns transitions with seq above after, in seq order.
func (s *Store) TransitionsAfter(ctx context.Context, after int64, limit int) ([]store.Transition, error) {
	if limit <= 0 {
		limit = 1000
	}
	return s.readTransitions(ctx, `SELECT `+transitionCols+` WHERE seq > $1 ORDER BY seq LIMIT $2`, after, limit)
}

// TransitionByID returns the transition with id.
func (s *Store) TransitionByID(ctx context.Context, id string) (store.Transition, error) {
	ts, err := s.readTransitions(ctx, `SELECT `+transitionCols+` WHERE id = $1`, id)
	if err != nil {
		return store.Transition{}, err
	}
	if len(ts) == 0 {
		return store.Transition{}, fmt.Errorf("transition %s: %w", id, store.ErrNotFound)
	}
	return ts[0], nil
}

// TransitionHeads returns each target's latest state transition (by at,
// then seq) and the highest seq.
func (s *Store) TransitionHeads(ctx context.Context) ([]store.Transition, int64, error) {
	var maxSeq *int64
	if err := s.pool.QueryRow(ctx, `SELECT max(seq) FROM transitions`).Scan(&maxSeq); err != nil {
		return nil, 0, fmt.Errorf("read transitions: %w", err)
	}
	heads, err := s.readTransitions(ctx, `SELECT DISTINCT ON (target) `+transitionCols+`
		WHERE type = '' ORDER BY target, at DESC, seq DESC`)
	if maxSeq == nil {
		return heads, 0, err
	}
	return heads, *maxSeq, err
}

func (s *Store) readTransitions(ctx context.Context, query string, args ...any) ([]store.Transition, error) {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("read transitions: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Transition, error) {
		var tr store.Transition
		var at int64
		var from, to int32
		err := row.Scan(&tr.Seq, &tr.ID, &tr.TargetID, &at, &from, &to, &tr.Cause, &tr.Observer,
			&tr.Type, &tr.Subject, &tr.Before, &tr.After)
		tr.At = time.Unix(0, at).UTC()
		tr.From, tr.To = health.State(from), health.State(to)
		return tr, err
	})
	if err != nil {
		return nil, fmt.Errorf("read transitions: %w", err)
	}
	return out, nil
}

// AddRollups acknowledges rollups into the write queue: the writer
// merges them into this observer's stored minutes (and their hours) in one
// transaction, a call never split. When the queue is full of rollups it
// waits for room for at most Options.FullWait.
func (s *Store) AddRollups(ctx context.Context, rs []store.Rollup) error {
	if len(rs) == 0 {
		return nil
	}
	for i := range rs {
		if err := checkID("add rollups", rs[i].TargetID); err != nil {
			return err
		}
	}
	if err := s.q.addRollups(ctx, slices.Clone(rs), s.opts.FullWait); err != nil {
		return fmt.Errorf("add rollups (postgres database %s): %w", s.db, err)
	}
	return nil
}

// Rollups returns a target's rollups with Minute in [from, to), oldest
// first, the rows of every observer of a minute merged into one.
func (s *Store) Rollups(ctx context.Context, targetID string, from, to time.Time) ([]store.Rollup, error) {
	if err := s.q.barrier(ctx); err != nil {
		return nil, fmt.Errorf("read rollups of %q: %w", targetID, err)
	}
	rows, err := s.pool.Query(ctx, `SELECT minute, n, fails, lat_sum, lat_max, buckets FROM rollups
		WHERE target = $1 AND minute >= $2 AND minute < $3 ORDER BY minute`,
		targetID, secsCeil(from, math.MinInt64), secsCeil(to, math.MaxInt64))
	if err != nil {
		return nil, fmt.Errorf("read rollups of %q: %w", targetID, err)
	}
	defer rows.Close()
	var out []store.Rollup
	var buckets []int64
	for rows.Next() {
		var minute, n, fails, sum, mx int64
		if err := rows.Scan(&minute, &n, &fails, &sum, &mx, &buckets); err != nil {
			return nil, fmt.Errorf("read rollups of %q: %w", targetID, err)
		}
		if len(buckets) != store.NumBuckets {
			return nil, fmt.Errorf("read rollups of %q at %d: %d latency buckets stored, want %d", targetID, minute, len(buckets), store.NumBuckets)
		}
		r := store.Rollup{TargetID: targetID, Minute: time.Unix(minute, 0).UTC(),
			Count: uint32(n), Failures: uint32(fails), LatencySum: uint64(sum), LatencyMax: uint32(mx)}
		for i, c := range buckets {
			r.Buckets[i] = uint32(c)
		}
		if k := len(out) - 1; k >= 0 && out[k].Minute.Equal(r.Minute) {
			out[k].Merge(r) // another observer's row of the same minute
			continue
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read rollups of %q: %w", targetID, err)
	}
	return out, nil
}

// AddResults acknowledges raw results into the write queue, which the
// writer copies into results under this observer; it never waits. When
// the queue is full the oldest raw results are dropped and counted
// (Dropped). Two results of one target at the same nanosecond keep the
// last.
func (s *Store) AddResults(ctx context.Context, rs []store.Result) error {
	if len(rs) == 0 {
		return nil
	}
	for i := range rs {
		if err := checkID("add results", rs[i].TargetID); err != nil {
			return err
		}
	}
	in := slices.Clone(rs)
	for i := range in {
		in[i].Message = cleanText(in[i].Message)
	}
	if err := s.q.addResults(in); err != nil {
		return fmt.Errorf("add results (postgres database %s): %w", s.db, err)
	}
	return nil
}

// Results returns a target's raw results in [from, to), newest first, at
// most limit (0: no limit), of every observer.
func (s *Store) Results(ctx context.Context, targetID string, from, to time.Time, limit int) ([]store.Result, error) {
	if err := s.q.barrier(ctx); err != nil {
		return nil, fmt.Errorf("read results of %q: %w", targetID, err)
	}
	var lim *int64
	if limit > 0 {
		l := int64(limit)
		lim = &l
	}
	rows, err := s.pool.Query(ctx, `SELECT at, ok, latency, message, details FROM results
		WHERE target = $1 AND at >= $2 AND at < $3 ORDER BY at DESC, observer LIMIT $4`,
		targetID, sqlkit.NanosLo(from), sqlkit.NanosHi(to), lim)
	if err != nil {
		return nil, fmt.Errorf("read results of %q: %w", targetID, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Result, error) {
		r := store.Result{TargetID: targetID}
		var at, lat int64
		err := row.Scan(&at, &r.OK, &lat, &r.Message, &r.Details)
		r.At, r.Latency = time.Unix(0, at).UTC(), time.Duration(lat)
		if len(r.Details) == 0 {
			r.Details = nil
		}
		return r, err
	})
	if err != nil {
		return nil, fmt.Errorf("read results of %q: %w", targetID, err)
	}
	return out, nil
}

// DeleteTargetData removes a target's transitions, rollups and results (of
// every observer) in one transaction, once what was queued before is
// written.
func (s *Store) DeleteTargetData(ctx context.Context, targetID string) error {
	if err := s.q.barrier(ctx); err != nil {
		return fmt.Errorf("delete the data of %q: %w", targetID, err)
	}
	return s.write(ctx, "delete the data of "+fmt.Sprintf("%q", targetID), func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		for _, table := range []string{"rollups", "rollups_hour", "results", "transitions"} {
			b.Queue("DELETE FROM "+table+" WHERE target = $1", targetID)
		}
		return sendBatch(ctx, tx, b)
	})
}

// Prune removes records older than r allows as of now, once what was
// queued before is written: results and rollups by dropping their whole
// partitions (or TimescaleDB chunks) older than the cutoff, then deleting
// the older rows left in the partition straddling it; hour rollups wholly
// before the rollups' cutoff; transitions and tombstones by deleting.
func (s *Store) Prune(ctx context.Context, r store.Retention, now time.Time) error {
	if err := s.q.barrier(ctx); err != nil {
		return fmt.Errorf("prune (postgres database %s): %w", s.db, err)
	}
	type step struct {
		what, sql string
		arg       int64
	}
	var steps []step
	if r.Results > 0 {
		cutoff := now.Add(-r.Results).UnixNano()
		if _, err := s.parts.dropBefore(ctx, s.pool, resultsTable, cutoff); err != nil {
			return fmt.Errorf("prune results (postgres database %s): %w", s.db, err)
		}
		steps = append(steps, step{"results", "DELETE FROM results WHERE at < $1", cutoff})
	}
	if r.Rollups > 0 {
		cutoff := now.Add(-r.Rollups).Unix()
		if _, err := s.parts.dropBefore(ctx, s.pool, rollupsTable, cutoff); err != nil {
			return fmt.Errorf("prune rollups (postgres database %s): %w", s.db, err)
		}
		steps = append(steps, step{"rollups", "DELETE FROM rollups WHERE minute < $1", cutoff},
			step{"hour rollups", "DELETE FROM rollups_hour WHERE hour <= $1 - 3600", cutoff})
	}
	if r.Transitions > 0 {
		steps = append(steps, step{"transitions", "DELETE FROM transitions WHERE at < $1", now.Add(-r.Transitions).UnixNano()})
	}
	if r.Tombstones > 0 {
		cutoff := crdt.MakeTimestamp(now.Add(-r.Tombstones), 0)
		steps = append(steps, step{"tombstones", "DELETE FROM objects WHERE deleted AND stamp < $1", sqlkit.StampKey(uint64(cutoff))})
	}
	for _, st := range steps {
		err := s.write(ctx, "prune "+st.what, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, st.sql, st.arg)
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}
