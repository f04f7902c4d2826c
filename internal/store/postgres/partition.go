package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/heckhq/heck/internal/store/sqlkit"
)

// Layouts of the time-keyed tables (results, rollups), recorded in
// heck_layout by the migration that chose one.
const (
	// LayoutNative: PostgreSQL's declarative partitioning, one partition
	// per UTC day and a default partition for anything else.
	LayoutNative = "native"
	// LayoutTimescale: TimescaleDB hypertables with one-day chunks.
	LayoutTimescale = "timescaledb"
)

// partitionLockKey serialises the sessions (of every node) creating,
// filling from the default partition, or dropping partitions.
const partitionLockKey int64 = 0x6865636b_00000003

const (
	daySecs = 86400
	// aheadDays partitions are kept ready after today's.
	aheadDays = 2
	// A write for a day from windowBack days ago up to windowAhead days
	// ahead gets its day's partition on demand; anything further off (a
	// clock gone wrong) lands in the default partition, so no write ever
	// fails for want of a partition and no bad clock makes thousands.
	windowBack  = 400
	windowAhead = 7
)

// partTable is one partitioned table: its time column and how many of
// the column's units make a second.
type partTable struct {
	name, col string
	perSec    int64
}

var (
	resultsTable = partTable{"results", "at", 1e9}
	rollupsTable = partTable{"rollups", "minute", 1}
	partTables   = []partTable{resultsTable, rollupsTable}
)

// dayOf is the day number (unix days) of unix second s.
func dayOf(s int64) int64 {
	d := s / daySecs
	if s%daySecs < 0 {
		d--
	}
	return d
}

func (t partTable) partName(day int64) string {
	return t.name + "_p" + time.Unix(day*daySecs, 0).UTC().Format("20060102")
}

func (t partTable) bounds(day int64) (lo, hi int64) {
	return day * daySecs * t.perSec, (day + 1) * daySecs * t.perSec
}

// dayOfName parses a partition name made by partName.
func (t partTable) dayOfName(name string) (int64, bool) {
	suffix, ok := strings.CutPrefix(name, t.name+"_p")
	if !ok || len(suffix) != 8 {
		return 0, false
	}
	d, err := time.Parse("20060102", suffix)
	if err != nil {
		return 0, false
	}
	return d.Unix() / daySecs, true
}

// partitions keeps the native layout's partitions: which exist (learnt
// from the catalog, then from what this store created), creating missing
// ones on demand and ahead of time, and dropping old ones.
type partitions struct {
	layout string
	log    *slog.Logger

	mu    sync.Mutex
	known map[string]map[int64]bool // table -> day -> exists
}

func newPartitions(layout string, log *slog.Logger) *partitions {
	return &partitions{layout: layout, log: log, known: map[string]map[int64]bool{}}
}

