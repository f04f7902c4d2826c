package schedule

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/probe"
)

// nopProber answers at once with a constant result.
type nopProber struct{}

func (nopProber) Probe(context.Context) probe.Result {
	return probe.Result{OK: true, Latency: time.Millisecond, Message: "HTTP 200"}
}

// deepProber uses about 16 KiB of stack, as an HTTP probe does (net/http,
// crypto/tls), so the benchmark shows what growing goroutine stacks costs.
type deepProber struct{}

//go:noinline
func burn(n int) int {
	var pad [512]byte
	pad[n%512] = byte(n)
	if n == 0 {
		return int(pad[0])
	}
	return burn(n-1) + int(pad[n%512])
}

func (deepProber) Probe(context.Context) probe.Result {
	burn(32)
	return probe.Result{OK: true, Latency: time.Millisecond, Message: "HTTP 200"}
}

func heapAlloc() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestMemoryPerJob measures the heap cost of 50,000 jobs with their
// recent-results rings full, and holds it well under the 4 KiB budget: for
// targets whose results keep one message (the common case) and for
// targets whose messages alternate (each ring sample then keeps its own).
func TestMemoryPerJob(t *testing.T) {
	n := 50_000
	if raceEnabled || testing.Short() {
		n = 5_000 // same per-job figure, ten times faster
	}
	for _, tt := range []struct {
		name     string
		messages int
		max      float64
	}{
		{"one message", 1, 600},
		{"alternating messages", 2, 700},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := heapAlloc()
			s := New(Options{})
			for i := range n {
				if err := s.Upsert(Job{ID: fmt.Sprintf("target-%05d", i), Schedule: sched(time.Second), Prober: nopProber{}}); err != nil {
					t.Fatal(err)
				}
			}
			// Fill every ring as DefaultRecent runs would, each message
			// freshly built as a prober would.
			s.mu.Lock()
			for _, e := range s.jobs {
				for k := range DefaultRecent + 2 {
					res := probe.Result{OK: true, Latency: time.Millisecond, Message: fmt.Sprintf("HTTP %d", 200+k%tt.messages),
						Details: probe.Details{StatusCode: 200}}
					var o Outcome
					s.recordLocked(e, run{}, int64(k), int64(k), &res, &o)
				}
			}
			s.mu.Unlock()
			after := heapAlloc()
			per := float64(after-before) / float64(n)
			t.Logf("%d jobs: %.0f bytes per job (heap, including id, map, heap slot and a full ring of %d results)", n, per, DefaultRecent)
			if per > tt.max {
				t.Errorf("%.0f bytes per job, want under %.0f (the node's whole budget is 4 KiB)", per, tt.max)
			}
			runtime.KeepAlive(s)
		})
	}
}

// BenchmarkDispatch measures how many probes per second the scheduler
// dispatches, runs and records with a no-op prober, with every job always
// due (the interval is far shorter than the dispatch of all jobs takes).
func BenchmarkDispatch(b *testing.B) {
	for _, c := range []struct {
		name   string
		n      int
		prober probe.Prober
	}{{"jobs=10000", 10_000, nopProber{}}, {"jobs=50000", 50_000, nopProber{}}, {"jobs=10000/deep-stack", 10_000, deepProber{}}} {
		n := c.n
		b.Run(c.name, func(b *testing.B) {
			var count atomic.Int64
			done := make(chan struct{})
			target := int64(b.N)
			s := New(Options{Sink: SinkFunc(func(*Outcome) Mode {
				if count.Add(1) == target {
					close(done)
				}
				return ModeNormal
			})})
			sc := sched(time.Millisecond)
			for i := range n {
				if err := s.Upsert(Job{ID: fmt.Sprintf("target-%05d", i), Schedule: sc, Prober: c.prober}); err != nil {
					b.Fatal(err)
				}
			}
			ctx, cancel := context.WithCancel(context.Background())
			ran := make(chan struct{})
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			go func() { _ = s.Run(ctx); close(ran) }()
			<-done
			b.StopTimer()
			cpu := cpuTime() - cpu0
			cancel()
			<-ran
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "targets/s")
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
		})
	}
}

// BenchmarkLateness runs 10,000 jobs at 1 s for 5 s of real time with a
// no-op prober and reports the schedule lateness. Run it alone:
//
//	go test -run - -bench Lateness -benchtime 1x ./internal/schedule/
func BenchmarkLateness(b *testing.B) {
	const n, runFor = 10_000, 5 * time.Second
	for range b.N {
		lat := make([]time.Duration, 0, n*int(runFor/time.Second)*2)
		var mu = make(chan struct{}, 1)
		s := New(Options{Sink: SinkFunc(func(o *Outcome) Mode {
			mu <- struct{}{}
			lat = append(lat, o.Lateness)
			<-mu
			return ModeNormal
		})})
		for i := range n {
			if err := s.Upsert(Job{ID: fmt.Sprintf("target-%05d", i), Schedule: sched(time.Second), Prober: nopProber{}}); err != nil {
				b.Fatal(err)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), runFor)
		start, cpu0 := time.Now(), cpuTime()
		_ = s.Run(ctx)
		el, cpu := time.Since(start), cpuTime()-cpu0
		cancel()
		slices.Sort(lat)
		p := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))].Microseconds()) / 1000 }
		b.ReportMetric(float64(len(lat))/el.Seconds(), "checks/s")
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(len(lat)), "cpu-ns/check")
		b.ReportMetric(p(0.5), "p50-ms")
		b.ReportMetric(p(0.99), "p99-ms")
		b.ReportMetric(p(1), "max-ms")
	}
}

// cpuTime is the CPU time (user and system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
