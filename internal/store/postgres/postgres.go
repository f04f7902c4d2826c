// Package postgres is heck's PostgreSQL store, for fleets whose history
// outgrows one machine: several heck nodes share one database, each
// writing its own observations, any node reading history for any target.
// It is reached through jackc/pgx v5 and registers as the store driver
// "postgres" (store: {postgres: {dsn: ...}}).
//
// It owns the database's schema (forward-only embedded migrations under
// migrations/, applied under a PostgreSQL advisory lock so nodes starting
// together migrate once, and refused when the database is newer than the
// binary), the time layout of results and rollups (partitioned by day, or
// TimescaleDB hypertables where the extension is there; retention drops
// whole partitions), and how rows are written: raw results and rollups are
// acknowledged into a bounded in-memory queue that one writer goroutine
// flushes in COPY batches, retried while the database is away (a full
// queue drops the oldest raw results, counted, never anything else), with
// the hour rollups maintained in the same transaction; replicated objects
// and transitions are written synchronously, retried for a while, the
// objects resolved last-writer-wins by their HLC stamp in SQL, the
// transitions stored once by their cluster-wide id; rollups and results
// are keyed by the observer that wrote them so two writers of one target
// never add up. docs/store.md tells the design.
package postgres

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
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

	// Queue bounds the records (raw results and rollups) acknowledged but
	// not yet written; when it is full the oldest raw results are dropped.
	// Default DefaultQueue.
	Queue int
	// BatchSize is the most records one transaction writes. Default 10,000.
	BatchSize int
	// CloseTimeout bounds how long Close writes what is queued. Default 10s.
	CloseTimeout time.Duration
	// RetryFor is how long a synchronous write (objects, transitions)
	// retries while the database is unreachable before it returns the
	// error. Default 1 minute.
	RetryFor time.Duration
	// RetryMin and RetryMax bound the backoff between retries. Defaults
	// 50ms and 5s.
	RetryMin, RetryMax time.Duration
	// FullWait is how long AddRollups waits for room in a queue full of
	// rollups before it returns an error (the caller keeps them). Default
	// 10s.
	FullWait time.Duration
	// OnDrop, when set, is told of raw results dropped from a full queue,
	// at most once per DropReportEvery (default 10s), from the store's
	// writer goroutine: it must not block.
	OnDrop          func(DropReport)
	DropReportEvery time.Duration
	// MaintainEvery is how often partitions are created ahead. Default 10
	// minutes.
	MaintainEvery time.Duration
	// Now is the clock partitions are made by; default time.Now.
	Now func() time.Time
}

func (o *Options) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if o.MaxConns <= 0 {
		o.MaxConns = 8
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Queue <= 0 {
		o.Queue = DefaultQueue
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 10_000
	}
	def(&o.CloseTimeout, 10*time.Second)
	def(&o.RetryFor, time.Minute)
	def(&o.RetryMin, 50*time.Millisecond)
	def(&o.RetryMax, 5*time.Second)
	def(&o.FullWait, 10*time.Second)
	def(&o.DropReportEvery, 10*time.Second)
	def(&o.MaintainEvery, 10*time.Minute)
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Store is the PostgreSQL store. Safe for concurrent use.
type Store struct {
	pool     *pgxpool.Pool
	db       string // database name, for messages (never the DSN: it may hold a password)
	observer string
	log      *slog.Logger
	opts     Options
	layout   string

	q     *queue
	parts *partitions

	// owned by the writer goroutine (run)
	failing        bool
	lastDropReport time.Time

	stop, done chan struct{}
	closeOnce  sync.Once
	closeErr   error
}

var _ store.Store = (*Store)(nil)

// Open connects to the database dsn names (a postgres:// URL or a
// key=value connection string), brings its schema up to date and starts
// the writer. A database migrated by a newer heck is refused
// (*SchemaTooNewError), not modified.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	return openWith(ctx, dsn, opts, nil)
}

