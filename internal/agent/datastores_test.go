package agent

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/probe"
	"github.com/heckhq/heck/internal/testkit"
	"github.com/heckhq/heck/internal/wire"
)

// The real servers of this package's tests, started once.
var (
	sharedPG    = testkit.NewShared(testkit.StartPostgres)
	sharedRedis = testkit.NewShared(func() (*testkit.Redis, error) { return testkit.StartRedis() })
)

func TestMain(m *testing.M) {
	code := m.Run()
	if err := sharedPG.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "stop postgres:", err)
	}
	if err := sharedRedis.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "stop redis:", err)
	}
	os.Exit(code)
}

// TestDependenciesOnRealServers runs an agent whose critical check is a
// real PostgreSQL and whose non-critical one a real Redis: stopping
// PostgreSQL turns /readyz to 503 within interval x fall, naming the
// check; stopping Redis leaves /readyz 200 and /healthz degraded;
// restarting each recovers.
func TestDependenciesOnRealServers(t *testing.T) {
	pg := sharedPG.Get(t)
	rd := sharedRedis.Get(t)
	t.Setenv("HECK_TEST_PG_PASSWORD", pg.Password)
	const interval, fall = 500 * time.Millisecond, 2
	cfg, err := Parse("agent.yaml", fmt.Appendf(nil, `
defaults: {interval: %s, timeout: 400ms, rise: 1, fall: %d}
checks:
  - name: db
    kind: postgres
    address: %s
    postgres: {user: %s, password: "${HECK_TEST_PG_PASSWORD}", sslmode: disable, query: "SELECT 1", expect: "1"}
  - name: cache
    kind: redis
    critical: false
    address: %s
    redis: {key: heck-agent-test}
`, interval, fall, pg.Addr, pg.User, rd.Addr))
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRunner(cfg, probe.Options{}, testkit.Logger("agent"))
	if err != nil {
		t.Fatal(err)
	}
	h := r.Handler()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { r.Run(ctx) })
	defer func() { cancel(); wg.Wait() }()

	w := testkit.Wait{Timeout: 20 * time.Second, Every: 10 * time.Millisecond}
	ready := func(code int, has string) func() error {
		return func() error {
			rp := get(t, h, "/readyz")
			if rp.code != code || !strings.Contains(rp.body, has) {
				return fmt.Errorf("readyz %d %q, want %d with %q", rp.code, rp.body, code, has)
			}
			return nil
		}
	}
	w.Until(t, "ready with both servers up", ready(http.StatusOK, ""))
	if hh := healthOf(t, get(t, h, "/healthz")); hh.Status != wire.AgentOK {
		t.Fatalf("healthz %s with both up: %+v", hh.Status, hh.Checks)
	}

	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	w.Until(t, "not ready, naming db, once PostgreSQL stops", ready(http.StatusServiceUnavailable, "db"))
	took := time.Since(stopped)
	t.Logf("/readyz 503 %v after PostgreSQL stopped (interval %v x fall %d)", took.Round(time.Millisecond), interval, fall)
	// Within interval x fall, plus the probe in flight and the polling:
	// generous, for -race on a shared machine.
	if limit := interval*fall + 2*time.Second; took > limit {
		t.Errorf("took %v, want within %v", took, limit)
	}
	if err := pg.Start(); err != nil {
		t.Fatal(err)
	}
	w.Until(t, "ready again once PostgreSQL restarts", ready(http.StatusOK, ""))

	if err := rd.Stop(); err != nil {
		t.Fatal(err)
	}
	w.Until(t, "still ready, healthz degraded, once Redis stops", func() error {
		if err := ready(http.StatusOK, "")(); err != nil {
			return err
		}
		if hh := healthOf(t, get(t, h, "/healthz")); hh.Status != wire.AgentDegraded {
			return fmt.Errorf("healthz %s", hh.Status)
		}
		return nil
	})
	if err := rd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Until(t, "healthz ok once Redis restarts", func() error {
		if hh := healthOf(t, get(t, h, "/healthz")); hh.Status != wire.AgentOK {
			return fmt.Errorf("healthz %s", hh.Status)
		}
		return nil
	})
}
