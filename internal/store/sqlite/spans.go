package sqlite

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/heckhq/heck/internal/store"
)

// RollupSpans returns a target's results over [from, to) (whole seconds;
// zero bounds are open) as rollups, oldest first, none of them crossing a
// step of the grid from + k*step (k >= 0; step 0: no grid, only from and
// to cut): an hour rollup (Minute is the hour's start) wherever a whole
// hour fits between two cuts, minute rollups elsewhere. Grouped by the
// grid (as internal/node's group and history.Points do) they sum to
// exactly what the minutes sum to, from a fraction of the rows: a 30-day
// uptime in 24-hour steps is 690 hours and at most 31 hours' minutes
// instead of 43,200 rows. A step under an hour, a grid of more than
// store.MaxSpanCuts steps, or a grid with an open bound reads minutes (Rollups).
// The hours and minutes are read in one transaction, so they agree with
// each other whatever is written meanwhile.
func (s *Store) RollupSpans(ctx context.Context, targetID string, from, to time.Time, step time.Duration) ([]store.Rollup, error) {
	lo, hi := secsLo(from), secsHi(to)
	cut, hourLo, ok := store.PlanSpans(lo, hi, step)
	if !ok {
		return s.Rollups(ctx, targetID, from, to)
	}
	tid, found, err := s.existingID(ctx, targetID)
	if err != nil {
		return nil, fmt.Errorf("read rollups of %q: %w", targetID, err)
	}
	if !found || lo >= hi {
		return nil, nil
	}
	t, err := s.r.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("read rollups of %q: begin: %w", targetID, err)
	}
	defer func() { _ = t.Rollback() }()
	var out []store.Rollup
	// read appends the rows of query, skipping those starting a cut hour
	// when skipCut (an hour read as minutes).
	read := func(skipCut bool, query string, args ...any) error {
		rows, err := t.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		var blob []byte
		for rows.Next() {
			var start, n, fails, sum, mx int64
			if err := rows.Scan(&start, &n, &fails, &sum, &mx, &blob); err != nil {
				return err
			}
			if _, isCut := slices.BinarySearch(cut, start); skipCut && isCut {
				continue
			}
			r := store.Rollup{TargetID: targetID, Minute: time.Unix(start, 0).UTC(),
				Count: uint32(n), Failures: uint32(fails), LatencySum: uint64(sum), LatencyMax: uint32(mx)}
			if err := decodeBuckets(blob, &r.Buckets); err != nil {
				return fmt.Errorf("at %s: %w", r.Minute.Format(time.RFC3339), err)
			}
			out = append(out, r)
		}
		return rows.Err()
	}
	if err := read(true, `SELECT hour, n, fails, lat_sum, lat_max, buckets FROM rollups_hour
		WHERE tid = ? AND hour >= ? AND hour < ? ORDER BY hour`, tid, hourLo, hi); err != nil {
		return nil, fmt.Errorf("read hour rollups of %q: %w", targetID, err)
	}
	for _, h := range cut {
		if err := read(false, `SELECT minute, n, fails, lat_sum, lat_max, buckets FROM rollups
			WHERE tid = ? AND minute >= ? AND minute < ? ORDER BY minute`, tid, max(h, lo), min(h+3600, hi)); err != nil {
			return nil, fmt.Errorf("read rollups of %q: %w", targetID, err)
		}
	}
	slices.SortStableFunc(out, func(a, b store.Rollup) int { return a.Minute.Compare(b.Minute) })
	return out, nil
}
