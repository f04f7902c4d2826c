// Package graph owns the dependency graph of targets: the edges targets
// declare (depends_on, critical or not), its checks (unknown targets,
// cycles, each named), what a failure takes down (Impact, transitive) and
// where a failure comes from (RootCauses, through chains and diamonds),
// and the rule that turns a target's own state and its dependencies'
// into its verdict: a target failing while a critical dependency is down
// is impacted by it, not a new outage; a failed non-critical dependency
// makes it degraded at most. The package is pure: the judge applies it to
// the cluster's verdicts, the same on every node.
package graph

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/target"
)

// Edge is one dependency: From depends on To.
type Edge struct {
	From, To string
	Critical bool
}

// Graph is the dependency graph of a set of targets.
type Graph struct {
	deps  map[string][]Edge // by From, in declaration order
	users map[string][]Edge // by To
	ids   []string          // sorted
}

// Build makes the graph of specs and reports every problem: a dependency
// on an unknown target (naming the field), and each cycle (naming its
// path). Specs are trusted to be valid otherwise.
func Build(specs []target.Spec) (*Graph, target.FieldErrors) {
	g := &Graph{deps: map[string][]Edge{}, users: map[string][]Edge{}}
	known := make(map[string]int, len(specs))
	for i := range specs {
		known[specs[i].ID] = i
		g.ids = append(g.ids, specs[i].ID)
	}
	sort.Strings(g.ids)
	var errs target.FieldErrors
	for i := range specs {
		s := &specs[i]
		for j, d := range s.DependsOn {
			if _, ok := known[d.Target]; !ok {
				errs = append(errs, target.FieldError{Field: fmt.Sprintf("targets[%d].depends_on[%d].target", i, j), Value: d.Target,
					Problem: "is not a target", Fix: "name a target that exists (heck targets ls), or remove the dependency"})
				continue
			}
			e := Edge{From: s.ID, To: d.Target, Critical: d.IsCritical()}
			g.deps[s.ID] = append(g.deps[s.ID], e)
			g.users[d.Target] = append(g.users[d.Target], e)
		}
	}
	for _, c := range g.cycles() {
		i := known[c[0]]
		errs = append(errs, target.FieldError{Field: fmt.Sprintf("targets[%d].depends_on", i), Value: strings.Join(c, " -> "),
			Problem: "is a dependency cycle", Fix: "remove one of its dependencies: a target cannot depend on itself through others"})
	}
	return g, errs
}

// cycles returns each cycle once, as the path of ids from its smallest id
// back to it.
func (g *Graph) cycles() [][]string {
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var stack []string
	seen := map[string]bool{}
	var out [][]string
	var visit func(id string)
	visit = func(id string) {
		color[id] = grey
		stack = append(stack, id)
		for _, e := range g.deps[id] {
			switch color[e.To] {
			case white:
				visit(e.To)
			case grey:
				i := slices.Index(stack, e.To)
				c := slices.Clone(stack[i:])
				// Rotate to start at the smallest id, so each cycle is
				// reported once however it is entered.
				m := 0
				for k := range c {
					if c[k] < c[m] {
						m = k
					}
				}
				c = append(c[m:], c[:m]...)
				c = append(c, c[0])
				if key := strings.Join(c, ">"); !seen[key] {
					seen[key] = true
					out = append(out, c)
				}
			}
		}
		stack = stack[:len(stack)-1]
		color[id] = black
	}
	for _, id := range g.ids {
		if color[id] == white {
			visit(id)
		}
	}
	return out
}

// Dependencies returns the edges from id, in declaration order.
func (g *Graph) Dependencies(id string) []Edge { return g.deps[id] }

// Edges returns every edge, sorted.
func (g *Graph) Edges() []Edge {
	var out []Edge
	for _, id := range g.ids {
		out = append(out, g.deps[id]...)
	}
	return out
}

// Impact returns every target a failure of id takes down through critical
// dependencies, transitively, sorted; degraded lists those it degrades
// (through a non-critical edge) and that it does not take down.
func (g *Graph) Impact(id string) (down, degraded []string) {
	downSet := map[string]bool{}
	var walk func(string)
	walk = func(x string) {
		for _, e := range g.users[x] {
			if e.Critical && !downSet[e.From] {
				downSet[e.From] = true
				walk(e.From)
			}
		}
	}
	walk(id)
	degSet := map[string]bool{}
	for _, x := range append([]string{id}, keys(downSet)...) {
		for _, e := range g.users[x] {
			if !e.Critical && !downSet[e.From] && e.From != id {
				degSet[e.From] = true
			}
		}
	}
	return keys(downSet), keys(degSet)
}

