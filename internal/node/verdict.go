package node

import (
	"context"
	"strings"
	"time"

	"github.com/heckhq/heck/internal/events"
	"github.com/heckhq/heck/internal/graph"
	"github.com/heckhq/heck/internal/health"
)

// The verdict stage. Every node turns what it learns of a target, its own
// probe outcomes and the observations merged from other nodes alike, into
// the cluster's verdict of the target (the one the API shows), and appends
// a transition to its log when that verdict's state changes. A transition's
// id is derived from the observation that made the change (target,
// observer, when its state began, the state), so every node derives the
// same id for the same change, and the log keeps each change once: a
// node that takes over a silent owner's target starts from the state the
// cluster knows, and a change heard from two nodes (an owner and its
// stand-in, both sides of a healed partition) is listed once.

// onRemoteObservations is told, by the replica, the observations of other
// nodes that changed this node's table.
func (n *Node) onRemoteObservations(obs []health.Observation) {
	now := time.Now()
	last := ""
	for i := range obs {
		if id := obs[i].TargetID; id != last && !obs[i].Released {
			n.judgeTarget(id, now)
			last = id
		}
	}
}

// judgeTarget derives the cluster's verdict of a target from the health
// table and logs a transition when its state differs from the target's
// last logged one. Staleness is not a transition (each node judges it at
// its own moment) and neither is unknown (no word yet).
//
// With one owner the verdict is that owner's observation, and the
// transition's id comes from it. With several, nodes that heard the owners
// in different orders would pass through different verdicts, so one judges
// for all: the target's primary owner (the first of its effective owners)
// publishes the majority verdict in its own observation (Verdict,
// VerdictSince), and every node, the primary included, derives the
// transition from that.
func (n *Node) judgeTarget(id string, now time.Time) {
	spec, ok := n.reg.Get(id)
	if !ok {
		return
	}
	eff := n.own.Effective(&spec, n.effective(spec).Interval.D(), now)
	v := n.table.Verdict(id, eff, now)
	g, hasDeps := n.dependsOnAny(id)
	if replicas, _ := n.own.Placement(&spec); replicas > 1 || hasDeps {
		n.judgeShared(id, eff, v, g, hasDeps)
		return
	}
	state := v.Last
	if state == health.Unknown || state == health.Stale {
		return
	}
	from, known := n.tlog.Head(id)
	if known && from == state {
		return
	}
	cause := causeOf(v, eff, state)
	if cause == nil {
		return
	}
	n.logTransition(events.Transition{
		ID:       events.TransitionID(id, cause.Observer, cause.Since, state),
		TargetID: id,
		From:     from,
		To:       state,
		At:       cause.Since,
		Cause:    cause.Message,
		Observer: cause.Observer,
	})
}

// judgeShared is judgeTarget for a target with several owners, or with
// dependencies (g): its primary owner judges for all, applying the graph.
func (n *Node) judgeShared(id string, eff []string, v health.Verdict, g *graph.Graph, hasDeps bool) {
	if len(eff) == 0 {
		return
	}
	primary := eff[0]
	if primary == n.name {
		if st := v.Last; st != health.Unknown && st != health.Stale {
			since := time.Now()
			if c := causeOf(v, eff, st); c != nil {
				since = c.Since
			}
			if hasDeps {
				st, _, since = n.derive(g, id, st, since)
			}
			if obs, ok := n.pub.Judge(id, st, since); ok {
				n.gossip(obs)
			}
		}
	}
	var judged *health.Observation
	for _, o := range n.table.Get(id) {
		if o.Observer == primary && !o.Released && o.Verdict != health.Unknown {
			judged = &o
		}
	}
	if judged == nil {
		return
	}
	from, known := n.tlog.Head(id)
	if known && from == judged.Verdict {
		return
	}
	cause := judged.Message
	if hasDeps {
		if c := n.derivedCause(g, id, judged.Verdict); c != "" {
			cause = c
		}
	}
	n.logTransition(events.Transition{
		ID:       events.TransitionID(id, primary, judged.VerdictSince, judged.Verdict),
		TargetID: id,
		From:     from,
		To:       judged.Verdict,
		At:       judged.VerdictSince,
		Cause:    cause,
		Observer: primary,
	})
}

// causeOf returns, of the observations in state that the verdict rests on,
// the one whose state began first (then by observer name), so nodes that
// heard the owners in different orders name the same one.
func causeOf(v health.Verdict, eff []string, state health.State) *health.Observation {
	var cause *health.Observation
	for i := range v.Observations {
		o := &v.Observations[i]
		if o.Released || o.State != state {
			continue
		}
		if !v.Fallback && !contains(eff, o.Observer) {
			continue
		}
		if cause == nil || o.Since.Before(cause.Since) || o.Since.Equal(cause.Since) && strings.Compare(o.Observer, cause.Observer) < 0 {
			cause = o
		}
	}
	return cause
}

func contains(names []string, name string) bool {
	for _, x := range names {
		if x == name {
			return true
		}
	}
	return false
}

// logTransition appends t to the log, counting it when it is new here.
func (n *Node) logTransition(t events.Transition) {
	if t, ok := n.tlog.Append(context.Background(), t); ok {
		n.metrics.ObserveTransition(t)
		n.pools.invalidate(false)
		n.onHeadChange(t)
	}
}
