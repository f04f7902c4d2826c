package metrics

import (
	"fmt"
	"slices"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Names of every metric a node exports. bench/, dashboards and alerts read
// them: keep them stable (TestNamesStable pins each name with its labels).
const (
	NameChecks           = "heck_checks_total"
	NameCheckDuration    = "heck_check_duration_seconds"
	NameLateness         = "heck_schedule_lateness_seconds"
	NameTargets          = "heck_targets"
	NameTargetUp         = "heck_target_up"
	NameTransitions      = "heck_transitions_total"
	NameStoreWriteErrors = "heck_store_write_errors_total"
	// Stores that queue writes (Postgres) only.
	NameStoreDropped = "heck_store_dropped_results_total"
	// Cluster nodes only (collected by internal/node).
	NameReplicationMessages = "heck_replication_sent_messages_total"
	NameReplicationBytes    = "heck_replication_sent_bytes_total"
	NameObservations        = "heck_observations_total"
	NameGossipBytes         = "heck_gossip_sent_bytes_total"
	NameGossipPackets       = "heck_gossip_sent_packets_total"

	NamePoolMembers   = "heck_pool_members"
	NamePoolHealthy   = "heck_pool_healthy"
	NamePoolServing   = "heck_pool_serving"
	NamePoolPanic     = "heck_pool_panic"
	NamePoolEjected   = "heck_pool_ejected"
	NamePoolEjections = "heck_pool_ejections_total"

	NameDNSQueries   = "heck_dns_queries_total"
	NameAgentReplies = "heck_haproxy_agent_replies_total"
)

// Family describes one exported metric family.
type Family struct {
	Name string
	Help string
	Type dto.MetricType
	// Labels are the variable label names, in the order values are given.
	Labels []string
}

var families = []Family{
	{NameChecks, "Checks run, by probe kind, result (ok or fail) and reason of a failure (timeout, refused, reset, dial, dns, tls, status, body, slow, late, other; empty when ok).",
		dto.MetricType_COUNTER, []string{"kind", "result", "reason"}},
	{NameCheckDuration, "Latency of checks, by probe kind.",
		dto.MetricType_HISTOGRAM, []string{"kind"}},
	{NameLateness, "How late checks start compared with their schedule.",
		dto.MetricType_HISTOGRAM, nil},
	{NameTargets, "Targets, by state.",
		dto.MetricType_GAUGE, []string{"state"}},
	{NameTargetUp, "Whether a target is up (1), down (0) or neither (-1).",
		dto.MetricType_GAUGE, []string{"id"}},
	{NameTransitions, "State transitions, by the state entered.",
		dto.MetricType_COUNTER, []string{"to"}},
	{NameStoreWriteErrors, "Failed writes to the store.",
		dto.MetricType_COUNTER, nil},
	{NameStoreDropped, "Raw results the store dropped, oldest first, because its write queue was full while the database was away (never transitions or rollups).",
		dto.MetricType_COUNTER, nil},
	{NameReplicationMessages, "Replication messages handed to the cluster, by flow: gossip (own and relayed changes, each then retransmitted by memberlist), direct (too large to gossip: one copy per member), health_repair, registry_repair and objects_repair (anti-entropy digests and answers, and answers to gap asks), health_ask (asks an observer for the changes its watermarks show missing).",
		dto.MetricType_COUNTER, []string{"flow"}},
	{NameReplicationBytes, "Payload bytes of those messages, by flow.",
		dto.MetricType_COUNTER, []string{"flow"}},
	{NameObservations, "Probe outcomes by what the publisher did with them: published because the state changed (changed), because only the latency moved (latency), released targets (released), or not published (suppressed).",
		dto.MetricType_COUNTER, []string{"outcome"}},
	{NameGossipBytes, "Bytes this node sent to other members, memberlist's own traffic included: UDP packets (udp) and TCP streams (tcp: push/pull, repairs, large deltas).",
		dto.MetricType_COUNTER, []string{"transport"}},
	{NameGossipPackets, "UDP packets this node sent to other members.",
		dto.MetricType_COUNTER, nil},
	{NamePoolMembers, "Members of each pool.", dto.MetricType_GAUGE, []string{"pool"}},
	{NamePoolHealthy, "Healthy members of each pool: up or degraded, and not ejected.", dto.MetricType_GAUGE, []string{"pool"}},
	{NamePoolServing, "Members consumers get: the healthy ones, or during panic the fail-open set.", dto.MetricType_GAUGE, []string{"pool"}},
	{NamePoolPanic, "1 while the pool is in panic (fewer healthy members than its threshold) and consumers fail open.", dto.MetricType_GAUGE, []string{"pool"}},
	{NamePoolEjected, "Members of each pool held out by outlier ejection now.", dto.MetricType_GAUGE, []string{"pool"}},
	{NamePoolEjections, "Outlier ejections this node has learnt of, by pool and test (consecutive_failures, error_rate, latency).",
		dto.MetricType_COUNTER, []string{"pool", "reason"}},
	{NameDNSQueries, "DNS queries answered, by response code (NOERROR, NXDOMAIN, REFUSED, ...).", dto.MetricType_COUNTER, []string{"rcode"}},
	{NameAgentReplies, "HAProxy agent-check requests answered, by reply (up, down, drain, maint, ...).", dto.MetricType_COUNTER, []string{"reply"}},
}

// Families returns every metric family a node exports (but the Go and
// process collectors'), in a fixed order. The slice is a copy.
func Families() []Family {
	out := make([]Family, len(families))
	for i, f := range families {
		f.Labels = slices.Clone(f.Labels)
		out[i] = f
	}
	return out
}

// Lookup returns the family named name.
func Lookup(name string) (Family, bool) {
	for _, f := range families {
		if f.Name == name {
			f.Labels = slices.Clone(f.Labels)
			return f, true
		}
	}
	return Family{}, false
}

// NewDesc describes the family named name for a collector that builds
// its own values (const metrics on scrape). An unknown name gives an
// invalid description, which fails the collector's registration with an
// error naming it.
func NewDesc(name string) *prometheus.Desc {
	f, ok := Lookup(name)
	if !ok {
		return prometheus.NewInvalidDesc(fmt.Errorf("metrics: %q is not a heck metric; declare it in internal/metrics (names.go)", name))
	}
	return prometheus.NewDesc(f.Name, f.Help, f.Labels, nil)
}

// family is Lookup for this package's own names, which are all declared.
func family(name string) Family {
	f, ok := Lookup(name)
	if !ok {
		panic("metrics: undeclared family " + name)
	}
	return f
}
