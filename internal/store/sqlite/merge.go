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

// mergeSuffix is the conflict clause merging a rollup into the row of
// table keyed by tid and col: counts, sums and buckets added, the larger
// maximum.
func mergeSuffix(col string) string {
	return ` ON CONFLICT (tid, ` + col + `) DO UPDATE SET n = n + excluded.n, fails = fails + excluded.fails,
		lat_sum = lat_sum + excluded.lat_sum, lat_max = max(lat_max, excluded.lat_max),
		buckets = ` + mergeFunc + `(buckets, excluded.buckets)`
}

// mergeRows merges rows into table (what names them in errors), mergeBatch
// rows per statement, in the order given.
func (t *tx) mergeRows(ctx context.Context, what, table, col string, rows []spanRow) error {
	b := &batchedExec{t: t, cols: 7, suffix: mergeSuffix(col),
		prefix: "INSERT INTO " + table + " (tid, " + col + ", n, fails, lat_sum, lat_max, buckets)"}
	defer b.close()
	args := make([]any, 0, 7*mergeBatch)
	for len(rows) > 0 {
		n := min(len(rows), mergeBatch)
		args = args[:0]
		for _, row := range rows[:n] {
			r := row.r
			args = append(args, row.key.tid, row.key.start, int64(r.Count), int64(r.Failures),
				int64(min(r.LatencySum, math.MaxInt64)), int64(r.LatencyMax), blobOf(encodeBuckets(nil, &r.Buckets)))
		}
		if err := b.exec(ctx, args, n); err != nil {
			first, last := rows[0], rows[n-1]
			return fmt.Errorf("%s of %q at %s to %q at %s: %w", what, first.target, fmtSecs(first.key.start),
				last.target, fmtSecs(last.key.start), err)
		}
		rows = rows[n:]
	}
	return nil
}

func fmtSecs(s int64) string { return time.Unix(s, 0).UTC().Format(time.RFC3339) }

// valuesSQL is prefix followed by n groups of cols placeholders and suffix:
// one statement writing n rows.
func valuesSQL(prefix string, cols, n int, suffix string) string {
	var b strings.Builder
	b.WriteString(prefix)
	b.WriteString(" VALUES ")
	group := "(" + strings.Repeat("?, ", cols-1) + "?)"
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(group)
	}
	b.WriteString(suffix)
	return b.String()
}

// batchedExec runs a statement of valuesSQL's for every mergeBatch rows
// (the full-size one prepared once), the rows' arguments in order.
type batchedExec struct {
	t              *tx
	prefix, suffix string
	cols           int
	full           *sql.Stmt
}

// exec writes the first n rows of args.
func (b *batchedExec) exec(ctx context.Context, args []any, n int) error {
	if n == mergeBatch {
		if b.full == nil {
			var err error
			if b.full, err = b.t.PrepareContext(ctx, valuesSQL(b.prefix, b.cols, mergeBatch, b.suffix)); err != nil {
				return err
			}
		}
		_, err := b.full.ExecContext(ctx, args...)
		return err
	}
	_, err := b.t.ExecContext(ctx, valuesSQL(b.prefix, b.cols, n, b.suffix), args...)
	return err
}

func (b *batchedExec) close() {
	if b.full != nil {
		b.full.Close()
	}
}
