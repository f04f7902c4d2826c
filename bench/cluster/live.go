package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/heckhq/heck/internal/target"
)

// liveOpts configures the live scenario: amplification, balance, movement
// and failover measured on running nodes.
type liveOpts struct {
	nodes     int
	targets   int
	interval  time.Duration
	window    time.Duration // each measuring window (steady, after join, after kill, after leave)
	listeners int
	settle    time.Duration // bound on waiting for membership and ownership to settle
	grace     time.Duration // hits this soon after the kill are the victim's in-flight probes
}

func httpSpecs(ts *httpTargets, n int, interval time.Duration, rise, fall int) []target.Spec {
	specs := make([]target.Spec, n)
	for i := range specs {
		specs[i] = target.Spec{ID: fmt.Sprintf("t%d", i), Kind: target.KindHTTP, URL: ts.url(i),
			Schedule: target.Schedule{Interval: target.Duration(interval), Rise: rise, Fall: fall}}
	}
	return specs
}

func runLive(ctx context.Context, f *fleet, o liveOpts) error {
	fmt.Printf("\n== live: %d nodes, %d http targets at %v, windows of %v (memberlist LAN defaults unless -ml fast)\n",
		o.nodes, o.targets, o.interval, o.window)
	ts, err := newHTTPTargets(o.targets, o.listeners)
	if err != nil {
		return err
	}
	defer ts.close()
	specs := httpSpecs(ts, o.targets, o.interval, 0, 0)

	t0 := time.Now()
	for i := range o.nodes {
		var s []target.Spec
		if i == 0 {
			s = specs // the seed holds the config; the others learn it by replication
		}
		if _, err := f.start(ctx, fmt.Sprintf("node-%02d", i), s); err != nil {
			return err
		}
	}
	if err := f.waitMembers(ctx, o.nodes, o.settle); err != nil {
		return fmt.Errorf("membership: %w", err)
	}
	before, err := f.waitSettled(ctx, o.targets, o.settle)
	if err != nil {
		return fmt.Errorf("ownership: %w", err)
	}
	fmt.Printf("setup: %d nodes up, every target scheduled exactly once after %v\n", o.nodes, time.Since(t0).Round(time.Millisecond))
	// Two intervals: the first runs are spread over one interval.
	if err := sleepCtx(ctx, 2*o.interval+time.Second); err != nil {
		return err
	}

	// Steady state.
	iv := float64(o.window) / float64(o.interval)
	checks0 := nodeChecks(ctx, f)
	h0 := ts.snapshot()
	if err := sleepCtx(ctx, o.window); err != nil {
		return err
	}
	h1 := ts.snapshot()
	checks1 := nodeChecks(ctx, f)
	steady := amplification(h0, h1, iv)
	printAmp("steady", steady)

	// Balance: from the ring, from the schedulers, from the checks run.
	// The ring figure uses the same member names (node-00...) as the fleet.
	ids := make([]string, o.targets)
	for i := range ids {
		ids[i] = fmt.Sprintf("t%d", i)
	}
	rr := measure(o.nodes, ids, 1)
	var sched, runs []float64
	for _, m := range f.alive() {
		sched = append(sched, float64(before.perNode[m.name]))
		if c1, ok := checks1[m.name]; ok {
			runs = append(runs, c1-checks0[m.name])
		}
	}
	sMax, sMin := balance(sched)
	rMax, rMin := balance(runs)
	fmt.Printf("balance max/mean (min/mean): ring %.3f (%.3f) | scheduled %.3f (%.3f) | checks run in window %.3f (%.3f)  [goal <= 1.10]\n",
		rr.BalanceMax, rr.BalanceMin, sMax, sMin, rMax, rMin)
	fmt.Printf("  scheduled per node: %v\n", sortedCounts(before.perNode))

	// One node joins.
	name := fmt.Sprintf("node-%02d", o.nodes)
	h0 = ts.snapshot()
	tj := time.Now()
	if _, err := f.start(ctx, name, nil); err != nil {
		return err
	}
	if err := sleepCtx(ctx, o.window-time.Since(tj)); err != nil {
		return err
	}
	h1 = ts.snapshot()
	printAmp("after join", amplification(h0, h1, float64(time.Since(tj))/float64(o.interval)))
	afterJoin, err := f.waitSettled(ctx, o.targets, o.settle)
	if err != nil {
		return fmt.Errorf("ownership after join: %w", err)
	}
	mv := movedShare(before.byTarget, afterJoin.byTarget)
	fmt.Printf("moved on join: %.4f of targets (to the new node: %d) [goal <= 1.2/N = %.4f with N=%d]\n",
		mv, afterJoin.perNode[name], 1.2/float64(o.nodes+1), o.nodes+1)

	// One node dies (not the seed, not the newcomer).
	victim := f.alive()[1]
	var victimTargets []int
	for i, n := range afterJoin.byTarget {
		if n == victim.name {
			victimTargets = append(victimTargets, i)
		}
	}
	h0 = ts.snapshot()
	tk := time.Now()
	ts.arm(tk.Add(o.grace))
	f.kill(victim)
	if err := sleepCtx(ctx, o.window-time.Since(tk)); err != nil {
		return err
	}
	h1 = ts.snapshot()
	printAmp("after kill", amplification(h0, h1, float64(time.Since(tk))/float64(o.interval)))
	var fo []time.Duration
	missing := 0
	for _, i := range victimTargets {
		if at := ts.first[i].Load(); at != 0 {
			fo = append(fo, time.Duration(at-tk.UnixNano()))
		} else {
			missing++
		}
	}
	fmt.Printf("failover of %s's %d targets (kill -> first probe by another node, hits within %v of the kill ignored): p50 %.0f ms, p99 %.0f ms, max %.0f ms, never probed again in the window: %d  [goal < 3 intervals = %v]\n",
		victim.name, len(victimTargets), o.grace, ms(quantile(fo, .5)), ms(quantile(fo, .99)), ms(quantile(fo, 1)), missing, 3*o.interval)
	fmt.Printf("  failover histogram (ms after kill: targets): %s\n", histogram(fo, 250*time.Millisecond))
	select {
	case <-victim.done:
		fmt.Printf("  %s's Run returned within the window (its probes stopped at the kill: the scheduler ends with its context)\n", victim.name)
	default:
		fmt.Printf("  %s's Run had not returned by the end of the window\n", victim.name)
	}
	afterKill, err := f.waitSettled(ctx, o.targets, o.settle)
	if err != nil {
		return fmt.Errorf("ownership after kill: %w", err)
	}
	fmt.Printf("moved on death: %.4f of targets [goal <= 1.2/N = %.4f with N=%d]\n",
		movedShare(afterJoin.byTarget, afterKill.byTarget), 1.2/float64(o.nodes+1), o.nodes+1)

	// One node leaves gracefully.
	leaver := f.alive()[1]
	h0 = ts.snapshot()
	tl := time.Now()
	lctx, lcancel := context.WithTimeout(ctx, 10*time.Second)
	err = leaver.n.Leave(lctx)
	lcancel()
	if err != nil {
		return fmt.Errorf("leave %s: %w", leaver.name, err)
	}
	f.mu.Lock()
	leaver.gone = true
	f.mu.Unlock()
	leaver.cancel()
	if err := sleepCtx(ctx, o.window-time.Since(tl)); err != nil {
		return err
	}
	h1 = ts.snapshot()
	printAmp("after leave", amplification(h0, h1, float64(time.Since(tl))/float64(o.interval)))
	afterLeave, err := f.waitSettled(ctx, o.targets, o.settle)
	if err != nil {
		return fmt.Errorf("ownership after leave: %w", err)
	}
	fmt.Printf("moved on leave: %.4f of targets [goal <= 1.2/N = %.4f with N=%d]\n",
		movedShare(afterKill.byTarget, afterLeave.byTarget), 1.2/float64(o.nodes), o.nodes)
	return nil
}

