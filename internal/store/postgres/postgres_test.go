package postgres

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/heckhq/heck/internal/store"
	"github.com/heckhq/heck/internal/store/sqlkit"
	"github.com/heckhq/heck/internal/store/storetest"
	"github.com/heckhq/heck/internal/testkit"
)

// server is the PostgreSQL of this test binary, started on first use.
var server = testkit.NewShared(testkit.StartPostgres)

func TestMain(m *testing.M) {
	code := m.Run()
	for _, sh := range []*testkit.Shared[*testkit.Postgres]{server, faultServer} {
		if err := sh.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "stop postgres:", err)
			if code == 0 {
				code = 1
			}
		}
	}
	os.Exit(code)
}

func testCtx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

// dsn is the connection string of database db on the test server.
func dsn(pg *testkit.Postgres, db string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(pg.User, pg.Password), Host: pg.Addr, Path: "/" + db,
		RawQuery: "sslmode=disable"}
	return u.String()
}

// createDB creates database db on the test server unless it exists.
func createDB(t testing.TB, pg *testkit.Postgres, db string) {
	t.Helper()
	c := testCtx(t)
	conn, err := pgx.Connect(c, dsn(pg, "postgres"))
	if err != nil {
		t.Fatalf("connect to the test server: %v", err)
	}
	defer conn.Close(c)
	_, err = conn.Exec(c, "CREATE DATABASE "+pgx.Identifier{db}.Sanitize())
	var pe *pgconn.PgError
	if err != nil && !(errors.As(err, &pe) && pe.Code == "42P04") { // duplicate_database
		t.Fatalf("create database %s: %v", db, err)
	}
}

// freshDB creates a new database for t and returns its DSN.
func freshDB(t testing.TB, pg *testkit.Postgres) string {
	t.Helper()
	h := fnv.New64a()
	h.Write([]byte(t.Name() + t.TempDir()))
	db := fmt.Sprintf("heck_%x", h.Sum64())
	createDB(t, pg, db)
	return dsn(pg, db)
}

func TestConformance(t *testing.T) {
	pg := server.Get(t)
	var mu sync.Mutex
	dbs := map[string]string{} // suite directory -> database
	storetest.Run(t, func(t *testing.T, dir string) store.Store {
		mu.Lock()
		db, ok := dbs[dir]
		if !ok {
			db = fmt.Sprintf("heck_conf_%d", len(dbs))
			dbs[dir] = db
		}
		mu.Unlock()
		createDB(t, pg, db)
		st, err := Open(testCtx(t), dsn(pg, db), Options{Observer: "n1"})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return st
	})
}

// TestConcurrentMigrate: nodes starting together against one new database
// migrate it once (the advisory lock), and all of them open.
func TestConcurrentMigrate(t *testing.T) {
	pg := server.Get(t)
	d := freshDB(t, pg)
	const nodes = 4
	var wg sync.WaitGroup
	stores := make([]*Store, nodes)
	errs := make([]error, nodes)
	start := make(chan struct{})
	for i := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			stores[i], errs[i] = Open(testCtx(t), d, Options{Observer: fmt.Sprintf("n%d", i)})
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("node %d: Open: %v", i, err)
		}
		defer stores[i].Close()
	}
	c := testCtx(t)
	var n, maxV int
	if err := stores[0].pool.QueryRow(c, "SELECT count(*), max(version) FROM "+versionTable).Scan(&n, &maxV); err != nil {
		t.Fatal(err)
	}
	if n != SchemaVersion() || maxV != SchemaVersion() {
		t.Errorf("%s holds %d rows up to version %d, want each of the %d migrations once", versionTable, n, maxV, SchemaVersion())
	}
	if n := count(t, stores[0].pool, "SELECT count(*) FROM heck_layout"); n != 1 {
		t.Errorf("heck_layout holds %d rows, want the layout chosen once", n)
	}
	for i, st := range stores {
		if st.Layout() != LayoutNative {
			t.Errorf("node %d: layout %q", i, st.Layout())
		}
	}
	// Every node writes at once into the partitions the first one made.
	var writers sync.WaitGroup
	for i, st := range stores {
		writers.Go(func() {
			if err := st.AddResults(c, []store.Result{{TargetID: "t", At: time.Now(), Message: fmt.Sprint(i)}}); err != nil {
				t.Error(err)
			}
			if err := st.q.barrier(c); err != nil {
				t.Error(err)
			}
		})
	}
	writers.Wait()
	if n := count(t, stores[0].pool, "SELECT count(*) FROM results"); n != nodes {
		t.Errorf("%d results, want one from each node", n)
	}
}

