package pgprobe

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/probe"
	"github.com/heckhq/heck/internal/probe/internal/probetest"
	"github.com/heckhq/heck/internal/probe/internal/testcert"
	"github.com/heckhq/heck/internal/target"
	"github.com/heckhq/heck/internal/testkit"
)

// server is the package's PostgreSQL, started by the first test that needs
// one and shared by all.
var server = testkit.NewShared(testkit.StartPostgres)

func TestMain(m *testing.M) {
	code := m.Run()
	if err := server.Close(); err != nil {
		println("stop postgres:", err.Error())
	}
	os.Exit(code)
}

func spec(addr string, o *target.PostgresOptions) target.Spec {
	return target.Spec{ID: "db", Kind: target.KindPostgres, Address: addr, Postgres: o}.WithDefaults()
}

// TestWithoutServer needs no PostgreSQL: what fails before a server is
// met.
func TestWithoutServer(t *testing.T) {
	deny, err := probe.NewGuard([]string{"127.0.0.0/8"})
	if err != nil {
		t.Fatal(err)
	}
	probetest.Run(t, New, []probetest.Case{
		{Name: "nothing listening", Spec: spec(probetest.ClosedAddr(t), nil), Msg: "connect: connection refused"},
		{Name: "denied network", Spec: spec(probetest.ClosedAddr(t), nil), Options: probe.Options{Guard: deny},
			Msg: "connect: refused to connect to 127.0.0.1: in denied network 127.0.0.0/8 (probe.deny_networks)"},
		{Name: "silent server", Spec: spec(probetest.Silent(t), &target.PostgresOptions{SSLMode: "disable"}), Timeout: 300 * time.Millisecond,
			Msg: "connect: timed out after 300ms"},
	})
	probetest.NewFails(t, New, spec("127.0.0.1", nil), `address: "127.0.0.1" is not host:port`)
	probetest.NewFails(t, New, spec("127.0.0.1:x", nil), `has no valid port`)
}

func TestReasons(t *testing.T) {
	p := probetest.New(t, New, spec(probetest.ClosedAddr(t), nil), probe.Options{})
	if r := probetest.Probe(p, time.Second); probe.ReasonOf(&r) != probe.ReasonRefused {
		t.Errorf("refused: reason %v (%s)", probe.ReasonOf(&r), r.Message)
	}
}

