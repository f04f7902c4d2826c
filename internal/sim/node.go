package sim

import (
	"encoding/binary"
	"log/slog"
	"math"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/heckhq/heck/internal/cluster"
	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/judge"
	"github.com/heckhq/heck/internal/ownership"
	"github.com/heckhq/heck/internal/replica"
	"github.com/heckhq/heck/internal/ring"
	"github.com/heckhq/heck/internal/target"
)

// node is one simulated heck node: the real health table, publisher,
// judge, ownership policy and replica, over the simulated network, with
// memberlist's gossip queue (memberlist.TransmitLimitedQueue itself) and a
// SWIM-like membership of the simulation's own.
type node struct {
	s    *Sim
	id   int
	name string
	zone int
	up   bool
	life int // bumped at every start; events of an older life are dropped

	table *health.Table
	pub   *health.Publisher
	jd    *judge.Judge
	rep   *replica.Replica
	pol   *ownership.Policy
	q     *memberlist.TransmitLimitedQueue // heck's deltas
	mq    *memberlist.TransmitLimitedQueue // memberlist's membership messages

	// Membership as this node sees it.
	known   []bool
	alive   []bool
	inc     []uint32
	deadAt  []int64 // when this node last saw each member die
	nAlive  int     // including itself
	myInc   uint32
	dirty   bool
	ringWas []bool // alive as of the last SetMembers
	suspect map[int]bool
	// suspected: incarnation+1 at which a suspect message about each
	// member was passed on (suspect.go).
	suspected map[int]uint32
	started   bool // SetMembers has run once this life

	probing   map[int32]uint32 // target -> generation of its probe entry
	fallbacks map[int32]bool   // probed for a silent owner, not by the ring
	ahead     map[int][]int32
	gen       uint32

	sent [numCats]uint64
}

func (s *Sim) newNode(id int) *node {
	n := &node{s: s, id: id, name: s.names[id], zone: id % s.cfg.Zones}
	n.known = make([]bool, s.cfg.Nodes)
	n.alive = make([]bool, s.cfg.Nodes)
	n.inc = make([]uint32, s.cfg.Nodes)
	n.deadAt = make([]int64, s.cfg.Nodes)
	n.ringWas = make([]bool, s.cfg.Nodes)
	return n
}

// start brings the node up with empty state, as a process starting: a new
// table, a publisher in a new sequence epoch, a new judge and replica.
func (n *node) start() {
	s := n.s
	n.up = true
	n.life++
	n.table = health.NewTable(health.TableOptions{})
	n.pub = health.NewPublisher(n.name, n.table, health.PublisherOptions{Now: s.clock, WatermarkEvery: s.cfg.WatermarkEvery,
		LatencyPerSecond: clusterLatencyPerSecond / float64(s.cfg.Nodes)})
	n.jd = judge.New()
	n.rep = replica.New(s.reg, n.table, slog.New(slog.DiscardHandler))
	n.rep.SetTransport(n)
	n.rep.OnObservations(func(obs []health.Observation) { s.arrived(n, obs) })
	n.pol = ownership.New(n.name, ownership.Defaults{Replicas: 1}, n.table)
	n.q = &memberlist.TransmitLimitedQueue{NumNodes: func() int { return n.nAlive }, RetransmitMult: retransmitMult}
	n.mq = &memberlist.TransmitLimitedQueue{NumNodes: func() int { return n.nAlive }, RetransmitMult: retransmitMult}
	clear(n.known)
	clear(n.alive)
	clear(n.ringWas)
	n.known[n.id], n.alive[n.id], n.nAlive = true, true, 1
	n.suspect = map[int]bool{}
	n.suspected = map[int]uint32{}
	n.probing = map[int32]uint32{}
	n.fallbacks = map[int32]bool{}
	n.ahead = map[int][]int32{}
	n.started = false
	n.dirty = true
	n.schedule()
}

// clusterLatencyPerSecond is internal/node's cluster-wide latency budget.
const clusterLatencyPerSecond = 20

// tickEvery is internal/node's cluster loop period.
const tickEvery = 500 * time.Millisecond

