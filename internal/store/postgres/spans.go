package postgres

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/heckhq/heck/internal/store"
)

// RollupSpans returns a target's results over [from, to) (whole seconds;
// zero bounds are open) as rollups of every observer merged, oldest first,
// each covering an hour (Minute is the hour's start) where the whole hour
// lies in the range, and a minute elsewhere (the ragged ends). Summed, they
// equal Rollups over the same range, read from about 1/60 of the rows: a
// 30-day uptime or latency percentile is 720 hour rows and at most 118
// minute rows instead of 43,200. history.UptimeOf and Points take them as
// they are when the windows or steps start on hours.
func (s *Store) RollupSpans(ctx context.Context, targetID string, from, to time.Time) ([]store.Rollup, error) {
	if err := s.q.barrier(ctx); err != nil {
		return nil, fmt.Errorf("read rollups of %q: %w", targetID, err)
	}
	lo, hi := secsCeil(from, math.MinInt64), secsCeil(to, math.MaxInt64)
	// Whole hours: [hlo, hhi).
	hlo, hhi := hourOf(lo), hourOf(hi)
	if hlo < lo {
		hlo += 3600
	}
	if lo == math.MinInt64 || hi == math.MaxInt64 {
		// An open bound: no hour rollup reaches that far in either way.
		if lo == math.MinInt64 {
			hlo = math.MinInt64
		}
		if hi == math.MaxInt64 {
			hhi = math.MaxInt64
		}
	}
	if hlo >= hhi {
		hlo, hhi = lo, lo // no whole hour: minutes only
	}
	rows, err := s.pool.Query(ctx, `SELECT minute, n, fails, lat_sum, lat_max, buckets FROM rollups
			WHERE target = $1 AND ((minute >= $2 AND minute < $3) OR (minute >= $4 AND minute < $5))
		UNION ALL
		SELECT hour, n, fails, lat_sum, lat_max, buckets FROM rollups_hour
			WHERE target = $1 AND hour >= $3 AND hour < $4
		ORDER BY 1`, targetID, lo, hlo, hhi, hi)
	if err != nil {
		return nil, fmt.Errorf("read rollups of %q: %w", targetID, err)
	}
	defer rows.Close()
	var out []store.Rollup
	var buckets []int64
	for rows.Next() {
		var start, n, fails, sum, mx int64
		if err := rows.Scan(&start, &n, &fails, &sum, &mx, &buckets); err != nil {
			return nil, fmt.Errorf("read rollups of %q: %w", targetID, err)
		}
		if len(buckets) != store.NumBuckets {
			return nil, fmt.Errorf("read rollups of %q at %d: %d latency buckets stored, want %d", targetID, start, len(buckets), store.NumBuckets)
		}
		r := store.Rollup{TargetID: targetID, Minute: time.Unix(start, 0).UTC(),
			Count: sat32(n), Failures: sat32(fails), LatencySum: uint64(max(sum, 0)), LatencyMax: sat32(mx)}
		for i, c := range buckets {
			r.Buckets[i] = sat32(c)
		}
		if k := len(out) - 1; k >= 0 && out[k].Minute.Equal(r.Minute) {
			out[k].Merge(r) // another observer's row of the same span
			continue
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read rollups of %q: %w", targetID, err)
	}
	return out, nil
}

// sat32 is n as a uint32, saturated.
func sat32(n int64) uint32 {
	return uint32(min(max(n, 0), math.MaxUint32))
}
