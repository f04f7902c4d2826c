package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/heckhq/heck/internal/api"
	"github.com/heckhq/heck/internal/events"
	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/metrics"
	"github.com/heckhq/heck/internal/objects"
	"github.com/heckhq/heck/internal/pool"
	"github.com/heckhq/heck/internal/schedule"
	"github.com/heckhq/heck/internal/target"
)

// poolViewTTL bounds how old the pool views consumers read may be: they
// are rebuilt at most this often while nothing changes (for the members'
// latencies and error rates), and at once after a transition, an
// ejection or a change of pools or targets (the next read rebuilds them).
const poolViewTTL = time.Second

// poolJudgeEvery is how often the node runs outlier detection over the
// pools it judges, and notices panics.
const poolJudgeEvery = time.Second

// pools is the node's state of its pools: the replicated pools and
// ejections, and a snapshot of their views rebuilt on demand.
type pools struct {
	specs     *pool.Collection
	ejections *pool.Ejections
	states    *objects.Collection[pool.State]
	picker    pool.Picker

	// dirty is set by every change that can move a view; members when
	// pool membership itself may have changed (pools or targets).
	dirty, membersDirty atomic.Bool
	snap                atomic.Pointer[poolSnapshot]
	buildMu             sync.Mutex // one rebuild at a time

	// suspects counts, per pool/member, the judge's rounds in a row in
	// which a member failed a median test (latency, error rate): one slow
	// probe must not eject (a GC pause, loopback jitter), so those tests
	// eject only after confirmRounds in a row. Judge's goroutine only.
	suspects map[string]suspect

	// kick wakes the pool loop when a rebuild saw a pool's panic change,
	// so that the judge records even a short panic.
	kick chan struct{}

	ejectMu    sync.Mutex
	ejectCount map[[2]string]uint64 // pool, reason
}

// poolSnapshot is every pool's view as of built. Read-only once published.
type poolSnapshot struct {
	built time.Time
	views map[string]*pool.View
	// members is each pool's member targets, kept between rebuilds while
	// membership does not change.
	members map[string][]*target.Spec
}

func newPools(specs *pool.Collection, ejections *pool.Ejections, states *objects.Collection[pool.State]) *pools {
	p := &pools{specs: specs, ejections: ejections, states: states, kick: make(chan struct{}, 1), suspects: map[string]suspect{}, ejectCount: map[[2]string]uint64{}}
	p.dirty.Store(true)
	p.membersDirty.Store(true)
	return p
}

// invalidate marks the views stale: the next read rebuilds them.
func (p *pools) invalidate(members bool) {
	if members {
		p.membersDirty.Store(true)
	}
	p.dirty.Store(true)
}

// The node serves pools to the API and to the DNS and HAProxy listeners.
var _ api.PoolBackend = (*Node)(nil)

// PoolView returns a pool's current view (the snapshot's: its Members must
// not be modified).
func (n *Node) PoolView(name string) (pool.View, bool) {
	v, ok := n.poolSnapshot(time.Now()).views[name]
	if !ok {
		return pool.View{}, false
	}
	return *v, true
}

