package node

import (
	"context"
	"math"
	"slices"
	"time"

	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/heartbeat"
	"github.com/heckhq/heck/internal/judge"
	"github.com/heckhq/heck/internal/probe"
	"github.com/heckhq/heck/internal/probe/kinds"
	"github.com/heckhq/heck/internal/registry"
	"github.com/heckhq/heck/internal/schedule"
	"github.com/heckhq/heck/internal/target"
)

// onRegistryChange is called by the registry, in order, with every batch of
// entries that changed it.
func (n *Node) onRegistryChange(changed []registry.Entry, remote bool) {
	n.broadcastRegistry(changed, remote)
	for _, e := range changed {
		n.lowerShortest(n.reconcile(e.Key, time.Now()))
		if e.Deleted {
			n.rec.Forget(e.Key)
			n.table.Forget(e.Key)
			n.pub.Forget(e.Key)
			n.tlog.Forget(e.Key)
		}
	}
}

// reconcileAll brings the scheduler in line with the registry and ownership.
// It also learns the shortest interval of any live target (shortest).
func (n *Node) reconcileAll() {
	now := time.Now()
	var shortest time.Duration
	for _, id := range n.reg.IDs() {
		if iv := n.reconcile(id, now); iv > 0 && (shortest == 0 || iv < shortest) {
			shortest = iv
		}
	}
	n.shortest.Store(int64(shortest))
	// Targets running here that the registry no longer lists.
	n.mu.Lock()
	running := make([]string, 0, len(n.running))
	for id := range n.running {
		running = append(running, id)
	}
	n.mu.Unlock()
	for _, id := range running {
		if e, ok := n.reg.Entry(id); !ok || e.Deleted {
			n.reconcile(id, now)
		}
	}
}

// reconcileFallbacks reconciles only the targets this node probes for a
// silent owner: with no membership change and no member newly silent,
// they are all whose ownership can change (their owner speaking again).
func (n *Node) reconcileFallbacks() {
	now := time.Now()
	n.mu.Lock()
	var ids []string
	for id, r := range n.running {
		if r.fallback {
			ids = append(ids, id)
		}
	}
	n.mu.Unlock()
	for _, id := range ids {
		n.reconcile(id, now)
	}
}

// lowerShortest lowers the shortest interval to iv (a target written with
// a shorter one) until the next reconcileAll measures it again.
func (n *Node) lowerShortest(iv time.Duration) {
	for iv > 0 {
		cur := n.shortest.Load()
		if cur != 0 && time.Duration(cur) <= iv || n.shortest.CompareAndSwap(cur, int64(iv)) {
			return
		}
	}
}

// reconcile schedules id when it is live and owned here, with a prober
// built from its current spec, and unschedules it otherwise. It returns the
// target's interval when it is live (0 otherwise).
func (n *Node) reconcile(id string, now time.Time) time.Duration {
	e, ok := n.reg.Entry(id)
	live := ok && !e.Deleted
	n.mu.Lock()
	defer n.mu.Unlock()
	cur, running := n.running[id]
	want := false
	var interval time.Duration
	if live {
		interval = cur.interval
		if !running || cur.ts != e.TS || cur.node != e.Node {
			interval = n.effective(e.Value).Interval.D()
		}
		want = n.own.Owns(&e.Value, interval, running && cur.fallback, now)
	}
	switch {
	case !want && running:
		n.sched.Remove(id)
		n.judge.Remove(id)
		delete(n.running, id)
		if cur.fallback {
			n.fallbacks--
		}
		if live && n.cl != nil && !n.own.Left() {
			// Tell readers this node's word on the target is no longer
			// current (its watermark stops vouching for it).
			if obs, ok := n.pub.Release(id, now); ok {
				n.gossip(obs)
			}
		}
	case want && (!running || cur.ts != e.TS || cur.node != e.Node):
		job := n.buildJob(e.Value)
		rule := judge.Rule{Rise: job.Schedule.Rise, Fall: job.Schedule.Fall}
		initial, since := health.Unknown, now
		if !running {
			// Taking over (or starting): carry the last known state so a
			// handover is not a transition through unknown.
			v := n.table.Verdict(id, n.own.RingOwners(&e.Value), now)
			iv := job.Schedule.Interval.D()
			switch {
			case v.At.IsZero():
				// Never probed by anyone: spread the first run.
			case now.Sub(v.At) > iv:
				// Nobody has probed it for over an interval (its owner
				// failed): probe soon instead of spreading over an interval.
				job.SpreadFirst = iv / 10
			default:
				// A handover from a live owner (a join, a leave): keep the
				// owner's rhythm, probing when it would have probed next,
				// so the target is not probed twice in one interval.
				for _, o := range v.Observations {
					if o.Observer == v.Observer && !o.At.IsZero() && o.Interval == iv {
						next := o.At.Add(iv * (now.Sub(o.At)/iv + 1))
						job.Schedule.InitialDelay = target.Duration(next.Sub(now))
						job.SpreadFirst = time.Millisecond
					}
				}
			}
			if v.Last != health.Unknown && v.Last != health.Stale {
				initial = v.Last
				for _, o := range v.Observations {
					if o.Observer == v.Observer {
						since = o.Since
					}
				}
			}
			job.Mode = modeOf(&judge.Verdict{State: initial})
		}
		// A new target starts from initial; a replaced one keeps its state
		// and takes the new rule.
		n.judge.Set(id, rule, initial, since)
		if err := n.sched.Upsert(job); err != nil {
			// Validation upstream makes this unreachable; never crash on it.
			n.log.Error("cannot schedule target", "target", id, "err", err)
			return interval
		}
		fb := !slices.Contains(n.own.RingOwners(&e.Value), n.name)
		if running && cur.fallback {
			n.fallbacks--
		}
		if fb {
			n.fallbacks++
		}
		n.running[id] = runningTarget{ts: e.TS, node: e.Node, interval: job.Schedule.Interval.D(), fallback: fb}
	}
	return interval
}

