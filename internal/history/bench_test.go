package history

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/store/sqlite"
)

// BenchmarkRecorderRecord records results of 10,000 targets from parallel
// goroutines, as the scheduler's workers do; one in 200 fails. A flush
// runs beside it, as Run's would.
func BenchmarkRecorderRecord(b *testing.B) {
	const targets = 10_000
	ids := make([]string, targets)
	for i := range ids {
		ids[i] = fmt.Sprintf("svc-%05d.http", i)
	}
	st := newMem()
	rec := NewRecorder(st, RecorderOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				_ = rec.Flush(ctx)
			}
		}
	}()
	// Each goroutine owns a slice of the targets and probes each once per
	// simulated second, so minutes close as they would in production.
	lanes := runtime.GOMAXPROCS(0)
	var next atomic.Int64
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		lane := int(next.Add(1)-1) % lanes
		per := targets / lanes
		k := 0
		for pb.Next() {
			id := ids[lane+lanes*(k%per)]
			at := start.Add(time.Duration(k/per) * time.Second)
			r := ok(time.Duration(k%5000) * time.Microsecond)
			if k%200 == 0 {
				r = bad("timeout")
			}
			rec.Record(id, at, r, false)
			k++
		}
	})
	b.StopTimer()
	cancel()
	<-done
}

// TestRecorderWithSQLite runs the recorder on the real store: Run writes,
// stopping flushes the open minute, and a reopened store holds it all.
func TestRecorderWithSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "heck.db")
	c := tctx(t)
	st, err := sqlite.Open(c, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec := NewRecorder(st, RecorderOptions{FlushEvery: 20 * time.Millisecond})
	ctx, cancel := context.WithCancel(c)
	done := make(chan error, 1)
	go func() { done <- rec.Run(ctx) }()
	now := time.Now()
	for i := range 50 {
		r := ok(2 * time.Millisecond)
		if i%10 == 0 {
			r = bad("connection refused")
		}
		rec.Record(fmt.Sprintf("t%d", i%5), now.Add(-time.Duration(i)*time.Second), r, false)
	}
	waitFor(t, func() bool { return rec.Stats().PendingResults == 0 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st, err = sqlite.Open(c, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rec = NewRecorder(st, RecorderOptions{})
	var n, fails uint32
	for i := range 5 {
		pts, err := rec.History(c, fmt.Sprintf("t%d", i), now.Add(-time.Hour), now.Add(time.Minute), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		a, f := totals(pts)
		n += a
		fails += f
	}
	if n != 50 || fails != 5 {
		t.Fatalf("after restart: %d checks, %d failures; want 50, 5", n, fails)
	}
	raw, err := rec.RecentRaw(c, "t0", 0)
	if err != nil {
		t.Fatal(err)
	}
	// t0 got results 0, 5, ..., 45; 0, 10, 20, 30, 40 failed and each was
	// followed (in time, backwards in i) by a success: all 10 kept.
	if len(raw) != 10 {
		t.Errorf("t0: %d raw results kept, want 10", len(raw))
	}
}
