package main

import (
	"context"
	"fmt"
	"time"

	"github.com/heckhq/heck/internal/health"
)

// convOpts configures the convergence scenario.
type convOpts struct {
	nodes     []int
	targets   int
	interval  time.Duration
	rounds    int
	batch     int
	poll      time.Duration
	listeners int
	settle    time.Duration
	roundMax  time.Duration // give up on a round's stragglers after this
}

// convSample is one transition: when the owner's state changed and when
// each other node first reported the new state.
type convSample struct {
	target int
	want   health.State
	owner  *member
	since  time.Time            // the transition at the owner (zero until seen)
	seen   map[string]time.Time // node -> first poll showing want
}

// runConv measures, for each node count, the time from a transition at
// the owner to every node reporting it.
func runConv(ctx context.Context, o convOpts, newF func() *fleet) error {
	for _, n := range o.nodes {
		f := newF()
		err := convOnce(ctx, f, n, o)
		f.stop()
		if err != nil {
			return fmt.Errorf("convergence at %d nodes: %w", n, err)
		}
	}
	return nil
}

func convOnce(ctx context.Context, f *fleet, nodes int, o convOpts) error {
	fmt.Printf("\n== convergence: %d nodes, %d http targets at %v (rise 1, fall 1), %d rounds of %d flips, polled every %v\n",
		nodes, o.targets, o.interval, o.rounds, o.batch, o.poll)
	ts, err := newHTTPTargets(o.targets, o.listeners)
	if err != nil {
		return err
	}
	defer ts.close()
	specs := httpSpecs(ts, o.targets, o.interval, 1, 1)
	t0 := time.Now()
	for i := range nodes {
		var s = specs[:0:0]
		if i == 0 {
			s = specs
		}
		if _, err := f.start(ctx, fmt.Sprintf("node-%02d", i), s); err != nil {
			return err
		}
	}
	if err := f.waitMembers(ctx, nodes, o.settle); err != nil {
		return fmt.Errorf("membership: %w", err)
	}
	asg, err := f.waitSettled(ctx, o.targets, o.settle)
	if err != nil {
		return fmt.Errorf("ownership: %w", err)
	}
	byName := map[string]*member{}
	for _, m := range f.alive() {
		byName[m.name] = m
	}
	// Every node must see every target up before the first flip.
	err = pollUntil(ctx, o.settle, 100*time.Millisecond, func() (bool, string) {
		for _, m := range f.alive() {
			for i := range o.targets {
				st, ok := m.n.Target(ctx, fmt.Sprintf("t%d", i))
				if !ok || st.State != health.Up {
					return false, fmt.Sprintf("%s sees t%d as %v (known %v)", m.name, i, st.State, ok)
				}
			}
		}
		return true, ""
	})
	if err != nil {
		return fmt.Errorf("initial state: %w", err)
	}
	fmt.Printf("setup: %v\n", time.Since(t0).Round(time.Millisecond))

	var all, perNode []time.Duration
	lost := 0
	cpu0, wall0 := cpuTime(), time.Now()
	next := 0
	for r := range o.rounds {
		var samples []*convSample
		for range o.batch {
			i := next % o.targets
			next++
			failing := !ts.fail[i].Load()
			want := health.Up
			if failing {
				want = health.Down
			}
			s := &convSample{target: i, want: want, owner: byName[asg.byTarget[i]], seen: map[string]time.Time{}}
			ts.fail[i].Store(failing)
			samples = append(samples, s)
		}
		deadline := time.Now().Add(o.roundMax)
		for {
			now := time.Now()
			pending := false
			for _, s := range samples {
				id := fmt.Sprintf("t%d", s.target)
				if s.since.IsZero() {
					st, ok := s.owner.n.Target(ctx, id)
					if ok && st.State == s.want && st.Observer == s.owner.name {
						s.since = st.Since
					} else {
						pending = true
						continue
					}
				}
				for _, m := range f.alive() {
					if m == s.owner {
						continue
					}
					if _, ok := s.seen[m.name]; ok {
						continue
					}
					if st, ok := m.n.Target(ctx, id); ok && st.State == s.want {
						s.seen[m.name] = time.Now()
					} else {
						pending = true
					}
				}
			}
			if !pending || now.After(deadline) {
				break
			}
			if err := sleepCtx(ctx, o.poll); err != nil {
				return err
			}
		}
		for _, s := range samples {
			if s.since.IsZero() || len(s.seen) < nodes-1 {
				lost++
				fmt.Printf("  round %d: t%d not converged within %v (owner transition seen: %v, nodes reporting: %d/%d)\n",
					r, s.target, o.roundMax, !s.since.IsZero(), len(s.seen), nodes-1)
				continue
			}
			var last time.Duration
			for _, at := range s.seen {
				d := at.Sub(s.since)
				perNode = append(perNode, d)
				last = max(last, d)
			}
			all = append(all, last)
		}
	}
	cores := float64(cpuTime()-cpu0) / float64(time.Since(wall0))
	fmt.Printf("convergence at %d nodes: every node reports it: p50 %.0f ms, p99 %.0f ms, max %.0f ms (%d transitions, %d not converged); per node: p50 %.0f ms, p99 %.0f ms  [goal p99 < 1000 ms at 20 nodes]; harness process used %.2f cores\n",
		nodes, ms(quantile(all, .5)), ms(quantile(all, .99)), ms(quantile(all, 1)), len(all), lost,
		ms(quantile(perNode, .5)), ms(quantile(perNode, .99)), cores)
	return nil
}
