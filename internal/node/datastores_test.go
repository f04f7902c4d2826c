package node

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/target"
	"github.com/heckhq/heck/internal/testkit"
)

// TestNodeDatastores runs a node with a postgres and a redis target against
// real servers: both go up, each goes down with "connection refused" when
// its server stops (the other staying up), and up again when it restarts.
// The passwords come from the environment and never show in the API.
func TestNodeDatastores(t *testing.T) {
	pgs := testkit.NewShared(testkit.StartPostgres)
	t.Cleanup(func() { _ = pgs.Close() })
	pg := pgs.Get(t)
	const redisPassword = "nt-redis-secret-value"
	rds := testkit.NewShared(func() (*testkit.Redis, error) { return testkit.StartRedis("requirepass " + redisPassword) })
	t.Cleanup(func() { _ = rds.Close() })
	rd := rds.Get(t)
	if err := pg.Exec("postgres", "CREATE TABLE heck_health (id int PRIMARY KEY, at timestamptz NOT NULL DEFAULT now()); INSERT INTO heck_health (id) VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	t.Setenv("NT_PG_PASSWORD", pg.Password)
	t.Setenv("NT_REDIS_PASSWORD", redisPassword)

	// A fresh connection with SCRAM takes a few ms, more under -race on
	// busy cores: a longer timeout than the other node tests.
	sched := target.Schedule{Interval: target.Duration(500 * time.Millisecond), Timeout: target.Duration(400 * time.Millisecond)}
	pgSpec := target.Spec{ID: "pg", Kind: target.KindPostgres, Address: pg.Addr, Schedule: sched,
		Postgres: &target.PostgresOptions{Password: "${NT_PG_PASSWORD}", SSLMode: "disable",
			Query: "UPDATE heck_health SET at = now() WHERE id = 1 RETURNING id", Expect: "1"}}
	rdSpec := target.Spec{ID: "cache", Kind: target.KindRedis, Address: rd.Addr, Schedule: sched,
		Redis: &target.RedisOptions{Password: "${NT_REDIS_PASSWORD}", Key: "heck:health"}}
	nn := ntStart(t, ntConfig(t.TempDir(), pgSpec, rdSpec))

	if st := nn.waitState(t, "pg", health.Up); st.Last == nil || st.Last.Message != `query ok (UPDATE 1), returned "1"` {
		t.Errorf("pg up with %+v", st.Last)
	}
	nn.waitState(t, "cache", health.Up)

	for _, path := range []string{"/api/v1/targets", "/api/v1/targets/pg", "/api/v1/targets/cache"} {
		code, body := ntGet(t, nn.base+path)
		if code != http.StatusOK || strings.Contains(body, pg.Password) || strings.Contains(body, redisPassword) {
			t.Errorf("GET %s: %d, or it shows a password:\n%s", path, code, body)
		}
	}
	st, err := nn.c.Target(context.Background(), "pg")
	if err != nil || st.Spec.Postgres == nil || st.Spec.Postgres.Password != "${NT_PG_PASSWORD}" {
		t.Errorf("pg spec as shown: %+v, %v; want the reference as written", st.Spec.Postgres, err)
	}

	for _, srv := range []struct {
		id, other   string
		stop, start func() error
	}{
		{"pg", "cache", pg.Stop, pg.Start},
		{"cache", "pg", rd.Stop, rd.Start},
	} {
		if err := srv.stop(); err != nil {
			t.Fatal(err)
		}
		st := nn.waitState(t, srv.id, health.Down)
		if !strings.Contains(st.Cause, "connection refused") {
			t.Errorf("%s down with cause %q, want connection refused", srv.id, st.Cause)
		}
		if st, err := nn.c.Target(context.Background(), srv.other); err != nil || st.State != health.Up {
			t.Errorf("%s while %s is stopped: %v %v, want up", srv.other, srv.id, st.State, err)
		}
		if err := srv.start(); err != nil {
			t.Fatal(err)
		}
		nn.waitState(t, srv.id, health.Up)
	}
}
