package cli_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/config"
	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/store"
	"github.com/heckhq/heck/internal/store/sqlite"
	"github.com/heckhq/heck/internal/testkit"
)

// TestServeStoreFlag: --store reaches the config the node runs on, over
// the defaults and over a file's store section; a bad value is a usage
// error naming the flag, without the password, and starts nothing.
func TestServeStoreFlag(t *testing.T) {
	var got *config.Config
	stubRunNode(t, func(_ context.Context, cfg *config.Config, _ *slog.Logger) error {
		got = cfg
		return nil
	})
	dir := t.TempDir()
	file := filepath.Join(dir, "heck.yaml")
	must(t, os.WriteFile(file, []byte("store:\n  postgres:\n    dsn: postgres://heck@127.0.0.1:5432/fromfile\n"), 0o600))
	t.Setenv("TS_PG_PASSWORD", "pw-from-env")

	cases := []struct {
		name         string
		args         []string
		driver, key  string
		value        string
		wantDataPath bool // the SQLite file under --data-dir
	}{
		{"default: SQLite under the data directory", []string{"--data-dir", dir}, "sqlite", "path", filepath.Join(dir, "heck.db"), true},
		{"sqlite file", []string{"--store", "sqlite:" + filepath.Join(dir, "x.db")}, "sqlite", "path", filepath.Join(dir, "x.db"), false},
		{"sqlite wins over --data-dir", []string{"--data-dir", dir, "--store", "sqlite:" + filepath.Join(dir, "y.db")}, "sqlite", "path", filepath.Join(dir, "y.db"), false},
		{"postgres URL", []string{"--store", "postgres://heck:${TS_PG_PASSWORD}@127.0.0.1:5432/heck"}, "postgres", "dsn", "postgres://heck:pw-from-env@127.0.0.1:5432/heck", false},
		{"postgresql URL", []string{"--store", "postgresql://heck@127.0.0.1/heck"}, "postgres", "dsn", "postgresql://heck@127.0.0.1/heck", false},
		{"postgres key=value", []string{"--store", "postgres:host=127.0.0.1 dbname=heck"}, "postgres", "dsn", "host=127.0.0.1 dbname=heck", false},
		{"the file's postgres", []string{"--config", file}, "postgres", "dsn", "postgres://heck@127.0.0.1:5432/fromfile", false},
		{"--store overrides the file", []string{"--config", file, "--store", "sqlite:" + filepath.Join(dir, "z.db")}, "sqlite", "path", filepath.Join(dir, "z.db"), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got = nil
			r := heck(t, append([]string{"serve"}, c.args...)...)
			if r.code != 0 || got == nil {
				t.Fatalf("serve %v: %d %s", c.args, r.code, r.stderr)
			}
			set := got.Store.DriverSettings()
			if got.Store.Driver != c.driver || set[c.key] != c.value || len(set) != 1 {
				t.Fatalf("serve %v: driver %s settings %v; want %s %s=%s", c.args, got.Store.Driver, set, c.driver, c.key, c.value)
			}
		})
	}

	bad := []struct {
		args []string
		want []string
	}{
		{[]string{"--store", "./heck.db"}, []string{"--store", "does not say which store", "sqlite:./heck.db"}},
		{[]string{"--store", "mysql://root:hunter2@127.0.0.1/heck"}, []string{"--store", "root:xxxxx@", "scheme mysql:"}},
		{[]string{"--store", "postgres://heck:hunter2@127.0.0.1:5432x/heck"}, []string{"--store", "heck:xxxxx@", "not a usable connection string", "postgres://heck:${HECK_PG_PASSWORD}"}},
		{[]string{"--store", "postgres://heck:${TS_UNSET_VAR}@127.0.0.1/heck"}, []string{"--store", "TS_UNSET_VAR, which is not set"}},
	}
	for _, c := range bad {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			got = nil
			r := heck(t, append([]string{"serve"}, c.args...)...)
			usageError(t, r, c.want...)
			if strings.Contains(r.stderr, "hunter2") {
				t.Errorf("the password shows:\n%s", r.stderr)
			}
			if got != nil {
				t.Fatalf("serve %v: a bad --store started the node", c.args)
			}
		})
	}
}

