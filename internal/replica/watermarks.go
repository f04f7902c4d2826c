package replica

// multicastAbove is the cluster size above which a node sends its own
// changes (observations and watermarks) straight to every member
// (Multicast) instead of gossiping them, as it already does when its
// gossip is backed up. Gossiped, every change is relayed once by every
// member and retransmitted by each RetransmitMult*log10(N) times, about
// 12 copies per member at 1,000 nodes; the N watermarks of every second
// alone then need more than memberlist's gossip carries past about 100
// members (3 packets of 1.4 KB every 200 ms), the queue backs up, relays
// stop, and a change gossiped just before reaches only a few members until
// anti-entropy (measured in bench/sim, docs/scale.md). Multicast costs
// one copy per member, one hop. Relays of what others gossip (nodes of
// an older version, or of a cluster at or below the threshold) go on as
// before. At or below the threshold nothing changes (bench/cluster's
// figures are at 20 nodes).
const multicastAbove = 32

// memberCounter is what a Transport may also tell: how many members the
// cluster has (cluster.Cluster does).
type memberCounter interface{ NumMembers() int }

// multicastOwn reports whether this node multicasts its own changes.
func multicastOwn(t Transport) bool {
	mc, ok := t.(memberCounter)
	return ok && mc.NumMembers() > multicastAbove
}
