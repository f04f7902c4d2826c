package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/heckhq/heck/internal/store"
)

// backfillHours sums the stored minute rollups into hour rollups (schema
// 6): one pass over rollups in key order, one hour in memory at a time,
// written mergeBatch hours per statement.
func backfillHours(ctx context.Context, t *sql.Tx) error {
	rows, err := t.QueryContext(ctx, "SELECT tid, minute, n, fails, lat_sum, lat_max, buckets FROM rollups ORDER BY tid, minute")
	if err != nil {
		return fmt.Errorf("sum hour rollups: %w", err)
	}
	defer rows.Close()
	w := &tx{Tx: t}
	var pending []spanRow
	flush := func() error {
		err := w.mergeRows(ctx, "hour rollups", "rollups_hour", "hour", pending)
		pending = pending[:0]
		return err
	}
	var cur *store.Rollup
	var blob []byte
	for rows.Next() {
		var tid, minute, n, fails, sum, mx int64
		if err := rows.Scan(&tid, &minute, &n, &fails, &sum, &mx, &blob); err != nil {
			return fmt.Errorf("sum hour rollups: %w", err)
		}
		k := spanKey{tid, hourOf(minute)}
		if len(pending) == 0 || pending[len(pending)-1].key != k {
			if len(pending) == mergeBatch {
				if err := flush(); err != nil {
					return err
				}
			}
			cur = &store.Rollup{}
			pending = append(pending, spanRow{key: k, target: fmt.Sprint("target id ", tid), r: cur})
		}
		r := store.Rollup{Count: uint32(n), Failures: uint32(fails), LatencySum: uint64(max(sum, 0)), LatencyMax: uint32(mx)}
		if err := decodeBuckets(blob, &r.Buckets); err != nil {
			return fmt.Errorf("sum hour rollups: minute %d of target id %d: %w", minute, tid, err)
		}
		cur.Merge(r)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sum hour rollups: %w", err)
	}
	return flush()
}