func TestValidateStoreFlag(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	must(t, os.WriteFile(good, []byte("targets:\n  - id: web\n    kind: http\n    url: http://127.0.0.1:8080/\n"), 0o600))
	if r := heck(t, "validate", good, "--store", "postgres://heck@127.0.0.1/heck"); r.code != 0 || !strings.Contains(r.stdout, "ok (1 targets)") {
		t.Fatalf("validate --store postgres: %d %s %s", r.code, r.stdout, r.stderr)
	}
	r := heck(t, "validate", good, "--store", "postgres://heck:hunter2@127.0.0.1:x/heck")
	if r.code != 1 || !strings.Contains(r.stdout, "--store") || !strings.Contains(r.stdout, "1 problem(s)") || strings.Contains(r.stdout, "hunter2") {
		t.Fatalf("validate with a bad --store: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	bad := filepath.Join(dir, "bad.yaml")
	must(t, os.WriteFile(bad, []byte("targets:\n  - id: web\n    kind: http\n    url: ftp://x\n"), 0o600))
	r = heck(t, "validate", bad, "--store", "nope")
	if r.code != 1 || !strings.Contains(r.stdout, "targets[0]") || !strings.Contains(r.stdout, "--store") {
		t.Fatalf("validate a bad file with a bad --store: both problems wanted: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// seedSQLite writes a small known history into a SQLite store at path.
func seedSQLite(t *testing.T, path string) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, path, sqlite.Options{})
	must(t, err)
	defer st.Close()
	now := time.Now().UTC().Truncate(time.Minute)
	must(t, st.PutObjects(ctx, store.KindTarget, []store.ObjectRecord{{Key: "web", Value: []byte(`{"id":"web"}`), Stamp: 1 << 20, Node: "n1"}}))
	must(t, st.PutObjects(ctx, "silence", []store.ObjectRecord{{Key: "s1", Value: []byte(`{}`), Stamp: 1 << 20, Node: "n1"}}))
	must(t, st.AddTransitions(ctx, []store.Transition{
		{ID: "a", TargetID: "web", From: health.Unknown, To: health.Up, At: now.Add(-time.Hour), Observer: "n1"},
		{ID: "b", TargetID: "web", Type: "audit", Subject: "silence", At: now.Add(-time.Minute), Observer: "n1"},
	}))
	var rs []store.Rollup
	for i := range 120 {
		r := store.Rollup{TargetID: "web", Minute: now.Add(-time.Duration(i) * time.Minute)}
		r.Add(i%10 != 0, time.Duration(i)*time.Millisecond)
		rs = append(rs, r)
	}
	must(t, st.AddRollups(ctx, rs))
	must(t, st.AddResults(ctx, []store.Result{{TargetID: "web", At: now, OK: true, Latency: time.Millisecond, Message: "HTTP 200"}}))
}

// countsRow matches a line of the copy's final table.
func countsRow(out, table string) string {
	m := regexp.MustCompile(`(?m)^` + table + `\s+(\d+)\s+(\d+)\s+(\d+)\s*$`).FindStringSubmatch(out)
	if m == nil {
		return ""
	}
	return strings.Join(m[1:], " ")
}

// TestStoreCopyFlags: the mistakes of heck store copy are usage errors
// that name the flag and never show a password, and nothing is created.
func TestStoreCopyFlags(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src.db")
	seedSQLite(t, src)
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"--to", "sqlite:" + filepath.Join(dir, "d.db")}, []string{"--from is missing"}},
		{[]string{"--from", "sqlite:" + src}, []string{"--to is missing"}},
		{[]string{"--from", src, "--to", "postgres://u:hunter2@127.0.0.1:1x/db"}, []string{"--from", "does not say which store", "--to", "u:xxxxx@"}},
		{[]string{"--from", "sqlite:" + src, "--to", "sqlite:" + src}, []string{"the same store"}},
		{[]string{"--from", "sqlite:" + filepath.Join(dir, "absent.db"), "--to", "sqlite:" + filepath.Join(dir, "d.db")}, []string{"absent.db holds no heck store"}},
		{[]string{"--from", "sqlite:" + src, "--to", "sqlite:" + filepath.Join(dir, "d.db"), "--batch", "0"}, []string{"--batch", "out of range"}},
	}
	for _, c := range cases {
		r := heck(t, append([]string{"store", "copy"}, c.args...)...)
		usageError(t, r, c.want...)
		if strings.Contains(r.stderr, "hunter2") {
			t.Errorf("store copy %v shows the password:\n%s", c.args, r.stderr)
		}
	}
	for _, f := range []string{"absent.db", "d.db"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			t.Errorf("a failed copy created %s", f)
		}
	}
}

