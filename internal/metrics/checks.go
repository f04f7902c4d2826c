package metrics

import (
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

// Checks are the counters a node updates on every check and transition:
// heck_checks_total{kind,result,reason}, heck_check_duration_seconds{kind},
// heck_schedule_lateness_seconds, heck_transitions_total{to} and
// heck_store_write_errors_total. Its methods are cheap (label children are
// resolved once, no map lookups, no allocation) and safe for concurrent
// use; a nil *Checks ignores every call.
type Checks struct {
	checks     *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	lateness   prometheus.Histogram
	trans      *prometheus.CounterVec
	storeErrs  prometheus.Counter
	transTo    [numStates]prometheus.Counter
	kinds      atomic.Pointer[[]*kindChecks]
	kindsSlowM sync.Mutex
}

const numStates = int(health.Stale) + 1

type kindChecks struct {
	kind string
	ok   prometheus.Counter
	// fail is indexed by probe.Reason; fail[ReasonNone] is the "other"
	// child (probe.ReasonOf never yields ReasonNone for a failure).
	fail     [probe.NumReasons]prometheus.Counter
	duration prometheus.Observer
}

// Histogram buckets, in seconds.
var (
	durationBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}
	latenessBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}
)

// NewChecks creates the check metrics and registers them on reg (nil: not
// registered). Registering twice on one registry reuses the metrics
// already there.
func NewChecks(reg prometheus.Registerer) *Checks {
	checks, dur, late := family(NameChecks), family(NameCheckDuration), family(NameLateness)
	trans, errs := family(NameTransitions), family(NameStoreWriteErrors)
	m := &Checks{
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: checks.Name, Help: checks.Help}, checks.Labels),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: dur.Name, Help: dur.Help,
			Buckets: durationBuckets}, dur.Labels),
		lateness: prometheus.NewHistogram(prometheus.HistogramOpts{Name: late.Name, Help: late.Help,
			Buckets: latenessBuckets}),
		trans:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: trans.Name, Help: trans.Help}, trans.Labels),
		storeErrs: prometheus.NewCounter(prometheus.CounterOpts{Name: errs.Name, Help: errs.Help}),
	}
	if reg != nil {
		m.checks = register(reg, m.checks)
		m.duration = register(reg, m.duration)
		m.lateness = register(reg, m.lateness)
		m.trans = register(reg, m.trans)
		m.storeErrs = register(reg, m.storeErrs)
	}
	ks := make([]*kindChecks, 0, len(target.Kinds))
	for _, k := range target.Kinds {
		ks = append(ks, m.newKind(string(k)))
	}
	m.kinds.Store(&ks)
	for s := range numStates {
		m.transTo[s] = m.trans.WithLabelValues(health.State(s).String())
	}
	return m
}

// register registers c on reg, or returns the equal collector already
// registered there.
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

func (m *Checks) newKind(kind string) *kindChecks {
	k := &kindChecks{kind: kind, ok: m.checks.WithLabelValues(kind, "ok", ""), duration: m.duration.WithLabelValues(kind)}
	for _, r := range probe.Reasons() {
		k.fail[r] = m.checks.WithLabelValues(kind, "fail", r.String())
	}
	k.fail[probe.ReasonNone] = k.fail[probe.ReasonOther]
	return k
}

// kind returns the children of a probe kind: from a copy-on-write list
// read without a lock, built under one the first time a kind is seen.
func (m *Checks) kind(kind string) *kindChecks {
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
	ks := append(append(make([]*kindChecks, 0, len(old)+1), old...), km)
	m.kinds.Store(&ks)
	return km
}

// ObserveCheck records one check of a target of the given kind: its
// result and, for a failure, its reason (probe.ReasonOf), its latency, and
// how late it started.
func (m *Checks) ObserveCheck(kind string, ok bool, reason probe.Reason, latency, lateness time.Duration) {
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
func (m *Checks) ObserveTransition(t events.Transition) {
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
func (m *Checks) AddStoreWriteErrors(n int) {
	if m == nil || n <= 0 {
		return
	}
	m.storeErrs.Add(float64(n))
}
