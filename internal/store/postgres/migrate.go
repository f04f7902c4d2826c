package postgres

import (
	"github.com/heckhq/heck/internal/store/sqlkit"

	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migrateLockKey is the pg_advisory_lock key every heck node takes while
// it migrates, so nodes starting together migrate once: "heck" in ASCII,
// then a version of the key itself.
const migrateLockKey int64 = 0x6865636b_00000001

// versionTable records the applied migrations.
const versionTable = "heck_schema_version"

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

// SchemaTooNewError says the database was migrated by a newer heck than
// this one; the database is left untouched.
type SchemaTooNewError struct {
	Database     string
	Have, Binary int
}

func (e *SchemaTooNewError) Error() string {
	return fmt.Sprintf("open postgres store (database %s): the database has schema version %d but this heck binary knows only up to version %d: "+
		"it was migrated by a newer heck; run that newer heck (or a later one) against it, or point store.postgres.dsn at another database. "+
		"The database was left unchanged", e.Database, e.Have, e.Binary)
}

// migrate brings the schema up to the latest of ms, one transaction per
// migration, holding the advisory lock migrateLockKey on one connection
// throughout so concurrent starts migrate once (the others wait, then find
// nothing to do). It never goes backwards.
func migrate(ctx context.Context, pool *pgxpool.Pool, db string, ms []migration, env stepEnv, log func(version int, name string)) (err error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("migrate database %s: acquire a connection: %w", db, err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrateLockKey); err != nil {
		return fmt.Errorf("migrate database %s: take the migration lock: %w", db, err)
	}
	defer func() {
		// A failed unlock leaves the lock with the session: close it so
		// the lock goes with it rather than back into the pool.
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if _, uerr := conn.Exec(uctx, "SELECT pg_advisory_unlock($1)", migrateLockKey); uerr != nil {
			_ = conn.Conn().Close(uctx)
			err = errors.Join(err, fmt.Errorf("migrate database %s: release the migration lock: %w", db, uerr))
		}
	}()

	cur, err := currentVersion(ctx, conn.Conn(), db)
	if err != nil {
		return err
	}
	if cur > len(ms) {
		return &SchemaTooNewError{Database: db, Have: cur, Binary: len(ms)}
	}
	for _, m := range ms[cur:] {
		if err := apply(ctx, conn.Conn(), db, m, env); err != nil {
			return err
		}
		if log != nil {
			log(m.Version, m.Name)
		}
	}
	return nil
}

// currentVersion reads the schema version, creating the version table in
// a database that has none. A database holding other tables of its own but
// no version table is not heck's and is refused.
func currentVersion(ctx context.Context, c *pgx.Conn, db string) (int, error) {
	var hasVersion, others int
	err := c.QueryRow(ctx, `SELECT
		count(*) FILTER (WHERE table_name = $1),
		count(*) FILTER (WHERE table_name <> $1)
		FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`, versionTable).Scan(&hasVersion, &others)
	if err != nil {
		return 0, fmt.Errorf("migrate database %s: read its tables: %w", db, err)
	}
	if hasVersion == 0 {
		if others > 0 {
			return 0, fmt.Errorf("open postgres store (database %s): its current schema holds %d tables but no %s: it is not a heck store; "+
				"point store.postgres.dsn at an empty database (or at another schema with search_path)", db, others, versionTable)
		}
		if _, err := c.Exec(ctx, `CREATE TABLE `+versionTable+` (
			version    integer PRIMARY KEY,
			name       text NOT NULL,
			applied_at timestamptz NOT NULL DEFAULT now()
		)`); err != nil {
			return 0, fmt.Errorf("migrate database %s: create %s: %w", db, versionTable, err)
		}
		return 0, nil
	}
	var v *int
	if err := c.QueryRow(ctx, "SELECT max(version) FROM "+versionTable).Scan(&v); err != nil {
		return 0, fmt.Errorf("migrate database %s: read the schema version: %w", db, err)
	}
	if v == nil {
		return 0, nil
	}
	return *v, nil
}

// stepEnv is what the Go half of a migration may depend on.
type stepEnv struct {
	now time.Time
	log *slog.Logger
}

// goSteps are the migrations with a Go half, run after the SQL in the same
// transaction: what SQL alone cannot decide (whether TimescaleDB is
// there, which days need partitions).
var goSteps = map[int]func(ctx context.Context, tx pgx.Tx, env stepEnv) error{
	2: migrateLayout,
}

func apply(ctx context.Context, c *pgx.Conn, db string, m migration, env stepEnv) error {
	err := pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, m.SQL); err != nil {
			return err
		}
		if step := goSteps[m.Version]; step != nil {
			if err := step(ctx, tx, env); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, "INSERT INTO "+versionTable+" (version, name) VALUES ($1, $2)", m.Version, m.Name)
		return err
	})
	if err != nil {
		return fmt.Errorf("migrate database %s to schema version %d (%s): %w", db, m.Version, m.Name, err)
	}
	return nil
}
