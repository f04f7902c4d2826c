package node

import (
	"context"
	"fmt"
	"time"

	"github.com/heckhq/heck/internal/api"
	"github.com/heckhq/heck/internal/events"
	"github.com/heckhq/heck/internal/graph"
	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/judge"
	"github.com/heckhq/heck/internal/metrics"
	"github.com/heckhq/heck/internal/schedule"
	"github.com/heckhq/heck/internal/store"
	"github.com/heckhq/heck/internal/target"
)

// The node is the API's backend.
var (
	_ api.Backend     = (*Node)(nil)
	_ api.StateSource = (*Node)(nil)
	// It feeds heck_targets and heck_target_up.
	_ metrics.States = (*Node)(nil)
)

// Targets returns the status of every live target.
func (n *Node) Targets(ctx context.Context) []api.TargetStatus {
	local := make(map[string]schedule.Status, n.sched.Len())
	n.sched.Each(func(id string, st *schedule.Status) bool {
		local[id] = *st
		return true
	})
	now := time.Now()
	specs := n.reg.List()
	silenced := n.silencedAt(now)
	inMaint := n.inMaintenanceAt(now)
	out := make([]api.TargetStatus, 0, len(specs))
	for _, spec := range specs {
		st, ok := local[spec.ID]
		ts := n.status(spec, st, ok, now)
		ts.Silenced = silenced(&spec)
		ts.Maintenance = inMaint(&spec)
		out = append(out, ts)
	}
	return out
}

// Target returns one target's status with its recent results.
func (n *Node) Target(ctx context.Context, id string) (api.TargetStatus, bool) {
	spec, ok := n.reg.Get(id)
	if !ok {
		return api.TargetStatus{}, false
	}
	st, local := n.sched.Status(id)
	now := time.Now()
	ts := n.status(spec, st, local, now)
	ts.Silenced = n.silencedAt(now)(&spec)
	ts.Maintenance = n.inMaintenanceAt(now)(&spec)
	if local {
		ts.Recent = make([]api.Result, 0, len(st.Recent))
		for i := len(st.Recent) - 1; i >= 0; i-- {
			r := st.Recent[i]
			ts.Recent = append(ts.Recent, api.Result{At: r.At, OK: r.OK, Latency: r.Latency, Message: r.Message})
		}
	}
	return ts, true
}

// status builds a target's status: from this node's scheduler when it
// probes the target, else from the replicated observations.
func (n *Node) status(spec target.Spec, st schedule.Status, local bool, now time.Time) api.TargetStatus {
	ts := n.ownStatus(spec, st, local, now)
	if g, ok := n.dependsOnAny(spec.ID); ok && (ts.State == health.Up || ts.State == health.Down) {
		// The graph's verdict, as the transitions say it.
		if s, cause, since := n.derive(g, spec.ID, ts.State, ts.Since); s != ts.State {
			ts.State, ts.Cause, ts.Since = s, cause, since
		}
	}
	return ts
}

// ownStatus is status before the dependency graph is applied.
func (n *Node) ownStatus(spec target.Spec, st schedule.Status, local bool, now time.Time) api.TargetStatus {
	ts := api.StatusOf(spec)
	ts.Owners, ts.Fallback = n.own.Owners(&spec)
	if local {
		jv, _ := n.judge.Status(spec.ID)
		ts.State, ts.Since, ts.Cause, ts.Observer = jv.State, jv.Since, jv.Cause, n.name
		if !st.LastAt.IsZero() {
			r := api.ResultFrom(st.LastAt, st.Last)
			ts.Last = &r
		}
		return ts
	}
	// Judge by who probes it now: after a failover that is the fallback
	// node, not the silent ring owner.
	eff := n.own.Effective(&spec, n.effective(spec).Interval.D(), now)
	v := n.table.Verdict(spec.ID, eff, now)
	ts.State, ts.Stale, ts.Observer = v.State, v.Stale, v.Observer
	for _, o := range v.Observations {
		if o.Observer == v.Observer {
			ts.Since, ts.Cause = o.Since, o.Message
			// As of the verdict's time: the observer's watermark says the
			// result still held then (unchanged results are not gossiped).
			r := api.Result{At: v.At, OK: o.State == health.Up, Latency: o.Latency, Message: o.Message}
			ts.Last = &r
		}
	}
	return ts
}

// EachState walks every judged target's state: the heck_targets gauges
// and heck_target_up on scrape, the member count on a single node.
func (n *Node) EachState(fn func(id string, s health.State)) {
	n.judge.Each(func(id string, v judge.Verdict) bool {
		fn(id, v.State)
		return true
	})
}

// PutTarget adds or replaces a target through the API.
func (n *Node) PutTarget(ctx context.Context, spec target.Spec) (bool, error) {
	spec.Origin = "" // only the config file writes config targets
	// Bake this node's defaults block into the spec before it is
	// replicated, so every node probes it alike (docs/design.md, Defaults).
	spec.Schedule = spec.Schedule.Resolve(n.cfg.Defaults, nil)
	if errs := spec.Validate(); len(errs) > 0 {
		return false, errs
	}
	if len(spec.DependsOn) > 0 {
		// Unknown dependencies and cycles through this target are refused,
		// naming the cycle.
		if errs := graph.Check(n.reg.List(), spec); len(errs) > 0 {
			return false, errs
		}
	}
	return n.reg.Put(ctx, spec)
}

// DeleteTarget removes a target through the API.
func (n *Node) DeleteTarget(ctx context.Context, id string) error {
	return n.reg.Delete(ctx, id)
}

func (n *Node) mustExist(id string) error {
	if _, ok := n.reg.Get(id); !ok {
		return fmt.Errorf("target %s: %w", id, store.ErrNotFound)
	}
	return nil
}

// Transitions returns a target's last transitions, newest first: every
// node's, as this node's log holds them.
func (n *Node) Transitions(ctx context.Context, id string, limit int) ([]events.Transition, error) {
	if err := n.mustExist(id); err != nil {
		return nil, err
	}
	return n.tlog.Query(ctx, store.TransitionQuery{TargetID: id, Limit: max(limit, 0)})
}

// QueryTransitions returns the transitions of every target that q selects.
func (n *Node) QueryTransitions(ctx context.Context, q store.TransitionQuery) ([]events.Transition, error) {
	return n.tlog.Query(ctx, q)
}

// TransitionLog is the node's log of transitions, for the event stream.
func (n *Node) TransitionLog() api.TransitionLog { return n.tlog }

// Ready reports whether the node can serve.
func (n *Node) Ready(ctx context.Context) error {
	if err := n.st.Ping(ctx); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}
