// Package sqlite is heck's default store: one SQLite file in WAL mode,
// reached through the pure-Go driver modernc.org/sqlite (no cgo).
//
// It owns the file's schema (forward-only embedded migrations, see
// migrations/), a single writer connection that takes every write in one
// transaction per call, and a small pool of read-only connections that
// read concurrently with it. Rows are kept compact because a node with
// 10,000 targets writes 14.4 million rollups a day: target ids are interned
// into integers, rollups and results live in WITHOUT ROWID tables keyed by
// (target, time), times are integers and latency histograms are sparse
// varint blobs.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/heckhq/heck/internal/store"
)

// DefaultPageSize is the page size of new database files. Every minute
// the recorder's batch touches one leaf page per target (rows are keyed by
// target first), and the write-ahead log copies each touched page whole,
// so a smaller page writes less per commit.
const DefaultPageSize = 4096

// Options tune a Store; the zero value is a good default.
type Options struct {
	// BusyTimeout is how long a statement waits for a lock held by another
	// connection before failing with SQLITE_BUSY. Default 5s.
	BusyTimeout time.Duration
	// ReadConns is the size of the read-only pool. Default 4.
	ReadConns int
	// PageSize is the page size of a new database file (an existing file
	// keeps its own). Default DefaultPageSize.
	PageSize int
	// CacheKiB is the writer's page cache in KiB. Default 32 MiB.
	CacheKiB int
	// CheckpointPages is how many pages the write-ahead log collects
	// before it is copied into the database. Default 8192.
	CheckpointPages int
	// Logger receives migration notices; nil discards them.
	Logger *slog.Logger
	// Observer names the node writing (store.Options.Observer). A SQLite
	// file is one node's own, so rows are not keyed by it: it is kept
	// for Observer only.
	Observer string
}

// Store is the SQLite store. Safe for concurrent use.
type Store struct {
	path     string
	observer string
	w        *sql.DB // one connection: every write goes through it
	r        *sql.DB // read-only pool
	log      *slog.Logger

	// wmu serialises write calls, so the interned id cache only ever
	// changes together with a committed transaction.
	wmu sync.Mutex

	idMu sync.RWMutex
	ids  map[string]int64

	// stmts holds the read pool's prepared statements by their text, so
	// the hot point reads (a transition by id, a target's id, a target's
	// transitions) are parsed once and not on every call.
	stmtMu sync.Mutex
	stmts  map[string]*sql.Stmt

	closeOnce sync.Once
	closeErr  error
}

var _ store.Store = (*Store)(nil)