func openWith(ctx context.Context, dsn string, opts Options, ms []migration) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("open postgres store: store.postgres.dsn is not a usable connection string: %v; "+
			"write a URL such as postgres://heck:${HECK_PG_PASSWORD}@127.0.0.1:5432/heck", redact(err))
	}
	opts.defaults()
	cfg.MaxConns = opts.MaxConns
	// Statements are described once and cached, but run unnamed: a named
	// prepared statement that a restart or a pooler lost leaves pgx's
	// statement cache wrong, and a write retried on that connection
	// fails with SQLSTATE 26000 until it is closed (jackc/pgx#2442).
	cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeCacheDescribe
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		if _, err := c.Exec(ctx, stagingDDL); err != nil {
			return fmt.Errorf("create the staging tables: %w", err)
		}
		return nil
	}
	if ms == nil {
		if ms, err = sqlkit.LoadMigrations(migrationFS); err != nil {
			return nil, err
		}
	}
	s := &Store{db: cfg.ConnConfig.Database, observer: opts.Observer, log: opts.Logger, opts: opts,
		q: newQueue(opts.Queue), stop: make(chan struct{}), done: make(chan struct{})}
	s.pool, err = pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres store (database %s on %s): %w", s.db, cfg.ConnConfig.Host, err)
	}
	if err := s.pool.Ping(ctx); err != nil {
		s.pool.Close()
		return nil, fmt.Errorf("open postgres store (database %s on %s:%d): %w; check the server runs and store.postgres.dsn's host, user and password",
			s.db, cfg.ConnConfig.Host, cfg.ConnConfig.Port, err)
	}
	err = migrate(ctx, s.pool, s.db, ms, stepEnv{now: opts.Now(), log: s.log}, func(version int, name string) {
		s.log.Info("store schema migrated", "driver", DriverName, "database", s.db, "version", version, "migration", name)
	})
	if err == nil {
		err = s.prepare(ctx)
	}
	if err != nil {
		s.pool.Close()
		return nil, err
	}
	go s.run()
	return s, nil
}

// prepare reads the layout and readies the partitions of the coming days.
func (s *Store) prepare(ctx context.Context) error {
	var err error
	if s.layout, err = readLayout(ctx, s.pool); err != nil {
		return fmt.Errorf("open postgres store (database %s): %w", s.db, err)
	}
	if s.layout != LayoutNative && s.layout != LayoutTimescale {
		return fmt.Errorf("open postgres store (database %s): %w %q in heck_layout: it was written by another heck; run that heck", s.db, errNoLayout, s.layout)
	}
	s.parts = newPartitions(s.layout, s.log)
	if err := s.parts.load(ctx, s.pool); err != nil {
		return fmt.Errorf("open postgres store (database %s): %w", s.db, err)
	}
	if err := s.parts.ensureAhead(ctx, s.pool, s.opts.Now()); err != nil {
		return fmt.Errorf("open postgres store (database %s): create the partitions of the coming days: %w", s.db, err)
	}
	return nil
}

// Database returns the name of the store's database.
func (s *Store) Database() string { return s.db }

// Layout returns how results and rollups are laid out: LayoutNative or
// LayoutTimescale.
func (s *Store) Layout() string { return s.layout }

// Dropped counts the raw results dropped because the write queue was full
// (a metric: heck_store_dropped_results_total, say).
func (s *Store) Dropped() uint64 { return s.q.stats().Dropped }

// Flush waits until every write acknowledged before the call is in the
// database, or returns the error of a write that failed meanwhile. A bulk
// writer (heck store copy) calls it between batches: AddResults never
// waits, so one that outruns the database would see its oldest results
// dropped from a full queue.
func (s *Store) Flush(ctx context.Context) error {
	if err := s.q.barrier(ctx); err != nil {
		return fmt.Errorf("flush postgres store (database %s): %w", s.db, err)
	}
	return nil
}

// QueueStats returns the write queue's figures.
func (s *Store) QueueStats() QueueStats { return s.q.stats() }

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping postgres store (database %s): %w", s.db, err)
	}
	return nil
}

// Close refuses further writes, writes what is queued (for at most
// Options.CloseTimeout) and closes every connection. The error says what
// could not be written.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.q.close()
		close(s.stop)
		<-s.done
		s.reportDrops()
		if res, ro := s.q.pending(); res+ro > 0 {
			s.closeErr = fmt.Errorf("close postgres store (database %s): %d results and %d rollups were not written within %s: %w",
				s.db, res, ro, s.opts.CloseTimeout, s.q.lastError())
		}
		s.pool.Close()
	})
	return s.closeErr
}
