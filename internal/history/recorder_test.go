package history

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/probe"
	"github.com/heckhq/heck/internal/store"
)

// memStore is an in-memory Store whose writes can be made to fail.
type memStore struct {
	mu      sync.Mutex
	rollups map[string]map[int64]store.Rollup
	results []store.Result
	trans   []store.Transition
	prunes  int
	fail    atomic.Bool
	writes  atomic.Int64
}

var errDown = errors.New("store down")

func newMem() *memStore { return &memStore{rollups: map[string]map[int64]store.Rollup{}} }

func (m *memStore) write() error {
	m.writes.Add(1)
	if m.fail.Load() {
		return errDown
	}
	return nil
}

func (m *memStore) AddTransitions(_ context.Context, ts []store.Transition) error {
	if err := m.write(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.trans = append(m.trans, ts...)
	return nil
}

func (m *memStore) Transitions(_ context.Context, q store.TransitionQuery) ([]store.Transition, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.Transition
	for i := len(m.trans) - 1; i >= 0; i-- {
		if m.trans[i].TargetID == q.TargetID {
			out = append(out, m.trans[i])
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.After(out[j].At) })
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}

func (m *memStore) AddRollups(_ context.Context, rs []store.Rollup) error {
	if err := m.write(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range rs {
		byMin := m.rollups[r.TargetID]
		if byMin == nil {
			byMin = map[int64]store.Rollup{}
			m.rollups[r.TargetID] = byMin
		}
		cur, ok := byMin[r.Minute.Unix()]
		if ok {
			cur.Merge(r)
		} else {
			cur = r
		}
		byMin[r.Minute.Unix()] = cur
	}
	return nil
}

func (m *memStore) Rollups(_ context.Context, id string, from, to time.Time) ([]store.Rollup, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.Rollup
	for _, r := range m.rollups[id] {
		if !r.Minute.Before(from) && r.Minute.Before(to) {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Minute.Before(out[j].Minute) })
	return out, nil
}

func (m *memStore) AddResults(_ context.Context, rs []store.Result) error {
	if err := m.write(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.results = append(m.results, rs...)
	return nil
}

func (m *memStore) Results(_ context.Context, id string, _, _ time.Time, limit int) ([]store.Result, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.Result
	for _, r := range m.results {
		if r.TargetID == id {
			out = append(out, r)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.After(out[j].At) })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (m *memStore) Prune(context.Context, store.Retention, time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.prunes++
	return nil
}

func (m *memStore) storedCount(id string) (n, fails uint32) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range m.rollups[id] {
		n += r.Count
		fails += r.Failures
	}
	return n, fails
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time   { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time)  { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func newClock(t time.Time) *clock { return &clock{t: t} }
func ok(lat time.Duration) probe.Result {
	return probe.Result{OK: true, Latency: lat, Message: "HTTP 200"}
}
func bad(msg string) probe.Result {
	return probe.Result{Latency: time.Millisecond, Message: msg, Details: probe.Details{StatusCode: 503}}
}

var t0 = time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC)

func tctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

func newRec(t *testing.T, st Store, clk *clock, opts RecorderOptions) *Recorder {
	t.Helper()
	opts.Now = clk.Now
	return NewRecorder(st, opts)
}

func totals(pts []Point) (n, fails uint32) {
	for _, p := range pts {
		n += p.Count
		fails += p.Failures
	}
	return n, fails
}

func TestRollupsWrittenWhenMinuteCloses(t *testing.T) {
	st, clk := newMem(), newClock(t0.Add(30*time.Second))
	rec := newRec(t, st, clk, RecorderOptions{})
	c := tctx(t)
	for i := range 3 {
		rec.Record("a", t0.Add(time.Duration(i)*time.Second), ok(time.Duration(i+1)*time.Millisecond), false)
	}
	rec.Record("a", t0.Add(61*time.Second), bad("HTTP 503"), true)
	rec.Record("a", t0.Add(62*time.Second), ok(3*time.Millisecond), false)

	clk.Set(t0.Add(65 * time.Second))
	if err := rec.Flush(c); err != nil {
		t.Fatal(err)
	}
	rs, _ := st.Rollups(c, "a", t0, t0.Add(time.Hour))
	if len(rs) != 1 || rs[0].Count != 3 || !rs[0].Minute.Equal(t0) {
		t.Fatalf("stored after the first minute closed: %+v, want one rollup of 3 at %v", rs, t0)
	}
	// The open minute shows in History though it is not stored yet.
	pts, err := rec.History(c, "a", t0, t0.Add(2*time.Minute), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(pts) != 2 || pts[0].Count != 3 || pts[1].Count != 2 || pts[1].Failures != 1 {
		t.Fatalf("history = %+v", pts)
	}
	// The clock moving on closes the minute even with no new result.
	clk.Set(t0.Add(2*time.Minute + time.Second))
	if err := rec.Flush(c); err != nil {
		t.Fatal(err)
	}
	if n, f := st.storedCount("a"); n != 5 || f != 1 {
		t.Fatalf("stored %d checks, %d failures; want 5, 1", n, f)
	}
	pts, _ = rec.History(c, "a", t0, t0.Add(2*time.Minute), time.Minute)
	if n, _ := totals(pts); n != 5 {
		t.Fatalf("history counts %d after flush, want 5 (no double count)", n)
	}
	if st := rec.Stats(); st.RowsWritten != 2+2 || st.PendingRollups != 0 {
		t.Errorf("stats %+v: want 4 rows written (2 rollups, 2 raw results), nothing pending", st)
	}
}

func TestRawResultsKeptAroundFailures(t *testing.T) {
	type step struct {
		ok, transition bool
		want           bool
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"successes are not kept", []step{{true, false, false}, {true, false, false}}},
		{"failures and the first success after", []step{
			{true, false, false}, {false, false, true}, {false, true, true}, {true, false, true}, {true, false, false}}},
		{"transition success kept", []step{{true, true, true}, {true, false, false}}},
		{"first result a failure", []step{{false, false, true}, {true, true, true}, {true, false, false}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, clk := newMem(), newClock(t0)
			rec := newRec(t, st, clk, RecorderOptions{})
			var want []string
			for i, s := range tc.steps {
				r := ok(time.Millisecond)
				if !s.ok {
					r = bad("down")
				}
				r.Message = fmt.Sprintf("r%d", i)
				rec.Record("t", t0.Add(time.Duration(i)*time.Second), r, s.transition)
				if s.want {
					want = append([]string{r.Message}, want...)
				}
			}
			got, err := rec.RecentRaw(tctx(t), "t", 0)
			if err != nil {
				t.Fatal(err)
			}
			var msgs []string
			for _, r := range got {
				msgs = append(msgs, r.Message)
			}
			if !slices.Equal(msgs, want) {
				t.Fatalf("kept %v, want %v", msgs, want)
			}
		})
	}
}

func TestRawResultDetails(t *testing.T) {
	st, clk := newMem(), newClock(t0)
	rec := newRec(t, st, clk, RecorderOptions{})
	rec.Record("t", t0, bad("HTTP 503"), true)
	rec.Record("t", t0.Add(time.Second), probe.Result{OK: false, Message: "refused"}, false)
	if err := rec.Flush(tctx(t)); err != nil {
		t.Fatal(err)
	}
	rs, _ := st.Results(tctx(t), "t", time.Time{}, time.Time{}, 0)
	if len(rs) != 2 || string(rs[1].Details) != `{"status_code":503}` || rs[0].Details != nil || rs[1].Message != "HTTP 503" {
		t.Fatalf("stored %+v", rs)
	}
}

func TestStoreDownLosesNoCounts(t *testing.T) {
	st, clk := newMem(), newClock(t0)
	rec := newRec(t, st, clk, RecorderOptions{MaxPendingResults: 5, BatchSize: 7})
	c := tctx(t)
	st.fail.Store(true)
	for m := range 5 {
		for i := range 10 {
			id := fmt.Sprintf("t%d", i)
			for s := range 6 {
				r := ok(time.Millisecond)
				if i == 0 && s == 0 {
					r = bad("timeout")
				}
				rec.Record(id, t0.Add(time.Duration(m)*time.Minute+time.Duration(s)*10*time.Second), r, false)
			}
		}
		clk.Set(t0.Add(time.Duration(m+1) * time.Minute))
		if err := rec.Flush(c); !errors.Is(err, errDown) {
			t.Fatalf("flush with the store down: %v", err)
		}
	}
	s := rec.Stats()
	if s.WriteErrors == 0 || s.PendingRollups != 50 || s.DroppedResults != 5 || s.PendingResults != 5 {
		t.Fatalf("stats while down: %+v; want errors, 50 pending rollups, 5 kept and 5 dropped results", s)
	}
	pts, err := rec.History(c, "t0", t0, t0.Add(10*time.Minute), 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(pts) != 2 || pts[0].Count != 30 || pts[0].Failures != 5 || pts[1].Count != 0 {
		t.Fatalf("history while down: %+v", pts)
	}
	st.fail.Store(false)
	if err := rec.Flush(c); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		id := fmt.Sprintf("t%d", i)
		if n, _ := st.storedCount(id); n != 30 {
			t.Errorf("%s: %d checks stored, want 30", id, n)
		}
	}
	if n, f := st.storedCount("t0"); n != 30 || f != 5 {
		t.Errorf("t0: %d/%d stored", n, f)
	}
	s = rec.Stats()
	if s.PendingRollups != 0 || s.PendingResults != 0 || s.RowsWritten != 55 {
		t.Errorf("stats after recovery: %+v; want nothing pending, 55 rows", s)
	}
}

func TestLateResultMerges(t *testing.T) {
	st, clk := newMem(), newClock(t0)
	rec := newRec(t, st, clk, RecorderOptions{})
	c := tctx(t)
	rec.Record("t", t0.Add(10*time.Second), ok(time.Millisecond), false)
	rec.Record("t", t0.Add(70*time.Second), ok(time.Millisecond), false)
	rec.Record("t", t0.Add(59*time.Second), bad("late"), false) // minute 0 already closed in memory
	clk.Set(t0.Add(2 * time.Minute))
	if err := rec.Flush(c); err != nil {
		t.Fatal(err)
	}
	rs, _ := st.Rollups(c, "t", t0, t0.Add(time.Hour))
	if len(rs) != 2 || rs[0].Count != 2 || rs[0].Failures != 1 || rs[1].Count != 1 {
		t.Fatalf("rollups %+v", rs)
	}
}

func TestRunFlushesOnStopAndPrunes(t *testing.T) {
	st := newMem()
	rec := NewRecorder(st, RecorderOptions{Retention: store.Retention{Results: time.Hour}, FlushEvery: 10 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- rec.Run(ctx) }()
	now := time.Now()
	rec.Record("t", now, ok(time.Millisecond), false)
	rec.Record("t", now, bad("x"), false)
	waitFor(t, func() bool { st.mu.Lock(); defer st.mu.Unlock(); return st.prunes == 1 })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if n, f := st.storedCount("t"); n != 2 || f != 1 {
		t.Fatalf("after stop: %d checks (%d failed) stored, want the open minute's 2 (1)", n, f)
	}
}

func TestRunReportsUnwrittenOnStop(t *testing.T) {
	st := newMem()
	st.fail.Store(true)
	rec := NewRecorder(st, RecorderOptions{FlushEvery: time.Hour, FlushTimeout: time.Second})
	rec.Record("t", time.Now(), ok(time.Millisecond), false)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := rec.Run(ctx)
	if !errors.Is(err, errDown) {
		t.Fatalf("Run = %v, want the store's error", err)
	}
	if s := rec.Stats(); s.PendingRollups != 1 {
		t.Errorf("pending after failed final flush: %+v", s)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestHistoryPoints(t *testing.T) {
	st, clk := newMem(), newClock(t0.Add(time.Hour))
	rec := newRec(t, st, clk, RecorderOptions{})
	c := tctx(t)
	// Minute i has i+1 results of (i+1) ms; minute 3 has one failure.
	for i := range 6 {
		for j := 0; j <= i; j++ {
			r := ok(time.Duration(i+1) * time.Millisecond)
			if i == 3 && j == 0 {
				r = bad("x")
			}
			rec.Record("h", t0.Add(time.Duration(i)*time.Minute+time.Duration(j)*time.Second), r, false)
		}
	}
	if err := rec.Flush(c); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		from, to   time.Time
		step       time.Duration
		wantStarts []time.Duration // offsets from t0
		wantCounts []uint32
	}{
		{"per minute", t0, t0.Add(6 * time.Minute), time.Minute,
			[]time.Duration{0, time.Minute, 2 * time.Minute, 3 * time.Minute, 4 * time.Minute, 5 * time.Minute}, []uint32{1, 2, 3, 4, 5, 6}},
		{"sub-minute step rounds up", t0, t0.Add(2 * time.Minute), 10 * time.Second,
			[]time.Duration{0, time.Minute}, []uint32{1, 2}},
		{"90s rounds to 2m", t0, t0.Add(6 * time.Minute), 90 * time.Second,
			[]time.Duration{0, 2 * time.Minute, 4 * time.Minute}, []uint32{3, 7, 11}},
		{"unaligned from", t0.Add(3*time.Minute + 20*time.Second), t0.Add(6 * time.Minute), 2 * time.Minute,
			[]time.Duration{2 * time.Minute, 4 * time.Minute}, []uint32{7, 11}}, // a point covers its whole step
		{"empty steps kept", t0.Add(5 * time.Minute), t0.Add(8 * time.Minute), time.Minute,
			[]time.Duration{5 * time.Minute, 6 * time.Minute, 7 * time.Minute}, []uint32{6, 0, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pts, err := rec.History(c, "h", tc.from, tc.to, tc.step)
			if err != nil {
				t.Fatal(err)
			}
			if len(pts) != len(tc.wantStarts) {
				t.Fatalf("%d points, want %d: %+v", len(pts), len(tc.wantStarts), pts)
			}
			for i, p := range pts {
				if !p.Start.Equal(t0.Add(tc.wantStarts[i])) || p.Count != tc.wantCounts[i] {
					t.Errorf("point %d: start %v count %d, want %v and %d", i, p.Start, p.Count, t0.Add(tc.wantStarts[i]), tc.wantCounts[i])
				}
			}
		})
	}
	pts, _ := rec.History(c, "h", t0.Add(3*time.Minute), t0.Add(4*time.Minute), time.Minute)
	p := pts[0]
	if p.Failures != 1 || p.Max != 4*time.Millisecond || p.Avg != (time.Millisecond+3*4*time.Millisecond)/4 ||
		p.P50 != 4*time.Millisecond || p.P99 != 4*time.Millisecond {
		t.Errorf("minute 3 point: %+v", p)
	}
	if _, err := rec.History(c, "h", t0, t0, time.Minute); err == nil {
		t.Error("empty range accepted")
	}
	if _, err := rec.History(c, "h", t0, t0.Add(1000*24*time.Hour), time.Minute); err == nil {
		t.Error("over a million points accepted")
	}
}

func TestUptime(t *testing.T) {
	st, clk := newMem(), newClock(t0)
	rec := newRec(t, st, clk, RecorderOptions{})
	c := tctx(t)
	now := t0.Add(40 * 24 * time.Hour)
	add := func(age time.Duration, n, fails uint32) {
		r := store.Rollup{TargetID: "u", Minute: now.Add(-age).Truncate(time.Minute), Count: n, Failures: fails}
		if err := st.AddRollups(c, []store.Rollup{r}); err != nil {
			t.Fatal(err)
		}
	}
	u, err := rec.Uptime(c, "u", now)
	if err != nil || u != (Uptime{-1, -1, -1}) {
		t.Fatalf("no checks: %+v, %v", u, err)
	}
	add(35*24*time.Hour, 100, 100) // outside every window
	add(20*24*time.Hour, 60, 30)
	add(3*24*time.Hour, 60, 0)
	add(time.Hour, 60, 6)
	clk.Set(now)
	rec.Record("u", now.Add(-time.Second), bad("x"), false) // in memory, counted
	u, err = rec.Uptime(c, "u", now)
	if err != nil {
		t.Fatal(err)
	}
	want := Uptime{Day: 54.0 / 61, Week: 114.0 / 121, Month: 144.0 / 181}
	if u != want {
		t.Errorf("uptime %+v, want %+v", u, want)
	}
}

func TestForget(t *testing.T) {
	st, clk := newMem(), newClock(t0)
	rec := newRec(t, st, clk, RecorderOptions{})
	c := tctx(t)
	rec.Record("gone", t0, bad("x"), true)
	rec.Record("gone", t0.Add(61*time.Second), bad("x"), false)
	rec.Record("kept", t0, bad("x"), true)
	rec.Forget("gone")
	if s := rec.Stats(); s.PendingResults != 1 || s.PendingRollups != 0 {
		t.Fatalf("after Forget: %+v", s)
	}
	clk.Set(t0.Add(5 * time.Minute))
	if err := rec.Flush(c); err != nil {
		t.Fatal(err)
	}
	if n, _ := st.storedCount("gone"); n != 0 {
		t.Errorf("forgotten target stored %d checks", n)
	}
	if n, _ := st.storedCount("kept"); n != 1 {
		t.Errorf("other target stored %d checks, want 1", n)
	}
	pts, _ := rec.History(c, "gone", t0, t0.Add(5*time.Minute), time.Minute)
	if n, _ := totals(pts); n != 0 {
		t.Errorf("history of a forgotten target: %d checks", n)
	}
}

// TestConcurrentRecordFlushQuery records from many goroutines while
// flushes and queries run: nothing is lost, and no query ever counts a
// check twice.
func TestConcurrentRecordFlushQuery(t *testing.T) {
	st := newMem()
	clk := newClock(t0)
	rec := newRec(t, st, clk, RecorderOptions{BatchSize: 3})
	c := tctx(t)
	const writers, perWriter, targets = 8, 600, 4
	var recorded atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				at := t0.Add(time.Duration(i) * 100 * time.Millisecond)
				recorded.Add(1) // before Record: a query may see it as soon as Record starts
				rec.Record(fmt.Sprintf("t%d", (w+i)%targets), at, ok(time.Millisecond), false)
				if i%50 == 0 {
					clk.Set(at)
				}
			}
		})
	}
	var bg sync.WaitGroup
	bg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				_ = rec.Flush(c)
			}
		}
	})
	errc := make(chan error, 4)
	for q := range 2 {
		bg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				var sum uint32
				for tg := range targets {
					pts, err := rec.History(c, fmt.Sprintf("t%d", tg), t0, t0.Add(2*time.Hour), time.Hour)
					if err != nil {
						errc <- err
						return
					}
					n, _ := totals(pts)
					sum += n
				}
				if after := recorded.Load(); int64(sum) > after {
					errc <- fmt.Errorf("query %d counted %d checks, only %d recorded: a double count", q, sum, after)
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	bg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	clk.Set(t0.Add(3 * time.Hour))
	if err := rec.Flush(c); err != nil {
		t.Fatal(err)
	}
	var total uint32
	for tg := range targets {
		n, _ := st.storedCount(fmt.Sprintf("t%d", tg))
		total += n
	}
	if total != writers*perWriter {
		t.Fatalf("stored %d checks, recorded %d", total, writers*perWriter)
	}
}

// racingStore runs hook inside each Rollups read before answering, to make
// a flush commit in the middle of a query.
type racingStore struct {
	*memStore
	hook func(call int)
	n    int
}

func (s *racingStore) Rollups(ctx context.Context, id string, from, to time.Time) ([]store.Rollup, error) {
	s.n++
	s.hook(s.n)
	return s.memStore.Rollups(ctx, id, from, to)
}

// TestQueryRacingCommitCountsOnce commits flushes while History reads the
// store: a check that moved from memory to the store in between is
// counted once, whether the query retries or falls back to the gate.
func TestQueryRacingCommitCountsOnce(t *testing.T) {
	tests := []struct {
		name    string
		flushes int // reads during which a flush commits
	}{
		{"one retry", 1},
		{"gated after three", 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock(t0.Add(time.Minute))
			st := &racingStore{memStore: newMem()}
			rec := newRec(t, st, clk, RecorderOptions{})
			c := tctx(t)
			recorded := 1
			rec.Record("q", t0, ok(time.Millisecond), false)
			st.hook = func(call int) {
				if call > tc.flushes {
					return
				}
				if call > 1 {
					rec.Record("q", t0.Add(time.Second), ok(time.Millisecond), false)
					recorded++
				}
				clk.Set(t0.Add(time.Duration(call+1) * time.Minute)) // closes the minute
				if err := rec.Flush(c); err != nil {
					t.Error(err)
				}
			}
			pts, err := rec.History(c, "q", t0, t0.Add(time.Minute), time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if n, _ := totals(pts); n != uint32(recorded) {
				t.Fatalf("history counted %d checks, %d were recorded", n, recorded)
			}
		})
	}
}
