package node

import (
	"context"
	"sync"
	"time"

	"github.com/heckhq/heck/internal/events"
	"github.com/heckhq/heck/internal/graph"
	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/judge"
	"github.com/heckhq/heck/internal/registry"
)

// The dependency stage. A target that declares depends_on is judged by
// the graph's rule (internal/graph) applied to the cluster's verdicts of
// its dependencies as this node's transition log holds them: down while a
// critical dependency fails is impacted (named in the cause), up while a
// non-critical one fails is degraded. In a cluster the target's primary
// owner is its one judge: it publishes the derived state in its own
// observation (Observation.Verdict), exactly as for a target with several
// owners, and every node logs the transition from that, so each node lists
// the same changes with the same ids. On a single node the derived state
// is logged directly.
//
// When a dependency's verdict changes, the targets that use it are judged
// again, by a goroutine of the node's (the change is learnt under locks a
// judgement must not take).

// deps holds the graph, rebuilt from the registry when an edge may have
// changed, and the queue of targets to judge again.
type deps struct {
	mu    sync.Mutex
	g     *graph.Graph // nil: no target has a dependency
	dirty bool
	queue map[string]struct{}
	kick  chan struct{}
}

func newDeps() *deps {
	return &deps{dirty: true, queue: map[string]struct{}{}, kick: make(chan struct{}, 1)}
}

// graph returns the dependency graph of the registry's targets (nil when
// none has a dependency), rebuilding it when the registry changed an edge.
// A dependency on a target that is gone (deleted since) is no edge.
func (n *Node) graph() *graph.Graph {
	d := n.deps
	d.mu.Lock()
	if !d.dirty {
		g := d.g
		d.mu.Unlock()
		return g
	}
	d.dirty = false
	d.mu.Unlock()
	specs := n.reg.List()
	has := false
	for i := range specs {
		if len(specs[i].DependsOn) > 0 {
			has = true
			break
		}
	}
	var g *graph.Graph
	if has {
		g, _ = graph.Build(specs)
	}
	d.mu.Lock()
	d.g = g
	d.mu.Unlock()
	if g != nil {
		// Edges may be new: judge every target that has one.
		var ids []string
		for _, e := range g.Edges() {
			ids = append(ids, e.From)
		}
		n.rejudge(ids...)
	}
	return g
}

// noteRegistryDeps marks the graph for a rebuild when a changed entry has
// or had an edge.
func (n *Node) noteRegistryDeps(changed []registry.Entry) {
	d := n.deps
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.dirty {
		return
	}
	for i := range changed {
		if len(changed[i].Value.DependsOn) > 0 || d.g != nil && d.g.Has(changed[i].Key) {
			d.dirty = true
			return
		}
	}
}

// dependsOnAny reports whether id has a dependency, with the graph.
func (n *Node) dependsOnAny(id string) (*graph.Graph, bool) {
	g := n.graph()
	return g, g != nil && len(g.Dependencies(id)) > 0
}

// rejudge queues ids to be judged again.
func (n *Node) rejudge(ids ...string) {
	if len(ids) == 0 {
		return
	}
	d := n.deps
	d.mu.Lock()
	for _, id := range ids {
		d.queue[id] = struct{}{}
	}
	d.mu.Unlock()
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// onHeadChange is told of every transition this node logs: the targets
// that depend on it are judged again.
func (n *Node) onHeadChange(t events.Transition) {
	if t.Type != "" {
		return
	}
	g := n.graph()
	if g == nil {
		return
	}
	us := g.Users(t.TargetID)
	ids := make([]string, len(us))
	for i, e := range us {
		ids[i] = e.From
	}
	n.rejudge(ids...)
}

// depsLoop judges queued targets again until ctx ends.
func (n *Node) depsLoop(ctx context.Context) {
	d := n.deps
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.kick:
		}
		d.mu.Lock()
		q := d.queue
		d.queue = map[string]struct{}{}
		d.mu.Unlock()
		now := time.Now()
		for id := range q {
			if n.cl != nil {
				n.judgeTarget(id, now)
				continue
			}
			if v, ok := n.judge.Status(id); ok {
				n.localTransition(id, v)
			}
		}
	}
}

// headState is a target's state as the transition log holds it: the
// cluster's verdict, dependencies applied.
func (n *Node) headState(id string) health.State {
	s, _ := n.tlog.Head(id)
	return s
}

// derive applies the graph to a target's own state: the state to show,
// the cause when the graph changed it ("" otherwise), and since when,
// the later of own's start and the last change of any dependency, so
// that every node that knows the same changes derives the same time.
func (n *Node) derive(g *graph.Graph, id string, own health.State, ownSince time.Time) (health.State, string, time.Time) {
	st, cause := g.Verdict(id, own, n.headState)
	since := ownSince
	for _, e := range g.Dependencies(id) {
		if _, at, ok := n.tlog.HeadAt(e.To); ok && at.After(since) {
			since = at
		}
	}
	return st, cause, since
}

// derivedCause names, for a state the graph derives (impacted, degraded),
// the dependencies that make it so, as this node knows them; "" for any
// other state.
func (n *Node) derivedCause(g *graph.Graph, id string, st health.State) string {
	var own health.State
	switch st {
	case health.Impacted:
		own = health.Down
	case health.Degraded:
		own = health.Up
	default:
		return ""
	}
	if got, cause := g.Verdict(id, own, n.headState); got == st {
		return cause
	}
	return ""
}

// localTransition logs the change of a single node's own verdict, through
// the graph when the target has dependencies.
func (n *Node) localTransition(id string, v judge.Verdict) {
	to, cause, since := v.State, v.Cause, v.Since
	if g, ok := n.dependsOnAny(id); ok && to != health.Unknown {
		var c string
		to, c, since = n.derive(g, id, v.State, v.Since)
		if c != "" {
			cause = c
		}
	}
	from, known := n.tlog.Head(id)
	if !known {
		from = v.Prev
	}
	if to == health.Unknown || known && from == to {
		return
	}
	n.logTransition(events.Transition{
		ID:       events.TransitionID(id, n.name, since, to),
		TargetID: id,
		From:     from,
		To:       to,
		At:       since,
		Cause:    cause,
		Observer: n.name,
	})
}
