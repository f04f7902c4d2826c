package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStoreFlag parses every form a store flag takes, and the mistakes:
// each problem names the flag, shows the value with its password
// redacted, and says the fix.
func TestStoreFlag(t *testing.T) {
	t.Setenv("SF_PG_PASSWORD", "s3cret-from-env")
	os.Unsetenv("SF_UNSET")
	ok := []struct {
		value, driver, key, want string
	}{
		{"sqlite:./data/heck.db", "sqlite", "path", "./data/heck.db"},
		{"sqlite:/var/lib/heck/heck.db", "sqlite", "path", "/var/lib/heck/heck.db"},
		{"SQLite:rel.db", "sqlite", "path", "rel.db"},
		{"postgres://heck:pw@127.0.0.1:5432/heck", "postgres", "dsn", "postgres://heck:pw@127.0.0.1:5432/heck"},
		{"postgresql://heck@127.0.0.1/heck?sslmode=disable", "postgres", "dsn", "postgresql://heck@127.0.0.1/heck?sslmode=disable"},
		{"postgres:postgres://heck@127.0.0.1/heck", "postgres", "dsn", "postgres://heck@127.0.0.1/heck"},
		{"postgres:host=127.0.0.1 dbname=heck user=heck", "postgres", "dsn", "host=127.0.0.1 dbname=heck user=heck"},
		{"postgres://heck:${SF_PG_PASSWORD}@127.0.0.1/heck", "postgres", "dsn", "postgres://heck:s3cret-from-env@127.0.0.1/heck"},
	}
	for _, c := range ok {
		t.Run(c.value, func(t *testing.T) {
			driver, set, err := StoreFlag("--store", c.value)
			if err != nil {
				t.Fatalf("StoreFlag(%q): %v", c.value, err)
			}
			if driver != c.driver || len(set) != 1 || set[c.key] != c.want {
				t.Fatalf("StoreFlag(%q) = %s %v, want %s {%s: %s}", c.value, driver, set, c.driver, c.key, c.want)
			}
		})
	}

	bad := []struct {
		value string
		want  []string // in the message
	}{
		{"", []string{"--store", "is empty", "sqlite:PATH"}},
		{"./data/heck.db", []string{"--store", `"./data/heck.db"`, "does not say which store", "sqlite:./data/heck.db"}},
		{"mysql://heck:hunter2@127.0.0.1/heck", []string{"--store", "xxxxx", "scheme mysql:", "postgres://"}},
		{"sqlite://heck.db", []string{"--store", "takes no //", "sqlite:PATH"}},
		{"sqlite:", []string{"--store", "path is empty"}},
		{"sqlite:a.db?mode=ro", []string{"--store", "not a plain file path"}},
		{"postgres:", []string{"--store", "dsn is empty"}},
		{"postgres://heck:hunter2@127.0.0.1:99999/heck", []string{"--store", "postgres://heck:xxxxx@127.0.0.1:99999/heck", "not a usable connection string"}},
		{"postgres://heck:${SF_UNSET}@127.0.0.1/heck", []string{"--store", "${SF_UNSET}", "SF_UNSET, which is not set", "export SF_UNSET"}},
	}
	for _, c := range bad {
		t.Run("bad "+c.value, func(t *testing.T) {
			_, _, err := StoreFlag("--store", c.value)
			var le *LoadError
			if !errors.As(err, &le) {
				t.Fatalf("StoreFlag(%q) = %v, want a *LoadError", c.value, err)
			}
			msg := err.Error()
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("StoreFlag(%q): %q does not say %q", c.value, msg, w)
				}
			}
			for _, secret := range []string{"hunter2", "s3cret-from-env"} {
				if strings.Contains(msg, secret) {
					t.Errorf("StoreFlag(%q): the message shows the password: %s", c.value, msg)
				}
			}
		})
	}
}

func TestRedactDSN(t *testing.T) {
	cases := []struct{ in, want string }{
		{"postgres://heck:hunter2@127.0.0.1/heck", "postgres://heck:xxxxx@127.0.0.1/heck"},
		{"postgres://heck:p@ss/w@rd@127.0.0.1/heck", "postgres://heck:xxxxx@127.0.0.1/heck"},
		{"postgres://heck@127.0.0.1/heck", "postgres://heck@127.0.0.1/heck"},
		{"postgres://heck:${PW}@127.0.0.1/heck", "postgres://heck:${PW}@127.0.0.1/heck"},
		{"postgres://127.0.0.1/heck?user=heck&password=hunter2&sslmode=disable", "postgres://127.0.0.1/heck?user=heck&password=xxxxx&sslmode=disable"},
		{"host=127.0.0.1 password=hunter2 dbname=heck", "host=127.0.0.1 password=xxxxx dbname=heck"},
		{"host=127.0.0.1 password='hunter 2' dbname=heck", "host=127.0.0.1 password=xxxxx dbname=heck"},
		{"host=127.0.0.1 password=${PW}", "host=127.0.0.1 password=${PW}"},
		{"sqlite:./data/heck.db", "sqlite:./data/heck.db"},
	}
	for _, c := range cases {
		if got := RedactDSN(c.in); got != c.want {
			t.Errorf("RedactDSN(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestApplyStore: --store replaces the config's store choice, keeping
// retention; it wins over --data-dir for the SQLite file; a bad value
// leaves the config as it was.
func TestApplyStore(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "heck.yaml")
	if err := os.WriteFile(file, []byte("store:\n  retention: {results: 3d}\n  sqlite:\n    path: "+filepath.Join(dir, "file.db")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	load := func() *Config {
		c, err := Load(file)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}

	c := load()
	if err := c.Apply(Overrides{Store: "postgres://heck@127.0.0.1/heck"}); err != nil {
		t.Fatal(err)
	}
	if set := c.Store.DriverSettings(); c.Store.Driver != "postgres" || set["dsn"] != "postgres://heck@127.0.0.1/heck" || len(set) != 1 {
		t.Fatalf("--store postgres: driver %s settings %v", c.Store.Driver, set)
	}
	if c.Store.Retention.Results.D().Hours() != 72 {
		t.Errorf("--store lost the retention: %v", c.Store.Retention)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("config after --store postgres does not validate: %v", err)
	}

	c = load()
	if err := c.Apply(Overrides{Store: "sqlite:" + filepath.Join(dir, "flag.db"), DataDir: filepath.Join(dir, "dd")}); err != nil {
		t.Fatal(err)
	}
	if set := c.Store.DriverSettings(); c.Store.Driver != "sqlite" || set["path"] != filepath.Join(dir, "flag.db") {
		t.Fatalf("--store sqlite: driver %s settings %v", c.Store.Driver, set)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("config after --store sqlite does not validate: %v", err)
	}

	c = load()
	before := c.Store.DriverSettings()["path"]
	err := c.Apply(Overrides{Store: "postgres://heck:hunter2@127.0.0.1:0x/heck"})
	if err == nil || !strings.Contains(err.Error(), "--store") || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("bad --store: %v", err)
	}
	if c.Store.Driver != "sqlite" || c.Store.DriverSettings()["path"] != before {
		t.Errorf("a bad --store changed the config: %s %v", c.Store.Driver, c.Store.DriverSettings())
	}
}
