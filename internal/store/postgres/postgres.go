// Package postgres is heck's PostgreSQL store, for fleets whose history
// outgrows one machine: several heck nodes share one database, each
// writing its own observations, any node reading history for any target.
// It is reached through jackc/pgx v5 and registers as the store driver
// "postgres" (store: {postgres: {dsn: ...}}).
//
// It owns the database's schema (forward-only embedded migrations under
// migrations/, applied under a PostgreSQL advisory lock so nodes starting
// together migrate once, and refused when the database is newer than the
// binary), and how rows are written: each write call is one transaction,
// raw results go in with COPY, replicated objects are resolved
// last-writer-wins by their HLC stamp in SQL, transitions are stored once
// by their cluster-wide id, and rollups and results are keyed by the
// observer that wrote them so two writers of one target never add up.
package postgres

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/heckhq/heck/internal/store"
	"github.com/heckhq/heck/internal/store/sqlkit"
)

// Options tune a Store; the zero value is a good default.
type Options struct {
	// Observer names the node whose measurements (rollups, results) this
	// store writes; nodes sharing a database each use their own, and
	// reads combine them. "" is one unnamed observer.
	Observer string
	// MaxConns bounds the connection pool. Default 8.
	MaxConns int32
	// Logger receives migration notices; nil discards them.
	Logger *slog.Logger
}

// Store is the PostgreSQL store. Safe for concurrent use.
type Store struct {
	pool     *pgxpool.Pool
	db       string // database name, for messages (never the DSN: it may hold a password)
	observer string
	log      *slog.Logger

	closeOnce sync.Once
}

var _ store.Store = (*Store)(nil)

// Open connects to the database dsn names (a postgres:// URL or a
// key=value connection string) and brings its schema up to date. A
// database migrated by a newer heck is refused (*SchemaTooNewError), not
// modified.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	return openWith(ctx, dsn, opts, nil)
}

func openWith(ctx context.Context, dsn string, opts Options, ms []migration) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("open postgres store: store.postgres.dsn is not a usable connection string: %v; "+
			"write a URL such as postgres://heck:${HECK_PG_PASSWORD}@127.0.0.1:5432/heck", redact(err))
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = 8
	}
	cfg.MaxConns = opts.MaxConns
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if ms == nil {
		if ms, err = sqlkit.LoadMigrations(migrationFS); err != nil {
			return nil, err
		}
	}
	s := &Store{db: cfg.ConnConfig.Database, observer: opts.Observer, log: opts.Logger}
	s.pool, err = pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres store (database %s on %s): %w", s.db, cfg.ConnConfig.Host, err)
	}
	if err := s.pool.Ping(ctx); err != nil {
		s.pool.Close()
		return nil, fmt.Errorf("open postgres store (database %s on %s:%d): %w; check the server runs and store.postgres.dsn's host, user and password",
			s.db, cfg.ConnConfig.Host, cfg.ConnConfig.Port, err)
	}
	err = migrate(ctx, s.pool, s.db, ms, func(version int, name string) {
		s.log.Info("store schema migrated", "driver", DriverName, "database", s.db, "version", version, "migration", name)
	})
	if err != nil {
		s.pool.Close()
		return nil, err
	}
	return s, nil
}

// Database returns the name of the store's database.
func (s *Store) Database() string { return s.db }

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping postgres store (database %s): %w", s.db, err)
	}
	return nil
}

// Close closes every connection; writes are committed by the call that
// made them, so there is nothing to flush.
func (s *Store) Close() error {
	s.closeOnce.Do(s.pool.Close)
	return nil
}
