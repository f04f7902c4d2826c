package schedule

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
	"unique"
	"unsafe"

	"github.com/heckhq/heck/internal/probe"
	"github.com/heckhq/heck/internal/target"
)

// The tests run in synctest bubbles: time is fake and only moves when every
// goroutine is blocked, so run times are exact and nothing sleeps for real.

func TestAdaptiveIntervals(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		s := New(Options{Sink: rec})
		sc := target.Schedule{Interval: target.Duration(10 * time.Second), FastInterval: target.Duration(time.Second),
			DownInterval: target.Duration(5 * time.Second), Timeout: target.Duration(500 * time.Millisecond), Rise: 2, Fall: 3}
		p := &fakeProber{script: pattern("-----++++")}
		mustUpsert(t, s, Job{ID: "a", Schedule: sc, Prober: p})
		stop := started(t, s)
		time.Sleep(60 * time.Second)
		stop()

		// unknown: fast, fast; down after the 3rd failure: down, down, down;
		// a success while down: fast; up after the 2nd: interval.
		want := []time.Duration{1, 1, 5, 5, 5, 1, 10, 10}
		g := gaps(p.runs())
		if len(g) < len(want) {
			t.Fatalf("only %d runs: %v", len(g)+1, g)
		}
		for i, w := range want {
			if g[i] != w*time.Second {
				t.Errorf("gap %d = %v, want %v (all %v)", i, g[i], w*time.Second, g)
			}
		}
		if got := strings.Join(rec.changes("a"), ", "); got != `unknown->down "refused", down->up "ok"` {
			t.Errorf("transitions: %s", got)
		}
	})
}

func TestFirstRunsSpreadOverOneInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		s := New(Options{Sink: rec})
		sc := sched(time.Second)
		sc.InitialDelay = target.Duration(2 * time.Second)
		const n = 1000
		t0 := time.Now()
		for i := range n {
			mustUpsert(t, s, Job{ID: fmt.Sprint(i), Schedule: sc, Prober: okProber()})
		}
		stop := started(t, s)
		time.Sleep(3 * time.Second)
		stop()
		var buckets [10]int
		for i := range n {
			out := rec.of(fmt.Sprint(i))
			if len(out) == 0 {
				t.Fatalf("job %d never ran", i)
			}
			off := out[0].Start.Sub(t0)
			if off < 2*time.Second || off >= 3*time.Second {
				t.Fatalf("job %d first ran at +%v, want within [2s, 3s)", i, off)
			}
			if out[0].Lateness != 0 {
				t.Errorf("job %d late by %v", i, out[0].Lateness)
			}
			buckets[(off-2*time.Second)/(100*time.Millisecond)]++
		}
		// 100 expected per bucket; 40..160 is over 6 standard deviations.
		for i, c := range buckets {
			if c < 40 || c > 160 {
				t.Errorf("bucket %d of the first interval has %d first runs, want about 100: %v", i, c, buckets)
			}
		}
	})
}

func TestNoDrift(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New(Options{})
		plain := &fakeProber{delay: 300 * time.Millisecond}
		jittered := &fakeProber{delay: 300 * time.Millisecond}
		mustUpsert(t, s, Job{ID: "plain", Schedule: sched(time.Second), Prober: plain, Mode: ModeNormal})
		sc := sched(time.Second)
		sc.Jitter = target.Duration(200 * time.Millisecond)
		mustUpsert(t, s, Job{ID: "jittered", Schedule: sc, Prober: jittered, Mode: ModeNormal})
		stop := started(t, s)
		time.Sleep(52 * time.Second)
		stop()

		runs := plain.runs()
		if len(runs) < 50 {
			t.Fatalf("%d runs in 52s", len(runs))
		}
		for k, r := range runs {
			if d := r.Sub(runs[0]); d != time.Duration(k)*time.Second {
				t.Fatalf("run %d at +%v from the first, want %v (a probe of 300ms must not push the schedule)", k, d, time.Duration(k)*time.Second)
			}
		}
		runs = jittered.runs()
		var lo, hi time.Duration
		for k, r := range runs {
			d := r.Sub(runs[0]) - time.Duration(k)*time.Second
			if d < -200*time.Millisecond || d > 200*time.Millisecond {
				t.Fatalf("jittered run %d off its grid by %v, want within the 200ms jitter", k, d)
			}
			lo, hi = min(lo, d), max(hi, d)
		}
		if hi-lo > 200*time.Millisecond {
			t.Errorf("jittered runs spread over %v, want within the 200ms jitter", hi-lo)
		}
		if hi == lo {
			t.Errorf("jitter never moved a run")
		}
	})
}

