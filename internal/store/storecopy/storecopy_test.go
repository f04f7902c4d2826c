package storecopy_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/crdt"
	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/history"
	"github.com/heckhq/heck/internal/store"
	"github.com/heckhq/heck/internal/store/postgres"
	"github.com/heckhq/heck/internal/store/sqlite"
	"github.com/heckhq/heck/internal/store/storecopy"
	"github.com/heckhq/heck/internal/testkit"
)

var pgServer = testkit.NewShared(testkit.StartPostgres)

func TestMain(m *testing.M) {
	code := m.Run()
	if err := pgServer.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "stop postgres:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// now is the time the seeded history ends at.
var now = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

// seeded is what seed wrote, to compare a copy with.
type seeded struct {
	targets []string
	kinds   []string
	counts  map[string]int64
}

// seed fills st with known contents: objects of three kinds (tombstones
// included), state transitions and events of other types (one without an
// id, as an old store has), 30 days of rollups for two targets with
// outages and varied latency, and raw results (more than one batch).
func seed(t *testing.T, st store.Store) seeded {
	t.Helper()
	ctx := testCtx(t)
	s := seeded{targets: []string{"api", "db"}, kinds: []string{"pool", "silence", "target"}, counts: map[string]int64{}}
	stamp := func(i int) uint64 { return uint64(crdt.MakeTimestamp(now.Add(-time.Duration(i)*time.Hour), uint16(i))) }
	for _, kind := range s.kinds {
		var recs []store.ObjectRecord
		for i := range 7 {
			r := store.ObjectRecord{Key: fmt.Sprintf("%s-%d", kind, i), Value: []byte(fmt.Sprintf(`{"n":%d}`, i)), Stamp: stamp(i), Node: "n1"}
			if i == 6 {
				r.Value, r.Deleted = nil, true
			}
			recs = append(recs, r)
		}
		must(t, st.PutObjects(ctx, kind, recs))
		s.counts["objects"] += int64(len(recs))
	}

	var ts []store.Transition
	for i := range 40 {
		id := s.targets[i%2]
		tr := store.Transition{ID: fmt.Sprintf("tr-%d", i), TargetID: id, At: now.Add(-time.Duration(40-i) * time.Hour),
			From: health.Up, To: health.Down, Cause: "connection refused", Observer: "n1"}
		if i%2 == 1 {
			tr.From, tr.To, tr.Cause = health.Down, health.Up, "ok"
		}
		switch i % 10 {
		case 3:
			tr.Type, tr.Subject, tr.Before, tr.After = "audit", "silence-1", "", `{"n":1}`
		case 7:
			tr.Type, tr.Subject = "ejection", "pool-1"
		case 9:
			tr.ID = "" // written before transitions had ids
		}
		ts = append(ts, tr)
	}
	must(t, st.AddTransitions(ctx, ts))
	s.counts["transitions"] = int64(len(ts))

	// A rollup every 10 minutes for 30 days: outages on some days, and
	// latency spread over the histogram, so uptime and percentiles differ
	// per window.
	for ti, id := range s.targets {
		var rs []store.Rollup
		for m := now.Add(-30 * 24 * time.Hour); m.Before(now); m = m.Add(10 * time.Minute) {
			r := store.Rollup{TargetID: id, Minute: m}
			k := int(m.Sub(now) / time.Minute)
			for j := range 60 {
				ok := (k+j+ti)%97 != 0 && !(m.Day()%7 == ti && m.Hour() == 3)
				lat := time.Duration((k*7+j*13+ti)%400) * time.Millisecond / 10
				r.Add(ok, lat)
			}
			rs = append(rs, r)
		}
		must(t, st.AddRollups(ctx, rs))
		s.counts["rollups"] += int64(len(rs))
	}

	for ti, id := range s.targets {
		var rs []store.Result
		for i := range 2500 + ti*10 {
			rs = append(rs, store.Result{TargetID: id, At: now.Add(-time.Duration(i) * 3 * time.Second).Add(time.Duration(ti)),
				OK: i%50 != 0, Latency: time.Duration(i%300) * time.Millisecond, Message: fmt.Sprintf("result %d", i),
				Details: []byte(`{"status":200}`)})
		}
		must(t, st.AddResults(ctx, rs))
		s.counts["results"] += int64(len(rs))
	}
	return s
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// figures are what users read of a target's history: uptime over the
// three windows, latency percentiles over 30 days, and the hourly points.
type figures struct {
	Uptime        history.Uptime
	P50, P95, P99 time.Duration
	Count         uint32
	Points        []history.Point
}

func figuresOf(t *testing.T, st store.Store, id string) figures {
	t.Helper()
	ctx := testCtx(t)
	from, to := history.UptimeRange(now)
	rs, err := st.Rollups(ctx, id, from, to)
	must(t, err)
	var all store.Rollup
	for _, r := range rs {
		all.Merge(r)
	}
	start, step, n, err := history.Grid(now.Add(-30*24*time.Hour), now, time.Hour)
	must(t, err)
	return figures{Uptime: history.UptimeOf(rs, now), P50: all.Quantile(0.5), P95: all.Quantile(0.95), P99: all.Quantile(0.99),
		Count: all.Count, Points: history.Points(rs, start, step, n)}
}

// assertSame checks dst holds what src holds, record by record where the
// store interface shows them.
func assertSame(t *testing.T, src, dst store.Store, s seeded) {
	t.Helper()
	ctx := testCtx(t)
	for _, id := range s.targets {
		fs, fd := figuresOf(t, src, id), figuresOf(t, dst, id)
		if fs.Count == 0 || fs.Uptime.Month <= 0 || fs.Uptime.Month >= 1 || fs.P99 == 0 {
			t.Fatalf("the seeded history of %s is degenerate: %+v", id, fs)
		}
		if !reflect.DeepEqual(fs, fd) {
			t.Errorf("%s: the figures differ\nsource      %+v %v/%v/%v n=%d\ndestination %+v %v/%v/%v n=%d",
				id, fs.Uptime, fs.P50, fs.P95, fs.P99, fs.Count, fd.Uptime, fd.P50, fd.P95, fd.P99, fd.Count)
		}
		// Hour rollups (rebuilt by PutRollups) agree with the source's.
		if ss, ok := src.(history.SpanStore); ok {
			if sd, ok := dst.(history.SpanStore); ok {
				from, to := history.UptimeRange(now)
				spS, err := ss.RollupSpans(ctx, id, from, to, 24*time.Hour)
				must(t, err)
				spD, err := sd.RollupSpans(ctx, id, from, to, 24*time.Hour)
				must(t, err)
				if len(spS) == 0 || !reflect.DeepEqual(spS, spD) {
					t.Errorf("%s: %d spans in the source, %d in the destination, or they differ", id, len(spS), len(spD))
				}
			}
		}
		rs, err := src.Results(ctx, id, time.Time{}, time.Time{}, 0)
		must(t, err)
		rd, err := dst.Results(ctx, id, time.Time{}, time.Time{}, 0)
		must(t, err)
		if !reflect.DeepEqual(rs, rd) {
			t.Errorf("%s: %d results in the source, %d in the destination, or they differ", id, len(rs), len(rd))
		}
	}
	for _, kind := range s.kinds {
		objS, err := src.Objects(ctx, kind)
		must(t, err)
		objD, err := dst.Objects(ctx, kind)
		must(t, err)
		if !reflect.DeepEqual(objS, objD) {
			t.Errorf("%s objects differ:\n%+v\n%+v", kind, objS, objD)
		}
	}
	q := store.TransitionQuery{Events: true}
	ts, err := src.Transitions(ctx, q)
	must(t, err)
	td, err := dst.Transitions(ctx, q)
	must(t, err)
	if len(ts) != len(td) {
		t.Fatalf("%d transitions in the source, %d in the destination", len(ts), len(td))
	}
	for i := range ts {
		a, b := ts[i], td[i]
		if a.ID == "" {
			a.ID = storecopy.DerivedID(a)
		}
		a.Seq, b.Seq = 0, 0
		if a != b {
			t.Errorf("transition %d differs:\n%+v\n%+v", i, a, b)
		}
	}
}

func openSQLite(t *testing.T, path, observer string) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(testCtx(t), path, sqlite.Options{Observer: observer})
	must(t, err)
	t.Cleanup(func() { st.Close() })
	return st
}

// TestCopySQLite copies between two SQLite files (no server needed):
// counts and figures match, a rerun with Append writes nothing twice, and
// a non-empty destination is refused without it.
func TestCopySQLite(t *testing.T) {
	dir := t.TempDir()
	src := openSQLite(t, filepath.Join(dir, "src.db"), "n1")
	s := seed(t, src)
	dst := openSQLite(t, filepath.Join(dir, "dst.db"), "n1")
	testCopy(t, src, dst, s)
}

// TestCopyToPostgres copies a SQLite store into a real PostgreSQL.
func TestCopyToPostgres(t *testing.T) {
	pg := pgServer.Get(t)
	src := openSQLite(t, filepath.Join(t.TempDir(), "src.db"), "n1")
	s := seed(t, src)
	dst, err := postgres.Open(testCtx(t), freshDB(t, pg), postgres.Options{Observer: "n1"})
	must(t, err)
	t.Cleanup(func() { dst.Close() })
	testCopy(t, src, dst, s)
}

func testCopy(t *testing.T, src storecopy.Source, dst storecopy.Destination, s seeded) {
	ctx := testCtx(t)
	var calls atomic.Int64
	last := map[string]storecopy.Progress{}
	rep, err := storecopy.Copy(ctx, src, dst, storecopy.Options{Batch: 1000, Progress: func(p storecopy.Progress) {
		calls.Add(1)
		if prev := last[p.Table]; p.Done < prev.Done || p.Total != s.counts[p.Table] {
			t.Errorf("progress went %+v -> %+v (total %d)", prev, p, s.counts[p.Table])
		}
		last[p.Table] = p
	}})
	must(t, err)
	for _, table := range storecopy.Tables {
		if rep.Copied[table] != s.counts[table] || rep.Source[table] != s.counts[table] || rep.Destination[table] != s.counts[table] {
			t.Errorf("%s: copied %d, source %d, destination %d; seeded %d", table,
				rep.Copied[table], rep.Source[table], rep.Destination[table], s.counts[table])
		}
		if last[table].Done != s.counts[table] {
			t.Errorf("%s: progress ended at %+v", table, last[table])
		}
	}
	if calls.Load() < 8 { // results and rollups take several batches of 1000
		t.Errorf("only %d progress reports", calls.Load())
	}
	assertSame(t, src, dst, s)

	// A second copy without Append is refused, and writes nothing.
	_, err = storecopy.Copy(ctx, src, dst, storecopy.Options{})
	var ne *storecopy.NotEmptyError
	if !errors.As(err, &ne) || !strings.Contains(err.Error(), "--append") || ne.Counts["rollups"] != s.counts["rollups"] {
		t.Fatalf("copy into a non-empty store: %v", err)
	}

	// Rerun with Append (as after a copy stopped half way): the same rows.
	rep, err = storecopy.Copy(ctx, src, dst, storecopy.Options{Batch: 700, Append: true})
	must(t, err)
	for _, table := range storecopy.Tables {
		if rep.Destination[table] != s.counts[table] {
			t.Errorf("after a rerun, %s has %d rows, want %d", table, rep.Destination[table], s.counts[table])
		}
	}
	assertSame(t, src, dst, s)
}

// TestCopyKeepsNewerObjects: copying with Append into a store that holds a
// newer write of an object keeps the newer one.
func TestCopyKeepsNewerObjects(t *testing.T) {
	ctx := testCtx(t)
	dir := t.TempDir()
	src := openSQLite(t, filepath.Join(dir, "src.db"), "n1")
	dst := openSQLite(t, filepath.Join(dir, "dst.db"), "n2")
	old := uint64(crdt.MakeTimestamp(now.Add(-time.Hour), 0))
	newer := uint64(crdt.MakeTimestamp(now, 0))
	must(t, src.PutObjects(ctx, "target", []store.ObjectRecord{{Key: "a", Value: []byte("old"), Stamp: old, Node: "n1"}}))
	must(t, dst.PutObjects(ctx, "target", []store.ObjectRecord{{Key: "a", Value: []byte("new"), Stamp: newer, Node: "n2"}}))
	if _, err := storecopy.Copy(ctx, src, dst, storecopy.Options{Append: true}); err != nil {
		t.Fatal(err)
	}
	got, err := dst.Objects(ctx, "target")
	must(t, err)
	if len(got) != 1 || string(got[0].Value) != "new" {
		t.Fatalf("after the copy: %+v, want the newer write kept", got)
	}
}

// freshDB creates a database of its own for t on pg and returns its DSN.
func freshDB(t *testing.T, pg *testkit.Postgres) string {
	t.Helper()
	db := fmt.Sprintf("copy_%d", time.Now().UnixNano())
	must(t, pg.Exec("postgres", "CREATE DATABASE "+db))
	u := url.URL{Scheme: "postgres", User: url.UserPassword(pg.User, pg.Password), Host: pg.Addr, Path: "/" + db, RawQuery: "sslmode=disable"}
	return u.String()
}
