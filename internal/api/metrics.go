package api

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/heckhq/heck/internal/events"
	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/probe"
	"github.com/heckhq/heck/internal/target"
)

// Metric names; bench/ reads them, keep them stable.
const (
	MetricChecks           = "heck_checks_total"
	MetricCheckDuration    = "heck_check_duration_seconds"
	MetricLateness         = "heck_schedule_lateness_seconds"
	MetricTargets          = "heck_targets"
	MetricTransitions      = "heck_transitions_total"
	MetricStoreWriteErrors = "heck_store_write_errors_total"
	MetricTargetUp         = "heck_target_up"
	// Cluster nodes only.
	MetricReplicationMessages = "heck_replication_sent_messages_total"
	MetricReplicationBytes    = "heck_replication_sent_bytes_total"
	MetricObservations        = "heck_observations_total"
	MetricGossipBytes         = "heck_gossip_sent_bytes_total"
	MetricGossipPackets       = "heck_gossip_sent_packets_total"
)

// Metrics are the counters a node updates on every check and transition.
// Its methods are cheap (label children are resolved once) and safe for
// concurrent use; a nil *Metrics ignores every call.
type Metrics struct {
	checks     *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	lateness   prometheus.Histogram
	trans      *prometheus.CounterVec
	storeErrs  prometheus.Counter
	transTo    [numStates]prometheus.Counter
	kinds      atomic.Pointer[[]*kindMetrics]
	kindsSlowM sync.Mutex
}

const numStates = int(health.Stale) + 1

type kindMetrics struct {
	kind string
	ok   prometheus.Counter
	// fail is indexed by probe.Reason; fail[ReasonNone] is the "other"
	// child (probe.ReasonOf never yields ReasonNone for a failure).
	fail     [probe.NumReasons]prometheus.Counter
	duration prometheus.Observer
}

// NewMetrics creates the check metrics and registers them on reg (nil:
// not registered). Registering twice on one registry reuses the metrics
// already there.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricChecks,
			Help: "Checks run, by probe kind, result (ok or fail) and reason of a failure (timeout, refused, reset, dial, dns, tls, status, body, slow, late, other; empty when ok)."},
			[]string{"kind", "result", "reason"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: MetricCheckDuration,
			Help:    "Latency of checks, by probe kind.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}}, []string{"kind"}),
		lateness: prometheus.NewHistogram(prometheus.HistogramOpts{Name: MetricLateness,
			Help:    "How late checks start compared with their schedule.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}}),
		trans: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricTransitions,
			Help: "State transitions, by the state entered."}, []string{"to"}),
		storeErrs: prometheus.NewCounter(prometheus.CounterOpts{Name: MetricStoreWriteErrors,
			Help: "Failed writes to the store."}),
	}
	if reg != nil {
		m.checks = register(reg, m.checks)
		m.duration = register(reg, m.duration)
		m.lateness = register(reg, m.lateness)
		m.trans = register(reg, m.trans)
		m.storeErrs = register(reg, m.storeErrs)
	}
	ks := make([]*kindMetrics, 0, len(target.Kinds))
	for _, k := range target.Kinds {
		ks = append(ks, m.newKind(string(k)))
	}
	m.kinds.Store(&ks)
	for s := range numStates {
		m.transTo[s] = m.trans.WithLabelValues(health.State(s).String())
	}
	return m
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
	}
	return c
}

func (m *Metrics) newKind(kind string) *kindMetrics {
	k := &kindMetrics{kind: kind, ok: m.checks.WithLabelValues(kind, "ok", ""), duration: m.duration.WithLabelValues(kind)}
	for _, r := range probe.Reasons() {
		k.fail[r] = m.checks.WithLabelValues(kind, "fail", r.String())
	}
	k.fail[probe.ReasonNone] = k.fail[probe.ReasonOther]
	return k
}

func (m *Metrics) kind(kind string) *kindMetrics {
	for _, k := range *m.kinds.Load() {
		if k.kind == kind {
			return k
		}
	}
	m.kindsSlowM.Lock()
	defer m.kindsSlowM.Unlock()
	old := *m.kinds.Load()
	for _, k := range old {
		if k.kind == kind {
			return k
		}
	}
	km := m.newKind(kind)
	ks := append(append(make([]*kindMetrics, 0, len(old)+1), old...), km)
	m.kinds.Store(&ks)
	return km
}

// ObserveCheck records one check of a target of the given kind: its
// result and, for a failure, its reason (probe.ReasonOf), its latency, and
// how late it started.
func (m *Metrics) ObserveCheck(kind string, ok bool, reason probe.Reason, latency, lateness time.Duration) {
	if m == nil {
		return
	}
	k := m.kind(kind)
	if ok {
		k.ok.Inc()
	} else {
		if int(reason) >= probe.NumReasons {
			reason = probe.ReasonOther
		}
		k.fail[reason].Inc()
	}
	k.duration.Observe(latency.Seconds())
	if lateness < 0 {
		lateness = 0
	}
	m.lateness.Observe(lateness.Seconds())
}

// ObserveTransition counts a transition by the state it entered.
func (m *Metrics) ObserveTransition(t events.Transition) {
	if m == nil {
		return
	}
	if int(t.To) < numStates {
		m.transTo[t.To].Inc()
		return
	}
	m.trans.WithLabelValues(t.To.String()).Inc()
}

// AddStoreWriteErrors counts n failed store writes.
func (m *Metrics) AddStoreWriteErrors(n int) {
	if m == nil || n <= 0 {
		return
	}
	m.storeErrs.Add(float64(n))
}

// stateCollector exports heck_targets{state} (and heck_target_up{id}) on
// scrape, reading the backend, so checks pay nothing for them.
type stateCollector struct {
	b         Backend
	perTarget bool
	targets   *prometheus.Desc
	up        *prometheus.Desc
}

func newStateCollector(b Backend, perTarget bool) *stateCollector {
	return &stateCollector{b: b, perTarget: perTarget,
		targets: prometheus.NewDesc(MetricTargets, "Targets, by state.", []string{"state"}, nil),
		up:      prometheus.NewDesc(MetricTargetUp, "Whether a target is up (1), down (0) or neither (-1).", []string{"id"}, nil),
	}
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.targets
	if c.perTarget {
		ch <- c.up
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	var counts [numStates]int
	each := func(id string, s health.State) {
		if int(s) < numStates {
			counts[s]++
		}
		if c.perTarget {
			v := -1.0
			switch s {
			case health.Up:
				v = 1
			case health.Down:
				v = 0
			}
			ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, v, id)
		}
	}
	if ss, ok := c.b.(StateSource); ok {
		ss.EachState(each)
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		for _, t := range c.b.Targets(ctx) {
			each(t.ID, t.State)
		}
		cancel()
	}
	for s := range numStates {
		ch <- prometheus.MustNewConstMetric(c.targets, prometheus.GaugeValue, float64(counts[s]), health.State(s).String())
	}
}
