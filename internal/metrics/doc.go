// Package metrics owns what a heck node exports to Prometheus: the name,
// help, type and label names of every metric (Families; a rename is a
// deliberate act, pinned by TestNamesStable), the counters a node updates
// on every check and transition (Checks), the heck_targets{state} gauges
// read on scrape (NewTargets), and the /metrics handler (Handler), which
// streams heck_target_up{id} line by line so a scrape costs memory in
// proportion to one response, not one value per target.
//
// The package builds no registry and serves no route: internal/node
// assembles a registry from these parts (plus the Go and process
// collectors and, in a cluster, its replication collector, whose
// descriptions come from NewDesc), and hands the Handler to internal/api,
// which serves it on /metrics behind its access rules.
package metrics
