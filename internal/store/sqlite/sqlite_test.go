package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/heckhq/heck/internal/store"
	"github.com/heckhq/heck/internal/store/sqlkit"
	"github.com/heckhq/heck/internal/store/storetest"
)

func testCtx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func openT(t testing.TB, path string) *Store {
	t.Helper()
	s, err := Open(testCtx(t), path, Options{})
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, dir string) store.Store {
		return openT(t, filepath.Join(dir, "heck.db"))
	})
}

// rawDB opens path with no heck logic, to inspect or tamper with it.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func versions(t *testing.T, path string) []int {
	t.Helper()
	rows, err := rawDB(t, path).Query("SELECT version FROM schema_version ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var vs []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	return vs
}

func TestOpenCreatesDirectoryAndSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "heck.db")
	s := openT(t, path)
	var mode string
	if err := s.w.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" {
		t.Errorf("journal_mode = %q, want wal", mode)
	}
	var sync int
	if err := s.w.QueryRow("PRAGMA synchronous").Scan(&sync); err != nil {
		t.Fatal(err)
	}
	if sync != 1 {
		t.Errorf("synchronous = %d, want 1 (NORMAL)", sync)
	}
	var busy int
	if err := s.r.QueryRow("PRAGMA busy_timeout").Scan(&busy); err != nil {
		t.Fatal(err)
	}
	if busy != 5000 {
		t.Errorf("reader busy_timeout = %d, want 5000", busy)
	}
	if _, err := s.r.Exec("INSERT INTO target_ids (name) VALUES ('x')"); err == nil {
		t.Error("the read pool accepted a write")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if got := versions(t, path); len(got) != SchemaVersion() || got[len(got)-1] != SchemaVersion() {
		t.Errorf("schema versions %v, want 1..%d", got, SchemaVersion())
	}
	// Reopening applies nothing twice.
	openT(t, path).Close()
	if got := versions(t, path); len(got) != SchemaVersion() {
		t.Errorf("after reopen: schema versions %v", got)
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "heck.db")
	s := openT(t, path)
	if err := s.AddRollups(testCtx(t), []store.Rollup{{TargetID: "keep", Minute: time.Unix(600, 0), Count: 3}}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	db := rawDB(t, path)
	if _, err := db.Exec("INSERT INTO schema_version (version, name, applied_at) VALUES (42, '0042_future.sql', 0)"); err != nil {
		t.Fatal(err)
	}
	db.Close()

	_, err := Open(testCtx(t), path, Options{})
	if err == nil {
		t.Fatal("a database from a newer heck was opened")
	}
	for _, want := range []string{"schema version 42", fmt.Sprintf("up to version %d", SchemaVersion()), "newer heck", path} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	// Nothing was lost or changed.
	var n int
	if err := rawDB(t, path).QueryRow("SELECT n FROM rollups").Scan(&n); err != nil || n != 3 {
		t.Errorf("stored rollup after refusal: n=%d err=%v", n, err)
	}
	if got := versions(t, path); got[len(got)-1] != 42 {
		t.Errorf("versions after refusal: %v", got)
	}
}

func TestOpenBadFiles(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		prepare func(t *testing.T) string
		want    string
	}{
		{"garbage", func(t *testing.T) string {
			p := filepath.Join(dir, "garbage.db")
			b := []byte(strings.Repeat("this is not a database at all. ", 400))
			if err := os.WriteFile(p, b, 0o600); err != nil {
				t.Fatal(err)
			}
			return p
		}, "not a valid SQLite database"},
		{"foreign sqlite database", func(t *testing.T) string {
			p := filepath.Join(dir, "other.db")
			if _, err := rawDB(t, p).Exec("CREATE TABLE users (name TEXT)"); err != nil {
				t.Fatal(err)
			}
			return p
		}, "not a heck store"},
		{"directory", func(t *testing.T) string { return dir }, "is a directory"},
		{"empty path", func(t *testing.T) string { return "" }, `path "" is empty`},
		{"query in path", func(t *testing.T) string { return filepath.Join(dir, "x.db?mode=ro") }, "without '?'"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.prepare(t)
			s, err := Open(testCtx(t), p, Options{})
			if err == nil {
				s.Close()
				t.Fatal("opened")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
		})
	}
}