func printAmp(phase string, a amp) {
	fmt.Printf("amplification %-11s probes/target/interval %.4f (excess %.4f, missing %.4f; targets over %d, under %d of %d; max %.2f) over %.1f intervals  [goal %s]\n",
		phase, a.PerTarget, a.Excess, a.Missing, a.Over, a.Under, a.Targets, a.MaxRate, a.Intervals,
		map[bool]string{true: "1.00", false: "<= 1.05"}[phase == "steady"])
}

func movedShare(a, b []string) float64 {
	m := 0
	for i := range a {
		if a[i] != b[i] {
			m++
		}
	}
	return float64(m) / float64(len(a))
}

func sortedCounts(m map[string]int) []int {
	out := make([]int, 0, len(m))
	for _, c := range m {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// nodeChecks reads every live node's heck_checks_total; nodes whose
// metrics cannot be read are left out (and said so).
func nodeChecks(ctx context.Context, f *fleet) map[string]float64 {
	return checksOf(ctx, inProcess{f}.apis())
}

// checksOf reads heck_checks_total of each node (name -> API address).
func checksOf(ctx context.Context, apis map[string]string) map[string]float64 {
	out := map[string]float64{}
	for name, api := range apis {
		v, err := checksTotal(ctx, api)
		if err != nil {
			fmt.Printf("  (checks of %s unreadable: %v)\n", name, err)
			continue
		}
		out[name] = v
	}
	return out
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// histogram buckets durations by width: "0-250:3 250-500:10 ...".
func histogram(ds []time.Duration, width time.Duration) string {
	counts := map[int]int{}
	hi := 0
	for _, d := range ds {
		b := int(d / width)
		counts[b]++
		hi = max(hi, b)
	}
	var sb strings.Builder
	for b := 0; b <= hi && len(ds) > 0; b++ {
		if counts[b] > 0 {
			fmt.Fprintf(&sb, "%.0f-%.0f:%d ", ms(time.Duration(b)*width), ms(time.Duration(b+1)*width), counts[b])
		}
	}
	return strings.TrimSpace(sb.String())
}
