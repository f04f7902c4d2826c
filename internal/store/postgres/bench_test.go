package postgres

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/store"
)

// BenchmarkWriteResults measures raw results written per second through
// the queue into PostgreSQL: calls of 1,000 results (100 targets), timed
// until every one is committed.
//
//	go test -run '^$' -bench WriteResults -benchtime 200x ./internal/store/postgres/
func BenchmarkWriteResults(b *testing.B) {
	pg := server.Get(b)
	st, err := Open(testCtx(b), freshDB(b, pg), Options{Observer: "bench", BatchSize: benchBatch})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	c := testCtx(b)
	const perCall = 1000
	base := time.Now().UTC().Add(-time.Hour)
	calls := make([][]store.Result, b.N)
	for i := range calls {
		rs := make([]store.Result, perCall)
		for j := range rs {
			k := i*perCall + j
			rs[j] = store.Result{TargetID: fmt.Sprintf("target-%03d", k%100), At: base.Add(time.Duration(k) * time.Microsecond),
				OK: k%10 != 0, Latency: time.Duration(k%500) * time.Millisecond, Message: "HTTP 503 Service Unavailable"}
		}
		calls[i] = rs
	}
	b.ResetTimer()
	start := time.Now()
	for _, rs := range calls {
		if err := st.AddResults(c, rs); err != nil {
			b.Fatal(err)
		}
	}
	if err := st.q.barrier(c); err != nil {
		b.Fatal(err)
	}
	el := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N*perCall)/el.Seconds(), "results/s")
	if d := st.Dropped(); d > 0 {
		b.Fatalf("%d results dropped", d)
	}
}

var benchBatch = 0 // Options.BatchSize; 0 is the default

// BenchmarkUptime30Days measures a 30-day uptime and latency-percentile
// read of one target with a rollup for every minute: all 43,200 minutes
// (Rollups), or the hours and the minutes of the hours the 24-hour grid
// cuts (RollupSpans, as internal/node groups an uptime).
//
//	go test -run '^$' -bench Uptime30Days -benchtime 100x ./internal/store/postgres/
func BenchmarkUptime30Days(b *testing.B) {
	pg := server.Get(b)
	st, err := Open(testCtx(b), freshDB(b, pg), Options{Observer: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	c, cancel := context.WithTimeout(context.Background(), 10*time.Minute) // long runs outlast testCtx
	defer cancel()
	now := time.Now().UTC()
	from := now.Add(-30 * 24 * time.Hour)
	first := from.Truncate(time.Minute)
	for d := range 31 {
		rs := make([]store.Rollup, 0, 1440)
		for m := range 1440 {
			at := first.Add(time.Duration(d*1440+m) * time.Minute)
			if at.After(now) {
				break
			}
			r := store.Rollup{TargetID: "t", Minute: at}
			for s := range 60 {
				r.Add(s != 0 || m%97 != 0, time.Duration(10+s%40)*time.Millisecond)
			}
			rs = append(rs, r)
		}
		if err := st.AddRollups(c, rs); err != nil {
			b.Fatal(err)
		}
	}
	reads := []struct {
		name string
		read func() ([]store.Rollup, error)
	}{
		{"minutes", func() ([]store.Rollup, error) { return st.Rollups(c, "t", from, now) }},
		{"spans", func() ([]store.Rollup, error) { return st.RollupSpans(c, "t", from, now, 24*time.Hour) }},
	}
	for _, rd := range reads {
		b.Run(rd.name, func(b *testing.B) {
			var took []time.Duration
			rows := 0
			for b.Loop() {
				t0 := time.Now()
				rs, err := rd.read()
				if err != nil {
					b.Fatal(err)
				}
				var sum store.Rollup
				for _, r := range rs {
					sum.Merge(r)
				}
				_ = sum.Quantile(0.99)
				took = append(took, time.Since(t0))
				rows = len(rs)
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)*99/100].Microseconds())/1000, "p99-ms")
			b.ReportMetric(float64(rows), "rows")
		})
	}
}
