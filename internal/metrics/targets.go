package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/heckhq/heck/internal/health"
)

// States walks the state of every target a node judges; internal/node
// implements it over its judge.
type States interface {
	// EachState calls fn once per target with its id and state.
	EachState(fn func(id string, s health.State))
}

// targetsCollector exports heck_targets{state} on scrape, reading the
// states then, so checks pay nothing for the gauges.
type targetsCollector struct {
	states States
	desc   *prometheus.Desc
}

// NewTargets returns the collector of heck_targets{state}: how many
// targets are in each state, one series per state (zeros included),
// counted from states on every scrape.
func NewTargets(states States) prometheus.Collector {
	return &targetsCollector{states: states, desc: NewDesc(NameTargets)}
}

func (c *targetsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *targetsCollector) Collect(ch chan<- prometheus.Metric) {
	var counts [numStates]int
	c.states.EachState(func(_ string, s health.State) {
		if int(s) < numStates {
			counts[s]++
		}
	})
	for s := range numStates {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(counts[s]), health.State(s).String())
	}
}
