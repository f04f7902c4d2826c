package node

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/heckhq/heck/internal/api"
	"github.com/heckhq/heck/internal/cluster"
	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/registry"
	"github.com/heckhq/heck/internal/replica"
	"github.com/heckhq/heck/internal/ring"
	"github.com/heckhq/heck/internal/schedule"
	"github.com/heckhq/heck/internal/target"
	"github.com/heckhq/heck/internal/version"
)

// defaultRejoinInterval is how often a clustered node retries its join
// addresses and the members it lost.
const defaultRejoinInterval = 5 * time.Second

// membership is what the node knows of the cluster: the ring over the
// live members, and since when each has been seen alive, so a member that
// just joined is not judged stale before it could publish anything.
type membership struct {
	mu        sync.RWMutex
	ring      *ring.Ring
	names     string // the ring's members, joined: a cheap "did it change"
	firstSeen map[string]time.Time
}

func (m *membership) get() *ring.Ring {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.ring
}

func (m *membership) seen(name string) time.Time {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.firstSeen[name]
}

// set installs a new view and reports whether its members changed.
func (m *membership) set(members []ring.Member, spread bool, now time.Time) bool {
	names := make([]string, len(members))
	for i, mb := range members {
		names[i] = mb.Name + "/" + mb.Zone + fmt.Sprintf("/%g", mb.Weight)
	}
	sort.Strings(names)
	key := fmt.Sprint(names)
	m.mu.Lock()
	defer m.mu.Unlock()
	alive := make(map[string]bool, len(members))
	for _, mb := range members {
		alive[mb.Name] = true
		if _, ok := m.firstSeen[mb.Name]; !ok {
			m.firstSeen[mb.Name] = now
		}
	}
	for name := range m.firstSeen {
		if !alive[name] {
			delete(m.firstSeen, name)
		}
	}
	if key == m.names && m.ring != nil {
		return false
	}
	m.names = key
	m.ring = ring.New(members).WithSpreadZones(spread)
	return true
}

// startCluster joins the cluster when one is configured. It wires the
// replica between the registry, the health table and memberlist.
func (n *Node) startCluster(ctx context.Context, apiAddr string) error {
	cc := n.cfg.Cluster
	encoded := cc.Keys
	saved, err := n.loadKeyring()
	if err != nil {
		return err
	}
	if len(saved) > 0 && len(cc.Keys) > 0 {
		// A rotation done at runtime wins; keys the config adds are kept too.
		seen := map[string]bool{}
		for _, k := range saved {
			seen[k] = true
		}
		encoded = saved
		for _, k := range cc.Keys {
			if !seen[k] {
				encoded = append(encoded, k)
			}
		}
	}
	keys, err := cluster.ParseKeys(encoded)
	if err != nil {
		return fmt.Errorf("cluster.keys: %w", err)
	}
	n.rep = replica.New(n.reg, n.table, n.log)
	n.rep.OnObservations(n.onRemoteObservations)
	rejoin := n.opts.rejoinInterval
	if rejoin == 0 {
		// Heal partitions within seconds, not memberlist's 30 s default.
		rejoin = defaultRejoinInterval
	}
	cl, err := cluster.New(cluster.Config{
		NodeName:  n.name,
		Bind:      cc.BindAddr(),
		Advertise: cc.Advertise,
		Join:      cc.JoinAddrs(),
		Zone:      cc.Zone,
		Weight:    cc.Weight,
		APIAddr:   apiAddr,
		Version:   version.Version,
		Keys:      keys,
		Logger:    n.log.With("component", "cluster"),

		Tuning:         n.opts.clusterTuning,
		Transport:      n.opts.clusterTransport,
		RejoinInterval: rejoin,
	}, n.rep)
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	n.rep.SetTransport(cl)
	if err := cl.Start(ctx); err != nil {
		cl.Close()
		return fmt.Errorf("join cluster: %w", err)
	}
	n.cl = cl
	if err := n.promReg.Register(newReplicationCollector(n.rep, n.pub, cl.Traffic)); err != nil {
		cl.Close()
		return fmt.Errorf("register replication metrics: %w", err)
	}
	n.log.Info("joined cluster", "gossip", cl.Addr(), "members", len(cl.Members()))
	return nil
}