// effective returns the spec as it is probed. Specs enter the registry
// resolved (config load and PutTarget bake the defaults in), so this is a
// no-op for them; a spec written by an older node gets the built-in
// defaults from the scheduler's safety net (logged once), never this
// node's defaults block, so that every node probes it alike.
func (n *Node) effective(spec target.Spec) target.Spec {
	spec.Schedule = n.sched.Resolve(spec.ID, spec.Schedule)
	if spec.Kind == target.KindHeartbeat && spec.Heartbeat != nil {
		spec.Schedule = heartbeatSchedule(spec.Schedule, spec.Heartbeat)
	}
	return spec
}

// buildJob makes the scheduler job of a spec. A spec that cannot become a
// prober (an unset environment variable, say) still gets scheduled, with a
// prober that fails with the reason, so the problem shows as the target's
// state and message instead of vanishing into a log.
func (n *Node) buildJob(spec target.Spec) schedule.Job {
	eff := n.effective(spec)
	var p probe.Prober
	x, err := eff.Expand(nil)
	switch {
	case err == nil && x.Kind == target.KindHeartbeat:
		p = &heartbeat.Prober{ID: x.ID, Opts: *x.Heartbeat, Pings: n.hb, Since: time.Now()}
	case err == nil:
		p, err = kinds.New(x, probe.Options{Guard: n.guard})
	}
	if err != nil {
		n.log.Warn("target cannot be probed as configured", "target", spec.ID, "err", err)
		p = failing{msg: "cannot probe: " + err.Error()}
	}
	return schedule.Job{ID: spec.ID, Kind: string(spec.Kind), Schedule: eff.Schedule, Prober: p}
}

type failing struct{ msg string }

func (f failing) Probe(context.Context) probe.Result { return probe.Fail(0, f.msg) }

// Observe receives every probe outcome from the scheduler (on probe
// goroutines): metrics, the judge's verdict, transitions, history and the
// health table. It answers the mode of the target's next probe.
func (n *Node) Observe(o *schedule.Outcome) schedule.Mode {
	reason := probe.ReasonOf(&o.Result)
	n.metrics.ObserveCheck(o.Kind, o.Result.OK, reason, o.Result.Latency, o.Lateness)
	if !o.Result.OK && n.fails != nil {
		n.fails.note(o.TargetID, reason, o.Result.Message)
	}
	if o.Result.State == health.Unknown && o.Kind == string(target.KindHeartbeat) && o.Result.OK {
		// A heartbeat with no ping yet, within its period: nothing to judge.
		return schedule.ModeNormal
	}
	published := false
	v, ok := n.judge.Observe(o.TargetID, judge.Input{OK: o.Result.OK, At: o.End, Message: o.Result.Message, State: o.Result.State},
		func(v judge.Verdict) {
			// Runs before readers see the new state, so a reader that sees
			// it finds the transition logged too.
			if n.cl == nil {
				n.localTransition(o.TargetID, v)
				return
			}
			// The table gets this node's new observation, and the cluster
			// verdict is judged from it, as every other node will on
			// merging it.
			n.publish(o, &v)
			published = true
			n.judgeTarget(o.TargetID, time.Now())
		})
	if !ok {
		// No longer judged here (removed meanwhile): nothing to record.
		return schedule.ModeFast
	}
	n.rec.Record(o.TargetID, o.Start, o.Result, v.Changed)
	if n.cl != nil && !published {
		n.publish(o, &v)
	}
	return modeOf(&v)
}

// modeOf is the scheduling mode of a verdict: fast while a change is
// pending, down while down, normal otherwise.
func modeOf(v *judge.Verdict) schedule.Mode {
	switch {
	case v.Pending():
		return schedule.ModeFast
	case v.State == health.Down:
		return schedule.ModeDown
	}
	return schedule.ModeNormal
}

// publish hands an outcome and its verdict to the publisher, which
// publishes an observation when readers would see a difference.
func (n *Node) publish(o *schedule.Outcome, v *judge.Verdict) {
	obs, ok := n.pub.Record(health.Outcome{
		TargetID: o.TargetID,
		State:    v.State,
		Since:    v.Since,
		At:       o.Start,
		Latency:  o.Result.Latency,
		Message:  o.Result.Message,
		Interval: modeOf(v).Interval(o.Schedule),
		Fails:    uint8(min(v.Failures, 255)),
		ErrorPct: uint8(math.Round(v.ErrorRate * 100)),
	})
	if ok {
		n.gossip(obs)
	}
}

// gossip hands a new local observation to the cluster, if any.
func (n *Node) gossip(obs health.Observation) {
	if n.rep != nil {
		n.rep.Publish(health.Delta{Observations: []health.Observation{obs}})
	}
}
