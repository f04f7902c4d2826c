package sqlite

import (
	"github.com/heckhq/heck/internal/store/sqlkit"

	"context"
	"database/sql"
	"embed"
	"fmt"
	"time"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migration is one embedded schema step: migrations/NNNN_name.sql brings
// the schema from version NNNN-1 to NNNN.
type migration = sqlkit.Migration

// SchemaVersion is the schema version this binary writes.
func SchemaVersion() int {
	ms, err := sqlkit.LoadMigrations(migrationFS)
	if err != nil {
		return 0
	}
	return len(ms)
}

// migrate brings the schema up to the latest embedded version, one
// transaction per migration. It never goes backwards: a database from a
// newer binary is refused untouched.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := sqlkit.LoadMigrations(migrationFS)
	if err != nil {
		return err
	}
	return s.migrateWith(ctx, ms)
}

func (s *Store) migrateWith(ctx context.Context, ms []migration) error {
	latest := len(ms)
	cur, err := s.currentVersion(ctx)
	if err != nil {
		return err
	}
	if cur > latest {
		return fmt.Errorf("open sqlite store %s: the database has schema version %d but this heck binary knows only up to version %d: "+
			"it was written by a newer heck; run that newer heck (or a later one) on it, or point store.path at another file. "+
			"The database was left unchanged", s.path, cur, latest)
	}
	for _, m := range ms[cur:] {
		if err := s.apply(ctx, m); err != nil {
			return err
		}
		s.log.Info("store schema migrated", "path", s.path, "version", m.Version, "migration", m.Name)
	}
	return nil
}

// currentVersion reads the schema version, creating the version table on a
// fresh database. A database holding tables but no version table is not
// heck's and is refused.
func (s *Store) currentVersion(ctx context.Context) (int, error) {
	var hasVersion, others int
	err := s.w.QueryRowContext(ctx, `SELECT
		count(*) FILTER (WHERE name = 'schema_version'),
		count(*) FILTER (WHERE name <> 'schema_version' AND name NOT LIKE 'sqlite_%')
		FROM sqlite_master WHERE type = 'table'`).Scan(&hasVersion, &others)
	if err != nil {
		return 0, openErr(s.path, err)
	}
	if hasVersion == 0 {
		if others > 0 {
			return 0, fmt.Errorf("open sqlite store %s: the file is a SQLite database but not a heck store (it has tables and no schema_version): "+
				"point store.path at another file", s.path)
		}
		if _, err := s.w.ExecContext(ctx, `CREATE TABLE schema_version (
			version    INTEGER PRIMARY KEY,
			name       TEXT NOT NULL,
			applied_at INTEGER NOT NULL
		)`); err != nil {
			return 0, openErr(s.path, err)
		}
		return 0, nil
	}
	var v sql.NullInt64
	if err := s.w.QueryRowContext(ctx, "SELECT max(version) FROM schema_version").Scan(&v); err != nil {
		return 0, openErr(s.path, err)
	}
	return int(v.Int64), nil
}

// goSteps are the parts of migrations SQL alone does badly, by migration
// file name, run after its SQL in its transaction.
var goSteps = map[string]func(context.Context, *sql.Tx) error{
	"0006_hour_rollups.sql": backfillHours,
}

func (s *Store) apply(ctx context.Context, m migration) error {
	t, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate %s to version %d: begin: %w", s.path, m.Version, err)
	}
	defer func() { _ = t.Rollback() }()
	if _, err := t.ExecContext(ctx, m.SQL); err != nil {
		return fmt.Errorf("migrate %s to version %d (%s): %w", s.path, m.Version, m.Name, err)
	}
	if step := goSteps[m.Name]; step != nil {
		if err := step(ctx, t); err != nil {
			return fmt.Errorf("migrate %s to version %d (%s): %w", s.path, m.Version, m.Name, err)
		}
	}
	if _, err := t.ExecContext(ctx, "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
		m.Version, m.Name, time.Now().Unix()); err != nil {
		return fmt.Errorf("migrate %s to version %d: record version: %w", s.path, m.Version, err)
	}
	if err := t.Commit(); err != nil {
		return fmt.Errorf("migrate %s to version %d: commit: %w", s.path, m.Version, err)
	}
	return nil
}
