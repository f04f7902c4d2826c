package node

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/heckhq/heck/internal/cluster"
	"github.com/heckhq/heck/internal/crdt"
	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/registry"
	"github.com/heckhq/heck/internal/replica"
)

// The cluster metrics report what the transport, the replica and the
// publisher counted.
func TestReplicationCollector(t *testing.T) {
	table := health.NewTable(health.TableOptions{})
	pub := health.NewPublisher("self", table, health.PublisherOptions{})
	pub.Record(health.Outcome{TargetID: "x", State: health.Up})
	pub.Record(health.Outcome{TargetID: "x", State: health.Up})
	rep := replica.New(registry.New("self", crdt.NewClock(nil), nil), table, nil)
	traffic := func() cluster.Traffic { return cluster.Traffic{Packets: 7, PacketBytes: 700, StreamBytes: 1234} }
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(newReplicationCollector(rep, pub, traffic)); err != nil {
		t.Fatal(err)
	}
	for series, v := range map[string]float64{
		`heck_gossip_sent_packets_total`:                      7,
		`heck_gossip_sent_bytes_total{transport="udp"}`:       700,
		`heck_gossip_sent_bytes_total{transport="tcp"}`:       1234,
		`heck_observations_total{outcome="changed"}`:          1,
		`heck_observations_total{outcome="suppressed"}`:       1,
		`heck_replication_sent_bytes_total{flow="gossip"}`:    0,
		`heck_replication_sent_messages_total{flow="direct"}`: 0,
	} {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := find(mfs, series); !ok || got != v {
			t.Errorf("%s = %v (found %v), want %v", series, got, ok, v)
		}
	}
}

// find returns the value of one series, written as name{label="value"}.
func find(mfs []*dto.MetricFamily, series string) (float64, bool) {
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			s := mf.GetName()
			if len(m.GetLabel()) > 0 {
				var parts []string
				for _, l := range m.GetLabel() {
					parts = append(parts, l.GetName()+`="`+l.GetValue()+`"`)
				}
				s += "{" + strings.Join(parts, ",") + "}"
			}
			if s == series {
				return m.GetCounter().GetValue(), true
			}
		}
	}
	return 0, false
}
