package replica

import (
	"testing"
	"time"

	"github.com/heckhq/heck/internal/health"
)

// sized is an endpoint that tells the cluster's size, as cluster.Cluster does.
type sized struct {
	endpoint
	members int
}

func (s sized) NumMembers() int { return s.members }

// Above multicastAbove members a node sends its own changes, watermarks
// included, straight to every member and they are not relayed; at or below
// it, and when the transport does not say, they are gossiped as before.
func TestLargeClusterMulticastsOwnChanges(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		name    string
		members int // 0: the transport does not tell
		gossip  bool
	}{
		{"unsized", 0, true},
		{"at the threshold", multicastAbove, true},
		{"above it", multicastAbove + 1, false},
		{"a thousand", 1000, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newNet()
			a, b, c := newNode(n, "a", true), newNode(n, "b", true), newNode(n, "c", true)
			if tc.members > 0 {
				for _, nd := range []*node{a, b, c} {
					nd.rep.SetTransport(sized{endpoint{n, nd.name}, tc.members})
				}
			}
			obs := observations("a", 2, now)
			a.table.Apply(obs...)
			a.rep.Publish(health.Delta{Observations: obs,
				Watermarks: []health.Watermark{{Observer: "a", Seq: health.MakeSeq(1, 3), At: now}}})
			a.rep.Flush()
			gossiped, multicast := n.broadcasts["a"], n.multicasts["a"]
			if tc.gossip && (gossiped != 1 || multicast != 0) || !tc.gossip && (gossiped != 0 || multicast != 1) {
				t.Fatalf("%d broadcasts, %d multicasts; want gossip %v", gossiped, multicast, tc.gossip)
			}
			n.flush()
			b.rep.Flush()
			n.flush()
			if wm, ok := c.table.Watermark("a"); !ok || wm.Seq != health.MakeSeq(1, 3) || c.table.Len() != 2 {
				t.Fatalf("c holds %d observations and watermark %+v (%v); want 2 and a's", c.table.Len(), wm, ok)
			}
			relayed := n.broadcasts["b"] + n.multicasts["b"]
			if tc.gossip && relayed != 1 || !tc.gossip && relayed != 0 {
				t.Fatalf("b relayed in %d messages; want %d", relayed, map[bool]int{true: 1, false: 0}[tc.gossip])
			}
		})
	}
}
