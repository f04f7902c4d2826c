// Package sim owns the simulation of a heck cluster at scale: up to a
// thousand nodes and a million targets in one process, on one goroutine,
// in virtual time. Each simulated node runs the real health table and
// publisher (internal/health), judge, ownership policy over the real ring
// (internal/ownership, internal/ring) and replica (internal/replica: the
// real gossip batching, relaying, multicast and anti-entropy encode and
// merge), over a simulated network (latency, loss, partitions; bytes
// counted per node) with memberlist's own broadcast queue and a SWIM-like
// membership. Probes are replaced by a scripted prober. docs/scale.md says
// what is modelled and what is not; bench/sim runs the scenarios.
package sim

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"time"

	"github.com/heckhq/heck/internal/crdt"
	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/judge"
	"github.com/heckhq/heck/internal/registry"
)

// Scenario names what happens after the steady window.
type Scenario string

// The scenarios.
const (
	Steady           Scenario = "steady"      // nothing
	Kill             Scenario = "kill"        // one node crashes
	Kill10           Scenario = "kill10"      // 10% of the nodes crash at once
	Partition        Scenario = "partition"   // zone 0 is cut off for PartitionFor, then healed
	Rolling          Scenario = "rolling"     // every node leaves and restarts, one after another
	Flap             Scenario = "flap"        // Flapping of the targets flap
	ZoneOutage       Scenario = "zone-outage" // the targets of one zone fail for OutageFor
	DependencyOutage Scenario = "dep-outage"  // targets sharing a dependency fail for OutageFor
)

// Scenarios lists every scenario.
func Scenarios() []Scenario {
	return []Scenario{Steady, Kill, Kill10, Partition, Rolling, Flap, ZoneOutage, DependencyOutage}
}

// Config sizes and times a simulation. Zero values take the defaults.
type Config struct {
	Nodes, Targets, Zones int
	Interval              time.Duration // every target's probe interval (10s)
	Scenario              Scenario

	Warm     time.Duration // before anything is measured (20s)
	Steady   time.Duration // the measured steady window before the event (3 intervals)
	Duration time.Duration // after the event (90s)

	PartitionFor    time.Duration // 60s
	AfterHeal       time.Duration // partition: run at least this long after the heal (60s)
	OutageFor       time.Duration // 60s
	RestartEvery    time.Duration // rolling: time between two nodes' restarts (2s)
	RestartDown     time.Duration // rolling: how long a node is down (3s)
	Restarts        int           // rolling: how many nodes restart (all)
	Flapping        float64       // share of targets flapping in Flap (0.01)
	FlapPeriod      time.Duration // a flapping target is down half of it (120s)
	DependencyShare float64       // share of targets behind the shared dependency (0.02)

	LatencyZone, LatencyCross time.Duration // one-way (1ms, 10ms)
	Loss                      float64       // UDP loss (0.001)
	Rejoin                    time.Duration // internal/node's rejoin interval (5s)
	// WatermarkEvery fixes each node's watermark period; 0 scales it with
	// the node's view of the cluster as heck does (health.WatermarkPeriod).
	// Silence and stale limits follow the cluster's size either way.
	WatermarkEvery time.Duration

	// FullTables makes every node's table start with every target's
	// observation, as a real node's does; otherwise tables start sparse
	// (see docs/scale.md) and memory per node is estimated.
	FullTables bool
	Sample     int           // targets checked for convergence (500)
	Seed       uint64        // 1
	WallLimit  time.Duration // stop early after this much real time (none)
}

