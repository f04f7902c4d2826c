package node

import (
	"context"
	"strings"
	"time"

	"github.com/heckhq/heck/internal/events"
	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/schedule"
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

// localTransition logs the transition of a single node's own outcome.
func (n *Node) localTransition(o *schedule.Outcome) {
	n.logTransition(events.Transition{
		ID:       events.TransitionID(o.TargetID, n.name, o.Since, o.State),
		TargetID: o.TargetID,
		From:     o.Prev,
		To:       o.State,
		At:       o.Since,
		Cause:    o.Result.Message,
		Observer: n.name,
	})
}

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
// last logged one. The verdict rests on the target's effective owners'
// observations (their majority when replicas > 1); staleness is not a
// transition (each node judges it at its own moment) and neither is
// unknown (no word yet).
func (n *Node) judgeTarget(id string, now time.Time) {
	spec, ok := n.reg.Get(id)
	if !ok {
		return
	}
	eff := n.effectiveOwners(&spec, n.effective(spec).Interval.D(), now)
	v := n.table.Verdict(id, eff, now)
	state := v.Last
	if state == health.Unknown || state == health.Stale {
		return
	}
	from, known := n.tlog.Head(id)
	if known && from == state {
		return
	}
	// The cause: of the observations in the winning state, the one whose
	// state began first (then by observer name), so nodes that heard the
	// owners in different orders still name the same one.
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
	}
}
