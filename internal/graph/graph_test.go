package graph

import (
	"fmt"
	"strings"
	"testing"

	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/target"
)

var no = false

// specs builds targets from "a:b,c?" lines: a depends on b (critical) and
// c (non-critical, "?").
func specs(lines ...string) []target.Spec {
	var out []target.Spec
	for _, l := range lines {
		id, deps, _ := strings.Cut(l, ":")
		s := target.Spec{ID: id}
		for _, d := range strings.Split(deps, ",") {
			if d == "" {
				continue
			}
			dep := target.Dependency{Target: strings.TrimSuffix(d, "?")}
			if strings.HasSuffix(d, "?") {
				dep.Critical = &no
			}
			s.DependsOn = append(s.DependsOn, dep)
		}
		out = append(out, s)
	}
	return out
}

func TestBuildErrors(t *testing.T) {
	cases := []struct {
		name  string
		specs []target.Spec
		want  []string // "field value"
	}{
		{"fine", specs("web:api", "api:db,cache?", "db:", "cache:"), nil},
		{"unknown", specs("web:ghost", "db:"), []string{"targets[0].depends_on[0].target ghost"}},
		{"cycle", specs("a:b", "b:c", "c:a"), []string{"targets[0].depends_on a -> b -> c -> a"}},
		{"two cycles", specs("a:b", "b:a", "x:y", "y:x", "z:a"), []string{"targets[0].depends_on a -> b -> a", "targets[2].depends_on x -> y -> x"}},
		{"cycle through a non-critical edge", specs("a:b?", "b:a"), []string{"targets[0].depends_on a -> b -> a"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, errs := Build(c.specs)
			var got []string
			for _, e := range errs {
				got = append(got, e.Field+" "+e.Value)
				if e.Fix == "" {
					t.Errorf("%s: no fix", e.Field)
				}
			}
			if strings.Join(got, "|") != strings.Join(c.want, "|") {
				t.Fatalf("errors %q, want %q", got, c.want)
			}
		})
	}
}

func TestImpactAndRootCauses(t *testing.T) {
	// A diamond: web needs api and search; both need db; api has a
	// non-critical cache; report needs web only softly.
	g, errs := Build(specs("web:api,search", "api:db,cache?", "search:db", "db:", "cache:", "report:web?"))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	down, degraded := g.Impact("db")
	if strings.Join(down, ",") != "api,search,web" || strings.Join(degraded, ",") != "report" {
		t.Fatalf("Impact(db) = %v, degraded %v", down, degraded)
	}
	down, degraded = g.Impact("cache")
	if len(down) != 0 || strings.Join(degraded, ",") != "api" {
		t.Fatalf("Impact(cache) = %v, degraded %v", down, degraded)
	}
	states := map[string]health.State{"web": health.Down, "api": health.Impacted, "search": health.Impacted, "db": health.Down, "cache": health.Up}
	state := func(id string) health.State { return states[id] }
	if got := strings.Join(g.RootCauses("web", state), ","); got != "db" {
		t.Fatalf("RootCauses(web) = %s, want db", got)
	}
	states["db"], states["api"] = health.Up, health.Up
	states["search"] = health.Down
	if got := strings.Join(g.RootCauses("web", state), ","); got != "search" {
		t.Fatalf("RootCauses(web) with only search down = %s, want search", got)
	}
	states["search"], states["api"] = health.Up, health.Up
	if got := strings.Join(g.RootCauses("web", state), ","); got != "web" {
		t.Fatalf("RootCauses(web) with its dependencies up = %s, want web itself", got)
	}
}

func TestVerdict(t *testing.T) {
	g, _ := Build(specs("api:db,cache?", "db:", "cache:"))
	cases := []struct {
		own, db, cache health.State
		want           health.State
		cause          string
	}{
		{health.Down, health.Down, health.Up, health.Impacted, "impacted by db"},
		{health.Down, health.Up, health.Down, health.Down, ""},
		{health.Up, health.Up, health.Down, health.Degraded, "non-critical cache"},
		{health.Up, health.Down, health.Up, health.Up, ""},
		{health.Down, health.Impacted, health.Up, health.Impacted, "impacted by db"},
	}
	for _, c := range cases {
		st := map[string]health.State{"db": c.db, "cache": c.cache}
		got, cause := g.Verdict("api", c.own, func(id string) health.State { return st[id] })
		if got != c.want || !strings.Contains(cause, c.cause) {
			t.Errorf("own %s db %s cache %s: %s %q, want %s %q", c.own, c.db, c.cache, got, cause, c.want, c.cause)
		}
	}
	if es := g.Edges(); len(es) != 2 || es[0] != (Edge{"api", "db", true}) || es[1] != (Edge{"api", "cache", false}) {
		t.Fatalf("Edges = %+v", es)
	}
}

func TestCheck(t *testing.T) {
	all := specs("web:api", "api:db", "db:")
	if errs := Check(all, specs("cache:db")[0]); len(errs) != 0 {
		t.Fatalf("a new leaf: %v", errs)
	}
	errs := Check(all, specs("db:web")[0])
	if len(errs) != 1 || errs[0].Field != "depends_on" || errs[0].Value != "api -> db -> web -> api" {
		t.Fatalf("closing a cycle: %v", errs)
	}
	errs = Check(all, specs("web:ghost")[0])
	if len(errs) != 1 || errs[0].Field != "depends_on[0].target" || errs[0].Value != "ghost" {
		t.Fatalf("an unknown dependency: %v", errs)
	}
}

func TestCausePaths(t *testing.T) {
	g, errs := Build(specs("web:api,search", "api:db,cache?", "search:db", "db:", "cache:", "a:b", "b:a"))
	if len(errs) != 1 { // the a <-> b cycle, built anyway (gossip can merge one)
		t.Fatalf("errors %v, want the one cycle", errs)
	}
	states := map[string]health.State{"web": health.Impacted, "api": health.Impacted, "search": health.Impacted,
		"db": health.Down, "cache": health.Down, "a": health.Impacted, "b": health.Impacted}
	state := func(id string) health.State { return states[id] }
	cases := []struct {
		id   string
		want string
	}{
		// Through both arms of the diamond; the failing non-critical cache
		// is no cause.
		{"web", "[[web api db] [web search db]]"},
		{"db", "[[db]]"},
		// A cycle ends the walk instead of looping.
		{"a", "[[a b]]"},
	}
	for _, c := range cases {
		if got := fmt.Sprint(g.CausePaths(c.id, state)); got != c.want {
			t.Errorf("CausePaths(%s) = %s, want %s", c.id, got, c.want)
		}
	}
	states["web"] = health.Up
	if got := g.CausePaths("web", state); got != nil {
		t.Errorf("CausePaths of a target that is up = %v, want none", got)
	}
}