func TestAgainstServer(t *testing.T) {
	pg := server.Get(t)
	if err := pg.Exec("postgres", "CREATE TABLE IF NOT EXISTS heck_health (id int PRIMARY KEY, at timestamptz NOT NULL DEFAULT now());"+
		"INSERT INTO heck_health (id) VALUES (1) ON CONFLICT DO NOTHING;"+
		"CREATE TABLE IF NOT EXISTS empty_health (id int PRIMARY KEY, at timestamptz)"); err != nil {
		t.Fatal(err)
	}
	pw := pg.Password
	opt := func(o target.PostgresOptions) *target.PostgresOptions {
		o.Password = pw
		if o.SSLMode == "" {
			o.SSLMode = "disable"
		}
		return &o
	}
	probetest.Run(t, New, []probetest.Case{
		{Name: "SELECT 1", Spec: spec(pg.Addr, opt(target.PostgresOptions{})), OK: true, Msg: "query ok (SELECT 1)",
			Details: probe.Details{RemoteAddr: pg.Addr}},
		{Name: "sslmode prefer falls back to plaintext", Spec: spec(pg.Addr, opt(target.PostgresOptions{SSLMode: "prefer"})), OK: true, Msg: "query ok (SELECT 1)"},
		{Name: "expected value", Spec: spec(pg.Addr, opt(target.PostgresOptions{Query: "SELECT 40 + 2", Expect: "42"})), OK: true,
			Msg: `query ok (SELECT 1), returned "42"`},
		{Name: "unexpected value", Spec: spec(pg.Addr, opt(target.PostgresOptions{Query: "SELECT 'degraded'", Expect: "ok"})),
			Msg: `query returned "degraded", expected "ok"`},
		{Name: "NULL", Spec: spec(pg.Addr, opt(target.PostgresOptions{Query: "SELECT NULL", Expect: "ok"})), Msg: `query returned NULL, expected "ok"`},
		{Name: "several statements, the last counts", Spec: spec(pg.Addr, opt(target.PostgresOptions{Query: "SELECT 1; SELECT 'two'", Expect: "two"})), OK: true,
			Msg: `query ok (SELECT 1), returned "two"`},
		{Name: "health table round trip", Spec: spec(pg.Addr, opt(target.PostgresOptions{
			Query: "UPDATE heck_health SET at = now() WHERE id = 1 RETURNING id", Expect: "1"})), OK: true,
			Msg: `query ok (UPDATE 1), returned "1"`},
		{Name: "health table without its row", Spec: spec(pg.Addr, opt(target.PostgresOptions{
			Query: "UPDATE empty_health SET at = now() WHERE id = 1 RETURNING id", Expect: "1"})),
			Msg: `query returned no rows (UPDATE 0), expected "1"`},
		{Name: "wrong password", Spec: spec(pg.Addr, &target.PostgresOptions{Password: "wrong", SSLMode: "disable"}),
			Msg: `connect: password authentication failed for user "postgres" (SQLSTATE 28P01)`},
		{Name: "unknown user", Spec: spec(pg.Addr, opt(target.PostgresOptions{User: "nobody_here"})),
			Msg: `connect: password authentication failed for user "nobody_here" (SQLSTATE 28P01)`},
		{Name: "unknown database", Spec: spec(pg.Addr, opt(target.PostgresOptions{Database: "nope"})),
			Msg: `connect: database "nope" does not exist (SQLSTATE 3D000)`},
		{Name: "query error", Spec: spec(pg.Addr, opt(target.PostgresOptions{Query: "SELECT * FROM no_such_table"})),
			Msg: `query: relation "no_such_table" does not exist (SQLSTATE 42P01)`},
		{Name: "read-only transaction", Spec: spec(pg.Addr, opt(target.PostgresOptions{
			Query: "BEGIN READ ONLY; UPDATE heck_health SET at = now() WHERE id = 1"})),
			Msg: `query: cannot execute UPDATE in a read-only transaction (SQLSTATE 25006)`},
		{Name: "slow query", Spec: spec(pg.Addr, opt(target.PostgresOptions{Query: "SELECT pg_sleep(5)"})), Timeout: 500 * time.Millisecond,
			Msg: "query: timed out after 500ms*"},
		{Name: "require TLS of a server without", Spec: spec(pg.Addr, opt(target.PostgresOptions{SSLMode: "require"})),
			Msg: "connect: tls error: server refused TLS connection"},
	}, func(t *testing.T, c probetest.Case, res probe.Result) {
		if !res.OK && probe.ReasonOf(&res) == probe.ReasonOther {
			t.Errorf("a failure should have a reason, got other: %s", res.Message)
		}
		if strings.Contains(res.Message, pw) {
			t.Errorf("the message shows the password: %s", res.Message)
		}
	})
}