// PoolViews returns every pool's view, by name.
func (n *Node) PoolViews(context.Context) []pool.View {
	s := n.poolSnapshot(time.Now())
	out := make([]pool.View, 0, len(s.views))
	for _, v := range s.views {
		out = append(out, *v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Pick chooses one member of a pool. ok is false when the pool does not
// exist; picked is false when it has nothing to pick.
func (n *Node) Pick(name string, s pool.Strategy, zone string) (m pool.Member, v pool.View, ok, picked bool) {
	view, ok := n.poolSnapshot(time.Now()).views[name]
	if !ok {
		return pool.Member{}, pool.View{}, false, false
	}
	m, picked = n.pools.picker.Pick(view, s, zone)
	return m, *view, true, picked
}

// TargetMember returns a target on its own as a consumer sees it: its
// address, weight and state (DNS <target>.<zone>, HAProxy agent requests
// naming no pool).
func (n *Node) TargetMember(id string) (pool.Member, bool) {
	spec, ok := n.reg.Get(id)
	if !ok {
		return pool.Member{}, false
	}
	lone := pool.Spec{Name: "target"}
	in := n.memberInputs(time.Now(), func(string) time.Duration {
		if st, ok := n.sched.Status(id); ok && !st.LastAt.IsZero() {
			return st.Last.Latency
		}
		return 0
	})(&spec, "")
	v := pool.Evaluate(&lone, []pool.Input{in})
	m := v.Members[0]
	m.Serving = m.Healthy
	return m, true
}

// PutPool stores a pool through the API; created says it is new.
func (n *Node) PutPool(ctx context.Context, spec pool.Spec) (bool, error) {
	spec.Origin = "" // only the config file writes config pools
	_, exists := n.pools.specs.Get(spec.Name)
	if err := n.pools.specs.Put(ctx, spec.Name, spec); err != nil {
		return false, err
	}
	return !exists, nil
}

// DeletePool deletes a pool everywhere; an error wrapping
// objects.ErrNotFound when there is none.
func (n *Node) DeletePool(ctx context.Context, name string) error {
	return n.pools.specs.Delete(ctx, name)
}

// poolSnapshot returns the views, rebuilt first when stale. While one
// caller rebuilds, the others read the previous snapshot.
func (n *Node) poolSnapshot(now time.Time) *poolSnapshot {
	p := n.pools
	s := p.snap.Load()
	if s != nil && !p.dirty.Load() && now.Sub(s.built) < poolViewTTL {
		return s
	}
	if s != nil && !p.buildMu.TryLock() {
		return s
	}
	if s == nil {
		p.buildMu.Lock()
		if s = p.snap.Load(); s != nil { // built meanwhile
			p.buildMu.Unlock()
			return s
		}
	}
	defer p.buildMu.Unlock()
	s = n.buildPools(now, s)
	p.snap.Store(s)
	return s
}

// buildPools evaluates every pool; p.buildMu is held.
func (n *Node) buildPools(now time.Time, prev *poolSnapshot) *poolSnapshot {
	p := n.pools
	p.dirty.Store(false)
	specs := p.specs.List()
	members := map[string][]*target.Spec(nil)
	if prev != nil && !p.membersDirty.Load() {
		members = prev.members
	} else {
		p.membersDirty.Store(false)
		members = make(map[string][]*target.Spec, len(specs))
		all := n.reg.List()
		byID := make(map[string]*target.Spec, len(all))
		for i := range all {
			byID[all[i].ID] = &all[i]
		}
		for _, e := range specs {
			ps := &e.Value
			var ms []*target.Spec
			seen := map[string]bool{}
			for _, id := range ps.Targets {
				if t, ok := byID[id]; ok && !seen[id] {
					ms = append(ms, t)
					seen[id] = true
				}
			}
			if len(ps.Selector) > 0 {
				for i := range all {
					if !seen[all[i].ID] && ps.Includes(&all[i]) {
						ms = append(ms, &all[i])
						seen[all[i].ID] = true
					}
				}
			}
			members[ps.Name] = ms
		}
	}
	wanted := map[string]bool{}
	for _, ms := range members {
		for _, t := range ms {
			wanted[t.ID] = true
		}
	}
	latency := make(map[string]time.Duration, len(wanted))
	n.sched.Each(func(id string, st *schedule.Status) bool {
		if wanted[id] && !st.LastAt.IsZero() {
			latency[id] = st.Last.Latency
		}
		return true
	})
	input := n.memberInputs(now, func(id string) time.Duration { return latency[id] })
	s := &poolSnapshot{built: now, views: make(map[string]*pool.View, len(specs)), members: members}
	for _, e := range specs {
		ps := e.Value
		ms := members[ps.Name]
		in := make([]pool.Input, len(ms))
		for i, t := range ms {
			in[i] = input(t, ps.Name)
		}
		v := pool.Evaluate(&ps, in)
		s.views[ps.Name] = &v
		if prev != nil {
			if old, ok := prev.views[ps.Name]; !ok || old.Panic != v.Panic {
				select {
				case p.kick <- struct{}{}:
				default:
				}
			}
		}
	}
	return s
}

// memberInputs returns what the node knows of targets, for pool
// evaluation: the cluster's verdict (this node's judge for the targets it
// probes, the last transition for the others: a member whose observer
// fell silent keeps its last state until a fallback owner reports), the
// latest latency, consecutive failures and error rate, and the ejection in
// force in pool, if any. latency gives the last latency of the targets
// this node probes (one scan of the scheduler for a rebuild, one lookup
// for a lone target).
func (n *Node) memberInputs(now time.Time, latency func(id string) time.Duration) func(t *target.Spec, poolName string) pool.Input {
	return func(t *target.Spec, poolName string) pool.Input {
		in := pool.Input{Spec: t, ErrorRate: -1, Interval: t.Interval.D()}
		if jv, ok := n.judge.Status(t.ID); ok {
			in.State, in.Fails, in.ErrorRate = jv.State, jv.Failures, jv.ErrorRate
			in.Latency = latency(t.ID)
		} else {
			if st, ok := n.tlog.Head(t.ID); ok {
				in.State = st
			}
			if o, ok := n.latestObservation(t.ID); ok {
				in.Latency, in.Fails, in.ErrorRate = o.Latency, int(o.Fails), float64(o.ErrorPct)/100
				if in.State == health.Unknown {
					in.State = o.State
				}
			}
		}
		if poolName != "" {
			if e, ok := n.pools.ejections.Get(poolName + "/" + t.ID); ok && e.Active(now) {
				in.Ejection = &e
			}
		}
		return in
	}
}

// latestObservation returns the freshest observation of a target that
// its observer still stands by.
func (n *Node) latestObservation(id string) (health.Observation, bool) {
	var best health.Observation
	found := false
	for _, o := range n.table.Get(id) {
		if !o.Released && (!found || o.At.After(best.At)) {
			best, found = o, true
		}
	}
	return best, found
}

// judgesPool reports whether this node runs outlier detection for a pool:
// the pool's first owner on the ring of live members (on a single node,
// always). One judge per pool keeps ejections consistent and capped.
func (n *Node) judgesPool(name string) bool {
	if n.cl == nil {
		return true
	}
	owners := n.own.Ring().Owners("pool/"+name, 1)
	return len(owners) == 1 && owners[0] == n.name
}

// poolLoop runs outlier detection over the pools this node judges, ends
// ejections that are over, and notices panics, every poolJudgeEvery.
func (n *Node) poolLoop(ctx context.Context) {
	tick := time.NewTicker(poolJudgeEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			n.judgePools(ctx, now, true)
		case <-n.pools.kick:
			n.judgePools(ctx, time.Now(), false)
		}
	}
}

// confirmRounds is how many judge rounds in a row, and how many of its
// probe intervals, a member must fail a median test (latency, error rate)
// before it is ejected.
const confirmRounds = 3

// suspect is a member failing a median test: since when, in how many
// rounds in a row.
type suspect struct {
	rounds int
	since  time.Time
}

// judgePools is one round of poolLoop; tick is set for the rounds of the
// clock (which count towards confirmRounds), not for the extra rounds a
// panic change asks for.
func (n *Node) judgePools(ctx context.Context, now time.Time, tick bool) {
	s := n.poolSnapshot(now)
	n.noticePanics(ctx, s, now)
	if !tick {
		return
	}
	seen := map[string]bool{}
	for name, v := range s.views {
		if !n.judgesPool(name) {
			continue
		}
		es := pool.Detect(v, now, func(member string) (pool.Ejection, bool) {
			return n.pools.ejections.Get(name + "/" + member)
		})
		confirmed := es[:0]
		for _, e := range es {
			if e.Test == pool.ReasonFailures {
				confirmed = append(confirmed, e)
				continue
			}
			k := e.Key() + "/" + e.Test
			seen[k] = true
			sp, ok := n.pools.suspects[k]
			if !ok {
				sp.since = now
			}
			sp.rounds++
			n.pools.suspects[k] = sp
			var iv time.Duration
			if m, ok := v.Member(e.Member); ok {
				iv = m.Interval
			}
			if sp.rounds >= confirmRounds && now.Sub(sp.since) >= confirmRounds*iv {
				delete(n.pools.suspects, k)
				confirmed = append(confirmed, e)
			}
		}
		for _, e := range confirmed {
			if err := n.pools.ejections.Put(ctx, e.Key(), e); err != nil {
				n.log.Warn("store ejection", "pool", name, "member", e.Member, "err", err)
			}
		}
	}
	for k := range n.pools.suspects {
		if !seen[k] {
			delete(n.pools.suspects, k) // no longer an outlier: start over
		}
	}
	// Forget ejections long over (their repeat count no longer matters),
	// and those of pools or members that are gone.
	for _, e := range n.pools.ejections.List() {
		ej := e.Value
		v, ok := s.views[ej.Pool]
		if !n.judgesPool(ej.Pool) {
			continue
		}
		over := ok && now.Sub(ej.Until) > v.Spec.Outlier.WithDefaults().MaxEjectionTime.D()
		member := false
		if ok { // v is nil for a pool that is gone
			_, member = v.Member(ej.Member)
		}
		if !ok || !member || over {
			if err := n.pools.ejections.Delete(ctx, e.Key); err != nil && !errors.Is(err, objects.ErrNotFound) {
				n.log.Warn("delete ejection", "ejection", e.Key, "err", err)
			}
		}
	}
}

// noticePanics writes the panic state of the pools this node judges when
// it changed (every node then logs it and records the event, see
// onPoolStates), and forgets the states of pools that are gone.
func (n *Node) noticePanics(ctx context.Context, s *poolSnapshot, now time.Time) {
	p := n.pools
	for name, v := range s.views {
		if !n.judgesPool(name) {
			continue
		}
		panic := v.Panic && anyJudged(v) // nothing checked yet (a start) is no panic to report
		cur, ok := p.states.Get(name)
		if ok && cur.Panic == panic || !ok && !panic {
			continue
		}
		st := pool.State{Pool: name, Panic: panic, Since: now, Healthy: v.Healthy, Members: len(v.Members)}
		if err := p.states.Put(ctx, name, st); err != nil {
			n.log.Warn("store pool state", "pool", name, "err", err)
		}
	}
	for _, e := range p.states.List() {
		if _, ok := s.views[e.Key]; !ok && n.judgesPool(e.Key) {
			if err := p.states.Delete(ctx, e.Key); err != nil && !errors.Is(err, objects.ErrNotFound) {
				n.log.Warn("delete pool state", "pool", e.Key, "err", err)
			}
		}
	}
}

// onPoolStates logs a pool entering or leaving panic and records it in
// the event log, on every node, with the same id everywhere.
func (n *Node) onPoolStates(changed []objects.Entry[pool.State], _ bool) {
	for _, e := range changed {
		if e.Deleted {
			continue
		}
		st := e.Value
		ev := events.Transition{TargetID: "pool/" + st.Pool, Subject: "pool/" + st.Pool, At: st.Since, Observer: e.Node,
			Before: "not in panic", After: "in panic"}
		if st.Panic {
			ev.Type = events.TypePoolPanic
			ev.Cause = fmt.Sprintf("%d of %d members healthy, below the panic threshold: consumers fail open", st.Healthy, st.Members)
			n.log.Warn("pool in panic: too few healthy members, consumers fail open", "pool", st.Pool,
				"healthy", st.Healthy, "members", st.Members, "judge", e.Node)
		} else {
			ev.Type, ev.Before, ev.After = events.TypePoolRecovered, "in panic", "not in panic"
			ev.Cause = fmt.Sprintf("%d of %d members healthy", st.Healthy, st.Members)
			n.log.Info("pool out of panic", "pool", st.Pool, "healthy", st.Healthy, "members", st.Members, "judge", e.Node)
		}
		ev.ID = events.EventID(ev.Type, st.Pool, st.Since)
		n.tlog.Append(context.Background(), ev)
	}
}

// anyJudged reports whether some member of v is neither healthy nor
// unknown: a verdict that went against it.
func anyJudged(v *pool.View) bool {
	for i := range v.Members {
		if m := &v.Members[i]; !m.Healthy && m.State != health.Unknown {
			return true
		}
	}
	return false
}

// onEjections counts and logs the ejections this node learns of, from its
// own judging or a peer's.
func (n *Node) onEjections(changed []objects.Entry[pool.Ejection], _ bool) {
	n.pools.invalidate(false)
	p := n.pools
	p.ejectMu.Lock()
	defer p.ejectMu.Unlock()
	for _, e := range changed {
		if e.Deleted {
			continue
		}
		ej := e.Value
		reason, _, _ := strings.Cut(ej.Reason, ":")
		p.ejectCount[[2]string{ej.Pool, reason}]++
		n.log.Warn("member ejected from pool", "pool", ej.Pool, "member", ej.Member, "reason", ej.Reason,
			"until", ej.Until.Format(time.RFC3339), "ejection", ej.Count)
		n.tlog.Append(context.Background(), events.Transition{
			ID: events.EventID(events.TypeEjection, e.Key, ej.At), Type: events.TypeEjection,
			TargetID: ej.Member, Subject: "pool/" + ej.Pool, At: ej.At, Observer: e.Node, Cause: ej.Reason,
			Before: "serving", After: fmt.Sprintf("ejected until %s (ejection %d in a row)", ej.Until.UTC().Format(time.RFC3339), ej.Count),
		})
	}
}

// syncConfig makes the objects of origin "config" that this node wrote
// exactly the config file's specs: new or changed ones are put, ones that
// left the file are deleted; unchanged ones are not rewritten, so a
// restart does not stamp them anew. origin points at a value's Origin.
func syncConfig[T any](ctx context.Context, n *Node, c *objects.Collection[T], specs []T, key func(*T) string, origin func(*T) *string) error {
	want := map[string]bool{}
	var errs []error
	for _, s := range specs {
		*origin(&s) = "config"
		k := key(&s)
		want[k] = true
		if cur, ok := c.Get(k); ok && sameJSON(cur, s) {
			continue
		}
		if err := c.Put(ctx, k, s); err != nil {
			errs = append(errs, fmt.Errorf("%s %s: %w", c.Kind(), k, err))
		}
	}
	for _, e := range c.List() {
		if *origin(&e.Value) == "config" && e.Node == n.name && !want[e.Key] {
			if err := c.Delete(ctx, e.Key); err != nil && !errors.Is(err, objects.ErrNotFound) {
				errs = append(errs, fmt.Errorf("%s %s: %w", c.Kind(), e.Key, err))
			}
		}
	}
	return errors.Join(errs...)
}

// sameJSON reports whether a and b encode alike.
func sameJSON(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}

// poolCollector exports the pools' gauges and the ejections counter.
type poolCollector struct {
	n                                         *Node
	members, healthy, serving, panic, ejected *prometheus.Desc
	ejections                                 *prometheus.Desc
}

func newPoolCollector(n *Node) *poolCollector {
	return &poolCollector{n: n,
		members: metrics.NewDesc(metrics.NamePoolMembers), healthy: metrics.NewDesc(metrics.NamePoolHealthy),
		serving: metrics.NewDesc(metrics.NamePoolServing), panic: metrics.NewDesc(metrics.NamePoolPanic),
		ejected: metrics.NewDesc(metrics.NamePoolEjected), ejections: metrics.NewDesc(metrics.NamePoolEjections)}
}

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.members, c.healthy, c.serving, c.panic, c.ejected, c.ejections} {
		ch <- d
	}
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	for _, v := range c.n.poolSnapshot(time.Now()).views {
		panic := 0.0
		if v.Panic {
			panic = 1
		}
		ch <- prometheus.MustNewConstMetric(c.members, prometheus.GaugeValue, float64(len(v.Members)), v.Name)
		ch <- prometheus.MustNewConstMetric(c.healthy, prometheus.GaugeValue, float64(v.Healthy), v.Name)
		ch <- prometheus.MustNewConstMetric(c.serving, prometheus.GaugeValue, float64(v.Serving), v.Name)
		ch <- prometheus.MustNewConstMetric(c.panic, prometheus.GaugeValue, panic, v.Name)
		ch <- prometheus.MustNewConstMetric(c.ejected, prometheus.GaugeValue, float64(v.Ejected), v.Name)
	}
	p := c.n.pools
	p.ejectMu.Lock()
	defer p.ejectMu.Unlock()
	for k, x := range p.ejectCount {
		ch <- prometheus.MustNewConstMetric(c.ejections, prometheus.CounterValue, float64(x), k[0], k[1])
	}
}