// TestSkipAfterOverrun: a run that overruns several intervals is followed
// by one run at once, then the grid, not by a burst of the missed runs.
func TestSkipAfterOverrun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New(Options{})
		p := &fakeProber{}
		p.onRun = func(i int) {
			if i == 2 {
				time.Sleep(5500 * time.Millisecond)
			}
		}
		sc := sched(time.Second)
		sc.Timeout = target.Duration(10 * time.Second)
		mustUpsert(t, s, Job{ID: "a", Schedule: sc, Prober: p, Mode: ModeNormal})
		stop := started(t, s)
		time.Sleep(12 * time.Second)
		stop()
		r := p.runs()
		t0 := r[0]
		want := []time.Duration{0, 1, 2, 7500 * time.Millisecond, 8 * time.Second, 9 * time.Second, 10 * time.Second}
		want[1], want[2] = time.Second, 2*time.Second
		if len(r) < len(want) {
			t.Fatalf("runs at %v", gaps(r))
		}
		for i, w := range want {
			if d := r[i].Sub(t0); d != w {
				t.Errorf("run %d at +%v, want +%v (gaps %v)", i, d, w, gaps(r))
			}
		}
	})
}

// TestSkipAfterStall: a target kept waiting for several intervals (here by
// the concurrency bound) runs once, late, then back on its grid.
func TestSkipAfterStall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		s := New(Options{Sink: rec, Concurrency: 1})
		hog := &fakeProber{delay: 5500 * time.Millisecond}
		sc := sched(time.Hour)
		sc.Timeout = target.Duration(time.Minute)
		mustUpsert(t, s, Job{ID: "hog", Schedule: sc, Prober: hog, Mode: ModeNormal})
		stop := started(t, s)
		for len(hog.runs()) == 0 {
			time.Sleep(100 * time.Millisecond)
		}
		// b's first run is due within 1.1s of the hog's start, which holds
		// the only slot for 5.5s: it runs over 4s (four intervals) late.
		b := okProber()
		mustUpsert(t, s, Job{ID: "b", Schedule: sched(time.Second), Prober: b, Mode: ModeNormal})
		time.Sleep(10 * time.Second)
		stop()

		out := rec.of("b")
		hogEnd := hog.runs()[0].Add(5500 * time.Millisecond)
		if len(out) < 5 {
			t.Fatalf("b ran %d times", len(out))
		}
		if !out[0].Start.Equal(hogEnd) || out[0].Lateness < 4*time.Second {
			t.Fatalf("b's first run at %v late %v, want at the hog's end %v and over 4s late", out[0].Start, out[0].Lateness, hogEnd)
		}
		if d := out[1].Start.Sub(out[0].Start); d <= 0 || d > time.Second {
			t.Errorf("second run %v after the late one, want within one interval (no burst)", d)
		}
		if off := out[1].Start.Sub(out[0].Due) % time.Second; off != 0 {
			t.Errorf("second run off the original grid by %v", off)
		}
		for i := 2; i < len(out); i++ {
			if d := out[i].Start.Sub(out[i-1].Start); d != time.Second {
				t.Errorf("run %d: gap %v, want 1s", i, d)
			}
			if out[i].Lateness != 0 {
				t.Errorf("run %d late by %v after the stall", i, out[i].Lateness)
			}
		}
	})
}