// RootCauses walks from id down its critical dependencies that are failing
// (per state) to the deepest failing ones: the targets whose own failure
// explains id's. A target with no failing critical dependency is its own
// root cause (when failing) and has none otherwise.
func (g *Graph) RootCauses(id string, state func(string) health.State) []string {
	out := map[string]bool{}
	visited := map[string]bool{}
	var walk func(string)
	walk = func(x string) {
		if visited[x] {
			return
		}
		visited[x] = true
		deeper := false
		for _, e := range g.deps[x] {
			if e.Critical && failing(state(e.To)) {
				deeper = true
				walk(e.To)
			}
		}
		if !deeper && failing(state(x)) {
			out[x] = true
		}
	}
	walk(id)
	return keys(out)
}

func failing(s health.State) bool { return s == health.Down || s == health.Impacted }

// Verdict derives a target's verdict from its own state and its
// dependencies' (state returns a target's current verdict): a target down
// while a critical dependency fails is impacted by it, named in the cause;
// an up target with a failing non-critical dependency is degraded. Any
// other state stands. cause is empty when own stands.
func (g *Graph) Verdict(id string, own health.State, state func(string) health.State) (health.State, string) {
	var crit, soft []string
	for _, e := range g.deps[id] {
		if failing(state(e.To)) {
			if e.Critical {
				crit = append(crit, e.To)
			} else {
				soft = append(soft, e.To)
			}
		}
	}
	switch {
	case own == health.Down && len(crit) > 0:
		return health.Impacted, "impacted by " + strings.Join(crit, ", ") + " (down)"
	case own == health.Up && len(soft) > 0:
		return health.Degraded, "degraded: non-critical " + strings.Join(soft, ", ") + " failing"
	}
	return own, ""
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Check reports the problems a spec would bring into the graph of all
// (the targets as they are; a spec with the same id is replaced): its
// dependencies on unknown targets and the cycles through it, with fields
// named as in the spec ("depends_on[0].target").
func Check(all []target.Spec, spec target.Spec) target.FieldErrors {
	specs := make([]target.Spec, 0, len(all)+1)
	for _, s := range all {
		if s.ID != spec.ID {
			specs = append(specs, s)
		}
	}
	specs = append(specs, spec)
	prefix := fmt.Sprintf("targets[%d].", len(specs)-1)
	_, errs := Build(specs)
	var out target.FieldErrors
	for _, fe := range errs {
		switch {
		case strings.HasPrefix(fe.Field, prefix):
			fe.Field = strings.TrimPrefix(fe.Field, prefix)
		case strings.HasSuffix(fe.Field, "].depends_on") && slices.Contains(strings.Split(fe.Value, " -> "), spec.ID):
			fe.Field = "depends_on"
		default:
			continue // another target's problem, not this spec's
		}
		out = append(out, fe)
	}
	return out
}

// Users returns the edges into id: the targets that depend on it.
func (g *Graph) Users(id string) []Edge { return g.users[id] }

// Empty reports whether the graph has no edge.
func (g *Graph) Empty() bool { return len(g.deps) == 0 }

// Has reports whether id has an edge either way.
func (g *Graph) Has(id string) bool { return len(g.deps[id]) > 0 || len(g.users[id]) > 0 }

// IDs returns every target of the graph's specs, sorted.
func (g *Graph) IDs() []string { return g.ids }

// maxPaths bounds CausePaths on a graph of many diamonds.
const maxPaths = 100

// CausePaths returns the chains of failing critical dependencies from id
// down to each of its root causes (see RootCauses), each starting at id:
// [id] alone when id is its own root cause; none when it is not failing.
// At most 100 paths are returned, shortest-first order not guaranteed.
func (g *Graph) CausePaths(id string, state func(string) health.State) [][]string {
	if !failing(state(id)) {
		return nil
	}
	var out [][]string
	var path []string
	onPath := map[string]bool{}
	var walk func(string)
	walk = func(x string) {
		if len(out) >= maxPaths || onPath[x] {
			return
		}
		onPath[x] = true
		path = append(path, x)
		deeper := false
		for _, e := range g.deps[x] {
			if e.Critical && failing(state(e.To)) && !onPath[e.To] {
				deeper = true
				walk(e.To)
			}
		}
		if !deeper {
			out = append(out, slices.Clone(path))
		}
		path = path[:len(path)-1]
		onPath[x] = false
	}
	walk(id)
	return out
}