// querier is what partition upkeep needs of a connection or transaction.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// listPartitions returns the days of t's day partitions in the catalog.
func listPartitions(ctx context.Context, q querier, t partTable) ([]int64, error) {
	rows, err := q.Query(ctx, `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = to_regclass($1)`, t.name)
	if err != nil {
		return nil, fmt.Errorf("list the partitions of %s: %w", t.name, err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list the partitions of %s: %w", t.name, err)
	}
	var days []int64
	for _, n := range names {
		if d, ok := t.dayOfName(n); ok {
			days = append(days, d)
		}
	}
	slices.Sort(days)
	return days, nil
}

// load learns the partitions that exist.
func (p *partitions) load(ctx context.Context, q querier) error {
	if p.layout != LayoutNative {
		return nil
	}
	for _, t := range partTables {
		days, err := listPartitions(ctx, q, t)
		if err != nil {
			return err
		}
		p.mu.Lock()
		m := map[int64]bool{}
		for _, d := range days {
			m[d] = true
		}
		p.known[t.name] = m
		p.mu.Unlock()
	}
	return nil
}

// missing returns the days of want, within the window around now, that
// have no known partition of t.
func (p *partitions) missing(t partTable, now time.Time, want map[int64]bool) []int64 {
	today := dayOf(now.Unix())
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []int64
	for d := range want {
		if d >= today-windowBack && d <= today+windowAhead && !p.known[t.name][d] {
			out = append(out, d)
		}
	}
	slices.Sort(out)
	return out
}

// ensureFor creates the partitions the days of b's records need.
func (p *partitions) ensureFor(ctx context.Context, pool *pgxpool.Pool, now time.Time, b batch) error {
	if p.layout != LayoutNative {
		return nil
	}
	resDays, rollDays := map[int64]bool{}, map[int64]bool{}
	for i := range b.results {
		resDays[dayOf(floorDiv(sqlkit.NanosLo(b.results[i].r.At), 1e9))] = true
	}
	for _, c := range b.rollups {
		for i := range c.rs {
			rollDays[dayOf(sqlkit.MinuteOf(c.rs[i].Minute))] = true
		}
	}
	if err := p.ensure(ctx, pool, resultsTable, p.missing(resultsTable, now, resDays)); err != nil {
		return err
	}
	return p.ensure(ctx, pool, rollupsTable, p.missing(rollupsTable, now, rollDays))
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b < 0 {
		q--
	}
	return q
}

// ensureAhead creates the partitions of today and the aheadDays after.
func (p *partitions) ensureAhead(ctx context.Context, pool *pgxpool.Pool, now time.Time) error {
	if p.layout != LayoutNative {
		return nil
	}
	today := dayOf(now.Unix())
	want := map[int64]bool{}
	for d := today; d <= today+aheadDays; d++ {
		want[d] = true
	}
	for _, t := range partTables {
		if err := p.ensure(ctx, pool, t, p.missing(t, now, want)); err != nil {
			return err
		}
	}
	return nil
}

// ensure creates t's partitions of days in one transaction.
func (p *partitions) ensure(ctx context.Context, pool *pgxpool.Pool, t partTable, days []int64) error {
	if len(days) == 0 {
		return nil
	}
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		return createPartitions(ctx, tx, t, days)
	})
	if err != nil {
		return err
	}
	p.mu.Lock()
	if p.known[t.name] == nil {
		p.known[t.name] = map[int64]bool{}
	}
	for _, d := range days {
		p.known[t.name][d] = true
	}
	p.mu.Unlock()
	p.log.Debug("postgres store: created partitions", "table", t.name, "days", len(days))
	return nil
}