// TestNoConcurrentRunsOfOneTarget: a probe slower than the interval delays
// the next run to its end; two runs of one target never overlap.
func TestNoConcurrentRunsOfOneTarget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New(Options{})
		// Alternating results never settle, so the fast interval stays.
		p := &fakeProber{delay: 500 * time.Millisecond, script: func(i int) probe.Result { return probe.Result{OK: i%2 == 0} }}
		sc := sched(time.Second)
		sc.FastInterval = target.Duration(200 * time.Millisecond)
		mustUpsert(t, s, Job{ID: "a", Schedule: sc, Prober: p})
		stop := started(t, s)
		time.Sleep(5 * time.Second)
		stop()
		g := gaps(p.runs())
		if len(g) < 5 {
			t.Fatalf("gaps %v", g)
		}
		for i, d := range g {
			if d != 500*time.Millisecond {
				t.Errorf("gap %d = %v, want the probe's 500ms (the next run right after the last)", i, d)
			}
		}
		if p.maxIn != 1 {
			t.Errorf("%d runs of one target in flight at once", p.maxIn)
		}
	})
}

func TestUpsertReplacesWithoutDisturbingOthers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New(Options{})
		a1, b := okProber(), okProber()
		mustUpsert(t, s, Job{ID: "a", Schedule: sched(time.Second), Prober: a1, Mode: ModeNormal})
		mustUpsert(t, s, Job{ID: "b", Schedule: sched(time.Second), Prober: b, Mode: ModeNormal})
		stop := started(t, s)
		time.Sleep(5500 * time.Millisecond)
		before, _ := s.Status("a")
		if before.Mode != ModeNormal {
			t.Fatalf("a is in mode %v before the change", before.Mode)
		}

		a2 := okProber()
		mustUpsert(t, s, Job{ID: "a", Schedule: sched(3 * time.Second), Prober: a2, Mode: ModeDown})
		if a1.closes() != 1 {
			t.Errorf("old prober closed %d times on replace, want once", a1.closes())
		}
		time.Sleep(10 * time.Second)
		stop()

		after, _ := s.Status("a")
		if after.Mode != ModeNormal {
			t.Errorf("replace changed the mode to %v: a replaced job keeps its mode", after.Mode)
		}
		n1, n2 := len(a1.runs()), len(a2.runs())
		if after.Checks != uint64(n1+n2) {
			t.Errorf("checks %d, want %d+%d: counters must survive a replace", after.Checks, n1, n2)
		}
		if d := a2.runs()[0].Sub(a1.runs()[n1-1]); d != 3*time.Second {
			t.Errorf("first run with the new schedule %v after the last old one, want 3s", d)
		}
		for i, d := range gaps(a2.runs()) {
			if d != 3*time.Second {
				t.Errorf("new schedule gap %d = %v, want 3s", i, d)
			}
		}
		for i, d := range gaps(b.runs()) {
			if d != time.Second {
				t.Errorf("other target's gap %d = %v, want 1s throughout", i, d)
			}
		}
		if a2.closes() != 0 || b.closes() != 0 {
			t.Errorf("live probers closed")
		}

		// Upserting the same prober again must not close it.
		mustUpsert(t, s, Job{ID: "a", Schedule: sched(3 * time.Second), Prober: a2})
		if a2.closes() != 0 {
			t.Errorf("prober closed when upserted unchanged")
		}
	})
}

// TestUpsertWhileRunning: the replaced prober is closed only once its run
// in flight is over, and the next run uses the new one.
func TestUpsertWhileRunning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		s := New(Options{Sink: rec})
		block := make(chan struct{})
		old := &fakeProber{block: block}
		mustUpsert(t, s, Job{ID: "a", Schedule: sched(time.Second), Prober: old})
		stop := started(t, s)
		for len(old.runs()) == 0 {
			time.Sleep(100 * time.Millisecond)
		}
		mid, next := okProber(), okProber()
		mustUpsert(t, s, Job{ID: "a", Schedule: sched(time.Second), Prober: mid})
		mustUpsert(t, s, Job{ID: "a", Schedule: sched(time.Second), Prober: next})
		synctest.Wait()
		if old.closes() != 0 {
			t.Fatalf("prober closed while its run is in flight")
		}
		if mid.closes() != 1 {
			t.Errorf("replaced prober that never ran closed %d times, want once", mid.closes())
		}
		close(block)
		synctest.Wait()
		if old.closes() != 1 {
			t.Errorf("old prober closed %d times after its run, want once", old.closes())
		}
		if len(rec.of("a")) != 1 {
			t.Errorf("the in-flight run's outcome was lost")
		}
		time.Sleep(2 * time.Second)
		stop()
		if len(old.runs()) != 1 || len(mid.runs()) != 0 || len(next.runs()) == 0 {
			t.Errorf("runs old %d mid %d new %d, want 1, 0, some", len(old.runs()), len(mid.runs()), len(next.runs()))
		}
	})
}