// TestCorruptedPages damages a real store's pages: whatever happens it is
// an error, never a panic.
func TestCorruptedPages(t *testing.T) {
	path := filepath.Join(t.TempDir(), "heck.db")
	s := openT(t, path)
	var rs []store.Rollup
	for i := range 3000 {
		rs = append(rs, store.Rollup{TargetID: "t", Minute: time.Unix(int64(i)*60, 0), Count: 1})
	}
	if err := s.AddRollups(testCtx(t), rs); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 8*4096 {
		t.Fatalf("database only %d bytes", len(b))
	}
	for i := 2 * 4096; i < len(b); i++ {
		b[i] = byte(i * 7)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err = Open(testCtx(t), path, Options{})
	if err != nil {
		t.Logf("Open refused the damaged file: %v", err)
		return
	}
	defer s.Close()
	if _, err := s.Rollups(testCtx(t), "t", time.Time{}, time.Time{}); err == nil {
		t.Log("damage not in the pages read")
	}
}

func TestMigrationsApplyForwardKeepingData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "heck.db")
	s := openT(t, path)
	defer s.Close()
	c := testCtx(t)
	if err := s.AddRollups(c, []store.Rollup{{TargetID: "t", Minute: time.Unix(60, 0), Count: 7}}); err != nil {
		t.Fatal(err)
	}
	ms, err := sqlkit.LoadMigrations(migrationFS)
	if err != nil {
		t.Fatal(err)
	}
	bad := append(ms[:len(ms):len(ms)], migration{Version: len(ms) + 1, Name: "bad.sql",
		SQL: "CREATE TABLE extra (x INTEGER); THIS IS NOT SQL;"})
	if err := s.migrateWith(c, bad); err == nil {
		t.Fatal("a failing migration succeeded")
	}
	if v, err := s.currentVersion(c); err != nil || v != len(ms) {
		t.Fatalf("after failed migration: version %d, %v; want %d", v, err, len(ms))
	}
	var n int
	if err := s.w.QueryRow("SELECT count(*) FROM sqlite_master WHERE name = 'extra'").Scan(&n); err != nil || n != 0 {
		t.Errorf("failed migration left its table behind (n=%d, %v)", n, err)
	}
	good := append(ms[:len(ms):len(ms)], migration{Version: len(ms) + 1, Name: "good.sql",
		SQL: "ALTER TABLE rollups ADD COLUMN extra INTEGER; CREATE TABLE extra (x INTEGER);"})
	if err := s.migrateWith(c, good); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.currentVersion(c); v != len(ms)+1 {
		t.Errorf("version %d after migration, want %d", v, len(ms)+1)
	}
	got, err := s.Rollups(c, "t", time.Time{}, time.Time{})
	if err != nil || len(got) != 1 || got[0].Count != 7 {
		t.Errorf("data after migration: %v, %v", got, err)
	}
}

func TestLoadMigrations(t *testing.T) {
	tests := []struct {
		name    string
		files   fstest.MapFS
		want    int
		wantErr string
	}{
		{"ordered", fstest.MapFS{"migrations/0002_b.sql": {Data: []byte("b")}, "migrations/0001_a.sql": {Data: []byte("a")}}, 2, ""},
		{"gap", fstest.MapFS{"migrations/0001_a.sql": {}, "migrations/0003_c.sql": {}}, 0, "expected version 2"},
		{"bad name", fstest.MapFS{"migrations/init.sql": {}}, 0, "NNNN_name.sql"},
		{"bad number", fstest.MapFS{"migrations/x1_a.sql": {}}, 0, "positive number"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := sqlkit.LoadMigrations(tc.files)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || len(ms) != tc.want || ms[0].SQL != "a" {
				t.Fatalf("got %v, %v", ms, err)
			}
		})
	}
	if SchemaVersion() < 1 {
		t.Error("embedded migrations are broken")
	}
}

// TestBusyWaits holds the write lock from another connection for a while:
// writes wait for it (busy_timeout) instead of failing.
func TestBusyWaits(t *testing.T) {
	path := filepath.Join(t.TempDir(), "heck.db")
	s := openT(t, path)
	defer s.Close()
	other, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(testCtx(t), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	released := make(chan struct{})
	timer := time.AfterFunc(300*time.Millisecond, func() {
		_, _ = conn.ExecContext(context.Background(), "COMMIT")
		close(released)
	})
	defer timer.Stop()
	err = s.AddRollups(testCtx(t), []store.Rollup{{TargetID: "t", Minute: time.Unix(60, 0), Count: 1}})
	if err != nil {
		t.Fatalf("write under a held lock failed instead of waiting: %v", err)
	}
	select {
	case <-released:
	default:
		t.Fatal("the write finished while the other connection still held the lock")
	}
}

func TestDiskBytes(t *testing.T) {
	s := openT(t, filepath.Join(t.TempDir(), "heck.db"))
	defer s.Close()
	before, err := s.DiskBytes()
	if err != nil || before <= 0 {
		t.Fatalf("DiskBytes = %d, %v", before, err)
	}
	var rs []store.Rollup
	for i := range 2000 {
		rs = append(rs, store.Rollup{TargetID: "t", Minute: time.Unix(int64(i)*60, 0), Count: 60})
	}
	if err := s.AddRollups(testCtx(t), rs); err != nil {
		t.Fatal(err)
	}
	after, err := s.DiskBytes()
	if err != nil || after <= before {
		t.Fatalf("DiskBytes after 2000 rollups = %d (before %d), %v", after, before, err)
	}
}

func TestBucketCodec(t *testing.T) {
	tests := []struct {
		name string
		b    [store.NumBuckets]uint32
		size int
	}{
		{"empty", [store.NumBuckets]uint32{}, 0},
		{"one", [store.NumBuckets]uint32{3: 60}, 2},
		{"edges", [store.NumBuckets]uint32{0: 1, 13: 1 << 31}, 2 + 1 + 5},
		{"all", [store.NumBuckets]uint32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}, 28},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			enc := encodeBuckets(nil, &tc.b)
			if len(enc) != tc.size {
				t.Errorf("encoded size %d, want %d", len(enc), tc.size)
			}
			var got [store.NumBuckets]uint32
			if err := decodeBuckets(enc, &got); err != nil || got != tc.b {
				t.Errorf("round trip: %v, %v", got, err)
			}
		})
	}
	for _, bad := range [][]byte{{0, 1}, {15, 1}, {14, 1, 1, 1}, {1}, {1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}} {
		var b [store.NumBuckets]uint32
		if err := decodeBuckets(bad, &b); err == nil {
			t.Errorf("decodeBuckets(%v) accepted garbage", bad)
		}
	}
}

