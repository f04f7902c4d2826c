package metrics_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/heckhq/heck/internal/metrics"
)

// TestNamesStable pins the name, type and labels of every exported metric:
// bench/, dashboards and alerts read them, so changing one here is a
// deliberate act (and a line in the release notes).
func TestNamesStable(t *testing.T) {
	want := []struct {
		name   string
		typ    dto.MetricType
		labels []string
	}{
		{"heck_checks_total", dto.MetricType_COUNTER, []string{"kind", "result", "reason"}},
		{"heck_check_duration_seconds", dto.MetricType_HISTOGRAM, []string{"kind"}},
		{"heck_schedule_lateness_seconds", dto.MetricType_HISTOGRAM, nil},
		{"heck_targets", dto.MetricType_GAUGE, []string{"state"}},
		{"heck_target_up", dto.MetricType_GAUGE, []string{"id"}},
		{"heck_transitions_total", dto.MetricType_COUNTER, []string{"to"}},
		{"heck_store_write_errors_total", dto.MetricType_COUNTER, nil},
		{"heck_store_dropped_results_total", dto.MetricType_COUNTER, nil},
		{"heck_replication_sent_messages_total", dto.MetricType_COUNTER, []string{"flow"}},
		{"heck_replication_sent_bytes_total", dto.MetricType_COUNTER, []string{"flow"}},
		{"heck_observations_total", dto.MetricType_COUNTER, []string{"outcome"}},
		{"heck_gossip_sent_bytes_total", dto.MetricType_COUNTER, []string{"transport"}},
		{"heck_gossip_sent_packets_total", dto.MetricType_COUNTER, nil},
		{"heck_pool_members", dto.MetricType_GAUGE, []string{"pool"}},
		{"heck_pool_healthy", dto.MetricType_GAUGE, []string{"pool"}},
		{"heck_pool_serving", dto.MetricType_GAUGE, []string{"pool"}},
		{"heck_pool_panic", dto.MetricType_GAUGE, []string{"pool"}},
		{"heck_pool_ejected", dto.MetricType_GAUGE, []string{"pool"}},
		{"heck_pool_ejections_total", dto.MetricType_COUNTER, []string{"pool", "reason"}},
		{"heck_dns_queries_total", dto.MetricType_COUNTER, []string{"rcode"}},
		{"heck_haproxy_agent_replies_total", dto.MetricType_COUNTER, []string{"reply"}},
	}
	got := metrics.Families()
	if len(got) != len(want) {
		var names []string
		for _, f := range got {
			names = append(names, f.Name)
		}
		t.Fatalf("%d families declared, want %d: %v", len(got), len(want), names)
	}
	for i, w := range want {
		f := got[i]
		if f.Name != w.name || f.Type != w.typ || !slices.Equal(f.Labels, w.labels) {
			t.Errorf("family %d = %s %v %v, want %s %v %v", i, f.Name, f.Type, f.Labels, w.name, w.typ, w.labels)
		}
		if f.Help == "" || strings.ContainsAny(f.Help, "\n\\") {
			t.Errorf("%s: help %q is empty or needs escaping", f.Name, f.Help)
		}
	}
	// The constants are the names.
	for _, c := range []string{metrics.NameChecks, metrics.NameCheckDuration, metrics.NameLateness, metrics.NameTargets,
		metrics.NameTargetUp, metrics.NameTransitions, metrics.NameStoreWriteErrors, metrics.NameReplicationMessages,
		metrics.NameReplicationBytes, metrics.NameObservations, metrics.NameGossipBytes, metrics.NameGossipPackets,
		metrics.NamePoolMembers, metrics.NamePoolHealthy, metrics.NamePoolServing, metrics.NamePoolPanic, metrics.NamePoolEjected,
		metrics.NamePoolEjections, metrics.NameDNSQueries, metrics.NameAgentReplies} {
		if _, ok := metrics.Lookup(c); !ok {
			t.Errorf("constant %q is not a declared family", c)
		}
	}
}

// Families hands out copies: a caller cannot rename a label for everyone.
func TestFamiliesCopy(t *testing.T) {
	metrics.Families()[0].Labels[0] = "changed"
	f, _ := metrics.Lookup(metrics.NameChecks)
	f.Labels[1] = "changed"
	if g, _ := metrics.Lookup(metrics.NameChecks); g.Labels[0] != "kind" || g.Labels[1] != "result" {
		t.Fatalf("labels changed through a copy: %v", g.Labels)
	}
}

// What the package's collectors export is what Families declares: the
// same type and label names on every series.
func TestGatheredFamiliesDeclared(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := metrics.NewChecks(reg)
	m.ObserveCheck("http", false, 0, 0, 0)
	m.AddStoreWriteErrors(1)
	reg.MustRegister(metrics.NewTargets(states{{"a", 1}}))
	mfs := scrapeFamilies(t, metrics.Handler(reg, states{{"a", 1}}, metrics.HandlerOptions{PerTarget: true}), false)
	seen := map[string]bool{}
	for name, mf := range mfs {
		f, ok := metrics.Lookup(name)
		if !ok {
			t.Errorf("%s is exported but not declared in Families", name)
			continue
		}
		seen[name] = true
		if mf.GetType() != f.Type {
			t.Errorf("%s is a %v, declared %v", name, mf.GetType(), f.Type)
		}
		if mf.GetHelp() != f.Help {
			t.Errorf("%s help %q, declared %q", name, mf.GetHelp(), f.Help)
		}
		for _, s := range mf.Metric {
			var labels []string
			for _, l := range s.Label {
				labels = append(labels, l.GetName())
			}
			if !sameSet(labels, f.Labels) {
				t.Errorf("%s series has labels %v, declared %v", name, labels, f.Labels)
			}
		}
	}
	for _, name := range []string{metrics.NameChecks, metrics.NameCheckDuration, metrics.NameLateness, metrics.NameTargets,
		metrics.NameTargetUp, metrics.NameTransitions, metrics.NameStoreWriteErrors} {
		if !seen[name] {
			t.Errorf("%s is declared but not exported", name)
		}
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

type badCollector struct{ d *prometheus.Desc }

func (c badCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.d }
func (c badCollector) Collect(chan<- prometheus.Metric)    {}

// A collector describing an undeclared name cannot register, and the
// error says where to declare it.
func TestNewDescUndeclared(t *testing.T) {
	err := prometheus.NewRegistry().Register(badCollector{metrics.NewDesc("heck_nope_total")})
	if err == nil || !strings.Contains(err.Error(), "heck_nope_total") || !strings.Contains(err.Error(), "names.go") {
		t.Fatalf("register undeclared = %v, want an error naming heck_nope_total and names.go", err)
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		t.Fatal("undeclared name reported as already registered")
	}
	if err := prometheus.NewRegistry().Register(badCollector{metrics.NewDesc(metrics.NameGossipPackets)}); err != nil {
		t.Fatalf("register declared: %v", err)
	}
}
