package node

import (
	"context"
	"fmt"
	"time"

	"github.com/heckhq/heck/internal/cluster/gossipkey"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/heckhq/heck/internal/cluster"
	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/metrics"
	"github.com/heckhq/heck/internal/registry"
	"github.com/heckhq/heck/internal/replica"
	"github.com/heckhq/heck/internal/ring"
	"github.com/heckhq/heck/internal/schedule"
	"github.com/heckhq/heck/internal/version"
)

// defaultRejoinInterval is how often a clustered node retries its join
// addresses and the members it lost.
const defaultRejoinInterval = 5 * time.Second

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
	keys, err := gossipkey.ParseAll(encoded)
	if err != nil {
		return fmt.Errorf("cluster.keys: %w", err)
	}
	n.rep = replica.New(n.reg, n.table, n.log)
	n.rep.AddCollection(n.silences)
	n.rep.AddCollection(n.pools.specs)
	n.rep.AddCollection(n.pools.ejections)
	n.rep.AddCollection(n.pools.states)
	n.rep.AddCollection(n.hb.pings)
	n.rep.AddCollection(n.notifiers)
	n.rep.AddCollection(n.windows)
	n.rep.AddCollection(n.incidents)
	n.rep.AddCollection(n.pages)
	n.rep.AddCollection(n.disp.deliveries)
	for _, c := range n.users.collections() {
		n.rep.AddCollection(c)
	}
	n.bf = newBackfiller(n)
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
	if cl.Waiting() {
		n.log.Info("cluster started alone; waiting for a join address to answer", "gossip", cl.Addr(), "members", 1)
	} else {
		n.log.Info("joined cluster", "gossip", cl.Addr(), "members", len(cl.Members()))
	}
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
	changed := n.own.SetMembers(members, now)
	if changed && n.cl != nil {
		n.log.Info("membership changed", "members", len(members))
		// Share the cluster's latency-only budget among the members, so
		// gossip about latency stays the same whatever the cluster size.
		n.pub.SetLatencyPerSecond(clusterLatencyPerSecond / float64(max(len(members), 1)))
		n.setClusterSize(len(members))
	}
	return changed
}

// setClusterSize lengthens the watermark period past 400 members
// (health.WatermarkPeriod), and the table's stale limit with it; the
// policy scales its silence limit itself in SetMembers.
func (n *Node) setClusterSize(members int) {
	n.pub.SetWatermarkEvery(health.WatermarkPeriod(members))
	n.table.SetClusterSize(members)
}

// clusterLatencyPerSecond is how many latency-only observations per second
// the whole cluster publishes at most (each node its share); state changes
// are never held back.
const clusterLatencyPerSecond = 20

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
	mostSilent := false
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			// Take every event already queued (members joining or failing
			// together), then walk the targets once for all of them.
			for ok {
				n.bf.note(ev, time.Now())
				n.auditMember(ev, time.Now())
				select {
				case ev, ok = <-events:
					if !ok {
						events = nil
					}
				default:
					ok = false
				}
			}
			n.refreshMembership(time.Now())
			n.reconcileAll()
		case now := <-tick.C:
			if gap := now.Sub(last); gap > 3*tickEvery {
				// This process was paused (GC, a starved CPU, a suspended
				// VM): what it hears from others is late for the same
				// reason, so hold fallback decisions until it has caught up.
				n.own.Hold(now.Add(gap + 2*time.Second))
				n.log.Warn("cluster loop was paused; holding takeovers", "paused", gap)
			}
			last = now
			changed := n.refreshMembership(now)
			n.publishWatermark(now)
			// Ownership only moves when membership changes, some member
			// has been silent long enough to lose a target, or this node
			// probes for a silent owner (which may be back): otherwise
			// skip the walk over every target, and in the last case walk
			// only those it probes for others.
			n.mu.Lock()
			fallbacks := n.fallbacks
			n.mu.Unlock()
			silent, most := n.own.CheckSilence(now, time.Duration(n.shortest.Load()))
			if most && !mostSilent {
				n.log.Warn("most members look silent at once: this node is behind on what it hears; holding takeovers")
			}
			mostSilent = most
			switch {
			case changed || silent:
				n.reconcileAll()
			case fallbacks > 0:
				n.reconcileFallbacks()
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
		n.own.Hold(now.Add(2 * time.Second))
	}
	if wm, ok := n.pub.Tick(now, asOf); ok && n.rep != nil {
		n.rep.Publish(health.Delta{Watermarks: []health.Watermark{wm}})
	}
}

// leave hands off gracefully: stop probing, tell the others, stop gossip.
func (n *Node) leave(ctx context.Context) {
	if n.cl == nil {
		return
	}
	if !n.own.Leave() {
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
		gbytes:  metrics.NewDesc(metrics.NameGossipBytes),
		gpk:     metrics.NewDesc(metrics.NameGossipPackets),
		obs:     metrics.NewDesc(metrics.NameObservations),
		msgs:    metrics.NewDesc(metrics.NameReplicationMessages),
		bytes:   metrics.NewDesc(metrics.NameReplicationBytes),
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