func FuzzDecodeBuckets(f *testing.F) {
	f.Add([]byte{1, 60})
	f.Add([]byte{14, 1})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		var b [store.NumBuckets]uint32
		if err := decodeBuckets(in, &b); err != nil {
			return
		}
		var again [store.NumBuckets]uint32
		if err := decodeBuckets(encodeBuckets(nil, &b), &again); err != nil || again != b {
			t.Fatalf("re-encoding %v: %v, %v", b, again, err)
		}
	})
}

func TestCanceledContext(t *testing.T) {
	s := openT(t, filepath.Join(t.TempDir(), "heck.db"))
	defer s.Close()
	c, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.AddRollups(c, []store.Rollup{{TargetID: "t", Minute: time.Unix(60, 0), Count: 1}})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("AddRollups with a canceled context: %v", err)
	}
	if err := s.AddRollups(testCtx(t), []store.Rollup{{TargetID: "t", Minute: time.Unix(60, 0), Count: 1}}); err != nil {
		t.Errorf("store unusable after a canceled write: %v", err)
	}
}

// TestMigrationMovesTargetsToObjects: a store of schema 3 with registry
// rows opens as schema 4 with the same entries as objects of kind target,
// stamps above and below 1<<63 included.
func TestMigrationMovesTargetsToObjects(t *testing.T) {
	path := filepath.Join(t.TempDir(), "heck.db")
	c := testCtx(t)
	ms, err := sqlkit.LoadMigrations(migrationFS)
	if err != nil {
		t.Fatal(err)
	}
	s := &Store{path: path, log: slog.New(slog.DiscardHandler)}
	if s.w, err = sql.Open("sqlite", path); err != nil {
		t.Fatal(err)
	}
	if err := s.migrateWith(c, ms[:3]); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.ExecContext(c, `INSERT INTO registry (id, spec, version, node, deleted) VALUES
		('web', '{"id":"web"}', 10, 'n1', 0), ('gone', x'', ?, 'n2', 1), ('high', '{"id":"high"}', ?, 'n3', 0)`,
		int64(7), int64(-5)); err != nil { // -5 is the stamp 1<<64-5
		t.Fatal(err)
	}
	s.w.Close()
	st := openT(t, path)
	defer st.Close()
	got, err := st.Objects(c, store.KindTarget)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.ObjectRecord{
		{Key: "gone", Stamp: 7, Node: "n2", Deleted: true},
		{Key: "high", Value: []byte(`{"id":"high"}`), Stamp: 1<<64 - 5, Node: "n3"},
		{Key: "web", Value: []byte(`{"id":"web"}`), Stamp: 10, Node: "n1"},
	}
	if len(got) != len(want) {
		t.Fatalf("objects after migration %+v, want %+v", got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Key != w.Key || string(g.Value) != string(w.Value) || g.Stamp != w.Stamp || g.Node != w.Node || g.Deleted != w.Deleted {
			t.Errorf("object %d = %+v, want %+v", i, g, w)
		}
	}
	// The order survives: a write older than the migrated one does not win.
	if err := st.PutObjects(c, store.KindTarget, []store.ObjectRecord{{Key: "high", Value: []byte(`{}`), Stamp: 1 << 63, Node: "z"}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.Objects(c, store.KindTarget); string(got[1].Value) != `{"id":"high"}` {
		t.Errorf("an older write replaced a migrated entry: %+v", got[1])
	}
	var n int
	if err := st.w.QueryRow("SELECT count(*) FROM sqlite_master WHERE name = 'registry'").Scan(&n); err != nil || n != 0 {
		t.Errorf("registry table left behind (n=%d, %v)", n, err)
	}
}