// onLocalRegistryChange broadcasts this node's own registry writes; remote
// ones are relayed by the replica itself.
func (n *Node) broadcastRegistry(changed []registry.Entry, remote bool) {
	if n.rep != nil && !remote {
		n.rep.PublishEntries(changed)
	}
}

// refreshMembership rebuilds the ring from the live members and reports
// whether they changed.
func (n *Node) refreshMembership(now time.Time) bool {
	var members []ring.Member
	if n.cl == nil {
		members = []ring.Member{{Name: n.name, Zone: n.cfg.Cluster.Zone, Weight: 1}}
	} else {
		for _, m := range n.cl.Members() {
			if m.State == cluster.StateAlive {
				members = append(members, ring.Member{Name: m.Name, Zone: m.Zone, Weight: m.Weight})
			}
		}
	}
	changed := n.members.set(members, n.cfg.Cluster.Spread == "zone", now)
	if changed && n.cl != nil {
		n.log.Info("membership changed", "members", len(members))
		// Share the cluster's latency-only budget among the members, so
		// gossip about latency stays the same whatever the cluster size.
		n.pub.SetLatencyPerSecond(clusterLatencyPerSecond / float64(max(len(members), 1)))
	}
	return changed
}

// clusterLatencyPerSecond is how many latency-only observations per second
// the whole cluster publishes at most (each node its share); state changes
// are never held back.
const clusterLatencyPerSecond = 20

// anySilent reports whether some other live member has been silent (no
// watermark) for minSilence, the shortest silence that can move a target.
func (n *Node) anySilent(now time.Time) bool {
	r := n.members.get()
	if r == nil {
		return false
	}
	for _, name := range r.Members() {
		if name == n.name {
			continue
		}
		last := n.members.seen(name)
		if wm, ok := n.table.Watermark(name); ok && wm.At.After(last) {
			last = wm.At
		}
		if !last.IsZero() && now.Sub(last) > minSilence {
			return true
		}
	}
	return false
}

// minSilence is the shortest silence after which a node is judged to have
// stopped probing a target: two and a half watermark periods, so a late
// watermark or a dropped packet is not a failover.
const minSilence = 2500 * time.Millisecond

// tickEvery is the period of the cluster loop.
const tickEvery = 500 * time.Millisecond

// clusterLoop keeps ownership current: it follows membership events, and
// every tick publishes this node's watermark and re-checks fallback
// ownership (a silent owner's targets are taken over within about two of
// their intervals, before memberlist declares it dead).
func (n *Node) clusterLoop(ctx context.Context) {
	tick := time.NewTicker(tickEvery)
	defer tick.Stop()
	events := n.cl.Events()
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			n.refreshMembership(time.Now())
			n.reconcileAll()
		case now := <-tick.C:
			if gap := now.Sub(last); gap > 3*tickEvery {
				// This process was paused (GC, a starved CPU, a suspended
				// VM): what it hears from others is late for the same
				// reason, so hold fallback decisions until it has caught up.
				n.holdUntil.Store(now.Add(gap + 2*time.Second).UnixNano())
				n.log.Warn("cluster loop was paused; holding takeovers", "paused", gap)
			}
			last = now
			changed := n.refreshMembership(now)
			n.publishWatermark(now)
			// Ownership only moves when membership changes, some member
			// falls silent, or this node probes for a silent owner (which
			// may be back): otherwise skip the walk over every target.
			n.mu.Lock()
			fallbacks := n.fallbacks
			n.mu.Unlock()
			if changed || fallbacks > 0 || n.anySilent(now) {
				n.reconcileAll()
			}
		}
	}
}

// publishWatermark says "everything I own was probed as of now" unless
// some owned target is overdue by more than two of its intervals (a
// stalled or saturated scheduler must not vouch for itself).
func (n *Node) publishWatermark(now time.Time) {
	asOf := now
	n.sched.Each(func(id string, st *schedule.Status) bool {
		if !st.Next.IsZero() && now.Sub(st.Next) > 2*st.Interval {
			if t := st.Next.Add(-st.Interval); t.Before(asOf) {
				asOf = t
			}
		}
		return true
	})
	if now.Sub(asOf) > time.Second {
		// Behind on its own targets: take over nobody else's.
		n.holdUntil.Store(max(n.holdUntil.Load(), now.Add(2*time.Second).UnixNano()))
	}
	if wm, ok := n.pub.Tick(now, asOf); ok && n.rep != nil {
		n.rep.Publish(health.Delta{Watermarks: []health.Watermark{wm}})
	}
}