// createPartitions creates t's partitions of days that do not exist yet,
// under the partition lock. Rows of a day that went to the default
// partition before its partition existed move into it.
func createPartitions(ctx context.Context, tx pgx.Tx, t partTable, days []int64) error {
	if _, err := tx.Exec(ctx, "SET LOCAL lock_timeout = '10s'"); err != nil {
		return fmt.Errorf("create partitions of %s: %w", t.name, err)
	}
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", partitionLockKey); err != nil {
		return fmt.Errorf("create partitions of %s: take the partition lock: %w", t.name, err)
	}
	parent := pgx.Identifier{t.name}.Sanitize()
	def := pgx.Identifier{t.name + "_default"}.Sanitize()
	for _, d := range days {
		name := t.partName(d)
		id := pgx.Identifier{name}.Sanitize()
		lo, hi := t.bounds(d)
		var exists, inDefault bool
		err := tx.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL,
			EXISTS (SELECT 1 FROM `+def+` WHERE `+t.col+` >= $2 AND `+t.col+` < $3)`, name, lo, hi).Scan(&exists, &inDefault)
		if err != nil {
			return fmt.Errorf("create partition %s: %w", name, err)
		}
		if exists {
			continue
		}
		bound := fmt.Sprintf("FOR VALUES FROM (%d) TO (%d)", lo, hi)
		if !inDefault {
			if _, err := tx.Exec(ctx, "CREATE TABLE "+id+" PARTITION OF "+parent+" "+bound); err != nil {
				return fmt.Errorf("create partition %s: %w", name, err)
			}
			continue
		}
		for _, stmt := range []string{
			"CREATE TABLE " + id + " (LIKE " + parent + " INCLUDING DEFAULTS INCLUDING CONSTRAINTS)",
			fmt.Sprintf("WITH moved AS (DELETE FROM %s WHERE %s >= %d AND %s < %d RETURNING *) INSERT INTO %s SELECT * FROM moved",
				def, t.col, lo, t.col, hi, id),
			"ALTER TABLE " + parent + " ATTACH PARTITION " + id + " " + bound,
		} {
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return fmt.Errorf("create partition %s from the default partition's rows: %w", name, err)
			}
		}
	}
	return nil
}

// dropBefore drops t's partitions wholly older than cutoff (in t's units)
// and returns how many it dropped; the rows older than cutoff left in the
// partition straddling it (and the default one) are the caller's to
// delete.
func (p *partitions) dropBefore(ctx context.Context, pool *pgxpool.Pool, t partTable, cutoff int64) (int, error) {
	switch p.layout {
	case LayoutTimescale:
		var n int
		err := pool.QueryRow(ctx, "SELECT count(*) FROM drop_chunks($1::regclass, older_than => $2::bigint)", t.name, cutoff).Scan(&n)
		if err != nil {
			return 0, fmt.Errorf("drop the chunks of %s: %w", t.name, err)
		}
		return n, nil
	case LayoutNative:
	default:
		return 0, nil
	}
	var dropped []int64
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		dropped = dropped[:0]
		if _, err := tx.Exec(ctx, "SET LOCAL lock_timeout = '10s'"); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", partitionLockKey); err != nil {
			return fmt.Errorf("take the partition lock: %w", err)
		}
		days, err := listPartitions(ctx, tx, t)
		if err != nil {
			return err
		}
		for _, d := range days {
			if _, hi := t.bounds(d); hi > cutoff {
				break
			}
			if _, err := tx.Exec(ctx, "DROP TABLE IF EXISTS "+pgx.Identifier{t.partName(d)}.Sanitize()); err != nil {
				return err
			}
			dropped = append(dropped, d)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("drop old partitions of %s: %w", t.name, err)
	}
	p.mu.Lock()
	for _, d := range dropped {
		delete(p.known[t.name], d)
	}
	p.mu.Unlock()
	return len(dropped), nil
}

// readLayout returns the layout the migrations chose.
func readLayout(ctx context.Context, q querier) (string, error) {
	var l string
	err := q.QueryRow(ctx, "SELECT value FROM heck_layout WHERE name = 'time'").Scan(&l)
	if err != nil {
		return "", fmt.Errorf("read the table layout: %w", err)
	}
	return l, nil
}

// timescale is what the layout migration learnt of TimescaleDB.
type timescale struct {
	use    bool
	reason string // why not, or how
}

// detectTimescale reports whether TimescaleDB can hold the time-keyed
// tables: installed in the database, or available to the server and
// creatable by this user (CREATE EXTENSION, tried in a savepoint that is
// rolled back when it fails: the extension must be preloaded, and
// creating it takes privileges). It never fails the migration.
func detectTimescale(ctx context.Context, q querier) (timescale, error) {
	var installed, available bool
	err := q.QueryRow(ctx, `SELECT
		EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'),
		EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb')`).Scan(&installed, &available)
	if err != nil {
		return timescale{}, fmt.Errorf("look for TimescaleDB: %w", err)
	}
	switch {
	case installed:
		return timescale{use: true, reason: "installed in the database"}, nil
	case !available:
		return timescale{reason: "not available on the server"}, nil
	}
	if _, err := q.Exec(ctx, "SAVEPOINT heck_timescaledb"); err != nil {
		return timescale{}, fmt.Errorf("look for TimescaleDB: %w", err)
	}
	if _, cerr := q.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS timescaledb"); cerr != nil {
		if _, err := q.Exec(ctx, "ROLLBACK TO SAVEPOINT heck_timescaledb"); err != nil {
			return timescale{}, fmt.Errorf("look for TimescaleDB: %w", err)
		}
		return timescale{reason: "available but not creatable here: " + cerr.Error()}, nil
	}
	if _, err := q.Exec(ctx, "RELEASE SAVEPOINT heck_timescaledb"); err != nil {
		return timescale{}, fmt.Errorf("look for TimescaleDB: %w", err)
	}
	return timescale{use: true, reason: "created the extension"}, nil
}

// hypertables makes results and rollups TimescaleDB hypertables of one-day
// chunks, moving their rows in, in a savepoint: false (and the savepoint
// rolled back) when TimescaleDB refuses.
func hypertables(ctx context.Context, q querier) (bool, error) {
	if _, err := q.Exec(ctx, "SAVEPOINT heck_hypertables"); err != nil {
		return false, err
	}
	for _, t := range partTables {
		_, err := q.Exec(ctx, fmt.Sprintf("SELECT create_hypertable('%s', '%s', chunk_time_interval => %d::bigint, create_default_indexes => false, migrate_data => true)",
			t.name, t.col, daySecs*t.perSec))
		if err != nil {
			if _, rerr := q.Exec(ctx, "ROLLBACK TO SAVEPOINT heck_hypertables"); rerr != nil {
				return false, rerr
			}
			return false, nil
		}
	}
	_, err := q.Exec(ctx, "RELEASE SAVEPOINT heck_hypertables")
	return err == nil, err
}