// schedule starts the node's periodic work, each at a random phase: the
// replica's flush, memberlist's gossip, probe and push/pull rounds, heck's
// rejoin loop and its cluster loop.
func (n *node) schedule() {
	s, life := n.s, n.life
	alive := func() bool { return n.up && n.life == life }
	phase := func(d time.Duration) int64 { return s.loop.now + s.rng.Int64N(int64(d)) }
	s.loop.every(phase(50*time.Millisecond), 50*time.Millisecond, func() bool {
		if alive() {
			n.rep.Flush()
		}
		return alive()
	})
	s.loop.every(phase(gossipInterval), gossipInterval, func() bool {
		if alive() {
			n.gossip()
		}
		return alive()
	})
	s.loop.every(phase(probeInterval), probeInterval, func() bool {
		if alive() {
			n.probeMember()
		}
		return alive()
	})
	pp := pushPullInterval(s.cfg.Nodes)
	s.loop.every(phase(pp), pp, func() bool {
		if alive() {
			if m := n.randomMembers(1, s.rng); len(m) == 1 {
				s.pushPull(n.id, m[0], false)
			}
		}
		return alive()
	})
	streak := 0 // internal/cluster's rejoin loop: faster while dead members answer
	var rejoin func()
	rejoin = func() {
		if !alive() {
			return
		}
		var next time.Duration
		next, streak = cluster.NextRejoin(s.cfg.Rejoin, n.rejoin(), streak)
		s.loop.after(next, rejoin)
	}
	s.loop.at(phase(s.cfg.Rejoin), rejoin)
	s.loop.every(phase(tickEvery), tickEvery, func() bool {
		if alive() {
			n.tick()
		}
		return alive()
	})
}

// pushPullInterval is memberlist's push/pull interval scaled for the
// cluster size (pushPullScale: doubling past 32 nodes, log2).
func pushPullInterval(n int) time.Duration {
	if n <= 32 {
		return pushPullBase
	}
	mult := math.Ceil(math.Log2(float64(n))-math.Log2(32)) + 1
	return time.Duration(mult) * pushPullBase
}

// suspicionTimeout is memberlist's suspicion timeout once confirmed:
// SuspicionMult * max(1, log10(n)) * ProbeInterval.
func suspicionTimeout(n int) time.Duration {
	scale := max(1, math.Log10(float64(max(1, n))))
	return time.Duration(suspicionMult * scale * float64(probeInterval))
}

// stop ends the process at once (a crash): nothing is handed off.
func (n *node) stop() {
	n.up = false
	n.table, n.pub, n.jd, n.rep, n.pol = nil, nil, nil, nil, nil
	n.probing, n.fallbacks, n.ahead = nil, nil, nil
}

// leave is a graceful leave, as internal/node's: stop probing, tell every
// member reliably (heck's msgLeave) and by gossip (memberlist's leave),
// then stop after a second.
func (n *node) leave() {
	n.pol.Leave()
	for t := range n.probing {
		n.lose(t)
	}
	var inc [4]byte
	binary.LittleEndian.PutUint32(inc[:], n.myInc)
	f := frame(msgLeave, n.name, inc[:])
	n.eachMember(func(m int) { _ = n.s.tcp(n.id, m, catReliable, f) })
	n.mq.QueueBroadcast(&bcast{msg: memberMsg(memDead, n.id, n.myInc), member: n.id})
	life := n.life
	n.s.loop.after(time.Second, func() {
		if n.life == life && n.up {
			n.stop()
		}
	})
}

// members is this node's view as ring members.
func (n *node) members() []ring.Member {
	out := make([]ring.Member, 0, n.nAlive)
	for m, a := range n.alive {
		if a {
			out = append(out, ring.Member{Name: n.s.names[m], Zone: n.s.zoneName[n.s.nodes[m].zone], Weight: 1})
		}
	}
	return out
}

// aheadOf caches rk.ahead for this node.
func (n *node) aheadOf(m int) []int32 {
	ts, ok := n.ahead[m]
	if !ok {
		ts = n.s.rk.ahead(n.id, m)
		n.ahead[m] = ts
	}
	return ts
}

// tick is internal/node's cluster loop: refresh membership (and reconcile
// what it moves), publish the watermark, and re-check fallbacks while some
// member is silent or this node stands in for one. A real node walks every
// target on a change; this one asks the policy only about the targets the
// change can move for it (see topK).
func (n *node) tick() {
	s := n.s
	now := s.clock()
	if n.dirty {
		n.dirty = false
		n.pol.SetMembers(n.members(), now)
		n.setClusterSize()
		if !n.started {
			n.started = true
			for _, t := range s.rk.lists[n.id] {
				n.reconcile(t, now)
			}
		} else {
			for m := range n.alive {
				if n.alive[m] != n.ringWas[m] {
					for _, t := range n.aheadOf(m) {
						n.reconcile(t, now)
					}
				}
			}
		}
		copy(n.ringWas, n.alive)
	}
	if wm, ok := n.pub.Tick(now, now); ok {
		n.rep.Publish(health.Delta{Watermarks: []health.Watermark{wm}})
	}
	for t := range n.fallbacks {
		// A stand-in's answer changes only once a member ahead of it
		// speaks again (or the view changes, handled above): skip the
		// policy while every one of them is still silent.
		if !n.couldTakeOver(t, now) {
			n.reconcile(t, now)
		}
	}
	if some, _ := n.pol.CheckSilence(now, n.s.cfg.Interval); some {
		for m, a := range n.alive {
			if !a || m == n.id || !n.silent(m, now) {
				continue
			}
			for _, t := range n.aheadOf(m) {
				if _, ok := n.probing[t]; !ok && n.couldTakeOver(t, now) {
					n.reconcile(t, now)
				}
			}
		}
	}
}