// holding reports whether fallback takeovers are on hold (see clusterLoop
// and publishWatermark).
func (n *Node) holding(now time.Time) bool { return now.UnixNano() < n.holdUntil.Load() }

// placement returns how many nodes probe spec's target and whether they
// spread over zones: the target's own settings, else the cluster's.
func (n *Node) placement(spec *target.Spec) (replicas int, spread bool) {
	replicas = spec.Replicas
	if replicas <= 0 {
		replicas = max(n.cfg.Cluster.Replicas, 1)
	}
	spread = spec.Spread == target.SpreadZone || (spec.Spread == "" && n.cfg.Cluster.Spread == target.SpreadZone)
	return replicas, spread
}

// ringFor returns the current ring, zone-spread when asked.
func (n *Node) ringFor(spread bool) *ring.Ring {
	r := n.members.get()
	if r != nil && spread {
		r = r.WithSpreadZones(true)
	}
	return r
}

// ownsTarget reports whether this node should probe the target: it is
// among the target's effective owners. running says whether it probes it
// now: while takeovers are on hold, a node keeps what it has and takes
// nothing new beyond its ring share.
func (n *Node) ownsTarget(spec *target.Spec, interval time.Duration, running bool, now time.Time) bool {
	if n.left.Load() {
		return false
	}
	r := n.ringFor(n.spreadOf(spec))
	if r == nil || r.Len() <= 1 {
		return true
	}
	replicas, _ := n.placement(spec)
	if r.Owns(n.name, spec.ID, replicas) {
		return true
	}
	if n.holding(now) {
		return running
	}
	for name := range n.speaking(r, spec.ID, replicas, interval, now) {
		if name == n.name {
			return true
		}
	}
	return false
}

// effectiveOwners are the nodes that probe the target now (see speaking).
func (n *Node) effectiveOwners(spec *target.Spec, interval time.Duration, now time.Time) []string {
	replicas, spread := n.placement(spec)
	r := n.ringFor(spread)
	if r == nil || r.Len() == 0 {
		return []string{n.name}
	}
	return slices.Collect(n.speaking(r, spec.ID, replicas, interval, now))
}

// speaking yields the target's effective owners, walking its ranking
// lazily: the first replicas nodes that are not silent on it (this node
// always counts as speaking). A silent owner's place goes to the next in
// the fallback order; when it speaks again it takes its place back. The
// walk usually stops at the first (live) owner.
func (n *Node) speaking(r *ring.Ring, targetID string, replicas int, interval time.Duration, now time.Time) iter.Seq[string] {
	return func(yield func(string) bool) {
		found := 0
		for name := range r.Walk(targetID) {
			if name == n.name || n.fresh(name, targetID, interval, now) {
				if !yield(name) {
					return
				}
				if found++; found == replicas {
					return
				}
			}
		}
	}
}

// ringOwners returns the ring owners of spec's target, in order.
func (n *Node) ringOwners(spec *target.Spec) []string {
	replicas, spread := n.placement(spec)
	r := n.ringFor(spread)
	if r == nil || r.Len() == 0 {
		return []string{n.name}
	}
	return r.Owners(spec.ID, replicas)
}

// owners returns the ring owners of spec's target, in order, and the rest
// of the ranking: the fallback order.
func (n *Node) owners(spec *target.Spec) (owners, fallback []string) {
	replicas, spread := n.placement(spec)
	r := n.ringFor(spread)
	if r == nil || r.Len() == 0 {
		return []string{n.name}, nil
	}
	rank := r.Rank(spec.ID)
	if replicas > len(rank) {
		replicas = len(rank)
	}
	return rank[:replicas], rank[replicas:]
}

func (n *Node) spreadOf(spec *target.Spec) bool {
	_, spread := n.placement(spec)
	return spread
}

