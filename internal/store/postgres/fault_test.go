package postgres

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/store"
	"github.com/heckhq/heck/internal/testkit"
)

// faultServer is a PostgreSQL of its own for the tests that stop and
// start it, so the other tests' server stays up.
var faultServer = testkit.NewShared(testkit.StartPostgres)

func testLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// TestRestartDuringWriteLoad: PostgreSQL restarts while results, rollups
// and transitions are being written; everything acknowledged is in the
// database afterwards, nothing dropped.
func TestRestartDuringWriteLoad(t *testing.T) {
	pg := faultServer.Get(t)
	d := freshDB(t, pg)
	st, err := Open(testCtx(t), d, Options{Observer: "n1", RetryFor: 2 * time.Minute, RetryMax: 300 * time.Millisecond,
		CloseTimeout: 60 * time.Second, Logger: testkit.Logger("store")})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var stop atomic.Bool
	var wg sync.WaitGroup
	var ackResults, ackRollups atomic.Int64
	var mu sync.Mutex
	var ackTransitions []string
	errs := make(chan error, 3)
	base := time.Now().UTC().Add(-time.Hour)
	wg.Go(func() { // results: 100 a call, each at its own nanosecond
		for i := 0; !stop.Load(); i++ {
			rs := make([]store.Result, 100)
			for j := range rs {
				rs[j] = store.Result{TargetID: fmt.Sprintf("t%d", j%10), At: base.Add(time.Duration(i*100+j) * time.Microsecond), Message: "m"}
			}
			if err := st.AddResults(ctx, rs); err != nil {
				errs <- fmt.Errorf("AddResults: %w", err)
				return
			}
			ackResults.Add(100)
			time.Sleep(time.Millisecond) // a steady load, not a flood
		}
	})
	wg.Go(func() { // rollups: 20 checks a call
		for i := 0; !stop.Load(); i++ {
			rs := make([]store.Rollup, 20)
			for j := range rs {
				rs[j] = store.Rollup{TargetID: fmt.Sprintf("t%d", j), Minute: base.Add(time.Duration(i%50) * time.Minute), Count: 1}
			}
			if err := st.AddRollups(ctx, rs); err != nil {
				errs <- fmt.Errorf("AddRollups: %w", err)
				return
			}
			ackRollups.Add(20)
			time.Sleep(2 * time.Millisecond)
		}
	})
	wg.Go(func() { // transitions, synchronous
		for i := 0; !stop.Load(); i++ {
			id := fmt.Sprintf("tr-%d", i)
			err := st.AddTransitions(ctx, []store.Transition{{ID: id, TargetID: "t0", At: base.Add(time.Duration(i) * time.Second),
				From: health.Up, To: health.Down}})
			if err != nil {
				errs <- fmt.Errorf("AddTransitions: %w", err)
				return
			}
			mu.Lock()
			ackTransitions = append(ackTransitions, id)
			mu.Unlock()
			time.Sleep(5 * time.Millisecond)
		}
	})
	written := func(n uint64) func() bool { return func() bool { return st.QueueStats().Written >= n } }
	testkit.Wait{Timeout: 60 * time.Second}.Until(t, "writes under way", testkit.True(written(5000)))
	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	testkit.Wait{Timeout: 60 * time.Second}.Until(t, "the writer notices the outage", testkit.True(func() bool { return st.QueueStats().Failures > 0 }))
	during := ackResults.Load()
	testkit.Wait{Timeout: 60 * time.Second}.Until(t, "results acknowledged during the outage",
		testkit.True(func() bool { return ackResults.Load() > during+2000 }))
	if err := pg.Start(); err != nil {
		t.Fatal(err)
	}
	after := st.QueueStats().Written
	testkit.Wait{Timeout: 60 * time.Second}.Until(t, "writes resume", testkit.True(written(after+5000)))
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if n := st.Dropped(); n != 0 {
		t.Errorf("%d results dropped with a queue of %d", n, DefaultQueue)
	}

	c := testCtx(t)
	conn, err := pgx.Connect(c, d)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(c)
	if n := int64(count(t, conn, "SELECT count(*) FROM results")); n != ackResults.Load() {
		t.Errorf("%d results stored, %d acknowledged", n, ackResults.Load())
	}
	if n := int64(count(t, conn, "SELECT coalesce(sum(n), 0) FROM rollups")); n != ackRollups.Load() {
		t.Errorf("rollups of %d checks stored, %d acknowledged", n, ackRollups.Load())
	}
	if n := int64(count(t, conn, "SELECT coalesce(sum(n), 0) FROM rollups_hour")); n != ackRollups.Load() {
		t.Errorf("hour rollups of %d checks stored, %d acknowledged", n, ackRollups.Load())
	}
	rows, err := conn.Query(c, "SELECT id FROM transitions")
	if err != nil {
		t.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, id := range ids {
		have[id] = true
	}
	for _, id := range ackTransitions {
		if !have[id] {
			t.Errorf("acknowledged transition %s is not stored", id)
		}
	}
	t.Logf("acknowledged %d results, %d rollup checks, %d transitions across the restart", ackResults.Load(), ackRollups.Load(), len(ackTransitions))
}

// TestLongOutageDropsOldestResults: with the database away and a small
// queue, the oldest raw results are dropped, counted and reported; the
// rollups and the transition wait and are all written once it is back.
func TestLongOutageDropsOldestResults(t *testing.T) {
	pg := faultServer.Get(t)
	d := freshDB(t, pg)
	var mu sync.Mutex
	var reported uint64
	st, err := Open(testCtx(t), d, Options{Queue: 100, RetryMax: 200 * time.Millisecond, RetryFor: 2 * time.Minute,
		DropReportEvery: time.Millisecond, CloseTimeout: 60 * time.Second,
		OnDrop: func(r DropReport) { mu.Lock(); reported += r.Dropped; mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	restarted := false
	defer func() {
		if !restarted {
			_ = pg.Start()
		}
	}()
	ctx := context.Background()
	rollups := make([]store.Rollup, 10)
	base := time.Now().UTC().Add(-time.Hour).Truncate(time.Minute)
	for i := range rollups {
		rollups[i] = store.Rollup{TargetID: fmt.Sprintf("t%d", i), Minute: base, Count: 1}
	}
	if err := st.AddRollups(ctx, rollups); err != nil {
		t.Fatal(err)
	}
	trDone := make(chan error, 1)
	go func() {
		trDone <- st.AddTransitions(ctx, []store.Transition{{ID: "during", TargetID: "t0", At: base, From: health.Up, To: health.Down}})
	}()
	const total, kept = 300, 90 // the queue keeps 100: 10 rollups, the 90 newest results
	for i := range total {
		if err := st.AddResults(ctx, []store.Result{{TargetID: "r", At: base.Add(time.Duration(i) * time.Second), Message: fmt.Sprint(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	testkit.Wait{Timeout: 30 * time.Second}.Until(t, "the oldest results dropped", testkit.True(func() bool {
		s := st.QueueStats()
		return s.Dropped == total-kept && s.QueuedResults == kept && s.QueuedRollups == len(rollups)
	}))
	if err := pg.Start(); err != nil {
		t.Fatal(err)
	}
	restarted = true
	if err := <-trDone; err != nil {
		t.Fatalf("AddTransitions across the outage: %v", err)
	}
	c := testCtx(t)
	got, err := st.Results(c, "r", time.Time{}, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != kept || got[0].Message != fmt.Sprint(total-1) || got[kept-1].Message != fmt.Sprint(total-kept) {
		t.Errorf("%d results stored (%v ... %v), want the newest %d", len(got), got[0].Message, got[len(got)-1].Message, kept)
	}
	for i := range rollups {
		rs, err := st.Rollups(c, rollups[i].TargetID, time.Time{}, time.Time{})
		if err != nil || len(rs) != 1 || rs[0].Count != 1 {
			t.Errorf("rollup of %s after the outage: %+v, %v", rollups[i].TargetID, rs, err)
		}
	}
	if _, err := st.TransitionByID(c, "during"); err != nil {
		t.Errorf("transition written during the outage: %v", err)
	}
	if st.Dropped() != total-kept {
		t.Errorf("Dropped() = %d, want %d", st.Dropped(), total-kept)
	}
	testkit.Wait{}.Until(t, "every drop reported", testkit.True(func() bool {
		mu.Lock()
		defer mu.Unlock()
		return reported == total-kept
	}))
}
