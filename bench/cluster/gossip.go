package main

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/heckhq/heck/internal/cluster"
	"github.com/heckhq/heck/internal/replica"
	"github.com/heckhq/heck/internal/target"
)

// gossipOpts configures the gossip-cost scenario.
type gossipOpts struct {
	nodes     int
	targets   int
	interval  time.Duration
	window    time.Duration
	warm      time.Duration // extra wait after settling, before measuring
	flap      float64       // share of targets flapping in the second window
	flapEvery time.Duration // each flapping target changes state this often
	listeners int
	settle    time.Duration
}

// runGossip measures the bytes each node sends (gossip packets and
// streams: memberlist's own probes and push/pull included) per second, in
// steady state and with a share of targets flapping.
//
// Targets are cheap: `tcp` checks of loopback listeners that accept and
// close, except the flapping share, which are `http` checks of the
// counting target servers (rise 1, fall 1) that answer 500 every other
// flapEvery.
func runGossip(ctx context.Context, f gossipFleet, o gossipOpts) error {
	nflap := int(math.Round(float64(o.targets) * o.flap))
	fmt.Printf("\n== gossip: %d nodes, %d targets at %v (%d tcp to %d loopback listeners, %d http that flap in the second window, every %v)\n",
		o.nodes, o.targets, o.interval, o.targets-nflap, o.listeners, nflap, o.flapEvery)
	tcp, err := newTCPTargets(o.listeners)
	if err != nil {
		return err
	}
	defer tcp.close()
	hts, err := newHTTPTargets(max(nflap, 1), 4)
	if err != nil {
		return err
	}
	defer hts.close()
	specs := make([]target.Spec, o.targets)
	for i := range specs {
		sc := target.Schedule{Interval: target.Duration(o.interval)}
		if i < nflap {
			sc.Rise, sc.Fall = 1, 1
			specs[i] = target.Spec{ID: fmt.Sprintf("t%d", i), Kind: target.KindHTTP, URL: hts.url(i), Schedule: sc}
		} else {
			specs[i] = target.Spec{ID: fmt.Sprintf("t%d", i), Kind: target.KindTCP, Address: tcp.addr(i), Schedule: sc}
		}
	}

	t0 := time.Now()
	for i := range o.nodes {
		var s []target.Spec
		if i == 0 {
			s = specs
		}
		if err := f.start(ctx, fmt.Sprintf("node-%02d", i), s); err != nil {
			return err
		}
	}
	if err := f.waitMembers(ctx, o.nodes, o.settle); err != nil {
		return fmt.Errorf("membership: %w", err)
	}
	if o.targets > 0 {
		if err := f.waitSettled(ctx, o.targets, o.settle); err != nil {
			return fmt.Errorf("ownership: %w", err)
		}
	}
	setup := time.Since(t0)
	setupBytes := totalSent(f.sent(ctx))
	fmt.Printf("setup: every target scheduled exactly once after %v; %.1f MB sent by all nodes so far (initial registry sync included)\n",
		setup.Round(time.Millisecond), float64(setupBytes.Total())/1e6)
	if err := sleepCtx(ctx, o.warm); err != nil {
		return err
	}
	// Steady state: the first probes and the rise to up are over when the
	// cluster publishes (almost) no state changes for a while.
	quiet, err := waitQuiet(ctx, f, o.settle)
	if err != nil {
		return fmt.Errorf("quiet: %w", err)
	}
	fmt.Printf("steady: no more than 1 state change per second over the cluster for 5s, %v after setup\n", quiet.Round(time.Second))

	measureWindow := func(phase string) error {
		b0 := f.sent(ctx)
		c0 := checksOf(ctx, f.apis())
		r0 := clusterCounters(ctx, f)
		acc0, hits0 := tcp.accepts.Load(), sumHits(hts)
		cpu0, w0 := cpuTime(), time.Now()
		if err := sleepCtx(ctx, o.window); err != nil {
			return err
		}
		el := time.Since(w0)
		b1 := f.sent(ctx)
		c1 := checksOf(ctx, f.apis())
		r1 := clusterCounters(ctx, f)
		checks := 0.0
		for name, v := range c1 {
			checks += v - c0[name]
		}
		probes := float64(tcp.accepts.Load()-acc0+sumHits(hts)-hits0) / el.Seconds()
		var rates []float64
		var pk, pkb, st float64
		for name, t1 := range b1 {
			t0 := b0[name]
			rates = append(rates, float64(t1.Total()-t0.Total())/el.Seconds())
			pk += float64(t1.Packets - t0.Packets)
			pkb += float64(t1.PacketBytes - t0.PacketBytes)
			st += float64(t1.StreamBytes - t0.StreamBytes)
		}
		slices.Sort(rates)
		mean := 0.0
		for _, r := range rates {
			mean += r
		}
		mean /= float64(len(rates))
		n := float64(len(rates))
		fmt.Printf("gossip %-9s bytes sent per node per second: mean %.1f KB/s, median %.1f, max %.1f (UDP %.1f KB/s in %.0f packets/s, TCP %.1f KB/s per node) [goal < 50 KB/s]; probes achieved %.0f/s (counted at the targets; the nodes' heck_checks_total says %.0f/s) of %.0f/s asked; harness process used %.2f cores\n",
			phase, mean/1e3, rates[len(rates)/2]/1e3, rates[len(rates)-1]/1e3,
			pkb/n/el.Seconds()/1e3, pk/n/el.Seconds(), st/n/el.Seconds()/1e3,
			probes, checks/el.Seconds(), float64(o.targets)/o.interval.Seconds(), float64(cpuTime()-cpu0)/float64(el))
		line := "  replication payload handed to memberlist per node per second (before its retransmits):"
		for _, fl := range replica.Flows() {
			key := `heck_replication_sent_bytes_total{flow="` + fl.String() + `"}`
			line += fmt.Sprintf(" %s %.1f KB/s", fl, (r1[key]-r0[key])/n/el.Seconds()/1e3)
		}
		fmt.Println(line)
		line = "  observations per second over the cluster:"
		for _, k := range []string{"changed", "latency", "released", "suppressed"} {
			key := `heck_observations_total{outcome="` + k + `"}`
			line += fmt.Sprintf(" %s %.1f", k, (r1[key]-r0[key])/el.Seconds())
		}
		fmt.Println(line)
		return nil
	}
	if err := measureWindow("steady"); err != nil {
		return err
	}
	if nflap == 0 {
		return nil
	}
	fctx, fcancel := context.WithCancel(ctx)
	flapDone := make(chan struct{})
	go func() {
		defer close(flapDone)
		tk := time.NewTicker(o.flapEvery)
		defer tk.Stop()
		for {
			select {
			case <-fctx.Done():
				return
			case <-tk.C:
				for i := range nflap {
					hts.fail[i].Store(!hts.fail[i].Load())
				}
			}
		}
	}()
	// Let the first flips take effect before measuring.
	err = sleepCtx(ctx, o.flapEvery)
	if err == nil {
		err = measureWindow("flapping")
	}
	fcancel()
	<-flapDone
	if err == nil {
		fmt.Printf("  flapping: %d targets each changing state every %v = %.0f transitions/s over the cluster\n",
			nflap, o.flapEvery, float64(nflap)/o.flapEvery.Seconds())
	}
	return err
}