// Open opens (creating when absent, with its directory) the store at path
// and brings its schema up to date. A database written by a newer heck is
// refused, not modified.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if problem, fix := pathProblem(path); problem != "" {
		return nil, fmt.Errorf("open sqlite store: path %q %s: %s", path, problem, fix)
	}
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = 5 * time.Second
	}
	if opts.ReadConns <= 0 {
		opts.ReadConns = 4
	}
	if opts.CacheKiB <= 0 {
		opts.CacheKiB = 32 << 10
	}
	if opts.CheckpointPages <= 0 {
		opts.CheckpointPages = 8192
	}
	if opts.PageSize == 0 {
		opts.PageSize = DefaultPageSize
	}
	if opts.PageSize < 512 || opts.PageSize > 65536 || opts.PageSize&(opts.PageSize-1) != 0 {
		return nil, fmt.Errorf("open sqlite store %s: page size %d: must be a power of two from 512 to 65536", path, opts.PageSize)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("open sqlite store %s: create directory: %w", path, err)
		}
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return nil, fmt.Errorf("open sqlite store %s: is a directory: point store.path at a file inside it, such as %s",
			path, filepath.Join(path, "heck.db"))
	}

	busy := strconv.FormatInt(opts.BusyTimeout.Milliseconds(), 10)
	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+busy+")")
	q.Add("_pragma", "foreign_keys(0)")
	wq := url.Values{}
	for k, v := range q {
		wq[k] = append([]string(nil), v...)
	}
	// page_size only matters for a new database; it is applied (in the
	// _pragma list) before the journal mode (a shorthand key), which would
	// fix the page size of a new file.
	wq.Add("_pragma", "page_size("+strconv.Itoa(opts.PageSize)+")")
	wq.Set("_journal_mode", "WAL")
	// A minute's batch touches a leaf page per target; a page cache that
	// holds them saves a read per row, and checkpointing every few
	// thousand pages (rather than SQLite's 1000) lets one checkpoint
	// write a page that several minutes' commits touched once.
	wq.Add("_pragma", "cache_size(-"+strconv.Itoa(opts.CacheKiB)+")")
	wq.Add("_pragma", "wal_autocheckpoint("+strconv.Itoa(opts.CheckpointPages)+")")
	wq.Add("_pragma", "journal_size_limit("+strconv.Itoa(64<<20)+")")
	// A statement writing many rows keeps a statement journal of the
	// pages it touches (to undo just itself); in memory, not a temporary
	// file written with every page.
	wq.Add("_pragma", "temp_store(MEMORY)")
	wq.Set("_synchronous", "NORMAL")
	wq.Set("_txlock", "immediate")
	rq := q
	rq.Add("_pragma", "query_only(1)")

	s := &Store{path: path, observer: opts.Observer, log: opts.Logger, ids: map[string]int64{}}
	var err error
	s.w, err = sql.Open("sqlite", path+"?"+wq.Encode())
	if err != nil {
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	s.w.SetMaxOpenConns(1)
	s.w.SetMaxIdleConns(1)
	s.w.SetConnMaxLifetime(0)
	s.w.SetConnMaxIdleTime(0)
	if err := s.w.PingContext(ctx); err != nil {
		s.w.Close()
		return nil, openErr(path, err)
	}
	if err := s.migrate(ctx); err != nil {
		s.w.Close()
		return nil, err
	}

	s.r, err = sql.Open("sqlite", path+"?"+rq.Encode())
	if err != nil {
		s.w.Close()
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	s.r.SetMaxOpenConns(opts.ReadConns)
	s.r.SetMaxIdleConns(opts.ReadConns)
	if err := s.r.PingContext(ctx); err != nil {
		s.w.Close()
		s.r.Close()
		return nil, openErr(path, err)
	}
	return s, nil
}

// openErr explains the errors a file that is not a usable database gives.
func openErr(path string, err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT:
			return fmt.Errorf("open sqlite store %s: the file is not a valid SQLite database (%v): "+
				"move it aside (heck then starts an empty store) or restore it from a backup", path, err)
		case sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM, sqlite3.SQLITE_READONLY:
			return fmt.Errorf("open sqlite store %s: cannot open the file for writing (%v): "+
				"check the path exists and heck may write to it and its directory", path, err)
		}
	}
	return fmt.Errorf("open sqlite store %s: %w", path, err)
}

// Path returns the database file's path.
func (s *Store) Path() string { return s.path }

// Observer returns the node the store was opened for (Options.Observer).
func (s *Store) Observer() string { return s.observer }

// Ping checks both the writer and the read pool answer.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.w.PingContext(ctx); err != nil {
		return fmt.Errorf("ping sqlite store %s (writer): %w", s.path, err)
	}
	var one int
	if err := s.r.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("ping sqlite store %s (reader): %w", s.path, err)
	}
	return nil
}

// Close checkpoints the write-ahead log and closes every connection.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		var errs []error
		s.stmtMu.Lock()
		for _, st := range s.stmts {
			if err := st.Close(); err != nil {
				errs = append(errs, err)
			}
		}
		s.stmts = nil
		s.stmtMu.Unlock()
		if err := s.r.Close(); err != nil {
			errs = append(errs, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if _, err := s.w.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
			errs = append(errs, fmt.Errorf("checkpoint: %w", err))
		}
		cancel()
		if err := s.w.Close(); err != nil {
			errs = append(errs, err)
		}
		if err := errors.Join(errs...); err != nil {
			s.closeErr = fmt.Errorf("close sqlite store %s: %w", s.path, err)
		}
	})
	return s.closeErr
}

// DiskBytes returns the bytes the store occupies on disk: the database
// file plus its write-ahead log and shared-memory index.
func (s *Store) DiskBytes() (int64, error) {
	var total int64
	for _, suffix := range []string{"", "-wal", "-shm"} {
		fi, err := os.Stat(s.path + suffix)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) && suffix != "" {
				continue
			}
			return 0, fmt.Errorf("disk bytes of %s: %w", s.path, err)
		}
		total += fi.Size()
	}
	return total, nil
}