func (c Config) withDefaults() (Config, error) {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if c.Nodes < 2 || c.Nodes > math.MaxInt16 {
		return c, fmt.Errorf("nodes %d: want 2 to %d", c.Nodes, math.MaxInt16)
	}
	if c.Targets < 1 {
		return c, fmt.Errorf("targets %d: want at least 1", c.Targets)
	}
	if c.Zones <= 0 {
		c.Zones = 10
	}
	c.Zones = min(c.Zones, c.Nodes)
	def(&c.Interval, 10*time.Second)
	if c.Interval < 100*time.Millisecond {
		return c, fmt.Errorf("interval %s: want at least 100ms", c.Interval)
	}
	if c.Scenario == "" {
		c.Scenario = Steady
	}
	if !slices.Contains(Scenarios(), c.Scenario) {
		return c, fmt.Errorf("scenario %q: want one of %v", c.Scenario, Scenarios())
	}
	def(&c.Warm, 20*time.Second)
	def(&c.Steady, 3*c.Interval)
	def(&c.Duration, 90*time.Second)
	def(&c.PartitionFor, 60*time.Second)
	def(&c.OutageFor, 60*time.Second)
	def(&c.AfterHeal, 60*time.Second)
	def(&c.RestartEvery, 2*time.Second)
	def(&c.RestartDown, 3*time.Second)
	if c.RestartDown < 1100*time.Millisecond {
		return c, fmt.Errorf("restart down %s: want at least 1.1s (a sequence epoch is a second)", c.RestartDown)
	}
	if c.Restarts <= 0 || c.Restarts > c.Nodes {
		c.Restarts = c.Nodes
	}
	if c.Flapping <= 0 {
		c.Flapping = 0.01
	}
	def(&c.FlapPeriod, 120*time.Second)
	if c.DependencyShare <= 0 {
		c.DependencyShare = 0.02
	}
	def(&c.LatencyZone, time.Millisecond)
	def(&c.LatencyCross, 10*time.Millisecond)
	if c.Loss < 0 || c.Loss >= 1 {
		return c, fmt.Errorf("loss %g: want 0 to below 1", c.Loss)
	}
	def(&c.Rejoin, 5*time.Second)
	if c.Sample <= 0 {
		c.Sample = 500
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	return c, nil
}

// Sim is one simulation run.
type Sim struct {
	cfg   Config
	loop  loop
	rng   *rand.Rand
	start time.Time

	names    []string
	zoneName []string
	index    map[string]int
	ids      []string
	thash    []uint64
	rk       *ranks
	tr       *truth
	nodes    []*node
	reg      *registry.Registry
	wheel    *wheel

	lastProbe   []int64
	partitioned []bool // by zone, while a partition lasts
	outageFrom  int64
	flapFrom    int64

	// measurement
	measuring bool
	win       []uint8
	windows   []window
	tracks    map[trackKey]*tracked
	moved     []int
	snaps     map[string]snapshot
	converged time.Duration
	viewsAt   time.Duration
	sample    []int32
	warmVV    crdt.VersionVector // the start-up observations, at their owners only in sparse tables
	healAt    int64

	gains, joins, pushPulls, rejoinTries, errs int
	stopped                                    string
	debug                                      func(string)
}

type window struct {
	at                  int64
	probes, zero, multi int
	event               bool
}

type trackKey struct {
	observer string
	seq      uint64
}

type tracked struct {
	at              int64
	need99, need100 int
	got             int
	t99, t100       int64
}

type snapshot struct {
	at    int64
	sent  [numCats]uint64
	max   uint64 // most any one node has sent
	nodes int    // running
}

// New builds a simulation: the targets, their rankings over every node
// (the real ring), and the nodes, not yet started.
func New(cfg Config) (*Sim, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("sim config: %w", err)
	}
	s := &Sim{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, 0x5eed)), index: map[string]int{},
		start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), tracks: map[trackKey]*tracked{},
		snaps: map[string]snapshot{}, converged: -1, viewsAt: -1}
	for i := range cfg.Nodes {
		s.names = append(s.names, fmt.Sprintf("n%04d", i))
		s.index[s.names[i]] = i
	}
	for z := range cfg.Zones {
		s.zoneName = append(s.zoneName, fmt.Sprintf("z%d", z))
	}
	s.ids = make([]string, cfg.Targets)
	s.thash = make([]uint64, cfg.Targets)
	for t := range s.ids {
		s.ids[t] = fmt.Sprintf("t%07d", t)
		s.thash[t] = hash64(s.ids[t])
	}
	if s.rk, err = buildRanks(s.names, s.ids); err != nil {
		return nil, err
	}
	alive := make([]bool, cfg.Nodes)
	for i := range alive {
		alive[i] = true
	}
	s.tr = newTruth(s.rk, alive)
	s.reg = registry.New("sim", crdt.NewClock(s.clock), nil)
	s.wheel = newWheel(cfg.Interval)
	s.lastProbe = make([]int64, cfg.Targets)
	s.win = make([]uint8, cfg.Targets)
	for i := range cfg.Nodes {
		s.nodes = append(s.nodes, s.newNode(i))
	}
	return s, nil
}

// clock is the virtual now every node's code reads.
func (s *Sim) clock() time.Time { return s.start.Add(time.Duration(s.loop.now)) }

func (s *Sim) running() int {
	c := 0
	for _, n := range s.nodes {
		if n.up {
			c++
		}
	}
	return c
}

