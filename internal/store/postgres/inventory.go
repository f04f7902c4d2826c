package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"

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

// putRollup replaces this observer's row of a minute.
const putRollup = `INSERT INTO rollups (target, minute, observer, n, fails, lat_sum, lat_max, buckets)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
	ON CONFLICT (target, minute, observer) DO UPDATE SET n = excluded.n, fails = excluded.fails,
	lat_sum = excluded.lat_sum, lat_max = excluded.lat_max, buckets = excluded.buckets`

// PutRollups stores rollups as this observer's, replacing its stored row
// of the same target and minute rather than adding to it (AddRollups):
// what a copy writes, so that running it again gives the same rows.
func (s *Store) PutRollups(ctx context.Context, rs []store.Rollup) error {
	if len(rs) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	for i := range rs {
		r := &rs[i]
		if r.TargetID == "" {
			return errors.New("put rollups: a rollup with an empty target id")
		}
		buckets := make([]int64, store.NumBuckets)
		for j, n := range r.Buckets {
			buckets[j] = int64(n)
		}
		b.Queue(putRollup, r.TargetID, sqlkit.MinuteOf(r.Minute), s.observer, int64(r.Count), int64(r.Failures),
			int64(min(r.LatencySum, math.MaxInt64)), int64(r.LatencyMax), buckets)
	}
	return s.write(ctx, "put rollups", func(tx pgx.Tx) error { return sendBatch(ctx, tx, b) })
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