// TestHealthTableAdvances checks that the health-table query really
// writes: a probe moves the row's timestamp from the epoch to now.
func TestHealthTableAdvances(t *testing.T) {
	pg := server.Get(t)
	if err := pg.Exec("postgres", "CREATE TABLE IF NOT EXISTS heck_health (id int PRIMARY KEY, at timestamptz NOT NULL DEFAULT now());"+
		"INSERT INTO heck_health (id) VALUES (1) ON CONFLICT DO NOTHING"); err != nil {
		t.Fatal(err)
	}
	if err := pg.Exec("postgres", "UPDATE heck_health SET at = 'epoch' WHERE id = 1"); err != nil {
		t.Fatal(err)
	}
	p := probetest.New(t, New, spec(pg.Addr, &target.PostgresOptions{Password: pg.Password, SSLMode: "disable",
		Query: "UPDATE heck_health SET at = now() WHERE id = 1 RETURNING id", Expect: "1"}), probe.Options{})
	if res := probetest.Probe(p, 5*time.Second); !res.OK {
		t.Fatalf("probe: %s", res.Message)
	}
	// The timestamp it wrote is what a later SELECT reads.
	q := probetest.New(t, New, spec(pg.Addr, &target.PostgresOptions{Password: pg.Password, SSLMode: "disable",
		Query: "SELECT now() - at < interval '1 minute' FROM heck_health WHERE id = 1", Expect: "t"}), probe.Options{})
	if res := probetest.Probe(q, 5*time.Second); !res.OK {
		t.Fatalf("health row not fresh: %s", res.Message)
	}
}

// TestStopAndRestart stops the server: the probe fails with "connection
// refused", and passes again once the server is back.
func TestStopAndRestart(t *testing.T) {
	pg := server.Get(t)
	p := probetest.New(t, New, spec(pg.Addr, &target.PostgresOptions{Password: pg.Password, SSLMode: "disable"}), probe.Options{})
	if res := probetest.Probe(p, 5*time.Second); !res.OK {
		t.Fatalf("before stopping: %s", res.Message)
	}
	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			if err := pg.Start(); err != nil {
				t.Errorf("start postgres again: %v", err)
			}
		}
	})
	res := probetest.Probe(p, 5*time.Second)
	probetest.CheckResult(t, res, false, "connect: connection refused")
	if r := probe.ReasonOf(&res); r != probe.ReasonRefused {
		t.Errorf("reason %v, want refused", r)
	}
	if err := pg.Start(); err != nil {
		t.Fatal(err)
	}
	restarted = true
	// The same prober recovers: nothing of the old connection is kept.
	if res := probetest.Probe(p, 5*time.Second); !res.OK {
		t.Fatalf("after restart: %s\n%s", res.Message, pg.Log())
	}
}

// TestTLS runs a server of its own with TLS on.
func TestTLS(t *testing.T) {
	pair := testcert.New(t, 24*time.Hour)
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: pair.Cert.Certificate[0]})
	der, err := x509.MarshalPKCS8PrivateKey(pair.Cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	sh := testkit.NewShared(func() (*testkit.Postgres, error) { return testkit.StartPostgresTLS(certPEM, keyPEM) })
	t.Cleanup(func() { _ = sh.Close() })
	pg := sh.Get(t)
	opt := func(mode string) *target.PostgresOptions {
		return &target.PostgresOptions{Password: pg.Password, SSLMode: mode, Query: "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", Expect: "t"}
	}
	trusted := probe.Options{RootCAs: pair.Pool}
	probetest.Run(t, New, []probetest.Case{
		{Name: "require", Spec: spec(pg.Addr, opt("require")), OK: true, Msg: `query ok (SELECT 1), returned "t"`},
		{Name: "prefer uses TLS", Spec: spec(pg.Addr, opt("prefer")), OK: true, Msg: `query ok (SELECT 1), returned "t"`},
		{Name: "verify-full", Spec: spec(pg.Addr, opt("verify-full")), Options: trusted, OK: true, Msg: `query ok (SELECT 1), returned "t"`},
		{Name: "verify-full, unknown authority", Spec: spec(pg.Addr, opt("verify-full")), Msg: "connect: TLS: certificate signed by unknown authority"},
		{Name: "disable", Spec: spec(pg.Addr, opt("disable")), Msg: `query returned "f", expected "t"`},
	}, func(t *testing.T, c probetest.Case, res probe.Result) {
		if strings.HasPrefix(res.Message, "connect: TLS") && probe.ReasonOf(&res) != probe.ReasonTLS {
			t.Errorf("reason %v, want tls", probe.ReasonOf(&res))
		}
	})
}
