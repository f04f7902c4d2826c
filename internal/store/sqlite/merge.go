package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/heckhq/heck/internal/store"
)

// mergeBatch is how many rollups one upsert statement carries: one
// statement per row spends most of its time in the driver (binding,
// database/sql's locks, a goroutine watching the context), not in SQLite.
const mergeBatch = 64

// spanRow is one rollup to merge into the row of key.
type spanRow struct {
	key    spanKey
	target string
	r      *store.Rollup
}

// mergeSQL is the upsert merging n rollups into table, keyed by tid and
// col: an existing row gets counts, sums and buckets added and the larger
// maximum.
func mergeSQL(table, col string, n int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO " + table + " (tid, " + col + ", n, fails, lat_sum, lat_max, buckets) VALUES ")
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?, ?, ?, ?, ?)")
	}
	b.WriteString(` ON CONFLICT (tid, ` + col + `) DO UPDATE SET n = n + excluded.n, fails = fails + excluded.fails,
		lat_sum = lat_sum + excluded.lat_sum, lat_max = max(lat_max, excluded.lat_max),
		buckets = ` + mergeFunc + `(buckets, excluded.buckets)`)
	return b.String()
}

// mergeRows merges rows into table (what names them in errors), mergeBatch
// rows per statement, in the order given.
func (t *tx) mergeRows(ctx context.Context, what, table, col string, rows []spanRow) error {
	var full *sql.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	args := make([]any, 0, 7*mergeBatch)
	for len(rows) > 0 {
		n := min(len(rows), mergeBatch)
		args = args[:0]
		for _, row := range rows[:n] {
			r := row.r
			args = append(args, row.key.tid, row.key.start, int64(r.Count), int64(r.Failures),
				int64(min(r.LatencySum, math.MaxInt64)), int64(r.LatencyMax), blobOf(encodeBuckets(nil, &r.Buckets)))
		}
		var err error
		if n == mergeBatch {
			if full == nil {
				if full, err = t.PrepareContext(ctx, mergeSQL(table, col, mergeBatch)); err != nil {
					return err
				}
			}
			_, err = full.ExecContext(ctx, args...)
		} else {
			_, err = t.ExecContext(ctx, mergeSQL(table, col, n), args...)
		}
		if err != nil {
			first, last := rows[0], rows[n-1]
			return fmt.Errorf("%s of %q at %s to %q at %s: %w", what, first.target, fmtSecs(first.key.start),
				last.target, fmtSecs(last.key.start), err)
		}
		rows = rows[n:]
	}
	return nil
}

func fmtSecs(s int64) string { return time.Unix(s, 0).UTC().Format(time.RFC3339) }