// warmStart starts every node with the cluster already formed and each
// target's owner holding its first observation (up), as after a cluster's
// start-up has settled: every view is complete and every table's digest
// holds every observer's start-up observations (sparse tables: the
// observations themselves only at their owners, unless FullTables).
func (s *Sim) warmStart() {
	for _, n := range s.nodes {
		n.start()
		for m := range n.alive {
			n.known[m], n.alive[m] = true, true
		}
		n.nAlive = len(n.alive)
		n.pol.SetMembers(n.members(), s.clock())
		n.setClusterSize()
		copy(n.ringWas, n.alive)
		n.dirty, n.started = false, true
	}
	vv := crdt.VersionVector{}
	var all []health.Observation
	now := s.clock()
	for t := range s.ids {
		o := int(s.rk.top[t][0])
		n := s.nodes[o]
		id := s.ids[t]
		n.jd.Set(id, judge.Rule{Rise: 2, Fall: 3}, health.Up, now)
		n.gen++
		n.probing[int32(t)] = n.gen
		s.wheel.add(int64(s.thash[t]%uint64(s.cfg.Interval)), int32(t), o, n.gen)
		obs, _ := n.pub.Record(health.Outcome{TargetID: id, State: health.Up, Since: now, At: now,
			Latency: time.Duration(2+s.thash[t]%7) * time.Millisecond, Interval: s.cfg.Interval})
		vv[n.name] = max(vv[n.name], obs.Seq)
		if s.cfg.FullTables {
			all = append(all, obs)
		}
	}
	s.warmVV = vv
	for _, n := range s.nodes {
		n.table.Merge(health.Delta{Digest: vv})
		if s.cfg.FullTables {
			n.table.Merge(health.Delta{Observations: all})
		}
	}
}

// Run runs the scenario and returns its figures.
func (s *Sim) Run() (*Result, error) {
	cfg := s.cfg
	wallStart := time.Now()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc

	s.warmStart()
	s.loop.every(0, wheelSlot, func() bool { s.fireSlot(); return true })

	W := int64(cfg.Warm)
	E := W + int64(cfg.Steady)
	end := E + int64(cfg.Duration)
	if cfg.Scenario == Partition {
		end = max(end, E+int64(cfg.PartitionFor)+int64(cfg.AfterHeal))
	}
	if cfg.Scenario == Rolling {
		end = max(end, E+int64(cfg.Restarts)*int64(cfg.RestartEvery)+int64(30*time.Second))
	}
	s.loop.at(W, func() { s.measuring = true; s.snap("steady") })
	s.loop.every(W+int64(cfg.Interval), cfg.Interval, func() bool { s.closeWindow(E); return true })
	s.loop.at(E, func() { s.snap("event"); s.event(E) })

	var events uint64
	var runErr error
	s.loop.run(end, func() bool {
		events++
		if events%4096 == 0 && cfg.WallLimit > 0 && time.Since(wallStart) > cfg.WallLimit {
			s.stopped = fmt.Sprintf("wall-clock limit %s reached at %.0fs of virtual time", cfg.WallLimit, time.Duration(s.loop.now).Seconds())
			return true
		}
		return s.converged >= 0 && cfg.Scenario == Partition && s.loop.now > s.healAt+int64(20*time.Second)
	})
	s.snap("end")
	if s.errs > 0 {
		runErr = errors.Join(runErr, fmt.Errorf("%d malformed frames", s.errs))
	}
	r := s.result(time.Since(wallStart), events)
	runtime.GC()
	runtime.ReadMemStats(&ms)
	if ms.HeapAlloc > base {
		r.MemPerNode = float64(ms.HeapAlloc-base) / float64(cfg.Nodes)
	}
	runtime.KeepAlive(s)
	r.ObservationBytes = observationBytes()
	r.FullTableBytes = r.ObservationBytes * float64(cfg.Targets)
	return r, runErr
}

// observationBytes measures what one observation costs in a table (the
// row, its index entry, the map), to estimate a full table.
func observationBytes() float64 {
	const n = 50000
	var ms runtime.MemStats
	tb := health.NewTable(health.TableOptions{})
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("t%07d", i)
	}
	runtime.GC()
	runtime.ReadMemStats(&ms)
	before := ms.HeapAlloc
	for i, id := range ids {
		tb.Apply(health.Observation{TargetID: id, Observer: "n0001", Seq: uint64(i + 1), State: health.Up, Since: at, At: at,
			Interval: 10 * time.Second})
	}
	runtime.GC()
	runtime.ReadMemStats(&ms)
	runtime.KeepAlive(tb)
	if ms.HeapAlloc < before {
		return 0
	}
	return float64(ms.HeapAlloc-before) / n
}

func (s *Sim) snap(name string) {
	sn := snapshot{at: s.loop.now}
	for _, n := range s.nodes {
		tot := uint64(0)
		for c := range numCats {
			sn.sent[c] += n.sent[c]
			tot += n.sent[c]
		}
		sn.max = max(sn.max, tot)
		if n.up {
			sn.nodes++
		}
	}
	s.snaps[name] = sn
}

func (s *Sim) countProbe(t int32) {
	if s.measuring && s.win[t] < 255 {
		s.win[t]++
	}
}

func (s *Sim) closeWindow(event int64) {
	w := window{at: s.loop.now - int64(s.cfg.Interval), event: s.loop.now > event}
	for t, c := range s.win {
		w.probes += int(c)
		if c == 0 {
			w.zero++
		} else if c > 1 {
			w.multi++
		}
		s.win[t] = 0
	}
	s.windows = append(s.windows, w)
}

