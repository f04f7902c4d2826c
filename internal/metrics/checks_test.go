package metrics_test

import (
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/heckhq/heck/internal/events"
	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/metrics"
	"github.com/heckhq/heck/internal/probe"
)

func slogTo(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

func TestChecks(t *testing.T) {
	h, m, reg := node(states{{"web", health.Up}, {"db", health.Down}}, true)
	m.ObserveCheck("http", true, probe.ReasonNone, 2*time.Millisecond, time.Millisecond)
	m.ObserveCheck("http", false, probe.ReasonTimeout, time.Second, 0)
	m.ObserveCheck("http", false, probe.ReasonNone, time.Second, 0) // a failure whose kind set no reason
	m.ObserveCheck("http", false, probe.ReasonLate, time.Second, 0)
	m.ObserveCheck("http", false, probe.Reason(200), time.Second, 0)                     // a reason from the future
	m.ObserveCheck("agent", true, probe.ReasonNone, time.Millisecond, -time.Millisecond) // a kind added later
	m.ObserveTransition(events.Transition{TargetID: "web", To: health.Down})
	m.ObserveTransition(events.Transition{TargetID: "web", To: health.State(99)})
	m.AddStoreWriteErrors(3)
	m.AddStoreWriteErrors(-1)
	var nilM *metrics.Checks
	nilM.ObserveCheck("http", true, probe.ReasonNone, 0, 0) // must not panic
	nilM.ObserveTransition(events.Transition{})
	nilM.AddStoreWriteErrors(1)
	again := metrics.NewChecks(reg) // reuses what is registered
	again.ObserveCheck("tcp", true, probe.ReasonNone, 0, 0)

	body := get(t, h, false).body
	for _, want := range []string{
		`heck_checks_total{kind="http",reason="",result="ok"} 1`,
		`heck_checks_total{kind="http",reason="timeout",result="fail"} 1`,
		`heck_checks_total{kind="http",reason="other",result="fail"} 2`,
		`heck_checks_total{kind="http",reason="late",result="fail"} 1`,
		`heck_checks_total{kind="http",reason="refused",result="fail"} 0`,
		`heck_checks_total{kind="agent",reason="",result="ok"} 1`,
		`heck_checks_total{kind="tcp",reason="",result="ok"} 1`,
		`heck_check_duration_seconds_bucket{kind="http",le="0.0025"} 1`,
		`heck_schedule_lateness_seconds_bucket{le="0.001"} 7`,
		`heck_schedule_lateness_seconds_count 7`,
		`heck_targets{state="up"} 1`,
		`heck_targets{state="down"} 1`,
		`heck_targets{state="unknown"} 0`,
		`heck_transitions_total{to="down"} 1`,
		`heck_transitions_total{to="up"} 0`,
		`heck_store_write_errors_total 3`,
		`heck_target_up{id="web"} 1`,
		`heck_target_up{id="db"} 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(body)
	}
}

func TestObserveCheckAllocs(t *testing.T) {
	m := metrics.NewChecks(prometheus.NewRegistry())
	allocs := testing.AllocsPerRun(1000, func() {
		m.ObserveCheck("http", true, probe.ReasonNone, time.Millisecond, time.Millisecond)
		m.ObserveCheck("http", false, probe.ReasonTimeout, time.Millisecond, time.Millisecond)
		m.ObserveTransition(events.Transition{To: health.Up})
	})
	if allocs != 0 {
		t.Fatalf("ObserveCheck allocates %v times per call", allocs)
	}
}

// Kinds first seen concurrently get one set of children each.
func TestChecksConcurrentKinds(t *testing.T) {
	h, m, _ := node(states{}, false)
	done := make(chan struct{})
	for range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range 100 {
				m.ObserveCheck("kind"+string(rune('a'+i%5)), true, probe.ReasonNone, 0, 0)
			}
		}()
	}
	for range 4 {
		<-done
	}
	body := get(t, h, false).body
	for i := range 5 {
		want := `heck_checks_total{kind="kind` + string(rune('a'+i)) + `",reason="",result="ok"} 80`
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func BenchmarkObserveCheck(b *testing.B) {
	m := metrics.NewChecks(prometheus.NewRegistry())
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.ObserveCheck("http", true, probe.ReasonNone, time.Millisecond, time.Millisecond)
		}
	})
}
