package node

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/config"
	"github.com/heckhq/heck/internal/registry"
	"github.com/heckhq/heck/internal/target"
)

func dur(d time.Duration) target.Duration { return target.Duration(d) }

// TestTwoNodesProbeATargetAlike: nodes with different defaults blocks
// probe one target the same way. The node a target is added on bakes its
// defaults into the spec; a node it is replicated to runs the spec as it
// arrives and never fills in its own defaults. A spec from an older node
// (unresolved) gets the built-in defaults on every node alike.
func TestTwoNodesProbeATargetAlike(t *testing.T) {
	ctx := context.Background()
	ca := ntConfig(t.TempDir())
	ca.Defaults = target.Schedule{Interval: dur(time.Minute), Timeout: dur(5 * time.Second), Rise: 4, Fall: 5, Jitter: dur(time.Second)}
	cb := ntConfig(t.TempDir())
	cb.Defaults = target.Schedule{Interval: dur(ntInterval), Timeout: dur(100 * time.Millisecond), Rise: 1, Fall: 1,
		InitialDelay: dur(time.Second), FastInterval: dur(time.Second)}
	a, b := ntStart(t, ca), ntStart(t, cb)

	addr := ntNewServer(t).Addr()
	tests := []struct {
		name string
		own  target.Schedule
		want target.Schedule
	}{
		{"every field from a's defaults", target.Schedule{},
			target.Schedule{Interval: dur(time.Minute), Timeout: dur(5 * time.Second), Rise: 4, Fall: 5, Jitter: dur(time.Second),
				FastInterval: dur(time.Minute), DownInterval: dur(time.Minute)}},
		{"a's timeout and jitter yield to a short interval", target.Schedule{Interval: dur(time.Second)},
			target.Schedule{Interval: dur(time.Second), Timeout: dur(800 * time.Millisecond), Rise: 4, Fall: 5,
				FastInterval: dur(time.Second), DownInterval: dur(time.Second)}},
		{"own fields kept", target.Schedule{Interval: dur(2 * time.Second), Timeout: dur(300 * time.Millisecond), Rise: 1},
			target.Schedule{Interval: dur(2 * time.Second), Timeout: dur(300 * time.Millisecond), Rise: 1, Fall: 5, Jitter: dur(time.Second),
				FastInterval: dur(2 * time.Second), DownInterval: dur(2 * time.Second)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec := target.Spec{ID: "alike", Kind: target.KindTCP, Address: addr, Schedule: tc.own}
			if _, err := a.n.PutTarget(ctx, spec); err != nil {
				t.Fatal(err)
			}
			e, ok := a.n.reg.Entry(spec.ID)
			if !ok {
				t.Fatal("the target is not in a's registry")
			}
			if e.Value.Schedule != tc.want {
				t.Fatalf("a stored schedule %+v, want %+v (a's defaults baked in)", e.Value.Schedule, tc.want)
			}
			// Replicate a's entry to b, as gossip would.
			if _, err := b.n.reg.Merge(ctx, []registry.Entry{e}); err != nil {
				t.Fatal(err)
			}
			got, ok := b.n.reg.Get(spec.ID)
			if !ok || got.Schedule != tc.want {
				t.Fatalf("b holds %+v (%v), want a's %+v", got.Schedule, ok, tc.want)
			}
			ja, jb := a.n.buildJob(got), b.n.buildJob(got)
			if ja.Schedule != tc.want || jb.Schedule != tc.want {
				t.Fatalf("a runs %+v, b runs %+v, want both %+v", ja.Schedule, jb.Schedule, tc.want)
			}
			if st, ok := b.n.sched.Status(spec.ID); ok && st.Interval != tc.want.Interval.D() {
				t.Fatalf("b's scheduler runs it every %v, want %v", st.Interval, tc.want.Interval)
			}
		})
	}

	// A spec an older node stored unresolved: built-in defaults on both,
	// neither node's defaults block.
	old := target.Spec{ID: "old", Kind: target.KindTCP, Address: addr, Schedule: target.Schedule{Interval: dur(time.Second)}}
	want := old.WithDefaults().Schedule
	if ja, jb := a.n.buildJob(old), b.n.buildJob(old); ja.Schedule != want || jb.Schedule != want {
		t.Fatalf("unresolved spec: a runs %+v, b runs %+v, want both the built-in %+v", ja.Schedule, jb.Schedule, want)
	}
}

// TestConfigAndAPIResolveAlike: the same target written in the config
// file and added through the API of the node that loaded it resolves to
// the same schedule.
func TestConfigAndAPIResolveAlike(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	addr := ntNewServer(t).Addr()
	doc := fmt.Sprintf(`listen: 127.0.0.1:0
node: {name: nt, data_dir: %q}
defaults: {interval: 30s, timeout: 5s, rise: 4, jitter: 2s, fast_interval: 10s}
targets:
  - {id: c1, kind: tcp, address: %q}
  - {id: c2, kind: tcp, address: %q, interval: 1s, fall: 1}
  - {id: c3, kind: tcp, address: %q, interval: 2m, timeout: 15s}
`, dir, addr, addr, addr)
	cfg, err := config.Parse(filepath.Join(dir, "heck.yaml"), []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	viaAPI := []target.Spec{
		{ID: "a1", Kind: target.KindTCP, Address: addr},
		{ID: "a2", Kind: target.KindTCP, Address: addr, Schedule: target.Schedule{Interval: dur(time.Second), Fall: 1}},
		{ID: "a3", Kind: target.KindTCP, Address: addr, Schedule: target.Schedule{Interval: dur(2 * time.Minute), Timeout: dur(15 * time.Second)}},
	}
	n := ntStart(t, cfg)
	for i, s := range viaAPI {
		if _, err := n.c.AddTarget(ctx, s); err != nil {
			t.Fatalf("add %s: %v", s.ID, err)
		}
		c, _ := n.n.reg.Get(fmt.Sprintf("c%d", i+1))
		a, _ := n.n.reg.Get(s.ID)
		if !c.Schedule.Resolved() || c.Schedule != a.Schedule {
			t.Errorf("%s via config %+v, %s via the API %+v: want the same, resolved", c.ID, c.Schedule, a.ID, a.Schedule)
		}
	}
}