func TestRemoveClosesProber(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		s := New(Options{Sink: rec})
		idle := okProber()
		block := make(chan struct{})
		busy := &fakeProber{block: block}
		mustUpsert(t, s, Job{ID: "idle", Schedule: sched(time.Second), Prober: idle})
		mustUpsert(t, s, Job{ID: "busy", Schedule: sched(time.Second), Prober: busy})
		stop := started(t, s)
		for len(busy.runs()) == 0 {
			time.Sleep(100 * time.Millisecond)
		}
		synctest.Wait()
		if !s.Remove("idle") || s.Remove("nope") {
			t.Fatalf("Remove reported wrongly")
		}
		if idle.closes() != 1 {
			t.Errorf("idle prober closed %d times on Remove, want once", idle.closes())
		}
		n := len(idle.runs())
		s.Remove("busy")
		if busy.closes() != 0 {
			t.Errorf("busy prober closed while its run is in flight")
		}
		if s.Len() != 0 {
			t.Errorf("Len %d after removing both", s.Len())
		}
		close(block)
		synctest.Wait()
		if busy.closes() != 1 {
			t.Errorf("busy prober closed %d times after its run, want once", busy.closes())
		}
		time.Sleep(5 * time.Second)
		stop()
		if len(idle.runs()) != n || len(busy.runs()) != 1 {
			t.Errorf("removed targets ran again")
		}
		if len(rec.of("busy")) != 0 {
			t.Errorf("outcome of a removed target's run reached the sink")
		}
		if _, ok := s.Status("idle"); ok {
			t.Errorf("Status of a removed target")
		}
	})
}

func TestRunDrainsInFlightProbes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		s := New(Options{Sink: rec})
		p := &fakeProber{delay: 2 * time.Second}
		sc := sched(10 * time.Second)
		sc.Timeout = target.Duration(5 * time.Second)
		mustUpsert(t, s, Job{ID: "a", Schedule: sc, Prober: p})
		ctx, cancel := context.WithCancel(context.Background())
		var returned atomic.Bool
		done := make(chan struct{})
		go func() {
			if err := s.Run(ctx); err != nil {
				t.Errorf("Run: %v", err)
			}
			returned.Store(true)
			close(done)
		}()
		for len(p.runs()) == 0 {
			time.Sleep(100 * time.Millisecond)
		}
		start := p.runs()[0]
		time.Sleep(500 * time.Millisecond)
		cancel()
		synctest.Wait()
		if returned.Load() {
			t.Fatalf("Run returned with a probe in flight")
		}
		<-done
		if d := time.Since(start); d != 2*time.Second {
			t.Errorf("Run returned %v after the probe started, want when it ended (2s)", d)
		}
		out := rec.of("a")
		if len(out) != 1 || !out[0].Result.OK {
			t.Fatalf("drained outcome: %+v", out)
		}
		if p.errs[0] != nil {
			t.Errorf("the probe's context was cancelled by shutdown: %v", p.errs[0])
		}
		if len(p.runs()) != 1 {
			t.Errorf("dispatched after cancel")
		}
	})
}

func TestConcurrencyBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New(Options{Concurrency: 7})
		shared := &fakeProber{delay: 100 * time.Millisecond} // one prober for all: counts every run in flight
		for i := range 100 {
			mustUpsert(t, s, Job{ID: fmt.Sprint(i), Schedule: sched(time.Second), Prober: shared})
		}
		stop := started(t, s)
		time.Sleep(3 * time.Second)
		stop()
		if shared.maxIn != 7 {
			t.Errorf("max in flight %d, want the bound 7", shared.maxIn)
		}
		if n := len(shared.runs()); n < 100 {
			t.Errorf("only %d runs", n)
		}
	})
}

