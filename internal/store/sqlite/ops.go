package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/heckhq/heck/internal/crdt"
	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/store"
	"github.com/heckhq/heck/internal/store/sqlkit"
)

// Time conversions. A zero time is an open bound; times outside what int64
// nanoseconds hold are clamped.

// secsLo is the smallest whole second s with s >= t.
func secsLo(t time.Time) int64 {
	if t.IsZero() {
		return math.MinInt64
	}
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}

// secsHi is the smallest whole second s such that every whole second below
// t is below s.
func secsHi(t time.Time) int64 {
	if t.IsZero() {
		return math.MaxInt64
	}
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}

// PutObjects upserts entries of kind. Last-writer-wins is resolved in SQL:
// a stored row is replaced only by a newer entry (later stamp, then larger
// node, then a tombstone over a value), so a late older write is a no-op.
func (s *Store) PutObjects(ctx context.Context, kind string, recs []store.ObjectRecord) error {
	if len(recs) == 0 {
		return nil
	}
	if kind == "" {
		return errors.New("put objects: empty kind")
	}
	return s.write(ctx, "put objects", func(t *tx) error {
		st, err := t.PrepareContext(ctx, `INSERT INTO objects (kind, key, value, stamp, node, deleted) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (kind, key) DO UPDATE SET value = excluded.value, stamp = excluded.stamp,
			node = excluded.node, deleted = excluded.deleted
			WHERE excluded.stamp > objects.stamp
			   OR (excluded.stamp = objects.stamp AND (excluded.node > objects.node
			       OR (excluded.node = objects.node AND excluded.deleted > objects.deleted)))`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, r := range recs {
			if r.Key == "" {
				return fmt.Errorf("%s object with an empty key", kind)
			}
			v := r.Value
			if v == nil || r.Deleted {
				v = []byte{}
			}
			if _, err := st.ExecContext(ctx, kind, r.Key, v, sqlkit.StampKey(r.Stamp), r.Node, r.Deleted); err != nil {
				return fmt.Errorf("%s object %q: %w", kind, r.Key, err)
			}
		}
		return nil
	})
}

// Objects returns every entry of kind, tombstones included, by key.
func (s *Store) Objects(ctx context.Context, kind string) ([]store.ObjectRecord, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT key, value, stamp, node, deleted FROM objects WHERE kind = ? ORDER BY key", kind)
	if err != nil {
		return nil, fmt.Errorf("read %s objects: %w", kind, err)
	}
	defer rows.Close()
	var out []store.ObjectRecord
	for rows.Next() {
		var r store.ObjectRecord
		var k int64
		if err := rows.Scan(&r.Key, &r.Value, &k, &r.Node, &r.Deleted); err != nil {
			return nil, fmt.Errorf("read %s objects: %w", kind, err)
		}
		r.Stamp = sqlkit.StampOf(k)
		if len(r.Value) == 0 {
			r.Value = nil
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read %s objects: %w", kind, err)
	}
	return out, nil
}

// AddTransitions appends transitions in one transaction, skipping those
// whose id is stored already.
func (s *Store) AddTransitions(ctx context.Context, ts []store.Transition) error {
	if len(ts) == 0 {
		return nil
	}
	return s.write(ctx, "add transitions", func(t *tx) error {
		st, err := t.PrepareContext(ctx, `INSERT INTO transitions (seq, id, tid, at, from_state, to_state, cause, observer,
			type, subject, detail_before, detail_after)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, tr := range ts {
			if tr.TargetID == "" {
				return errors.New("transition with an empty target id")
			}
			tid, err := t.id(ctx, tr.TargetID)
			if err != nil {
				return err
			}
			var seq, id any
			if tr.Seq > 0 {
				seq = tr.Seq
			}
			if tr.ID != "" {
				id = tr.ID
			}
			if _, err := st.ExecContext(ctx, seq, id, tid, sqlkit.NanosLo(tr.At), int64(tr.From), int64(tr.To), tr.Cause, tr.Observer,
				tr.Type, tr.Subject, tr.Before, tr.After); err != nil {
				return fmt.Errorf("transition of %q: %w", tr.TargetID, err)
			}
		}
		return nil
	})
}

const transitionCols = `t.seq, coalesce(t.id, ''), n.name, t.at, t.from_state, t.to_state, t.cause, t.observer,
		t.type, t.subject, t.detail_before, t.detail_after
		FROM transitions t JOIN target_ids n ON n.tid = t.tid`

// Transitions returns matching transitions, newest first.
func (s *Store) Transitions(ctx context.Context, q store.TransitionQuery) ([]store.Transition, error) {
	query := `SELECT ` + transitionCols + ` WHERE t.at >= ? AND t.at < ?`
	args := []any{sqlkit.NanosLo(q.From), sqlkit.NanosHi(q.To)}
	switch {
	case q.Type == store.TypeTransition:
		query += " AND t.type = ''"
	case q.Type != "":
		query += " AND t.type = ?"
		args = append(args, q.Type)
	case !q.Events:
		query += " AND t.type = ''"
	}
	if q.TargetID != "" {
		tid, ok, err := s.existingID(ctx, q.TargetID)
		if err != nil {
			return nil, fmt.Errorf("read transitions: %w", err)
		}
		if !ok {
			return nil, nil
		}
		query += " AND t.tid = ?"
		args = append(args, tid)
	}
	query += " ORDER BY t.at DESC, t.seq DESC"
	if q.Limit > 0 {
		query += " LIMIT ?"
		args = append(args, q.Limit)
	}
	return s.readTransitions(ctx, query, args...)
}

// TransitionsAfter returns transitions with seq above after, in seq order.
func (s *Store) TransitionsAfter(ctx context.Context, after int64, limit int) ([]store.Transition, error) {
	if limit <= 0 {
		limit = 1000
	}
	return s.readTransitions(ctx, `SELECT `+transitionCols+` WHERE t.seq > ? ORDER BY t.seq LIMIT ?`, after, limit)
}

// TransitionByID returns the transition with id.
func (s *Store) TransitionByID(ctx context.Context, id string) (store.Transition, error) {
	ts, err := s.readTransitions(ctx, `SELECT `+transitionCols+` WHERE t.id = ?`, id)
	if err != nil {
		return store.Transition{}, err
	}
	if len(ts) == 0 {
		return store.Transition{}, fmt.Errorf("transition %s: %w", id, store.ErrNotFound)
	}
	return ts[0], nil
}

// TransitionHeads returns each target's latest transition and the highest
// seq.
func (s *Store) TransitionHeads(ctx context.Context) ([]store.Transition, int64, error) {
	var maxSeq sql.NullInt64
	if err := s.r.QueryRowContext(ctx, `SELECT max(seq) FROM transitions`).Scan(&maxSeq); err != nil {
		return nil, 0, fmt.Errorf("read transitions: %w", err)
	}
	heads, err := s.readTransitions(ctx, `SELECT `+transitionCols+` WHERE t.seq = (
		SELECT t2.seq FROM transitions t2 WHERE t2.tid = t.tid AND t2.type = '' ORDER BY t2.at DESC, t2.seq DESC LIMIT 1)`)
	return heads, maxSeq.Int64, err
}

func (s *Store) readTransitions(ctx context.Context, query string, args ...any) ([]store.Transition, error) {
	rows, err := s.read(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("read transitions: %w", err)
	}
	defer rows.Close()
	var out []store.Transition
	for rows.Next() {
		var tr store.Transition
		var at, from, to int64
		if err := rows.Scan(&tr.Seq, &tr.ID, &tr.TargetID, &at, &from, &to, &tr.Cause, &tr.Observer,
			&tr.Type, &tr.Subject, &tr.Before, &tr.After); err != nil {
			return nil, fmt.Errorf("read transitions: %w", err)
		}
		tr.At = time.Unix(0, at).UTC()
		tr.From, tr.To = health.State(from), health.State(to)
		out = append(out, tr)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read transitions: %w", err)
	}
	return out, nil
}

// AddRollups merges rollups into stored ones in one transaction: an
// existing (target, minute) row gets counts, sums and buckets added and the
// larger maximum. Minute is truncated to its minute. The hour rollups of
// the minutes are merged the same way in the same transaction.
func (s *Store) AddRollups(ctx context.Context, rs []store.Rollup) error {
	if len(rs) == 0 {
		return nil
	}
	return s.write(ctx, "add rollups", func(t *tx) error {
		minutes := make([]spanRow, len(rs))
		hours := map[spanKey]int{} // index in sums
		var sums []hourSum
		for i := range rs {
			r := &rs[i]
			if r.TargetID == "" {
				return errors.New("rollup with an empty target id")
			}
			tid, err := t.id(ctx, r.TargetID)
			if err != nil {
				return err
			}
			m := sqlkit.MinuteOf(r.Minute)
			minutes[i] = spanRow{spanKey{tid, m}, r.TargetID, r}
			k := spanKey{tid, hourOf(m)}
			j, ok := hours[k]
			if !ok {
				j = len(sums)
				hours[k] = j
				sums = append(sums, hourSum{key: k, target: r.TargetID})
			}
			sums[j].r.Merge(*r)
		}
		if err := t.mergeRows(ctx, "rollups", "rollups", "minute", minutes); err != nil {
			return err
		}
		// The hours in key order, so the writes walk the table's pages once.
		slices.SortFunc(sums, func(a, b hourSum) int {
			return cmp.Or(cmp.Compare(a.key.tid, b.key.tid), cmp.Compare(a.key.start, b.key.start))
		})
		hrows := make([]spanRow, len(sums))
		for i := range sums {
			hrows[i] = spanRow{sums[i].key, sums[i].target, &sums[i].r}
		}
		return t.mergeRows(ctx, "hour rollups", "rollups_hour", "hour", hrows)
	})
}

// blobOf is an encoded histogram as stored: NULL when empty.
func blobOf(enc []byte) any {
	if len(enc) == 0 {
		return nil
	}
	return enc
}

// spanKey is one interned target's minute or hour (unix seconds).
type spanKey struct{ tid, start int64 }

// hourSum is the sum of one call's rollups of a target's hour.
type hourSum struct {
	key    spanKey
	target string
	r      store.Rollup
}

// hourOf is the unix second starting the hour of unix second s.
func hourOf(s int64) int64 { return s - ((s%3600)+3600)%3600 }

// Rollups returns a target's rollups with Minute in [from, to), oldest
// first.
func (s *Store) Rollups(ctx context.Context, targetID string, from, to time.Time) ([]store.Rollup, error) {
	tid, ok, err := s.existingID(ctx, targetID)
	if err != nil {
		return nil, fmt.Errorf("read rollups of %q: %w", targetID, err)
	}
	if !ok {
		return nil, nil
	}
	rows, err := s.r.QueryContext(ctx, `SELECT minute, n, fails, lat_sum, lat_max, buckets FROM rollups
		WHERE tid = ? AND minute >= ? AND minute < ? ORDER BY minute`, tid, secsLo(from), secsHi(to))
	if err != nil {
		return nil, fmt.Errorf("read rollups of %q: %w", targetID, err)
	}
	defer rows.Close()
	var out []store.Rollup
	var blob []byte
	for rows.Next() {
		r := store.Rollup{TargetID: targetID}
		var minute, n, fails, sum, mx int64
		if err := rows.Scan(&minute, &n, &fails, &sum, &mx, &blob); err != nil {
			return nil, fmt.Errorf("read rollups of %q: %w", targetID, err)
		}
		r.Minute = time.Unix(minute, 0).UTC()
		r.Count, r.Failures = uint32(n), uint32(fails)
		r.LatencySum, r.LatencyMax = uint64(sum), uint32(mx)
		if err := decodeBuckets(blob, &r.Buckets); err != nil {
			return nil, fmt.Errorf("read rollups of %q at %s: %w", targetID, r.Minute.Format(time.RFC3339), err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read rollups of %q: %w", targetID, err)
	}
	return out, nil
}

// AddResults appends raw results in one transaction. Two results of one
// target at the same nanosecond keep the last.
func (s *Store) AddResults(ctx context.Context, rs []store.Result) error {
	if len(rs) == 0 {
		return nil
	}
	return s.write(ctx, "add results", func(t *tx) error {
		b := &batchedExec{t: t, cols: 6, prefix: "INSERT OR REPLACE INTO results (tid, at, ok, latency, message, details)"}
		defer b.close()
		args := make([]any, 0, 6*mergeBatch)
		for len(rs) > 0 {
			n := min(len(rs), mergeBatch)
			args = args[:0]
			for i := range rs[:n] {
				r := &rs[i]
				if r.TargetID == "" {
					return errors.New("result with an empty target id")
				}
				tid, err := t.id(ctx, r.TargetID)
				if err != nil {
					return err
				}
				var details any
				if len(r.Details) > 0 {
					details = r.Details
				}
				args = append(args, tid, sqlkit.NanosLo(r.At), r.OK, int64(r.Latency), r.Message, details)
			}
			// Rows of one statement are written in order: of two results
			// of a target at the same nanosecond the last stays.
			if err := b.exec(ctx, args, n); err != nil {
				return fmt.Errorf("results of %q to %q: %w", rs[0].TargetID, rs[n-1].TargetID, err)
			}
			rs = rs[n:]
		}
		return nil
	})
}

// Results returns a target's raw results in [from, to), newest first, at
// most limit (0: no limit).
func (s *Store) Results(ctx context.Context, targetID string, from, to time.Time, limit int) ([]store.Result, error) {
	tid, ok, err := s.existingID(ctx, targetID)
	if err != nil {
		return nil, fmt.Errorf("read results of %q: %w", targetID, err)
	}
	if !ok {
		return nil, nil
	}
	lim := int64(-1)
	if limit > 0 {
		lim = int64(limit)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT at, ok, latency, message, details FROM results
		WHERE tid = ? AND at >= ? AND at < ? ORDER BY at DESC LIMIT ?`, tid, sqlkit.NanosLo(from), sqlkit.NanosHi(to), lim)
	if err != nil {
		return nil, fmt.Errorf("read results of %q: %w", targetID, err)
	}
	defer rows.Close()
	var out []store.Result
	for rows.Next() {
		r := store.Result{TargetID: targetID}
		var at, lat int64
		if err := rows.Scan(&at, &r.OK, &lat, &r.Message, &r.Details); err != nil {
			return nil, fmt.Errorf("read results of %q: %w", targetID, err)
		}
		r.At, r.Latency = time.Unix(0, at).UTC(), time.Duration(lat)
		if len(r.Details) == 0 {
			r.Details = nil
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read results of %q: %w", targetID, err)
	}
	return out, nil
}

// DeleteTargetData removes a target's transitions, rollups and results, in
// bounded chunks. The interned id stays (it costs a few bytes) so that
// concurrent readers never hold a stale one.
func (s *Store) DeleteTargetData(ctx context.Context, targetID string) error {
	tid, ok, err := s.existingID(ctx, targetID)
	if err != nil {
		return fmt.Errorf("delete data of %q: %w", targetID, err)
	}
	if !ok {
		return nil
	}
	tids := []int64{tid}
	if err := s.pruneKeyed(ctx, "rollups", "minute", tids, math.MaxInt64); err != nil {
		return fmt.Errorf("delete data of %q: %w", targetID, err)
	}
	if err := s.pruneKeyed(ctx, "rollups_hour", "hour", tids, math.MaxInt64); err != nil {
		return fmt.Errorf("delete data of %q: %w", targetID, err)
	}
	if err := s.pruneKeyed(ctx, "results", "at", tids, math.MaxInt64); err != nil {
		return fmt.Errorf("delete data of %q: %w", targetID, err)
	}
	for {
		var n int64
		err := s.write(ctx, "delete transitions", func(t *tx) error {
			res, err := t.ExecContext(ctx, `DELETE FROM transitions WHERE seq IN
				(SELECT seq FROM transitions WHERE tid = ? LIMIT ?)`, tid, pruneChunk)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		if err != nil {
			return fmt.Errorf("delete data of %q: %w", targetID, err)
		}
		if n < pruneChunk {
			return nil
		}
	}
}

// pruneChunk bounds the rows one prune transaction deletes, so the writer
// is never held for long.
const pruneChunk = 5000

// Prune removes records older than r allows as of now, in transactions of
// at most pruneChunk rows each.
func (s *Store) Prune(ctx context.Context, r store.Retention, now time.Time) error {
	if r.Results > 0 || r.Rollups > 0 {
		tids, err := s.allIDs(ctx)
		if err != nil {
			return fmt.Errorf("prune: %w", err)
		}
		if r.Results > 0 {
			if err := s.pruneKeyed(ctx, "results", "at", tids, now.Add(-r.Results).UnixNano()); err != nil {
				return fmt.Errorf("prune results: %w", err)
			}
		}
		if r.Rollups > 0 {
			cutoff := now.Add(-r.Rollups).Unix()
			if err := s.pruneKeyed(ctx, "rollups", "minute", tids, cutoff); err != nil {
				return fmt.Errorf("prune rollups: %w", err)
			}
			// Hours wholly before the cutoff (hour + 3600 <= cutoff), as
			// the postgres store prunes them.
			if err := s.pruneKeyed(ctx, "rollups_hour", "hour", tids, cutoff-3599); err != nil {
				return fmt.Errorf("prune hour rollups: %w", err)
			}
		}
	}
	if r.Transitions > 0 {
		cutoff := now.Add(-r.Transitions).UnixNano()
		for {
			var n int64
			err := s.write(ctx, "prune transitions", func(t *tx) error {
				res, err := t.ExecContext(ctx, `DELETE FROM transitions WHERE seq IN
					(SELECT seq FROM transitions WHERE at < ? ORDER BY at LIMIT ?)`, cutoff, pruneChunk)
				if err != nil {
					return err
				}
				n, err = res.RowsAffected()
				return err
			})
			if err != nil {
				return fmt.Errorf("prune: %w", err)
			}
			if n < pruneChunk {
				break
			}
		}
	}
	if r.Tombstones > 0 {
		cutoff := crdt.MakeTimestamp(now.Add(-r.Tombstones), 0)
		err := s.write(ctx, "prune tombstones", func(t *tx) error {
			_, err := t.ExecContext(ctx, "DELETE FROM objects WHERE deleted <> 0 AND stamp < ?", sqlkit.StampKey(uint64(cutoff)))
			return err
		})
		if err != nil {
			return fmt.Errorf("prune: %w", err)
		}
	}
	return nil
}

func (s *Store) allIDs(ctx context.Context) ([]int64, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT tid FROM target_ids ORDER BY tid")
	if err != nil {
		return nil, fmt.Errorf("list target ids: %w", err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("list target ids: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// pruneKeyed deletes the rows of table (keyed by tid and col) whose col is
// below cutoff, for each of tids, at most pruneChunk rows per transaction.
func (s *Store) pruneKeyed(ctx context.Context, table, col string, tids []int64, cutoff int64) error {
	boundary := "SELECT " + col + " FROM " + table + " WHERE tid = ? AND " + col + " < ? ORDER BY " + col + " LIMIT 1 OFFSET ?"
	delBelow := "DELETE FROM " + table + " WHERE tid = ? AND " + col + " < ?"
	delUpTo := "DELETE FROM " + table + " WHERE tid = ? AND " + col + " <= ?"
	i := 0
	for i < len(tids) {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := s.write(ctx, "prune "+table, func(t *tx) error {
			deleted := int64(0)
			for i < len(tids) && deleted < pruneChunk {
				var b int64
				err := t.QueryRowContext(ctx, boundary, tids[i], cutoff, pruneChunk-deleted-1).Scan(&b)
				var res sql.Result
				switch {
				case errors.Is(err, sql.ErrNoRows):
					res, err = t.ExecContext(ctx, delBelow, tids[i], cutoff)
					i++
				case err != nil:
					return err
				default:
					res, err = t.ExecContext(ctx, delUpTo, tids[i], b)
				}
				if err != nil {
					return err
				}
				n, err := res.RowsAffected()
				if err != nil {
					return err
				}
				deleted += n
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}