// fresh reports whether node has shown, within two intervals, that it
// probes target: by an observation (not a release), a watermark, or having
// just joined.
func (n *Node) fresh(node, targetID string, interval time.Duration, now time.Time) bool {
	limit := 2 * interval
	if limit < minSilence {
		limit = minSilence
	}
	last := n.members.seen(node)
	if wm, ok := n.table.Watermark(node); ok && wm.At.After(last) {
		last = wm.At
	}
	if last.IsZero() || now.Sub(last) <= limit {
		return true
	}
	for _, o := range n.table.Get(targetID) {
		if o.Observer == node && !o.Released && now.Sub(o.At) <= limit {
			return true
		}
	}
	return false
}

// leave hands off gracefully: stop probing, tell the others, stop gossip.
func (n *Node) leave(ctx context.Context) {
	if n.cl == nil {
		return
	}
	if n.left.Swap(true) {
		n.cl.Close()
		return
	}
	if err := n.cl.Leave(ctx); err != nil {
		n.log.Warn("graceful leave incomplete", "err", err)
	}
	n.cl.Close()
}

// replicationCollector exports what the replica has sent, per flow, as
// heck_replication_sent_messages_total and heck_replication_sent_bytes_total,
// what the publisher decided, as heck_observations_total, and all the
// node's gossip traffic as heck_gossip_sent_bytes_total and
// heck_gossip_sent_packets_total.
type replicationCollector struct {
	rep         *replica.Replica
	pub         *health.Publisher
	traffic     func() cluster.Traffic
	msgs, bytes *prometheus.Desc
	obs         *prometheus.Desc
	gbytes, gpk *prometheus.Desc
}

func newReplicationCollector(rep *replica.Replica, pub *health.Publisher, traffic func() cluster.Traffic) *replicationCollector {
	return &replicationCollector{
		rep:     rep,
		pub:     pub,
		traffic: traffic,
		gbytes: prometheus.NewDesc(api.MetricGossipBytes,
			"Bytes this node sent to other members, memberlist's own traffic included: UDP packets (udp) and TCP streams (tcp: push/pull, repairs, large deltas).",
			[]string{"transport"}, nil),
		gpk: prometheus.NewDesc(api.MetricGossipPackets, "UDP packets this node sent to other members.", nil, nil),
		obs: prometheus.NewDesc(api.MetricObservations,
			"Probe outcomes by what the publisher did with them: published because the state changed (changed), because only the latency moved (latency), released targets (released), or not published (suppressed).",
			[]string{"outcome"}, nil),
		msgs: prometheus.NewDesc(api.MetricReplicationMessages,
			"Replication messages handed to the cluster, by flow: gossip (own and relayed changes, each then retransmitted by memberlist), direct (too large to gossip: one copy per member), health_repair and registry_repair (anti-entropy answers).",
			[]string{"flow"}, nil),
		bytes: prometheus.NewDesc(api.MetricReplicationBytes,
			"Payload bytes of those messages, by flow.", []string{"flow"}, nil),
	}
}

func (c *replicationCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.msgs
	ch <- c.bytes
	ch <- c.obs
	ch <- c.gbytes
	ch <- c.gpk
}

func (c *replicationCollector) Collect(ch chan<- prometheus.Metric) {
	for f, s := range c.rep.Stats() {
		ch <- prometheus.MustNewConstMetric(c.msgs, prometheus.CounterValue, float64(s.Messages), f.String())
		ch <- prometheus.MustNewConstMetric(c.bytes, prometheus.CounterValue, float64(s.Bytes), f.String())
	}
	st := c.pub.Stats()
	for _, x := range []struct {
		label string
		v     uint64
	}{{"changed", st.Changed}, {"latency", st.Latency}, {"released", st.Released}, {"suppressed", st.Suppressed}} {
		ch <- prometheus.MustNewConstMetric(c.obs, prometheus.CounterValue, float64(x.v), x.label)
	}
	tr := c.traffic()
	ch <- prometheus.MustNewConstMetric(c.gbytes, prometheus.CounterValue, float64(tr.PacketBytes), "udp")
	ch <- prometheus.MustNewConstMetric(c.gbytes, prometheus.CounterValue, float64(tr.StreamBytes), "tcp")
	ch <- prometheus.MustNewConstMetric(c.gpk, prometheus.CounterValue, float64(tr.Packets))
}