func TestTimeoutReachesProber(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		s := New(Options{Sink: rec})
		p := &fakeProber{delay: time.Minute, script: func(int) probe.Result { return probe.Fail(0, "timed out") }}
		sc := sched(time.Second)
		sc.Timeout = target.Duration(300 * time.Millisecond)
		mustUpsert(t, s, Job{ID: "a", Schedule: sc, Prober: p})
		stop := started(t, s)
		time.Sleep(2 * time.Second)
		stop()
		if p.slack[0] != 300*time.Millisecond {
			t.Errorf("deadline %v after the start, want the 300ms timeout", p.slack[0])
		}
		if !errors.Is(p.errs[0], context.DeadlineExceeded) {
			t.Errorf("ctx error %v, want deadline exceeded", p.errs[0])
		}
		if o := rec.of("a")[0]; o.Result.Latency != 300*time.Millisecond {
			t.Errorf("latency %v, want the time the prober took (300ms) when it reports none", o.Result.Latency)
		}
	})
}

func TestProberPanicIsAFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		s := New(Options{Sink: rec, Logger: slog.New(slog.DiscardHandler)})
		p := &fakeProber{onRun: func(int) { panic("boom") }}
		mustUpsert(t, s, Job{ID: "a", Schedule: sched(time.Second), Prober: p})
		stop := started(t, s)
		time.Sleep(1500 * time.Millisecond)
		stop()
		out := rec.of("a")
		if len(out) == 0 || out[0].Result.OK || !strings.Contains(out[0].Result.Message, "boom") {
			t.Fatalf("outcome of a panicking probe: %+v", out)
		}
	})
}

func TestStatusAndRecent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New(Options{Recent: 3})
		i := 0
		p := &fakeProber{script: func(int) probe.Result {
			i++
			return probe.Result{OK: i%2 == 1, Message: fmt.Sprintf("result %d", i), Latency: time.Duration(i) * time.Millisecond}
		}}
		mustUpsert(t, s, Job{ID: "a", Schedule: sched(time.Second), Prober: p})
		stop := started(t, s)
		for len(p.runs()) < 5 {
			time.Sleep(100 * time.Millisecond)
		}
		synctest.Wait()
		st, ok := s.Status("a")
		stop()
		if !ok {
			t.Fatal("no status")
		}
		runs := p.runs()
		if st.Checks != 5 || st.Failed != 2 || st.Last.Message != "result 5" || !st.LastAt.Equal(runs[4]) {
			t.Errorf("status: checks %d failed %d last %q at %v", st.Checks, st.Failed, st.Last.Message, st.LastAt)
		}
		if !st.Next.Equal(runs[4].Add(time.Second)) {
			t.Errorf("next %v, want a second after the last run %v", st.Next, runs[4])
		}
		if len(st.Recent) != 3 {
			t.Fatalf("recent %+v, want the last 3", st.Recent)
		}
		for k, r := range st.Recent {
			n := k + 3
			if r.Message != fmt.Sprintf("result %d", n) || r.OK != (n%2 == 1) || r.Latency != time.Duration(n)*time.Millisecond || !r.At.Equal(runs[n-1]) {
				t.Errorf("recent[%d] = %+v, want result %d", k, r, n)
			}
		}
	})
}

// TestMessagesShared: an unchanged message is stored once, not once per
// result, even when the prober builds a fresh string each time.
func TestMessagesShared(t *testing.T) {
	s := New(Options{})
	e := &entry{id: "a", sched: unique.Make(sched(time.Second)), lastAt: noTime, hidx: -1}
	var ptrs []*byte
	for i := range 4 {
		msg := fmt.Sprintf("HTTP %d", 200+i/2) // two results each of two messages
		res := probe.Result{OK: true, Message: msg}
		s.recordLocked(e, run{}, int64(i), int64(i), &res, &Outcome{})
		ptrs = append(ptrs, unsafe.StringData(msgValue(e.last.msg)))
	}
	if ptrs[0] != ptrs[1] || ptrs[2] != ptrs[3] || ptrs[1] == ptrs[2] {
		t.Errorf("message storage not shared per unchanged message: %v", ptrs)
	}
	st, _ := func() (Status, bool) { var st Status; s.fillLocked(&st, e, true); return st, true }()
	if unsafe.StringData(st.Recent[0].Message) != ptrs[0] || unsafe.StringData(st.Recent[3].Message) != ptrs[3] {
		t.Errorf("recent results do not share the message strings")
	}
}

