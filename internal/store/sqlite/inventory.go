package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"slices"
	"time"

	"github.com/heckhq/heck/internal/store"
	"github.com/heckhq/heck/internal/store/sqlkit"
)

// What heck store copy and heck store migrate need beyond store.Store:
// the store listed whole, rollups written as they are, and the schema
// version read without changing it.

// ObjectKinds returns the kinds of replicated objects stored, sorted.
func (s *Store) ObjectKinds(ctx context.Context) ([]string, error) {
	return s.strings(ctx, "list object kinds", "SELECT DISTINCT kind FROM objects ORDER BY kind")
}

// DataTargets returns, sorted, the ids of every target that has (or had)
// transitions, rollups or results here.
func (s *Store) DataTargets(ctx context.Context) ([]string, error) {
	return s.strings(ctx, "list targets with data", "SELECT name FROM target_ids ORDER BY name")
}

func (s *Store) strings(ctx context.Context, what, query string) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("%s (sqlite store %s): %w", what, s.path, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("%s (sqlite store %s): %w", what, s.path, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s (sqlite store %s): %w", what, s.path, err)
	}
	return out, nil
}

// Tables are the tables TableCounts counts, in the order a copy fills
// them.
var Tables = []string{"objects", "transitions", "rollups", "results"}

// TableCounts returns the rows of each of Tables.
func (s *Store) TableCounts(ctx context.Context) (map[string]int64, error) {
	out := make(map[string]int64, len(Tables))
	for _, t := range Tables {
		var n int64
		if err := s.r.QueryRowContext(ctx, "SELECT count(*) FROM "+t).Scan(&n); err != nil {
			return nil, fmt.Errorf("count the rows of %s (sqlite store %s): %w", t, s.path, err)
		}
		out[t] = n
	}
	return out, nil
}

// PutRollups stores rollups as they are, replacing a stored rollup of the
// same target and minute rather than adding to it (AddRollups): what a
// copy writes, so that running it again gives the same rows. The hours it
// touches are summed again from their minutes in the same transaction.
func (s *Store) PutRollups(ctx context.Context, rs []store.Rollup) error {
	if len(rs) == 0 {
		return nil
	}
	return s.write(ctx, "put rollups", func(t *tx) error {
		st, err := t.PrepareContext(ctx, `INSERT OR REPLACE INTO rollups (tid, minute, n, fails, lat_sum, lat_max, buckets)
			VALUES (?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer st.Close()
		buf := make([]byte, 0, 4*store.NumBuckets)
		hours := map[spanKey]string{}
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
			buf = encodeBuckets(buf[:0], &r.Buckets)
			if _, err := st.ExecContext(ctx, tid, m, int64(r.Count), int64(r.Failures),
				int64(min(r.LatencySum, math.MaxInt64)), int64(r.LatencyMax), blobOf(buf)); err != nil {
				return fmt.Errorf("rollup of %q at %s: %w", r.TargetID, r.Minute.UTC().Format(time.RFC3339), err)
			}
			hours[spanKey{tid, hourOf(m)}] = r.TargetID
		}
		return t.sumHours(ctx, hours)
	})
}

// sumHours replaces the hour rollups of hours (each naming its target)
// with the sums of their minutes as stored now.
func (t *tx) sumHours(ctx context.Context, hours map[spanKey]string) error {
	keys := slices.SortedFunc(maps.Keys(hours), func(a, b spanKey) int {
		return cmp.Or(cmp.Compare(a.tid, b.tid), cmp.Compare(a.start, b.start))
	})
	st, err := t.PrepareContext(ctx, `INSERT OR REPLACE INTO rollups_hour (tid, hour, n, fails, lat_sum, lat_max, buckets)
		SELECT tid, ?, sum(n), sum(fails), CAST(min(total(lat_sum), 9223372036854775807.0) AS INTEGER), max(lat_max), `+sumFunc+`(buckets)
		FROM rollups WHERE tid = ? AND minute >= ? AND minute < ? GROUP BY tid`)
	if err != nil {
		return err
	}
	defer st.Close()
	for _, k := range keys {
		if _, err := st.ExecContext(ctx, k.start, k.tid, k.start, k.start+3600); err != nil {
			return fmt.Errorf("sum the hour rollup of %q at %s: %w", hours[k], time.Unix(k.start, 0).UTC().Format(time.RFC3339), err)
		}
	}
	return nil
}

// ReadSchemaVersion reads the schema version of the store at path without
// changing it: 0 when the file does not exist yet or has no heck schema.
func ReadSchemaVersion(ctx context.Context, path string) (int, error) {
	if problem, fix := pathProblem(path); problem != "" {
		return 0, fmt.Errorf("read the schema version: path %q %s: %s", path, problem, fix)
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	db, err := sql.Open("sqlite", path+"?_pragma=query_only(1)&_pragma=busy_timeout(5000)")
	if err != nil {
		return 0, fmt.Errorf("read the schema version of %s: %w", path, err)
	}
	defer db.Close()
	var has int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'").Scan(&has); err != nil {
		return 0, openErr(path, err)
	}
	if has == 0 {
		return 0, nil
	}
	var v sql.NullInt64
	if err := db.QueryRowContext(ctx, "SELECT max(version) FROM schema_version").Scan(&v); err != nil {
		return 0, openErr(path, err)
	}
	return int(v.Int64), nil
}

// SchemaVersions reports the schema version of the store the settings
// name, unchanged, and the one this binary writes (heck store migrate).
func (opener) SchemaVersions(ctx context.Context, s store.Settings) (have, binary int, err error) {
	have, err = ReadSchemaVersion(ctx, s[SettingPath])
	return have, SchemaVersion(), err
}
