package sqlite

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/store"
)

// synthMinute fills rs with one minute of rollups for targets checked
// every second: 60 checks, latencies of 0.3-4 ms with a rare slow one, and
// about 1% of target-minutes with a few failures.
func synthMinute(rs []store.Rollup, ids []string, minute time.Time, rng *rand.Rand) {
	for i := range rs {
		r := store.Rollup{TargetID: ids[i], Minute: minute}
		failing := rng.IntN(100) == 0
		for s := range 60 {
			lat := time.Duration(300+rng.IntN(3700)) * time.Microsecond
			if rng.IntN(500) == 0 {
				lat = time.Duration(20+rng.IntN(200)) * time.Millisecond
			}
			r.Add(!(failing && s < 5), lat)
		}
		rs[i] = r
	}
}

// diskPerTargetDay writes minutes of rollups for targets (one AddRollups
// per minute, as the recorder does) and returns the bytes the store grew by
// per target per day, after checkpointing the write-ahead log.
func diskPerTargetDay(tb testing.TB, targets, minutes int) (perTargetDay float64, rowsPerSec float64) {
	tb.Helper()
	s, err := Open(testCtx(tb), filepath.Join(tb.TempDir(), "heck.db"), Options{})
	if err != nil {
		tb.Fatal(err)
	}
	defer s.Close()
	ids := make([]string, targets)
	for i := range ids {
		ids[i] = fmt.Sprintf("svc-%05d.http", i)
	}
	c, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := s.Checkpoint(c); err != nil {
		tb.Fatal(err)
	}
	before, err := s.DiskBytes()
	if err != nil {
		tb.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	rs := make([]store.Rollup, targets)
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var writing time.Duration
	for m := range minutes {
		synthMinute(rs, ids, start.Add(time.Duration(m)*time.Minute), rng)
		t0 := time.Now()
		if err := s.AddRollups(c, rs); err != nil {
			tb.Fatal(err)
		}
		writing += time.Since(t0)
	}
	if err := s.Checkpoint(c); err != nil {
		tb.Fatal(err)
	}
	after, err := s.DiskBytes()
	if err != nil {
		tb.Fatal(err)
	}
	perTargetDay = float64(after-before) / float64(targets) * (24 * 60) / float64(minutes)
	return perTargetDay, float64(targets*minutes) / writing.Seconds()
}

// TestDiskBytesPerTargetDay keeps rows compact: a target checked every
// second must cost well under 100 KB a day of minute rollups (a row per
// check would be tens of megabytes).
func TestDiskBytesPerTargetDay(t *testing.T) {
	per, _ := diskPerTargetDay(t, 100, 60)
	t.Logf("%.0f bytes per target per day (100 targets, 1 h of minute rollups)", per)
	if per > 100_000 {
		t.Errorf("%.0f bytes per target per day, want under 100 KB", per)
	}
}

// BenchmarkDiskBytesPerTargetDay reports the store's size per target per
// day for 1,000 targets checked every second, from 6 simulated hours of
// minute rollups.
func BenchmarkDiskBytesPerTargetDay(b *testing.B) {
	for b.Loop() {
		per, rate := diskPerTargetDay(b, 1000, 360)
		b.ReportMetric(per, "bytes/target/day")
		b.ReportMetric(rate, "rollups/s")
	}
}

// BenchmarkSQLiteAddRollups writes batches of 10,000 rollups (one minute
// of 10,000 targets), each in one transaction.
func BenchmarkSQLiteAddRollups(b *testing.B) {
	s, err := Open(testCtx(b), filepath.Join(b.TempDir(), "heck.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const n = 10_000
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("svc-%05d.http", i)
	}
	rs := make([]store.Rollup, n)
	rng := rand.New(rand.NewPCG(3, 4))
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	c, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	m := 0
	for b.Loop() {
		b.StopTimer()
		synthMinute(rs, ids, start.Add(time.Duration(m)*time.Minute), rng)
		m++
		b.StartTimer()
		if err := s.AddRollups(c, rs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/n*1000, "ns/rollup")
}

// BenchmarkSQLiteAddResults writes batches of 5,000 raw results (5 s of
// 1,000 targets), each in one transaction, as bench/store's write phase.
func BenchmarkSQLiteAddResults(b *testing.B) {
	s, err := Open(testCtx(b), filepath.Join(b.TempDir(), "heck.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const n, targets = 5000, 1000
	ids := make([]string, targets)
	for i := range ids {
		ids[i] = fmt.Sprintf("svc-%05d.http", i)
	}
	rs := make([]store.Result, n)
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	c, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	k := 0
	for b.Loop() {
		for i := range rs {
			rs[i] = store.Result{TargetID: ids[i%targets], At: start.Add(time.Duration(k) * time.Second), OK: true,
				Latency: time.Duration(k%50) * time.Millisecond, Message: "HTTP 200"}
			if i%targets == targets-1 {
				k++
			}
		}
		if err := s.AddResults(c, rs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "results/s")
}

// BenchmarkSQLiteTransitionReads is the transition log's point reads: a
// transition by id (every Append asks, to keep each change once) and a
// target's latest config events (every audited write reads its Before),
// over 10,000 stored transitions.
func BenchmarkSQLiteTransitionReads(b *testing.B) {
	ctx := testCtx(b)
	s, err := Open(ctx, filepath.Join(b.TempDir(), "heck.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const n = 10000
	ts := make([]store.Transition, n)
	t0 := time.Unix(1_800_000_000, 0).UTC()
	for i := range ts {
		ts[i] = store.Transition{ID: fmt.Sprintf("id-%d", i), TargetID: fmt.Sprintf("t%d", i%1000), At: t0.Add(time.Duration(i) * time.Second),
			To: 1, Type: "config", Subject: fmt.Sprintf("target/t%d", i%1000), After: "{}"}
	}
	if err := s.AddTransitions(ctx, ts); err != nil {
		b.Fatal(err)
	}
	b.Run("by-id", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if _, err := s.TransitionByID(ctx, ts[i%n].ID); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("by-id-missing", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.TransitionByID(ctx, "nope"); err == nil {
				b.Fatal("found a transition never added")
			}
		}
	})
	b.Run("target-config", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if _, err := s.Transitions(ctx, store.TransitionQuery{TargetID: ts[i%n].TargetID, Type: "config", Limit: 4}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