func TestAllListsEveryJob(t *testing.T) {
	s := New(Options{})
	const n = 1000
	for i := range n {
		mustUpsert(t, s, Job{ID: fmt.Sprint(i), Schedule: sched(time.Second), Prober: okProber()})
	}
	seen := map[string]bool{}
	for id, st := range s.All() {
		if seen[id] || st.ID != id || st.Recent != nil {
			t.Fatalf("bad listing entry %q: %+v", id, st)
		}
		seen[id] = true
	}
	if len(seen) != n {
		t.Errorf("listed %d of %d", len(seen), n)
	}

	// Jobs removed during a listing are not listed once removed.
	count := 0
	for range s.All() {
		count++
		if count == 1 {
			for i := range n {
				s.Remove(fmt.Sprint(i))
			}
		}
	}
	if count != listChunk {
		t.Errorf("listed %d after removing all during the first chunk, want the %d already copied", count, listChunk)
	}

	// Stopping early.
	mustUpsert(t, s, Job{ID: "x", Schedule: sched(time.Second), Prober: okProber()})
	mustUpsert(t, s, Job{ID: "y", Schedule: sched(time.Second), Prober: okProber()})
	count = 0
	s.Each(func(string, *Status) bool { count++; return false })
	if count != 1 {
		t.Errorf("Each went on after false: %d", count)
	}
}

func TestUpsertRejectsBadJobs(t *testing.T) {
	s := New(Options{})
	neg := sched(time.Second)
	neg.Interval = -1
	noRise := sched(time.Second)
	noRise.Rise = -2
	negJitter := sched(time.Second)
	negJitter.Jitter = -1
	tests := []struct {
		name string
		job  Job
		want string
	}{
		{"empty id", Job{Prober: okProber()}, "job id is empty"},
		{"nil prober", Job{ID: "a"}, `job "a": prober is nil`},
		{"negative interval", Job{ID: "a", Prober: okProber(), Schedule: neg}, "interval -1ns: must be above 0 and at most 24h"},
		{"negative rise", Job{ID: "a", Prober: okProber(), Schedule: noRise}, "rise -2"},
		{"negative jitter", Job{ID: "a", Prober: okProber(), Schedule: negJitter}, "jitter -1ns"},
	}
	for _, tt := range tests {
		err := s.Upsert(tt.job)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one containing %q", tt.name, err, tt.want)
		}
	}
	if s.Len() != 0 {
		t.Errorf("bad jobs were added")
	}
	// A zero schedule gets the defaults.
	mustUpsert(t, s, Job{ID: "a", Prober: okProber()})
	if st, _ := s.Status("a"); st.Interval != target.DefaultInterval {
		t.Errorf("zero schedule: interval %v, want the default", st.Interval)
	}
}

func TestRunTwiceIsAnError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New(Options{})
		stop := started(t, s)
		synctest.Wait()
		if err := s.Run(context.Background()); err == nil {
			t.Errorf("second Run while running: no error")
		}
		stop()
		// Run may start again once it has returned.
		stop = started(t, s)
		stop()
	})
}

