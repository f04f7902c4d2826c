package postgres

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/heckhq/heck/internal/store"
)

// RollupSpans returns a target's results over [from, to) (whole seconds;
// zero bounds are open) as rollups of every observer merged, oldest first,
// none of them crossing a step of the grid from + k*step (k >= 0; step 0:
// no grid, only from and to cut): an hour rollup (Minute is the hour's
// start) wherever a whole hour fits between two cuts, minute rollups
// elsewhere. Grouped by the grid (as internal/node's group and
// history.Points do) they sum to exactly what the minutes sum to, from a
// fraction of the rows: a 30-day uptime in 24-hour steps is 690 hours and
// at most 31 hours' minutes instead of 43,200 rows. A step under an hour,
// or a grid of more than store.MaxSpanCuts steps, reads minutes (Rollups).
func (s *Store) RollupSpans(ctx context.Context, targetID string, from, to time.Time, step time.Duration) ([]store.Rollup, error) {
	lo, hi := secsCeil(from, math.MinInt64), secsCeil(to, math.MaxInt64)
	cut, hourLo, ok := store.PlanSpans(lo, hi, step)
	if !ok {
		return s.Rollups(ctx, targetID, from, to)
	}
	if err := s.q.barrier(ctx); err != nil {
		return nil, fmt.Errorf("read rollups of %q: %w", targetID, err)
	}
	// One round trip: the whole hours, then the minutes of each cut hour,
	// each query a range of the primary key of one partition.
	b := &pgx.Batch{}
	b.Queue(`SELECT hour, n, fails, lat_sum, lat_max, buckets FROM rollups_hour
		WHERE target = $1 AND hour >= $2 AND hour < $3 AND NOT (hour = ANY($4::bigint[]))`, targetID, hourLo, hi, cut)
	for _, h := range cut {
		b.Queue(`SELECT minute, n, fails, lat_sum, lat_max, buckets FROM rollups
			WHERE target = $1 AND minute >= $2 AND minute < $3`, targetID, max(h, lo), min(h+3600, hi))
	}
	br := s.pool.SendBatch(ctx, b)
	defer br.Close()
	var all []store.Rollup
	var buckets []int64
	for range b.Len() {
		rows, err := br.Query()
		if err != nil {
			return nil, fmt.Errorf("read rollups of %q: %w", targetID, err)
		}
		for rows.Next() {
			var start, n, fails, sum, mx int64
			if err := rows.Scan(&start, &n, &fails, &sum, &mx, &buckets); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read rollups of %q: %w", targetID, err)
			}
			if len(buckets) != store.NumBuckets {
				rows.Close()
				return nil, fmt.Errorf("read rollups of %q at %d: %d latency buckets stored, want %d", targetID, start, len(buckets), store.NumBuckets)
			}
			r := store.Rollup{TargetID: targetID, Minute: time.Unix(start, 0).UTC(),
				Count: sat32(n), Failures: sat32(fails), LatencySum: uint64(max(sum, 0)), LatencyMax: sat32(mx)}
			for i, c := range buckets {
				r.Buckets[i] = sat32(c)
			}
			all = append(all, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("read rollups of %q: %w", targetID, err)
		}
	}
	// Oldest first, the rows of every observer of a span merged.
	slices.SortStableFunc(all, func(a, b store.Rollup) int { return a.Minute.Compare(b.Minute) })
	out := all[:0]
	for _, r := range all {
		if k := len(out) - 1; k >= 0 && out[k].Minute.Equal(r.Minute) {
			out[k].Merge(r)
			continue
		}
		out = append(out, r)
	}
	return out, nil
}

// sat32 is n as a uint32, saturated.
func sat32(n int64) uint32 {
	return uint32(min(max(n, 0), math.MaxUint32))
}

// PendingRollups returns the rollups of a target with Minute in [from, to)
// acknowledged but not yet committed (queued, or in the batch being
// written): with several nodes sharing the database, what a node adds to
// the stored records when another reads them (history.QueueingStore).
func (s *Store) PendingRollups(targetID string, from, to time.Time) []store.Rollup {
	return s.q.pendingRollups(targetID, secsCeil(from, math.MinInt64), secsCeil(to, math.MaxInt64))
}
