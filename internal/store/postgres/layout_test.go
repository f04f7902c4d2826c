package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/heckhq/heck/internal/store"
	"github.com/heckhq/heck/internal/store/sqlkit"
)

func openT(t *testing.T, d string, o Options) *Store {
	t.Helper()
	st, err := Open(testCtx(t), d, o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func daysOf(t *testing.T, st *Store, pt partTable) []int64 {
	t.Helper()
	days, err := listPartitions(testCtx(t), st.pool, pt)
	if err != nil {
		t.Fatal(err)
	}
	return days
}

func count(t *testing.T, q querier, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := q.QueryRow(testCtx(t), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// TestPartitionsAhead: a new store is laid out natively (no TimescaleDB
// here), with today's partition and the next two days' ready, and a
// default partition.
func TestPartitionsAhead(t *testing.T) {
	pg := server.Get(t)
	st := openT(t, freshDB(t, pg), Options{})
	if st.Layout() != LayoutNative {
		t.Fatalf("layout %q, want %q on a server without TimescaleDB", st.Layout(), LayoutNative)
	}
	today := dayOf(time.Now().Unix())
	for _, pt := range partTables {
		days := daysOf(t, st, pt)
		for d := today; d <= today+aheadDays; d++ {
			if !slices.Contains(days, d) {
				t.Errorf("%s: no partition for day %s (have %v)", pt.name, pt.partName(d), days)
			}
		}
		if n := count(t, st.pool, "SELECT count(*) FROM pg_inherits WHERE inhrelid = to_regclass($1)", pt.name+"_default"); n != 1 {
			t.Errorf("%s has no default partition", pt.name)
		}
	}
	// Maintenance on a later day makes that day's partitions.
	later := time.Now().Add(5 * 24 * time.Hour)
	if err := st.parts.ensureAhead(testCtx(t), st.pool, later); err != nil {
		t.Fatal(err)
	}
	if days := daysOf(t, st, resultsTable); !slices.Contains(days, dayOf(later.Unix())+aheadDays) {
		t.Errorf("after maintenance on a later day: %v lack day %d", days, dayOf(later.Unix())+aheadDays)
	}
}

// TestWritesFindPartitions: results of any day land, those of the window
// in their own day's partition, the rest (a clock gone wrong) in the
// default one; a day's rows that reached the default partition first move
// into its partition when it is made.
func TestWritesFindPartitions(t *testing.T) {
	pg := server.Get(t)
	st := openT(t, freshDB(t, pg), Options{Observer: "n1"})
	c := testCtx(t)
	now := time.Now().UTC()
	past := now.Add(-20 * 24 * time.Hour)
	pastDay := dayOf(past.Unix())
	// A row of the past day that went to the default partition before the
	// day had a partition (as written by a store whose window ended
	// earlier).
	if _, err := st.pool.Exec(c, `INSERT INTO results_default (target, at, observer, ok, latency, message)
		VALUES ('early', $1, 'n1', true, 0, 'early')`, past.UnixNano()); err != nil {
		t.Fatal(err)
	}
	far := now.Add(-3 * 365 * 24 * time.Hour)
	in := []store.Result{
		{TargetID: "t", At: past, Message: "past"},
		{TargetID: "t", At: now, Message: "now"},
		{TargetID: "t", At: far, Message: "far"},
	}
	if err := st.AddResults(c, in); err != nil {
		t.Fatal(err)
	}
	got, err := st.Results(c, "t", time.Time{}, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("Results = %+v, want 3", got)
	}
	part := resultsTable.partName(pastDay)
	if n := count(t, st.pool, "SELECT count(*) FROM "+part); n != 2 {
		t.Errorf("%s holds %d rows, want 2 (the new one and the one moved from the default partition)", part, n)
	}
	if n := count(t, st.pool, "SELECT count(*) FROM results_default WHERE message = 'far'"); n != 1 {
		t.Errorf("the far-off result is not in the default partition")
	}
	if n := count(t, st.pool, "SELECT count(*) FROM results_default"); n != 1 {
		t.Errorf("the default partition holds %d rows, want only the far-off one", n)
	}
	if got, err := st.Results(c, "early", time.Time{}, time.Time{}, 0); err != nil || len(got) != 1 {
		t.Errorf("the moved row: %+v, %v", got, err)
	}
}

// TestRetentionDropsPartitions: Prune drops the partitions wholly older
// than the cutoff, keeps the recent ones, deletes the older rows of the
// partition straddling it, and queries stay right.
func TestRetentionDropsPartitions(t *testing.T) {
	pg := server.Get(t)
	st := openT(t, freshDB(t, pg), Options{})
	c := testCtx(t)
	day := 24 * time.Hour
	now := time.Now().UTC().Truncate(time.Minute)
	cutoff := now.Add(-5 * day)
	ages := []time.Duration{10 * day, 6 * day, 5*day + time.Minute, 5*day - time.Minute, 3 * day, time.Hour}
	var results []store.Result
	var rollups []store.Rollup
	for _, a := range ages {
		results = append(results, store.Result{TargetID: "t", At: now.Add(-a), Message: a.String()})
		r := store.Rollup{TargetID: "t", Minute: now.Add(-a)}
		r.Add(true, time.Millisecond)
		rollups = append(rollups, r)
	}
	if err := st.AddResults(c, results); err != nil {
		t.Fatal(err)
	}
	if err := st.AddRollups(c, rollups); err != nil {
		t.Fatal(err)
	}
	if err := st.q.barrier(c); err != nil {
		t.Fatal(err)
	}
	before := daysOf(t, st, resultsTable)
	if err := st.Prune(c, store.Retention{Results: 5 * day, Rollups: 5 * day}, now); err != nil {
		t.Fatal(err)
	}
	cutDay := dayOf(cutoff.Unix())
	for _, pt := range partTables {
		days := daysOf(t, st, pt)
		for _, d := range days {
			if _, hi := pt.bounds(d); hi <= cutoff.Unix()*pt.perSec {
				t.Errorf("%s: partition %s older than the cutoff survived", pt.name, pt.partName(d))
			}
		}
		for _, d := range []int64{cutDay, dayOf(now.Unix())} {
			if !slices.Contains(days, d) {
				t.Errorf("%s: partition %s dropped, want it kept", pt.name, pt.partName(d))
			}
		}
	}
	if after := daysOf(t, st, resultsTable); len(after) >= len(before) {
		t.Errorf("partitions %v before, %v after: none dropped", before, after)
	}
	got, err := st.Results(c, "t", time.Time{}, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, r := range got {
		msgs = append(msgs, r.Message)
	}
	want := []string{time.Hour.String(), (3 * day).String(), (5*day - time.Minute).String()}
	if !slices.Equal(msgs, want) {
		t.Errorf("results after prune %v, want %v", msgs, want)
	}
	rs, err := st.Rollups(c, "t", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 3 || rs[0].Minute.Before(cutoff) {
		t.Errorf("rollups after prune: %d from %v, want 3 from after %v", len(rs), rs[0].Minute, cutoff)
	}
	if n := count(t, st.pool, "SELECT count(*) FROM rollups_hour WHERE hour + 3600 <= $1", cutoff.Unix()); n != 0 {
		t.Errorf("%d hour rollups wholly before the cutoff survived", n)
	}
}

// TestRollupSpans: the spans of a range sum to the same as its minutes,
// from fewer rows, wherever the range starts and ends.
func TestRollupSpans(t *testing.T) {
	pg := server.Get(t)
	d := freshDB(t, pg)
	st := openT(t, d, Options{Observer: "a"})
	other := openT(t, d, Options{Observer: "b"})
	c := testCtx(t)
	start := time.Now().UTC().Truncate(time.Hour).Add(-5 * time.Hour)
	var rs []store.Rollup
	for i := range 5 * 60 {
		r := store.Rollup{TargetID: "t", Minute: start.Add(time.Duration(i) * time.Minute)}
		r.Add(i%7 != 0, time.Duration(i%50)*time.Millisecond)
		rs = append(rs, r)
	}
	if err := st.AddRollups(c, rs[:150]); err != nil {
		t.Fatal(err)
	}
	if err := st.AddRollups(c, rs[150:]); err != nil {
		t.Fatal(err)
	}
	if err := other.AddRollups(c, rs[100:200]); err != nil { // a second observer of some minutes
		t.Fatal(err)
	}
	if err := other.q.barrier(c); err != nil {
		t.Fatal(err)
	}
	// groups sums rs into the steps of the grid from + k*step (one group
	// without a step).
	groups := func(rs []store.Rollup, from time.Time, step time.Duration) map[int64]store.Rollup {
		out := map[int64]store.Rollup{}
		for _, r := range rs {
			k := int64(0)
			if step > 0 {
				k = int64(r.Minute.Sub(from) / step)
			}
			g := out[k]
			g.Merge(r)
			out[k] = g
		}
		return out
	}
	tests := []struct {
		name     string
		from, to time.Time
		step     time.Duration
		maxRows  int
	}{
		{"open", time.Time{}, time.Time{}, 0, 5},
		{"whole hours", start, start.Add(5 * time.Hour), 0, 5},
		{"ragged", start.Add(17 * time.Minute), start.Add(4*time.Hour + 3*time.Minute), 0, 43 + 3 + 3},
		{"within an hour", start.Add(70 * time.Minute), start.Add(100 * time.Minute), 0, 30},
		{"sub-second bounds", start.Add(time.Hour + 500*time.Millisecond), start.Add(3*time.Hour + 1), 0, 59 + 1 + 1},
		{"ragged grid of 2h", start.Add(17 * time.Minute), start.Add(5 * time.Hour), 2 * time.Hour, 3*60 + 1},
		{"aligned grid of 1h", start, start.Add(5 * time.Hour), time.Hour, 5},
		{"grid under an hour reads minutes", start, start.Add(5 * time.Hour), 10 * time.Minute, 300},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			minutes, err := st.Rollups(c, "t", tc.from, tc.to)
			if err != nil {
				t.Fatal(err)
			}
			spans, err := st.RollupSpans(c, "t", tc.from, tc.to, tc.step)
			if err != nil {
				t.Fatal(err)
			}
			gm, gs := groups(minutes, tc.from, tc.step), groups(spans, tc.from, tc.step)
			if len(gm) == 0 || len(gm) != len(gs) {
				t.Fatalf("%d groups of minutes, %d of spans", len(gm), len(gs))
			}
			for k, m := range gm {
				if gs[k] != m {
					t.Errorf("group %d: spans sum to %+v, minutes to %+v", k, gs[k], m)
				}
			}
			if len(spans) > tc.maxRows {
				t.Errorf("%d spans, want at most %d", len(spans), tc.maxRows)
			}
			for i := 1; i < len(spans); i++ {
				if !spans[i-1].Minute.Before(spans[i].Minute) {
					t.Fatalf("spans out of order at %d", i)
				}
			}
		})
	}
}

// TestMigrateFromUnpartitioned: a database of schema 1 (plain tables)
// moves forward to day partitions with every row kept, hour rollups made
// from its minutes, and the old tables gone.
func TestMigrateFromUnpartitioned(t *testing.T) {
	pg := server.Get(t)
	d := freshDB(t, pg)
	c := testCtx(t)
	ms, err := sqlkit.LoadMigrations(migrationFS)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.New(c, d)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := migrate(c, pool, "v1", ms[:1], stepEnv{now: time.Now(), log: testLogger()}, nil); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Hour)
	days := []time.Time{now.Add(-48 * time.Hour), now.Add(-24 * time.Hour), now, now.AddDate(-2, 0, 0)}
	for i, at := range days {
		if _, err := pool.Exec(c, `INSERT INTO results (target, at, observer, ok, latency, message) VALUES ('t', $1, 'n1', $2, 5, $3)`,
			at.UnixNano(), i%2 == 0, fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
		for m := range 3 {
			for _, obs := range []string{"n1", "n2"} {
				buckets := make([]int64, store.NumBuckets)
				buckets[m] = 2
				if _, err := pool.Exec(c, `INSERT INTO rollups (target, minute, observer, n, fails, lat_sum, lat_max, buckets)
					VALUES ('t', $1, $2, 2, 1, 3000, 2000, $3)`, at.Unix()+int64(m)*60, obs, buckets); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	st := openT(t, d, Options{})
	if st.Layout() != LayoutNative {
		t.Fatalf("layout %q", st.Layout())
	}
	got, err := st.Results(c, "t", time.Time{}, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(days) {
		t.Errorf("%d results after the migration, want %d", len(got), len(days))
	}
	rs, err := st.Rollups(c, "t", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var n uint32
	for _, r := range rs {
		n += r.Count
	}
	if len(rs) != 3*len(days) || n != uint32(2*2*3*len(days)) {
		t.Errorf("rollups after the migration: %d minutes, %d checks; want %d and %d", len(rs), n, 3*len(days), 2*2*3*len(days))
	}
	spans, err := st.RollupSpans(c, "t", time.Time{}, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(spans) != len(days) || spans[0].Count != 12 || spans[0].Buckets[0] != 4 || spans[0].Buckets[2] != 4 || spans[0].LatencyMax != 2000 {
		t.Errorf("hour rollups made by the migration: %+v", spans)
	}
	for _, at := range days[:3] {
		p := resultsTable.partName(dayOf(at.Unix()))
		if n := count(t, st.pool, "SELECT count(*) FROM "+p); n != 1 {
			t.Errorf("partition %s holds %d results, want 1", p, n)
		}
	}
	if n := count(t, st.pool, "SELECT count(*) FROM results_default"); n != 1 {
		t.Errorf("default partition holds %d results, want the 2-year-old one", n)
	}
	if n := count(t, st.pool, "SELECT count(*) FROM pg_class WHERE relname IN ('results_v1', 'rollups_v1')"); n != 0 {
		t.Errorf("the schema 1 tables are still there")
	}
}

// fakeDB answers detectTimescale's questions.
type fakeDB struct {
	installed, available bool
	createErr            error
	execs                []string
}

type fakeRow struct{ vals []bool }

func (r fakeRow) Scan(dest ...any) error {
	for i, d := range dest {
		*d.(*bool) = r.vals[i]
	}
	return nil
}

func (f *fakeDB) Exec(_ context.Context, sql string, _ ...any) (pgconn.CommandTag, error) {
	f.execs = append(f.execs, sql)
	if strings.HasPrefix(sql, "CREATE EXTENSION") && f.createErr != nil {
		return pgconn.CommandTag{}, f.createErr
	}
	return pgconn.CommandTag{}, nil
}

func (f *fakeDB) Query(context.Context, string, ...any) (pgx.Rows, error) {
	return nil, errors.New("not faked")
}

func (f *fakeDB) QueryRow(context.Context, string, ...any) pgx.Row {
	return fakeRow{[]bool{f.installed, f.available}}
}

func TestDetectTimescale(t *testing.T) {
	tests := []struct {
		name    string
		db      fakeDB
		use     bool
		reason  string
		lastSQL string
	}{
		{"installed", fakeDB{installed: true, available: true}, true, "installed", ""},
		{"absent", fakeDB{}, false, "not available", ""},
		{"available and creatable", fakeDB{available: true}, true, "created", "RELEASE SAVEPOINT heck_timescaledb"},
		{"available, not preloaded", fakeDB{available: true, createErr: errors.New(`extension "timescaledb" must be preloaded`)},
			false, "must be preloaded", "ROLLBACK TO SAVEPOINT heck_timescaledb"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := detectTimescale(context.Background(), &tc.db)
			if err != nil {
				t.Fatal(err)
			}
			if got.use != tc.use || !strings.Contains(got.reason, tc.reason) {
				t.Errorf("detect = %+v, want use %v because %q", got, tc.use, tc.reason)
			}
			last := ""
			if n := len(tc.db.execs); n > 0 {
				last = tc.db.execs[n-1]
			}
			if last != tc.lastSQL {
				t.Errorf("last statement %q, want %q", last, tc.lastSQL)
			}
		})
	}
}

// TestDetectTimescaleHere: this server has no TimescaleDB, and looking
// for it changes nothing.
func TestDetectTimescaleHere(t *testing.T) {
	pg := server.Get(t)
	d := freshDB(t, pg)
	c := testCtx(t)
	conn, err := pgx.Connect(c, d)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(c)
	err = pgx.BeginFunc(c, conn, func(tx pgx.Tx) error {
		ts, err := detectTimescale(c, tx)
		if err != nil {
			return err
		}
		if ts.use {
			t.Skipf("this server has TimescaleDB (%s): the native path is covered elsewhere", ts.reason)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