// TestUpsertWakesDispatcher: a job added or shortened while the dispatcher
// sleeps until a far due time runs on its own schedule, not at that time.
func TestUpsertWakesDispatcher(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New(Options{})
		far, added, shortened := okProber(), okProber(), okProber()
		mustUpsert(t, s, Job{ID: "far", Schedule: sched(time.Hour), Prober: far})
		mustUpsert(t, s, Job{ID: "short", Schedule: sched(time.Hour), Prober: shortened})
		stop := started(t, s)
		synctest.Wait()
		t0 := time.Now()
		mustUpsert(t, s, Job{ID: "added", Schedule: sched(time.Second), Prober: added})
		// Not run yet: the shorter schedule's first run comes sooner.
		mustUpsert(t, s, Job{ID: "short", Schedule: sched(time.Second), Prober: shortened})
		time.Sleep(time.Second)
		synctest.Wait()
		for name, p := range map[string]*fakeProber{"added": added, "shortened": shortened} {
			r := p.runs()
			if len(r) == 0 || r[0].Sub(t0) >= time.Second {
				t.Errorf("%s job: runs %v, want its first within a second of the change", name, r)
			}
		}
		st, _ := s.Status("added")
		if st.Running || !st.Next.After(st.LastAt) {
			t.Errorf("status after a run: running %v next %v last %v", st.Running, st.Next, st.LastAt)
		}
		stop()
	})
}

func TestSpreadFirstNarrowsTheFirstRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu chanMutex = make(chan struct{}, 1)
		first := map[string]time.Time{}
		s := New(Options{Sink: SinkFunc(func(o *Outcome) Mode {
			mu.Lock()
			defer mu.Unlock()
			if _, ok := first[o.TargetID]; !ok {
				first[o.TargetID] = o.Start
			}
			return ModeNormal
		})})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); _ = s.Run(ctx) }()
		start := time.Now()
		for i := 0; i < 200; i++ {
			job := Job{ID: fmt.Sprint(i), Prober: nopProber{},
				Schedule: target.Schedule{Interval: target.Duration(10 * time.Second), Timeout: target.Duration(time.Second)}, SpreadFirst: time.Second}
			if err := s.Upsert(job); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(2 * time.Second)
		cancel()
		<-done
		mu.Lock()
		defer mu.Unlock()
		if len(first) != 200 {
			t.Fatalf("%d of 200 targets ran within 2s of a 10s interval with SpreadFirst 1s", len(first))
		}
		for id, at := range first {
			if d := at.Sub(start); d > time.Second {
				t.Fatalf("target %s first ran after %v, want within SpreadFirst (1s)", id, d)
			}
		}
	})
}

// chanMutex is a mutex usable inside synctest bubbles without importing sync
// into this file twice.
type chanMutex chan struct{}

func (m chanMutex) Lock()   { m <- struct{}{} }
func (m chanMutex) Unlock() { <-m }

// A reader never sees a new state before the Sink has the transition: the
// node records transitions in its Sink, so GET /targets showing "down"
// implies GET /transitions lists the change.

// TestUnresolvedScheduleLoggedOnce: a schedule without its defaults (from
// an older node) runs with the built-in defaults, whatever else, and the
// first such job is logged, not every one.
func TestUnresolvedScheduleLoggedOnce(t *testing.T) {
	var logs strings.Builder
	var mu sync.Mutex
	s := New(Options{Logger: slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil))})
	for _, id := range []string{"a", "b"} {
		mustUpsert(t, s, Job{ID: id, Prober: okProber(), Schedule: target.Schedule{Interval: target.Duration(time.Second)}})
	}
	if got := s.Resolve("c", target.Schedule{Interval: target.Duration(time.Second)}); got != sched(time.Second) {
		t.Errorf("resolved %+v, want the built-in %+v", got, sched(time.Second))
	}
	mu.Lock()
	out := logs.String()
	mu.Unlock()
	if n := strings.Count(out, "came without its defaults"); n != 1 || !strings.Contains(out, "target=a") {
		t.Errorf("logged %d times, want once naming target a:\n%s", n, out)
	}
	if st, _ := s.Status("b"); st.Interval != time.Second {
		t.Errorf("b runs every %v", st.Interval)
	}
	// A resolved schedule is used as it is and not logged.
	if got := s.Resolve("d", sched(3*time.Second)); got != sched(3*time.Second) {
		t.Errorf("a resolved schedule changed: %+v", got)
	}
	// Beyond what can run: refused with the field, never run.
	long := sched(time.Second)
	long.Interval = target.Duration(48 * time.Hour)
	if err := s.Upsert(Job{ID: "e", Prober: okProber(), Schedule: long}); err == nil || !strings.Contains(err.Error(), "interval 48h") {
		t.Errorf("a 48h interval: %v", err)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
