package node

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/heckhq/heck/internal/client"
	"github.com/heckhq/heck/internal/config"
	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/store"
	"github.com/heckhq/heck/internal/testkit"
	"github.com/heckhq/heck/internal/wire"
)

// TestNodeOnPostgres runs a node on --store postgres://...: what it
// measures is written with its own name as the observer, and a second node
// on the same database (another name) reads it.
func TestNodeOnPostgres(t *testing.T) {
	sh := testkit.NewShared(testkit.StartPostgres)
	t.Cleanup(func() { _ = sh.Close() })
	pg := sh.Get(t)
	if err := pg.Exec("postgres", "CREATE DATABASE nodes"); err != nil {
		t.Fatal(err)
	}
	t.Setenv("NT_STORE_PASSWORD", pg.Password)
	flag := fmt.Sprintf("postgres://%s:${NT_STORE_PASSWORD}@%s/nodes?sslmode=disable", pg.User, pg.Addr)
	dsn := fmt.Sprintf("postgres://%s:%s@%s/nodes?sslmode=disable", pg.User, pg.Password, pg.Addr)

	srv := ntNewServer(t)
	cfg := ntConfig(t.TempDir(), ntHTTP("web", srv.url()))
	if err := cfg.Apply(config.Overrides{NodeName: "pg-node-1", Store: flag}); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	n1 := ntStart(t, cfg)
	if n1.n.storeName != "postgres" {
		t.Errorf("store named %q in the logs, want postgres (never the DSN)", n1.n.storeName)
	}
	n1.waitState(t, "web", health.Up)
	srv.waitHits(t, 3)
	if err := n1.stop(); err != nil { // flushes every pending rollup and result
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	observers := func(table string) map[string]int64 {
		t.Helper()
		col := "count(*)"
		if table == "rollups" {
			col = "sum(n)::bigint"
		}
		rows, err := conn.Query(ctx, "SELECT observer, "+col+" FROM "+table+" WHERE target = 'web' GROUP BY observer")
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]int64{}
		for rows.Next() {
			var o string
			var n int64
			if err := rows.Scan(&o, &n); err != nil {
				t.Fatal(err)
			}
			out[o] = n
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	rolled := observers("rollups")
	if len(rolled) != 1 || rolled["pg-node-1"] < 3 {
		t.Fatalf("rollups of web by observer: %v; want only pg-node-1's, of 3 checks or more", rolled)
	}
	if res := observers("results"); len(res) != 1 || res["pg-node-1"] < 1 {
		t.Fatalf("results of web by observer: %v; want only pg-node-1's", res)
	}

	// Another node on the same database reads them: the registry, the
	// rollups and the uptime, before it has measured anything itself.
	cfg2 := ntConfig(t.TempDir())
	if err := cfg2.Apply(config.Overrides{NodeName: "pg-node-2", Store: flag}); err != nil {
		t.Fatal(err)
	}
	srv.SetStatus(503) // what node 2 measures is failures, told apart from node 1's successes
	n2 := ntStart(t, cfg2)
	now := time.Now()
	rr, err := n2.c.Rollups(ctx, "web", client.RollupQuery{From: now.Add(-time.Hour), To: now.Add(time.Minute), Step: time.Hour})
	if err != nil {
		t.Fatalf("node 2 reading web's rollups: %v", err)
	}
	var count, fails uint32
	for _, r := range rr.Rollups {
		count += r.Count
		fails += r.Failures
	}
	if int64(count-fails) < rolled["pg-node-1"] {
		t.Errorf("node 2 reads %d successful checks of web (of %d), want node 1's %d", count-fails, count, rolled["pg-node-1"])
	}
	up, err := n2.c.Uptime(ctx, "web", client.UptimeQuery{Scope: wire.ScopeLocal})
	if err != nil || up.Day <= 0 {
		t.Errorf("node 2's uptime of web: %+v %v; want node 1's checks counted", up, err)
	}
}

// TestClusterOnSharedPostgres: two clustered nodes write to one Postgres
// database. A cluster-scope history read answers from the shared store
// alone, so each check counts once: the cluster figure equals what the
// node's own read of the shared database holds (asking the other member
// too would count every check twice).
func TestClusterOnSharedPostgres(t *testing.T) {
	sh := testkit.NewShared(testkit.StartPostgres)
	t.Cleanup(func() { _ = sh.Close() })
	pg := sh.Get(t)
	if err := pg.Exec("postgres", "CREATE DATABASE fleet"); err != nil {
		t.Fatal(err)
	}
	dsn := fmt.Sprintf("postgres://%s:%s@%s/fleet?sslmode=disable", pg.User, pg.Password, pg.Addr)
	c := startCLWith(t, 2, []string{"shared"}, clFastTuning, fmt.Sprintf("store:\n  postgres:\n    dsn: %s\n", dsn))
	owner := c.settle("one prober", []string{"shared"})["shared"]
	from := time.Now().Add(-5 * time.Minute)
	to := from.Add(time.Hour)
	// What an earlier owner (gone now) stored two minutes ago: the nodes
	// find it only in the shared database.
	old, err := store.Open(t.Context(), "postgres", store.Options{Settings: store.Settings{"dsn": dsn}, Observer: "gone"})
	if err != nil {
		t.Fatal(err)
	}
	earlier := store.Rollup{TargetID: "shared", Minute: time.Now().UTC().Truncate(time.Minute).Add(-2 * time.Minute), Count: 7}
	earlier.Buckets[0] = 7
	if err := old.AddRollups(t.Context(), []store.Rollup{earlier}); err != nil {
		t.Fatal(err)
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "cluster-scope history counts every check once, on every node", 30*time.Second, 0, func() error {
		// The owner's own read holds every check: the stored ones of the
		// shared database and those it has not stored yet. Each node's
		// cluster read must hold exactly as many (asking the other member
		// for its stored records too would count them twice). Read the
		// owner before and after, as checks keep coming.
		before, err := historyOf(c.node(owner), "shared", from, to, wire.ScopeLocal)
		if err != nil {
			return err
		}
		var got []uint32
		for _, cn := range c.live() {
			cl, err := historyOf(cn, "shared", from, to, wire.ScopeCluster)
			if err != nil {
				return err
			}
			if !cl.SharedStore || cl.Partial {
				return fmt.Errorf("%s: cluster coverage %+v, want shared_store and whole", cn.name, cl.Coverage)
			}
			n, _ := checksOf(cl)
			got = append(got, n)
		}
		after, err := historyOf(c.node(owner), "shared", from, to, wire.ScopeLocal)
		if err != nil {
			return err
		}
		lo, _ := checksOf(before)
		hi, _ := checksOf(after)
		if lo < 3+7 {
			return fmt.Errorf("owner %s holds %d checks so far", owner, lo)
		}
		for i, n := range got {
			if n < lo || n > hi {
				return fmt.Errorf("%s's cluster read holds %d checks, want between the owner's %d and %d", c.live()[i].name, n, lo, hi)
			}
		}
		return nil
	})
}