// setClusterSize is internal/node's reaction to a membership change: the
// watermark period of the cluster's size (unless Config.WatermarkEvery
// fixes it) and the table's stale limit with it.
func (n *node) setClusterSize() {
	if n.s.cfg.WatermarkEvery <= 0 {
		n.pub.SetWatermarkEvery(health.WatermarkPeriod(n.nAlive))
	}
	n.table.SetClusterSize(n.nAlive)
}

// silent reports whether member m has been silent (no watermark) for the
// policy's silence limit.
func (n *node) silent(m int, now time.Time) bool {
	wm, ok := n.table.Watermark(n.s.names[m])
	return ok && now.Sub(wm.At) > n.pol.Silence()
}

// couldTakeOver is a cheap filter before asking the policy: every member
// ranked ahead of this node for t is gone from its view or silent for two
// intervals.
func (n *node) couldTakeOver(t int32, now time.Time) bool {
	limit := max(2*n.s.cfg.Interval, n.pol.Silence())
	for _, m := range n.s.rk.top[t] {
		if int(m) == n.id {
			return true
		}
		if m < 0 {
			return false
		}
		if !n.alive[m] {
			continue
		}
		wm, ok := n.table.Watermark(n.s.names[m])
		if !ok || now.Sub(wm.At) <= limit {
			return false
		}
	}
	return false
}

// reconcile asks the policy whether this node probes t and starts or
// stops probing it.
func (n *node) reconcile(t int32, now time.Time) {
	spec := target.Spec{ID: n.s.ids[t]}
	_, running := n.probing[t]
	owns := n.pol.Owns(&spec, n.s.cfg.Interval, running && n.fallbacks[t], now)
	switch {
	case owns && !running:
		n.gain(t, now)
	case !owns && running:
		n.lose(t)
	}
	if owns {
		if r := n.pol.Ring(); r != nil && !r.Owns(n.name, spec.ID, 1) {
			n.fallbacks[t] = true
		} else {
			delete(n.fallbacks, t)
		}
	}
}

// gain starts probing t from the last state the cluster knows of it. A
// target whose last probe is older than an interval (its owner died or
// went silent) is probed within a tenth of an interval; one handed over
// between live nodes keeps its rhythm.
func (n *node) gain(t int32, now time.Time) {
	s := n.s
	id := s.ids[t]
	state, since := health.Up, s.start
	for _, o := range n.table.Get(id) {
		if !o.Released && o.State != health.Unknown {
			state, since = o.State, o.Since
		}
	}
	n.jd.Set(id, judge.Rule{Rise: 2, Fall: 3}, state, since)
	n.gen++
	n.probing[t] = n.gen
	next := s.lastProbe[t] + int64(s.cfg.Interval)
	if s.lastProbe[t] == 0 || next < s.loop.now {
		next = s.loop.now + s.rng.Int64N(int64(s.cfg.Interval/10)+1)
	}
	s.wheel.add(next, t, n.id, n.gen)
	s.gains++
}

// lose stops probing t and publishes the release.
func (n *node) lose(t int32) {
	delete(n.probing, t)
	delete(n.fallbacks, t)
	id := n.s.ids[t]
	n.jd.Remove(id)
	if obs, ok := n.pub.Release(id, n.s.clock()); ok {
		n.rep.Publish(health.Delta{Observations: []health.Observation{obs}})
	}
}

// probe runs one simulated probe of t, judged and published as
// internal/node does with a real outcome.
func (n *node) probe(t int32) {
	s := n.s
	now := s.clock()
	id := s.ids[t]
	ok, lat := s.script(t, s.loop.now)
	v, judged := n.jd.Observe(id, judge.Input{OK: ok, At: now}, nil)
	if !judged {
		return
	}
	s.countProbe(t)
	obs, pub := n.pub.Record(health.Outcome{
		TargetID: id, State: v.State, Since: v.Since, At: now, Latency: lat,
		Interval: s.cfg.Interval, Fails: uint8(min(v.Failures, 255)), ErrorPct: uint8(math.Round(v.ErrorRate * 100)),
	})
	if pub {
		n.rep.Publish(health.Delta{Observations: []health.Observation{obs}})
		if v.Changed {
			s.track(n, obs)
		}
	}
}