// waitQuiet waits until the alive nodes together publish at most one
// changed or released observation per second over 5 s, and returns how
// long that took.
func waitQuiet(ctx context.Context, f gossipFleet, timeout time.Duration) (time.Duration, error) {
	changes := func() float64 {
		r := clusterCounters(ctx, f)
		return r[`heck_observations_total{outcome="changed"}`] + r[`heck_observations_total{outcome="released"}`]
	}
	t0 := time.Now()
	const window = 5 * time.Second
	for {
		c0 := changes()
		if err := sleepCtx(ctx, window); err != nil {
			return 0, err
		}
		rate := (changes() - c0) / window.Seconds()
		if rate <= 1 {
			return time.Since(t0), nil
		}
		if time.Since(t0) > timeout {
			return 0, fmt.Errorf("not reached within %v: %.0f state changes/s", timeout, rate)
		}
	}
}

// clusterCounters sums, over the alive nodes, every series of
// heck_replication_sent_bytes_total and heck_observations_total, keyed by
// the series as written (name and labels).
func clusterCounters(ctx context.Context, f gossipFleet) map[string]float64 {
	out := map[string]float64{}
	for name, addr := range f.apis() {
		series, err := scrape(ctx, addr)
		if err != nil {
			fmt.Printf("  (metrics of %s unreadable: %v)\n", name, err)
			continue
		}
		for k, v := range series {
			if strings.HasPrefix(k, "heck_replication_sent_bytes_total{") || strings.HasPrefix(k, "heck_observations_total{") {
				out[k] += v
			}
		}
	}
	return out
}

func perNodeSent(f *fleet) map[string]cluster.Traffic {
	out := map[string]cluster.Traffic{}
	for _, m := range f.alive() {
		out[m.name] = m.ct.Traffic()
	}
	return out
}

func totalSent(per map[string]cluster.Traffic) cluster.Traffic {
	var t cluster.Traffic
	for _, x := range per {
		t.Packets += x.Packets
		t.PacketBytes += x.PacketBytes
		t.StreamBytes += x.StreamBytes
	}
	return t
}

func sumHits(t *httpTargets) int64 {
	var s int64
	for i := range t.hits {
		s += t.hits[i].Load()
	}
	return s
}