// track starts timing how long a published change of state takes to reach
// the other running nodes.
func (s *Sim) track(n *node, obs health.Observation) {
	if !s.measuring {
		return
	}
	others := s.running() - 1
	s.tracks[trackKey{obs.Observer, obs.Seq}] = &tracked{at: s.loop.now, need100: others,
		need99: max(1, int(math.Floor(0.99*float64(others)))), t99: -1, t100: -1}
}

// arrived is every node's replica telling of remote observations that
// changed its table.
func (s *Sim) arrived(_ *node, obs []health.Observation) {
	if len(s.tracks) == 0 {
		return
	}
	for i := range obs {
		tr := s.tracks[trackKey{obs[i].Observer, obs[i].Seq}]
		if tr == nil {
			continue
		}
		tr.got++
		if tr.got == tr.need99 {
			tr.t99 = s.loop.now - tr.at
		}
		if tr.got == tr.need100 {
			tr.t100 = s.loop.now - tr.at
		}
	}
}

// event starts the scenario's event at virtual time at.
func (s *Sim) event(at int64) {
	cfg := s.cfg
	switch cfg.Scenario {
	case Kill:
		s.kill(s.rng.IntN(cfg.Nodes))
	case Kill10:
		for _, m := range s.rng.Perm(cfg.Nodes)[:max(1, cfg.Nodes/10)] {
			s.kill(m)
		}
	case Partition:
		s.partitioned = make([]bool, cfg.Zones)
		s.partitioned[0] = true
		s.loop.at(at+int64(cfg.PartitionFor), func() {
			s.partitioned = nil
			s.healAt = s.loop.now
			s.pickSample()
			s.loop.every(s.loop.now, 500*time.Millisecond, func() bool { return !s.checkConverged() })
		})
	case Rolling:
		for i := range cfg.Restarts {
			m := i
			s.loop.at(at+int64(i)*int64(cfg.RestartEvery), func() { s.restart(m) })
		}
	case Flap:
		s.flapFrom = at
	case ZoneOutage, DependencyOutage:
		s.outageFrom = at
	}
}

func (s *Sim) kill(m int) {
	if !s.nodes[m].up {
		return
	}
	s.nodes[m].stop()
	s.moved = append(s.moved, s.tr.set(m, false))
}

func (s *Sim) restart(m int) {
	n := s.nodes[m]
	if !n.up {
		return
	}
	n.leave()
	s.moved = append(s.moved, s.tr.set(m, false))
	s.loop.after(s.cfg.RestartDown, func() {
		n.start()
		n.myInc = 0
		for _, p := range s.rng.Perm(len(s.nodes)) {
			if p != m && s.nodes[p].up && s.pushPull(m, p, true) {
				break
			}
		}
		s.moved = append(s.moved, s.tr.set(m, true))
	})
}

// pickSample picks the targets whose tables are compared for convergence
// after a partition heals: half owned from the cut-off zone, half not.
func (s *Sim) pickSample() {
	var in, out []int32
	for _, t := range s.rng.Perm(len(s.ids)) {
		o := s.tr.own[t]
		if o >= 0 && s.nodes[o].zone == 0 {
			if len(in) < s.cfg.Sample/2 {
				in = append(in, int32(t))
			}
		} else if len(out) < s.cfg.Sample/2 {
			out = append(out, int32(t))
		}
		if len(in)+len(out) >= s.cfg.Sample {
			break
		}
	}
	s.sample = append(in, out...)
}

// checkConverged reports whether every running node sees every other
// alive and holds, for every sampled target, the newest observation any
// node holds from each observer.
func (s *Sim) checkConverged() bool {
	up := s.running()
	for _, n := range s.nodes {
		if n.up && n.nAlive != up {
			return false
		}
	}
	if s.viewsAt < 0 {
		s.viewsAt = time.Duration(s.loop.now - s.healAt)
	}
	for _, t := range s.sample {
		ref := map[string]uint64{}
		for _, n := range s.nodes {
			if !n.up {
				continue
			}
			for _, o := range n.table.Get(s.ids[t]) {
				if o.Seq > s.warmVV[o.Observer] {
					ref[o.Observer] = max(ref[o.Observer], o.Seq)
				}
			}
		}
		for _, n := range s.nodes {
			if !n.up {
				continue
			}
			held := 0
			for _, o := range n.table.Get(s.ids[t]) {
				if o.Seq <= s.warmVV[o.Observer] {
					continue // sparse tables hold start-up observations at their owners only
				}
				if ref[o.Observer] != o.Seq {
					return false
				}
				held++
			}
			if held != len(ref) {
				return false
			}
		}
	}
	s.converged = time.Duration(s.loop.now - s.healAt)
	return true
}
