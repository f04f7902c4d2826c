package node

import (
	"testing"
	"time"

	"github.com/heckhq/heck/internal/health"
)

// A membership change sets the publisher's watermark period and the
// table's stale limit from the cluster size.
func TestSetClusterSize(t *testing.T) {
	n := &Node{table: health.NewTable(health.TableOptions{})}
	n.pub = health.NewPublisher("a", n.table, health.PublisherOptions{})
	for _, tc := range []struct {
		members      int
		every, stale time.Duration
	}{
		{3, time.Second, 3 * time.Second},
		{1000, 2500 * time.Millisecond, 7500 * time.Millisecond},
		{400, time.Second, 3 * time.Second},
	} {
		n.setClusterSize(tc.members)
		if got := n.pub.WatermarkEvery(); got != tc.every {
			t.Errorf("%d members: watermark period %v, want %v", tc.members, got, tc.every)
		}
		if got := n.table.MinStale(); got != tc.stale {
			t.Errorf("%d members: table MinStale %v, want %v", tc.members, got, tc.stale)
		}
	}
}
