package node

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/api"
	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/target"
	"github.com/heckhq/heck/internal/testkit"
)

func ntDepends(s target.Spec, deps ...string) target.Spec {
	for _, d := range deps {
		id, opt := strings.CutSuffix(d, ":optional")
		dep := target.Dependency{Target: id}
		if opt {
			f := false
			dep.Critical = &f
		}
		s.DependsOn = append(s.DependsOn, dep)
	}
	return s
}

func ntGetJSON(t *testing.T, url string, v any) {
	t.Helper()
	code, body := ntGet(t, url)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, code, body)
	}
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("GET %s: %v in %s", url, err, body)
	}
}

func ntStates(tr []api.GraphNode) []string {
	var out []string
	for _, n := range tr {
		out = append(out, n.ID+"="+n.State.String())
	}
	return out
}

// TestNodeDependencies: on one node, a target failing while a critical
// dependency is down is impacted by it (named in the cause), a failing
// non-critical dependency degrades a healthy target, and the graph, impact
// and cause answers walk the chain.
func TestNodeDependencies(t *testing.T) {
	t.Parallel()
	db, app, web, cache := ntNewServer(t), ntNewServer(t), ntNewServer(t), ntNewServer(t)
	cfg := ntConfig(t.TempDir(),
		ntHTTP("db", db.url()),
		ntDepends(ntHTTP("app", app.url()), "db"),
		ntDepends(ntHTTP("web", web.url()), "app", "cache:optional"),
		ntHTTP("cache", cache.url()),
	)
	nn := ntStart(t, cfg)
	for _, id := range []string{"db", "app", "web", "cache"} {
		nn.waitState(t, id, health.Up)
	}

	cache.SetStatus(http.StatusServiceUnavailable)
	nn.waitState(t, "cache", health.Down)
	st := nn.waitState(t, "web", health.Degraded)
	if !strings.Contains(st.Cause, "cache") {
		t.Errorf("web's cause %q does not name cache", st.Cause)
	}
	cache.SetStatus(http.StatusOK)
	nn.waitState(t, "web", health.Up)

	db.SetStatus(http.StatusServiceUnavailable)
	nn.waitState(t, "db", health.Down)
	app.SetStatus(http.StatusServiceUnavailable)
	st = nn.waitState(t, "app", health.Impacted)
	if !strings.Contains(st.Cause, "impacted by db") {
		t.Errorf("app's cause %q, want it to name db", st.Cause)
	}
	// web itself answers: a critical dependency failing does not take a
	// working target down.
	nn.waitState(t, "web", health.Up)
	web.SetStatus(http.StatusServiceUnavailable)
	st = nn.waitState(t, "web", health.Impacted)
	if !strings.Contains(st.Cause, "app") {
		t.Errorf("web's cause %q, want it to name app", st.Cause)
	}

	var cause api.CauseReport
	ntGetJSON(t, nn.base+"/api/v1/targets/web/cause", &cause)
	if got := ntStates(cause.RootCauses); !slices.Equal(got, []string{"db=down"}) {
		t.Errorf("web's root causes %v, want [db=down]", got)
	}
	if want := [][]string{{"web", "app", "db"}}; fmt.Sprint(cause.Paths) != fmt.Sprint(want) {
		t.Errorf("web's cause paths %v, want %v", cause.Paths, want)
	}
	var imp api.Impact
	ntGetJSON(t, nn.base+"/api/v1/targets/db/impact", &imp)
	if got := ntStates(imp.Down); !slices.Equal(got, []string{"app=impacted", "web=impacted"}) {
		t.Errorf("db's impact %v, want app and web impacted", got)
	}
	ntGetJSON(t, nn.base+"/api/v1/targets/cache/impact", &imp)
	if got := ntStates(imp.Degraded); len(imp.Down) != 0 || !slices.Equal(got, []string{"web=impacted"}) {
		t.Errorf("cache's impact down %v degraded %v, want web degraded only", ntStates(imp.Down), got)
	}
	var g api.Graph
	ntGetJSON(t, nn.base+"/api/v1/graph", &g)
	var roots []string
	for _, n := range g.Nodes {
		if n.RootCause {
			roots = append(roots, n.ID)
		}
	}
	if len(g.Nodes) != 4 || len(g.Edges) != 3 || !slices.Equal(roots, []string{"db"}) {
		t.Errorf("graph has %d nodes, %d edges, root causes %v; want 4, 3, [db]", len(g.Nodes), len(g.Edges), roots)
	}
	if code, _ := ntGet(t, nn.base+"/api/v1/targets/nope/cause"); code != http.StatusNotFound {
		t.Errorf("cause of an unknown target: %d, want 404", code)
	}

	// db recovers while app still fails: app's failure is its own now.
	db.SetStatus(http.StatusOK)
	nn.waitState(t, "db", health.Up)
	nn.waitState(t, "app", health.Down)
	ntGetJSON(t, nn.base+"/api/v1/targets/web/cause", &cause)
	if got := ntStates(cause.RootCauses); !slices.Equal(got, []string{"app=down"}) {
		t.Errorf("web's root causes %v after db recovered, want [app=down]", got)
	}
	app.SetStatus(http.StatusOK)
	web.SetStatus(http.StatusOK)
	nn.waitState(t, "app", health.Up)
	nn.waitState(t, "web", health.Up)

	ts, err := nn.c.Transitions(t.Context(), "app", 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := len(ts) - 1; i >= 0; i-- {
		got = append(got, ts[i].To.String())
	}
	if want := []string{"up", "impacted", "down", "up"}; !slices.Equal(got, want) {
		t.Errorf("app's transitions %v, want %v", got, want)
	}
}

// TestClusterDependencies: in a cluster, a dependent's impacted state is
// one transition with one id on every node, and recovers alike.
func TestClusterDependencies(t *testing.T) {
	c := startCL(t, 3, nil, clFastTuning)
	db, app := testkit.NewServer(t), testkit.NewServer(t)
	put := func(id, url, deps string) {
		body := fmt.Sprintf(`{"id":%q,"kind":"http","url":%q,"interval":%q,"rise":1,"fall":1%s}`, id, url, clInterval.String(), deps)
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPut, c.nodes[0].base+"/api/v1/targets/"+id, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		c.do(req, http.StatusCreated)
	}
	put("db", db.URL(), "")
	put("app", app.URL(), `,"depends_on":[{"target":"db"}]`)
	waitFor(t, "every node lists db and app up", 15*time.Second, 0, func() error {
		if err := sameTransitions(c.live(), "db", health.Up); err != nil {
			return err
		}
		return sameTransitions(c.live(), "app", health.Up)
	})
	db.SetStatus(http.StatusServiceUnavailable)
	waitFor(t, "every node lists db down", 15*time.Second, 0, func() error {
		return sameTransitions(c.live(), "db", health.Up, health.Down)
	})
	app.SetStatus(http.StatusServiceUnavailable)
	waitFor(t, "every node lists one up->impacted for app, with the same id", 15*time.Second, time.Second, func() error {
		return sameTransitions(c.live(), "app", health.Up, health.Impacted)
	})
	for _, cn := range c.live() {
		ts, err := transitionsOf(cn, "app")
		if err != nil {
			t.Fatal(err)
		}
		if last := ts[len(ts)-1]; !strings.Contains(last.Cause, "impacted by db") {
			t.Errorf("%s: app's transition cause %q, want it to name db", cn.name, last.Cause)
		}
	}
	// app answers again while db is still down: up (it works); then db.
	app.SetStatus(http.StatusOK)
	waitFor(t, "every node lists app back up", 15*time.Second, time.Second, func() error {
		return sameTransitions(c.live(), "app", health.Up, health.Impacted, health.Up)
	})
	db.SetStatus(http.StatusOK)
	waitFor(t, "every node lists db back up, app unchanged", 15*time.Second, time.Second, func() error {
		if err := sameTransitions(c.live(), "db", health.Up, health.Down, health.Up); err != nil {
			return err
		}
		return sameTransitions(c.live(), "app", health.Up, health.Impacted, health.Up)
	})
}
