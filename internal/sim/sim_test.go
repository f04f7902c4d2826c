package sim

import (
	"testing"
	"time"
)

// TestScenarios runs a small cluster through the scenarios and asserts what
// must hold at any size: each target probed once per interval in steady
// state, little over-probing during churn, a changed state reaching 99% of
// the nodes within 2 s, and a healed partition converging within 10 s.
func TestScenarios(t *testing.T) {
	nodes, targets := 50, 10000 // the size: about 5 s of CPU
	if testing.Short() || raceOn {
		nodes, targets = 40, 4000
	}
	tests := []struct {
		scenario Scenario
		check    func(t *testing.T, r *Result)
	}{
		{Steady, func(t *testing.T, r *Result) {
			if r.AmpSteady != 1 || r.AmpChurnMax != 1 || r.Missed != 0 {
				t.Errorf("steady: amplification %.4f (max %.4f), missed %.4f; want exactly 1, 1, 0", r.AmpSteady, r.AmpChurnMax, r.Missed)
			}
		}},
		{Kill, func(t *testing.T, r *Result) {
			if r.AmpChurnMax > 1.05 {
				t.Errorf("kill: amplification up to %.3f; want at most 1.05", r.AmpChurnMax)
			}
			// One node's share moves: 1/N times its balance.
			if r.Changes != 1 || r.MovedN > 1.5 {
				t.Errorf("kill: %d changes moving %.2f/N; want 1 moving at most 1.5/N", r.Changes, r.MovedN)
			}
			if r.LostTargets != 0 {
				t.Errorf("kill: %d targets lost", r.LostTargets)
			}
		}},
		{Flap, func(t *testing.T, r *Result) {
			if r.Transitions == 0 || r.T99[1] < 0 || r.T99[1] > 2*time.Second {
				t.Errorf("flap: %d transitions, p99 to 99%% of nodes %s; want some, under 2s", r.Transitions, r.T99[1])
			}
			// A lost multicast packet is asked for within two watermark
			// periods, so every transition reaches every node.
			if r.Reached < 1 || r.T100[1] > 5*time.Second {
				t.Errorf("flap: %.1f%% of transitions reached every node, p99 %s; want all, under 5s", 100*r.Reached, r.T100[1])
			}
			if r.AmpChurnMax > 1.05 {
				t.Errorf("flap: amplification up to %.3f; want at most 1.05", r.AmpChurnMax)
			}
		}},
		{Partition, func(t *testing.T, r *Result) {
			// Views converge within seconds of the heal, and tables soon
			// after: each node asks an observer for the holes its
			// watermarks show (internal/replica's gap repair), instead of
			// waiting for push/pull.
			if r.ViewsAt < 0 || r.ViewsAt > 10*time.Second {
				t.Errorf("partition: views complete %s after the heal; want under 10s", r.ViewsAt)
			}
			if r.Converged < 0 || r.Converged > 10*time.Second {
				t.Errorf("partition: tables converged %s after the heal (-1: not in the run); want under 10s", r.Converged)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(string(tc.scenario), func(t *testing.T) {
			s, err := New(Config{Nodes: nodes, Targets: targets, Scenario: tc.scenario,
				Warm: 10 * time.Second, Steady: 20 * time.Second, Duration: 40 * time.Second,
				PartitionFor: 20 * time.Second, AfterHeal: 20 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			r, err := s.Run()
			if err != nil {
				t.Fatal(err)
			}
			t.Log(Header)
			t.Log(r.Row())
			tc.check(t, r)
		})
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []Config{
		{Nodes: 1, Targets: 10},
		{Nodes: 10, Targets: 0},
		{Nodes: 10, Targets: 10, Scenario: "nope"},
		{Nodes: 10, Targets: 10, Interval: time.Millisecond},
		{Nodes: 10, Targets: 10, Loss: 1},
	} {
		if _, err := New(c); err == nil {
			t.Errorf("New(%+v): no error", c)
		}
	}
}