// tableDDL is each time-keyed table's definition, without its PARTITION
// BY clause.
var tableDDL = map[string]struct{ columns, index string }{
	"results": {`(
		target   text NOT NULL,
		at       bigint NOT NULL, -- unix nanoseconds
		observer text NOT NULL,
		ok       boolean NOT NULL,
		latency  bigint NOT NULL, -- nanoseconds
		message  text NOT NULL,
		details  bytea,
		PRIMARY KEY (target, at, observer)
	)`, "CREATE INDEX results_at ON results (at)"},
	"rollups": {`(
		target   text NOT NULL,
		minute   bigint NOT NULL, -- unix seconds of the minute's start
		observer text NOT NULL,
		n        bigint NOT NULL,
		fails    bigint NOT NULL,
		lat_sum  bigint NOT NULL, -- microseconds
		lat_max  bigint NOT NULL, -- microseconds
		buckets  bigint[] NOT NULL,
		PRIMARY KEY (target, minute, observer)
	)`, "CREATE INDEX rollups_minute ON rollups (minute)"},
}

// partitionTable turns t, a plain table of schema 1, into a table
// partitioned by day holding the same rows: the old table is renamed, the
// new one made with a default partition and a partition for each day of
// the window that has rows, and the rows moved.
func partitionTable(ctx context.Context, tx pgx.Tx, t partTable, now time.Time) error {
	ddl := tableDDL[t.name]
	old := t.name + "_v1"
	today := dayOf(now.Unix())
	steps := []string{
		"ALTER TABLE " + t.name + " RENAME TO " + old,
		"ALTER TABLE " + old + " RENAME CONSTRAINT " + t.name + "_pkey TO " + old + "_pkey",
		"ALTER INDEX " + t.name + "_" + t.col + " RENAME TO " + old + "_" + t.col,
		"CREATE TABLE " + t.name + " " + ddl.columns + " PARTITION BY RANGE (" + t.col + ")",
		ddl.index,
		"CREATE TABLE " + t.name + "_default PARTITION OF " + t.name + " DEFAULT",
	}
	for _, s := range steps {
		if _, err := tx.Exec(ctx, s); err != nil {
			return fmt.Errorf("partition %s: %w", t.name, err)
		}
	}
	lo, _ := t.bounds(today - windowBack)
	_, hi := t.bounds(today + windowAhead)
	rows, err := tx.Query(ctx, fmt.Sprintf(`SELECT DISTINCT floor(%s::numeric / %d)::bigint FROM %s WHERE %s >= $1 AND %s < $2`,
		t.col, daySecs*t.perSec, old, t.col, t.col), lo, hi)
	if err != nil {
		return fmt.Errorf("partition %s: find the days it holds: %w", t.name, err)
	}
	days, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return fmt.Errorf("partition %s: find the days it holds: %w", t.name, err)
	}
	for d := today; d <= today+aheadDays; d++ {
		days = append(days, d)
	}
	slices.Sort(days)
	if err := createPartitions(ctx, tx, t, slices.Compact(days)); err != nil {
		return err
	}
	for _, s := range []string{"INSERT INTO " + t.name + " SELECT * FROM " + old, "DROP TABLE " + old} {
		if _, err := tx.Exec(ctx, s); err != nil {
			return fmt.Errorf("partition %s: move its rows: %w", t.name, err)
		}
	}
	return nil
}

// migrateLayout is the Go half of schema 2: it lays out results and
// rollups by time, as hypertables where TimescaleDB is there, partitioned
// by day otherwise, and records the choice in heck_layout.
func migrateLayout(ctx context.Context, tx pgx.Tx, env stepEnv) error {
	ts, err := detectTimescale(ctx, tx)
	if err != nil {
		return err
	}
	layout := LayoutNative
	if ts.use {
		ok, err := hypertables(ctx, tx)
		if err != nil {
			return fmt.Errorf("make hypertables: %w", err)
		}
		if ok {
			layout = LayoutTimescale
		} else {
			ts.reason += "; create_hypertable refused, so native partitions instead"
		}
	}
	if layout == LayoutNative {
		for _, t := range partTables {
			if err := partitionTable(ctx, tx, t, env.now); err != nil {
				return err
			}
		}
	}
	if _, err := tx.Exec(ctx, "INSERT INTO heck_layout (name, value) VALUES ('time', $1)", layout); err != nil {
		return fmt.Errorf("record the layout: %w", err)
	}
	env.log.Info("postgres store: time-keyed tables laid out", "layout", layout, "timescaledb", ts.reason)
	return nil
}

// errNoLayout is returned when heck_layout names no layout this binary
// knows.
var errNoLayout = errors.New("unknown table layout")
