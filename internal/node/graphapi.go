package node

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/heckhq/heck/internal/api"
	"github.com/heckhq/heck/internal/graph"
	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/store"
	"github.com/heckhq/heck/internal/wire"
)

// The node serves the dependency graph.
var _ api.GraphBackend = (*Node)(nil)

// shown returns targets' statuses as the API shows them, computed once
// per id for one answer.
type shown struct {
	n   *Node
	now time.Time
	m   map[string]api.TargetStatus
}

func (n *Node) shownStates() *shown {
	return &shown{n: n, now: time.Now(), m: map[string]api.TargetStatus{}}
}

func (s *shown) status(id string) (api.TargetStatus, bool) {
	if ts, ok := s.m[id]; ok {
		return ts, true
	}
	spec, ok := s.n.reg.Get(id)
	if !ok {
		return api.TargetStatus{}, false
	}
	st, local := s.n.sched.Status(id)
	ts := s.n.status(spec, st, local, s.now)
	s.m[id] = ts
	return ts, true
}

func (s *shown) state(id string) health.State {
	ts, _ := s.status(id)
	if ts.Stale {
		return health.Stale
	}
	return ts.State
}

func (s *shown) node(id string) wire.GraphNode {
	ts, _ := s.status(id)
	return wire.GraphNode{ID: id, Name: ts.Name, State: s.state(id), Since: ts.Since, Cause: ts.Cause}
}

// Graph returns every target with an edge, its state, and the edges.
func (n *Node) Graph(ctx context.Context) wire.Graph {
	out := wire.Graph{Nodes: []wire.GraphNode{}, Edges: []wire.GraphEdge{}}
	g := n.graph()
	if g == nil {
		return out
	}
	s := n.shownStates()
	for _, id := range g.IDs() {
		if !g.Has(id) {
			continue
		}
		nd := s.node(id)
		nd.RootCause = isRootCause(g, id, s.state)
		out.Nodes = append(out.Nodes, nd)
	}
	for _, e := range g.Edges() {
		out.Edges = append(out.Edges, wire.GraphEdge{From: e.From, To: e.To, Critical: e.Critical})
	}
	return out
}

// isRootCause reports whether id fails on its own account: failing, with
// no failing critical dependency.
func isRootCause(g *graph.Graph, id string, state func(string) health.State) bool {
	return slices.Equal(g.RootCauses(id, state), []string{id})
}

// Impact returns what a failure of id takes down and degrades.
func (n *Node) Impact(ctx context.Context, id string) (wire.Impact, error) {
	s := n.shownStates()
	if _, ok := s.status(id); !ok {
		return wire.Impact{}, fmt.Errorf("target %s: %w", id, store.ErrNotFound)
	}
	out := wire.Impact{Target: id, State: s.state(id), Down: []wire.GraphNode{}, Degraded: []wire.GraphNode{}}
	if g := n.graph(); g != nil {
		down, degraded := g.Impact(id)
		for _, x := range down {
			out.Down = append(out.Down, s.node(x))
		}
		for _, x := range degraded {
			out.Degraded = append(out.Degraded, s.node(x))
		}
	}
	return out, nil
}

// Cause returns the root causes of id's state and the chains to them.
func (n *Node) Cause(ctx context.Context, id string) (wire.Cause, error) {
	s := n.shownStates()
	if _, ok := s.status(id); !ok {
		return wire.Cause{}, fmt.Errorf("target %s: %w", id, store.ErrNotFound)
	}
	out := wire.Cause{Target: id, State: s.state(id), RootCauses: []wire.GraphNode{}, Paths: [][]string{}}
	g := n.graph()
	if g == nil {
		if st := out.State; st == health.Down || st == health.Impacted {
			out.RootCauses = append(out.RootCauses, s.node(id))
			out.Paths = append(out.Paths, []string{id})
		}
		return out, nil
	}
	for _, x := range g.RootCauses(id, s.state) {
		out.RootCauses = append(out.RootCauses, s.node(x))
	}
	if p := g.CausePaths(id, s.state); p != nil {
		out.Paths = p
	}
	return out, nil
}
