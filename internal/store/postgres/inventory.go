package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/heckhq/heck/internal/store"
	"github.com/heckhq/heck/internal/store/sqlkit"
)

// What heck store copy and heck store migrate need beyond store.Store:
// the store listed whole, rollups written as they are, and the schema
// version read without changing it.

// ObjectKinds returns the kinds of replicated objects stored, sorted.
func (s *Store) ObjectKinds(ctx context.Context) ([]string, error) {
	return s.strings(ctx, "list object kinds", `SELECT DISTINCT kind FROM objects ORDER BY kind`)
}

// DataTargets returns, sorted, the ids of every target with transitions,
// rollups or results here (of any observer).
func (s *Store) DataTargets(ctx context.Context) ([]string, error) {
	if err := s.Flush(ctx); err != nil {
		return nil, err
	}
	return s.strings(ctx, "list targets with data", `SELECT target FROM rollups UNION SELECT target FROM results
		UNION SELECT target FROM transitions ORDER BY 1`)
}

func (s *Store) strings(ctx context.Context, what, query string) ([]string, error) {
	rows, err := s.pool.Query(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("%s (postgres database %s): %w", what, s.db, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("%s (postgres database %s): %w", what, s.db, err)
	}
	return out, nil
}

// Tables are the tables TableCounts counts, in the order a copy fills
// them.
var Tables = []string{"objects", "transitions", "rollups", "results"}

// TableCounts returns the rows of each of Tables (rollups and results of
// every observer).
func (s *Store) TableCounts(ctx context.Context) (map[string]int64, error) {
	if err := s.Flush(ctx); err != nil {
		return nil, err
	}
	out := make(map[string]int64, len(Tables))
	for _, t := range Tables {
		var n int64
		if err := s.pool.QueryRow(ctx, "SELECT count(*) FROM "+t).Scan(&n); err != nil {
			return nil, fmt.Errorf("count the rows of %s (postgres database %s): %w", t, s.db, err)
		}
		out[t] = n
	}
	return out, nil
}

// PutRollups stores rollups as this observer's, replacing its stored row
// of the same target and minute rather than adding to it (AddRollups):
// what a copy writes, so that running it again gives the same rows. It is
// synchronous (after what was queued before), and the hours it touches
// are summed again from their minutes in the same transaction.
func (s *Store) PutRollups(ctx context.Context, rs []store.Rollup) error {
	if len(rs) == 0 {
		return nil
	}
	for i := range rs {
		if err := checkID("put rollups", rs[i].TargetID); err != nil {
			return err
		}
	}
	if err := s.Flush(ctx); err != nil {
		return err
	}
	b := batch{rollups: []queuedRollups{{rs: rs}}}
	return s.retry(ctx, func() error {
		if err := s.parts.ensureFor(ctx, s.pool, s.opts.Now(), b); err != nil {
			return err
		}
		return s.write(ctx, "put rollups", func(tx pgx.Tx) error { return putRollups(ctx, tx, s.observer, rs) })
	})
}

// putRollups replaces the minutes of rs (the last of a repeated minute
// wins) and sums their hours again.
func putRollups(ctx context.Context, tx pgx.Tx, observer string, rs []store.Rollup) error {
	minutes := map[spanKey]*store.Rollup{}
	hours := map[spanKey]bool{}
	for i := range rs {
		m := sqlkit.MinuteOf(rs[i].Minute)
		minutes[spanKey{rs[i].TargetID, m}] = &rs[i]
		hours[spanKey{rs[i].TargetID, hourOf(m)}] = true
	}
	rows := make([][]any, 0, len(minutes))
	for k, r := range minutes {
		rows = append(rows, rollupRow(k, r))
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"rollups_in"},
		[]string{"target", "start", "n", "fails", "lat_sum", "lat_max", "buckets"}, pgx.CopyFromRows(rows)); err != nil {
		return fmt.Errorf("copy %d rollups: %w", len(rows), err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO rollups (target, minute, observer, n, fails, lat_sum, lat_max, buckets)
		SELECT target, start, $1, n, fails, lat_sum, lat_max, buckets FROM rollups_in
		ON CONFLICT (target, minute, observer) DO UPDATE SET n = excluded.n, fails = excluded.fails,
		lat_sum = excluded.lat_sum, lat_max = excluded.lat_max, buckets = excluded.buckets`, observer); err != nil {
		return fmt.Errorf("replace %d rollups: %w", len(rows), err)
	}
	// The hours touched, summed from their minutes as stored now.
	keys := make([]spanKey, 0, len(hours))
	for h := range hours {
		keys = append(keys, h)
	}
	sums := make(map[spanKey]*store.Rollup, len(keys))
	qb := &pgx.Batch{}
	for _, h := range keys {
		qb.Queue(`SELECT n, fails, lat_sum, lat_max, buckets FROM rollups
			WHERE target = $1 AND observer = $2 AND minute >= $3 AND minute < $4`, h.target, observer, h.start, h.start+3600)
	}
	br := tx.SendBatch(ctx, qb)
	for _, h := range keys {
		sum := &store.Rollup{TargetID: h.target}
		rows, err := br.Query()
		if err != nil {
			_ = br.Close()
			return fmt.Errorf("sum the hours of %d rollups: %w", len(rs), err)
		}
		var buckets []int64
		for rows.Next() {
			var n, fails, lsum, mx int64
			if err := rows.Scan(&n, &fails, &lsum, &mx, &buckets); err != nil {
				rows.Close()
				_ = br.Close()
				return fmt.Errorf("sum the hours of %d rollups: %w", len(rs), err)
			}
			r := store.Rollup{Count: sat32(n), Failures: sat32(fails), LatencySum: uint64(max(lsum, 0)), LatencyMax: sat32(mx)}
			for i := 0; i < len(buckets) && i < store.NumBuckets; i++ {
				r.Buckets[i] = sat32(buckets[i])
			}
			sum.Merge(r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			_ = br.Close()
			return fmt.Errorf("sum the hours of %d rollups: %w", len(rs), err)
		}
		sums[h] = sum
	}
	if err := br.Close(); err != nil {
		return fmt.Errorf("sum the hours of %d rollups: %w", len(rs), err)
	}
	hrows := make([][]any, 0, len(sums))
	for k, r := range sums {
		hrows = append(hrows, rollupRow(k, r))
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"rollups_hour_in"},
		[]string{"target", "start", "n", "fails", "lat_sum", "lat_max", "buckets"}, pgx.CopyFromRows(hrows)); err != nil {
		return fmt.Errorf("copy %d hour rollups: %w", len(hrows), err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO rollups_hour (target, hour, observer, n, fails, lat_sum, lat_max, buckets)
		SELECT target, start, $1, n, fails, lat_sum, lat_max, buckets FROM rollups_hour_in
		ON CONFLICT (target, hour, observer) DO UPDATE SET n = excluded.n, fails = excluded.fails,
		lat_sum = excluded.lat_sum, lat_max = excluded.lat_max, buckets = excluded.buckets`, observer); err != nil {
		return fmt.Errorf("replace %d hour rollups: %w", len(hrows), err)
	}
	return nil
}

// PutResults stores raw results synchronously, after what was queued
// before, bypassing the write queue: what a copy writes, which must
// neither outrun the queue (whose full state drops the oldest results)
// nor lose a result silently.
func (s *Store) PutResults(ctx context.Context, rs []store.Result) error {
	if len(rs) == 0 {
		return nil
	}
	b := batch{results: make([]queuedResult, len(rs))}
	for i := range rs {
		if err := checkID("put results", rs[i].TargetID); err != nil {
			return err
		}
		b.results[i] = queuedResult{r: rs[i]}
		b.results[i].r.Message = cleanText(rs[i].Message)
	}
	if err := s.Flush(ctx); err != nil {
		return err
	}
	return s.retry(ctx, func() error { return s.writeTx(ctx, b) })
}

// ReadSchemaVersion reads the schema version of the database dsn names
// without changing it: 0 when it has no heck schema yet.
func ReadSchemaVersion(ctx context.Context, dsn string) (int, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return 0, fmt.Errorf("read the schema version: the connection string is not usable: %v", redact(err))
	}
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return 0, fmt.Errorf("read the schema version (database %s on %s:%d): %w; check the server runs and the DSN's host, user and password",
			cfg.Database, cfg.Host, cfg.Port, err)
	}
	defer c.Close(context.WithoutCancel(ctx))
	var has bool
	if err := c.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_name = $1)`, versionTable).Scan(&has); err != nil {
		return 0, fmt.Errorf("read the schema version (database %s): %w", cfg.Database, err)
	}
	if !has {
		return 0, nil
	}
	var v *int
	if err := c.QueryRow(ctx, "SELECT max(version) FROM "+versionTable).Scan(&v); err != nil {
		return 0, fmt.Errorf("read the schema version (database %s): %w", cfg.Database, err)
	}
	if v == nil {
		return 0, nil
	}
	return *v, nil
}

// SchemaVersions reports the schema version of the database the settings
// name, unchanged, and the one this binary writes (heck store migrate).
func (opener) SchemaVersions(ctx context.Context, s store.Settings) (have, binary int, err error) {
	have, err = ReadSchemaVersion(ctx, s[SettingDSN])
	return have, SchemaVersion(), err
}