// TestStoreCommandsSQLite runs migrate and copy between SQLite files.
func TestStoreCommandsSQLite(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "new.db")
	r := heck(t, "store", "migrate", "--store", "sqlite:"+db)
	want := fmt.Sprintf("schema version 0 (this heck writes version %d)", sqlite.SchemaVersion())
	if r.code != 0 || !strings.Contains(r.stdout, want) || !strings.Contains(r.stdout, fmt.Sprintf("migrated: schema version 0 -> %d", sqlite.SchemaVersion())) {
		t.Fatalf("migrate a new file: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = heck(t, "store", "migrate", "--store", "sqlite:"+db)
	if r.code != 0 || !strings.Contains(r.stdout, fmt.Sprintf("up to date: schema version %d", sqlite.SchemaVersion())) {
		t.Fatalf("migrate an up-to-date file: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	cfg := filepath.Join(dir, "heck.yaml")
	must(t, os.WriteFile(cfg, []byte("store:\n  path: "+db+"\n"), 0o600))
	if r := heck(t, "store", "migrate", "--config", cfg); r.code != 0 || !strings.Contains(r.stdout, "sqlite:"+db) || !strings.Contains(r.stdout, "up to date") {
		t.Fatalf("migrate --config: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	usageError(t, heck(t, "store", "migrate", "--config", cfg, "--store", "sqlite:"+db), "not both")

	src := filepath.Join(dir, "src.db")
	seedSQLite(t, src)
	dst := "sqlite:" + filepath.Join(dir, "dst.db")
	r = heck(t, "store", "copy", "--from", "sqlite:"+src, "--to", dst)
	if r.code != 0 {
		t.Fatalf("copy: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for table, want := range map[string]string{"objects": "2 2 2", "transitions": "2 2 2", "rollups": "120 120 120", "results": "1 1 1"} {
		if got := countsRow(r.stdout, table); got != want {
			t.Errorf("copy: %s row %q, want %q\n%s", table, got, want, r.stdout)
		}
	}
	if !strings.Contains(r.stderr, "rollups") || !strings.Contains(r.stderr, "120/120 (100%)") {
		t.Errorf("copy: no progress on stderr:\n%s", r.stderr)
	}
	r = heck(t, "store", "copy", "--from", "sqlite:"+src, "--to", dst)
	usageError(t, r, "not empty", "120 rollups", "--append")
	r = heck(t, "store", "copy", "--from", "sqlite:"+src, "--to", dst, "--append", "--quiet")
	if r.code != 0 || countsRow(r.stdout, "rollups") != "120 120 120" || strings.Contains(r.stderr, "%)") {
		t.Fatalf("copy --append: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// TestStoreCommandsPostgres runs migrate on an empty and an up-to-date
// database, and copies a SQLite store in, against a real PostgreSQL.
func TestStoreCommandsPostgres(t *testing.T) {
	sh := testkit.NewShared(testkit.StartPostgres)
	t.Cleanup(func() { _ = sh.Close() })
	pg := sh.Get(t)
	must(t, pg.Exec("postgres", "CREATE DATABASE clitest"))
	t.Setenv("TS_PG_PASSWORD", pg.Password)
	loc := fmt.Sprintf("postgres://%s:${TS_PG_PASSWORD}@%s/clitest?sslmode=disable", pg.User, pg.Addr)

	r := heck(t, "store", "migrate", "--store", loc)
	if r.code != 0 || !strings.Contains(r.stdout, "schema version 0 (") || !strings.Contains(r.stdout, "migrated: schema version 0 -> ") {
		t.Fatalf("migrate an empty database: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = heck(t, "store", "migrate", "--store", loc)
	if r.code != 0 || !strings.Contains(r.stdout, "up to date: schema version") {
		t.Fatalf("migrate an up-to-date database: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, pg.Password) {
		t.Errorf("migrate shows the password")
	}

	src := filepath.Join(t.TempDir(), "src.db")
	seedSQLite(t, src)
	to := "postgres:" + loc
	r = heck(t, "store", "copy", "--from", "sqlite:"+src, "--to", to, "--observer", "n1")
	if r.code != 0 {
		t.Fatalf("copy into postgres: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for table, want := range map[string]string{"objects": "2 2 2", "transitions": "2 2 2", "rollups": "120 120 120", "results": "1 1 1"} {
		if got := countsRow(r.stdout, table); got != want {
			t.Errorf("copy: %s row %q, want %q\n%s", table, got, want, r.stdout)
		}
	}
	if strings.Contains(r.stdout+r.stderr, pg.Password) {
		t.Errorf("copy shows the password")
	}
	r = heck(t, "store", "copy", "--from", "sqlite:"+src, "--to", to, "--observer", "n1", "--append")
	if r.code != 0 || countsRow(r.stdout, "rollups") != "120 120 120" || countsRow(r.stdout, "transitions") != "2 2 2" {
		t.Fatalf("copy --append again: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
