package replica

// directWatermarksAbove is the cluster size above which a node multicasts
// its own watermark to every member instead of gossiping it. Gossiped, a
// watermark is relayed once by every member and retransmitted by each
// RetransmitMult*log10(N) times, so N watermarks a second cost every node
// about 12*N*20 bytes a second of gossip: past about 100 members that is
// more than memberlist's gossip can carry (3 packets of 1.4 KB every
// 200 ms), the queue backs up and every change waits behind watermarks
// (measured in bench/sim, docs/scale.md). Multicast costs one copy per
// member (N*35 bytes a second per node) and one hop. Up to 32 members
// gossip stays as it was (bench/cluster's figures).
const directWatermarksAbove = 32

// memberCounter is what a Transport may also tell: how many members the
// cluster has (cluster.Cluster does).
type memberCounter interface{ NumMembers() int }

// directWatermarks reports whether this node multicasts its watermarks.
// A watermark multicast is not relayed; watermarks gossiped by nodes of
// an older version are still relayed as before.
func directWatermarks(t Transport) bool {
	mc, ok := t.(memberCounter)
	return ok && mc.NumMembers() > directWatermarksAbove
}