// TestMigrationLockSerialises: a second migration waits for the first's
// lock, sees its work, and applies only what is left.
func TestMigrationLockSerialises(t *testing.T) {
	pg := server.Get(t)
	d := freshDB(t, pg)
	ms, err := sqlkit.LoadMigrations(migrationFS)
	if err != nil {
		t.Fatal(err)
	}
	c := testCtx(t)
	holder, err := pgx.Connect(c, d)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close(c)
	if _, err := holder.Exec(c, "SELECT pg_advisory_lock($1)", migrateLockKey); err != nil {
		t.Fatal(err)
	}
	opened := make(chan error, 1)
	go func() {
		st, err := openWith(c, d, Options{}, ms)
		if err == nil {
			st.Close()
		}
		opened <- err
	}()
	// The opener waits on the lock: its session shows up as waiting on
	// an advisory lock.
	testkit.Wait{}.Until(t, "the second migration waits on the advisory lock", testkit.True(func() bool {
		var waiting int
		err := holder.QueryRow(c, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`).Scan(&waiting)
		return err == nil && waiting == 1
	}))
	select {
	case err := <-opened:
		t.Fatalf("Open returned (%v) while another session held the migration lock", err)
	default:
	}
	if _, err := holder.Exec(c, "SELECT pg_advisory_unlock($1)", migrateLockKey); err != nil {
		t.Fatal(err)
	}
	if err := <-opened; err != nil {
		t.Fatalf("Open after the lock was released: %v", err)
	}
}

func TestSchemaTooNew(t *testing.T) {
	pg := server.Get(t)
	d := freshDB(t, pg)
	c := testCtx(t)
	st, err := Open(c, d, Options{})
	if err != nil {
		t.Fatal(err)
	}
	newer := SchemaVersion() + 1
	if _, err := st.pool.Exec(c, "INSERT INTO "+versionTable+" (version, name) VALUES ($1, 'from the future')", newer); err != nil {
		t.Fatal(err)
	}
	st.Close()
	_, err = Open(c, d, Options{})
	var tn *SchemaTooNewError
	if !errors.As(err, &tn) || tn.Have != newer || tn.Binary != SchemaVersion() {
		t.Fatalf("Open of a newer schema: %v, want a SchemaTooNewError %d > %d", err, newer, SchemaVersion())
	}
	if !strings.Contains(err.Error(), "newer heck") || !strings.Contains(err.Error(), "left unchanged") {
		t.Errorf("error does not say what to do: %v", err)
	}
}

func TestForeignDatabaseRefused(t *testing.T) {
	pg := server.Get(t)
	d := freshDB(t, pg)
	c := testCtx(t)
	conn, err := pgx.Connect(c, d)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(c)
	if _, err := conn.Exec(c, "CREATE TABLE invoices (id int)"); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(c, d, Options{}); err == nil || !strings.Contains(err.Error(), "not a heck store") {
		t.Fatalf("Open of a database with other tables: %v, want a refusal", err)
	}
}

// TestObserversKeptApart: two nodes sharing a database write the same
// target's minute and results; each keeps its own row, reads combine them,
// and neither's rewrite adds into the other's.
func TestObserversKeptApart(t *testing.T) {
	pg := server.Get(t)
	d := freshDB(t, pg)
	c := testCtx(t)
	a, err := Open(c, d, Options{Observer: "a"})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(c, d, Options{Observer: "b"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	minute := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	r := store.Rollup{TargetID: "t", Minute: minute}
	r.Add(true, 3*time.Millisecond)
	r.Add(false, 7*time.Second)
	for _, st := range []*Store{a, b} {
		if err := st.AddRollups(c, []store.Rollup{r}); err != nil {
			t.Fatal(err)
		}
		if err := st.AddResults(c, []store.Result{{TargetID: "t", At: minute, OK: true, Message: st.observer}}); err != nil {
			t.Fatal(err)
		}
	}
	// A store reads its own writes; another node's once its writer has
	// written them.
	if err := b.q.barrier(c); err != nil {
		t.Fatal(err)
	}
	got, err := a.Rollups(c, "t", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	want := r
	want.Merge(r)
	if len(got) != 1 || got[0].Count != want.Count || got[0].Buckets != want.Buckets || got[0].LatencyMax != want.LatencyMax {
		t.Fatalf("Rollups = %+v, want one minute combining both observers: %+v", got, want)
	}
	var rows int
	if err := a.pool.QueryRow(c, "SELECT count(*) FROM rollups WHERE target = 't'").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != 2 {
		t.Errorf("%d rollup rows, want one per observer", rows)
	}
	res, err := b.Results(c, "t", time.Time{}, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || res[0].Message != "a" || res[1].Message != "b" {
		t.Errorf("Results = %+v, want one from each observer", res)
	}
}

func TestResultsBatchKeepsLast(t *testing.T) {
	pg := server.Get(t)
	d := freshDB(t, pg)
	c := testCtx(t)
	st, err := Open(c, d, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	at := time.Date(2025, 3, 1, 12, 0, 0, 5, time.UTC)
	in := make([]store.Result, 0, 2001)
	for i := range 2000 {
		in = append(in, store.Result{TargetID: fmt.Sprintf("t%d", i%7), At: at.Add(time.Duration(i) * time.Second), Message: "m"})
	}
	in = append(in, store.Result{TargetID: "t0", At: at, Message: "last"}) // same target and instant as in[0]
	if err := st.AddResults(c, in); err != nil {
		t.Fatal(err)
	}
	if err := st.AddResults(c, in[:1]); err != nil { // and again in a later batch
		t.Fatal(err)
	}
	got, err := st.Results(c, "t0", at, at.Add(1), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Message != "m" {
		t.Errorf("Results at a repeated instant = %+v, want the last written (\"m\")", got)
	}
	var n int
	if err := st.pool.QueryRow(c, "SELECT count(*) FROM results").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 2000 {
		t.Errorf("%d results stored, want 2000", n)
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name string
		s    store.Settings
		keys []string
	}{
		{"url", store.Settings{"dsn": "postgres://heck:pw@127.0.0.1:5432/heck"}, nil},
		{"key value", store.Settings{"dsn": "host=127.0.0.1 dbname=heck"}, nil},
		{"missing", store.Settings{}, []string{"dsn"}},
		{"empty (an unset ${VAR})", store.Settings{"dsn": " "}, []string{"dsn"}},
		{"unparsable", store.Settings{"dsn": "postgres://heck:s3cret@[::1/heck"}, []string{"dsn"}},
		{"unknown key", store.Settings{"dsn": "postgres://127.0.0.1/heck", "path": "x"}, []string{"path"}},
		{"queue", store.Settings{"dsn": "postgres://127.0.0.1/heck", "queue": "500000"}, nil},
		{"queue with separators", store.Settings{"dsn": "postgres://127.0.0.1/heck", "queue": "1_000_000"}, nil},
		{"queue not a number", store.Settings{"dsn": "postgres://127.0.0.1/heck", "queue": "lots"}, []string{"queue"}},
		{"queue zero", store.Settings{"dsn": "postgres://127.0.0.1/heck", "queue": "0"}, []string{"queue"}},
		{"queue too large", store.Settings{"dsn": "postgres://127.0.0.1/heck", "queue": "1000000000"}, []string{"queue"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			errs := opener{}.Check(tc.s)
			var keys []string
			for _, e := range errs {
				keys = append(keys, e.Key)
				if strings.Contains(e.Error(), "s3cret") {
					t.Errorf("setting error shows the password: %v", e)
				}
			}
			if strings.Join(keys, ",") != strings.Join(tc.keys, ",") {
				t.Errorf("Check = %v, want problems with %v", errs, tc.keys)
			}
		})
	}
	if _, ok := store.Lookup(DriverName); !ok {
		t.Errorf("driver %q is not registered", DriverName)
	}
}