// Checkpoint copies the write-ahead log into the database file and
// truncates it (benchmarks use it to measure settled sizes).
func (s *Store) Checkpoint(ctx context.Context) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if _, err := s.w.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		return fmt.Errorf("checkpoint %s: %w", s.path, err)
	}
	return nil
}

// tx is one write transaction with the target ids it interned.
type tx struct {
	*sql.Tx
	s      *Store
	staged map[string]int64
	lookup *sql.Stmt
	insert *sql.Stmt
}

// write runs fn in one write transaction.
func (s *Store) write(ctx context.Context, what string, fn func(t *tx) error) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	sqlTx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: begin: %w", what, err)
	}
	t := &tx{Tx: sqlTx, s: s}
	err = fn(t)
	if t.lookup != nil {
		t.lookup.Close()
		t.insert.Close()
	}
	if err != nil {
		_ = sqlTx.Rollback()
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("%s: commit: %w", what, err)
	}
	if len(t.staged) > 0 {
		s.idMu.Lock()
		for k, v := range t.staged {
			s.ids[k] = v
		}
		s.idMu.Unlock()
	}
	return nil
}

// cachedID returns the interned id of name if the cache knows it.
func (s *Store) cachedID(name string) (int64, bool) {
	s.idMu.RLock()
	id, ok := s.ids[name]
	s.idMu.RUnlock()
	return id, ok
}

// id interns name, creating its id when absent.
func (t *tx) id(ctx context.Context, name string) (int64, error) {
	if id, ok := t.s.cachedID(name); ok {
		return id, nil
	}
	if id, ok := t.staged[name]; ok {
		return id, nil
	}
	if t.lookup == nil {
		var err error
		if t.lookup, err = t.PrepareContext(ctx, "SELECT tid FROM target_ids WHERE name = ?"); err != nil {
			return 0, err
		}
		if t.insert, err = t.PrepareContext(ctx, "INSERT INTO target_ids (name) VALUES (?)"); err != nil {
			t.lookup.Close()
			t.lookup = nil
			return 0, err
		}
		t.staged = map[string]int64{}
	}
	var id int64
	err := t.lookup.QueryRowContext(ctx, name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		res, err := t.insert.ExecContext(ctx, name)
		if err != nil {
			return 0, fmt.Errorf("intern target id %q: %w", name, err)
		}
		if id, err = res.LastInsertId(); err != nil {
			return 0, fmt.Errorf("intern target id %q: %w", name, err)
		}
	} else if err != nil {
		return 0, fmt.Errorf("look up target id %q: %w", name, err)
	}
	t.staged[name] = id
	return id, nil
}

// existingID finds name's interned id for a read; ok is false when the
// target never had data.
func (s *Store) existingID(ctx context.Context, name string) (int64, bool, error) {
	if id, ok := s.cachedID(name); ok {
		return id, true, nil
	}
	var id int64
	rows, err := s.read(ctx, "SELECT tid FROM target_ids WHERE name = ?", name)
	if err == nil {
		err = sql.ErrNoRows
		if rows.Next() {
			err = rows.Scan(&id)
		}
		if cerr := rows.Close(); err == nil {
			err = cerr
		}
	}
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("look up target id %q: %w", name, err)
	}
	s.idMu.Lock()
	s.ids[name] = id
	s.idMu.Unlock()
	return id, true, nil
}

// maxStmts bounds the statement cache; reads of a shape past it are
// prepared for the one call, as database/sql does by itself.
const maxStmts = 64

// read runs a query on the read pool through a statement prepared once per
// query text (past maxStmts shapes, unprepared).
func (s *Store) read(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	s.stmtMu.Lock()
	st, ok := s.stmts[query]
	full := len(s.stmts) >= maxStmts
	s.stmtMu.Unlock()
	switch {
	case ok:
		return st.QueryContext(ctx, args...)
	case full:
		return s.r.QueryContext(ctx, query, args...)
	}
	st, err := s.r.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	s.stmtMu.Lock()
	if old, dup := s.stmts[query]; dup {
		// Another caller prepared it meanwhile: keep one.
		s.stmtMu.Unlock()
		st.Close()
		return old.QueryContext(ctx, args...)
	}
	if s.stmts == nil {
		s.stmts = map[string]*sql.Stmt{}
	}
	s.stmts[query] = st
	s.stmtMu.Unlock()
	return st.QueryContext(ctx, args...)
}
