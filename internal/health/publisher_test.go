package health

import (
	"fmt"
	"testing"
	"time"
)

func TestPublisherSuppresses(t *testing.T) {
	tb := NewTable(TableOptions{})
	p := NewPublisher("self", tb, PublisherOptions{LatencyEvery: 2, Now: func() time.Time { return t0 }})
	iv := time.Second
	out := func(at int, st State, lat time.Duration) Outcome {
		return Outcome{TargetID: "x", State: st, Since: t0, At: t0.Add(time.Duration(at) * iv), Latency: lat, Interval: iv, Message: fmt.Sprint("probe ", at)}
	}
	steps := []struct {
		o    Outcome
		want bool
		why  string
	}{
		{out(0, Up, 12*time.Millisecond), true, "first outcome"},
		{out(1, Up, 13*time.Millisecond), false, "same state and bucket, new message"},
		{out(2, Up, 21*time.Millisecond), false, "next bucket but within 25% of the boundary"},
		{out(3, Up, 30*time.Millisecond), true, "left the bucket by a margin"},
		{out(4, Up, 70*time.Millisecond), false, "left it again, but within LatencyEvery intervals of the last"},
		{out(5, Up, 70*time.Millisecond), true, "still moved, LatencyEvery later"},
		{out(6, Up, 65*time.Millisecond), false, "same bucket"},
		{out(7, Up, 45*time.Millisecond), false, "previous bucket but within 20% of the boundary"},
		{out(8, Down, 2*time.Second), true, "state change, whatever the latency rules"},
		{out(9, Down, 2*time.Second), false, "unchanged"},
		{out(3600, Down, 2*time.Second), false, "unchanged an hour later: no periodic refresh"},
	}
	var lastSeq uint64
	for i, s := range steps {
		o, ok := p.Record(s.o)
		if ok != s.want {
			t.Fatalf("step %d (%s): published = %v, want %v", i, s.why, ok, s.want)
		}
		if !ok {
			continue
		}
		if o.Seq <= lastSeq || o.Observer != "self" || o.State != s.o.State || o.Message != s.o.Message {
			t.Fatalf("step %d: observation %+v (last seq %d)", i, o, lastSeq)
		}
		lastSeq = o.Seq
		if got := tb.Get("x"); len(got) != 1 || got[0].Seq != o.Seq {
			t.Fatalf("step %d: table holds %+v", i, got)
		}
	}
	st := p.Stats()
	if st.Published != 4 || st.Changed != 2 || st.Latency != 2 || st.Suppressed != 7 {
		t.Errorf("Stats = %+v, want 4 published (2 changes, 2 latency), 7 suppressed", st)
	}
	if SeqEpoch(lastSeq) != uint32(t0.Unix()) || tb.Digest()["self"] != lastSeq {
		t.Errorf("seq %#x: epoch %d, digest %#x", lastSeq, SeqEpoch(lastSeq), tb.Digest()["self"])
	}
	// A new episode of the same state (Since moved) is published.
	o := out(3601, Down, 2*time.Second)
	o.Since = t0.Add(3601 * iv)
	if _, ok := p.Record(o); !ok {
		t.Error("a new Since should publish")
	}
	p.Forget("x")
	if _, ok := p.Record(out(3602, Down, 2*time.Second)); !ok {
		t.Error("after Forget the next outcome should publish")
	}
}

// Latency-only publications share a per-node budget; state changes do not
// wait for it.
func TestPublisherLatencyBudget(t *testing.T) {
	tb := NewTable(TableOptions{})
	p := NewPublisher("self", tb, PublisherOptions{LatencyPerSecond: 2, LatencyBurst: 3, LatencyEvery: 1, Now: func() time.Time { return t0 }})
	rec := func(id string, at time.Duration, st State, lat time.Duration) bool {
		_, ok := p.Record(Outcome{TargetID: id, State: st, Since: t0, At: t0.Add(at), Latency: lat, Interval: time.Second})
		return ok
	}
	for i := range 10 {
		rec(fmt.Sprint("t", i), 0, Up, time.Millisecond) // first: published, free
	}
	moved := 0
	for i := range 10 { // all move bucket at once, 2 s later
		if rec(fmt.Sprint("t", i), 2*time.Second, Up, 100*time.Millisecond) {
			moved++
		}
	}
	if moved != 3 {
		t.Errorf("latency moves published from a full bucket of 3: %d", moved)
	}
	if !rec("t9", 2*time.Second, Down, 100*time.Millisecond) {
		t.Error("a state change waited for the latency budget")
	}
	// Half a second refills one token (2/s): one more of the waiting ones.
	moved = 0
	for i := 3; i < 9; i++ {
		if rec(fmt.Sprint("t", i), 2500*time.Millisecond, Up, 100*time.Millisecond) {
			moved++
		}
	}
	if moved != 1 {
		t.Errorf("after 0.5 s at 2/s: %d published, want 1", moved)
	}
	if st := p.Stats(); st.Latency != 4 || st.Changed != 11 {
		t.Errorf("Stats = %+v, want 4 latency, 11 changed", st)
	}
	// A budget raised to 20/s refills 10 tokens (the burst) in 0.5 s.
	p.SetLatencyPerSecond(20)
	moved = 0
	for i := range 9 { // t9 changed state: its next outcome is a change again
		if rec(fmt.Sprint("t", i), 3*time.Second, Up, time.Second) {
			moved++
		}
	}
	if moved != 3 {
		t.Errorf("after 0.5 s at 20/s with a burst of 3: %d published, want 3", moved)
	}
}

// A node that stops probing a target releases its observation: readers
// ignore it, its watermark no longer vouches for it, and the next outcome
// (the node probes it again) is published whatever it is.
func TestPublisherRelease(t *testing.T) {
	tb := NewTable(TableOptions{})
	p := NewPublisher("self", tb, PublisherOptions{Now: func() time.Time { return t0 }})
	if _, ok := p.Release("x", t0); ok {
		t.Error("released a target never published")
	}
	out := Outcome{TargetID: "x", State: Up, Since: t0, At: t0, Interval: time.Second}
	if _, ok := p.Record(out); !ok {
		t.Fatal("first outcome not published")
	}
	r, ok := p.Release("x", t0.Add(5*time.Second))
	if !ok || !r.Released || r.State != Up || !r.At.Equal(t0.Add(5*time.Second)) {
		t.Fatalf("Release = %+v, %v", r, ok)
	}
	if _, ok := p.Release("x", t0.Add(6*time.Second)); ok {
		t.Error("released twice")
	}
	w, _ := p.Tick(t0.Add(6*time.Second), t0.Add(6*time.Second))
	if v := tb.Verdict("x", []string{"self"}, w.At); v.State != Stale || !v.Stale || v.Last != Up {
		t.Errorf("verdict on a released observation = %+v, want stale (last up)", v)
	}
	out.At = t0.Add(7 * time.Second)
	if o, ok := p.Record(out); !ok || o.Released {
		t.Fatalf("outcome after release = %+v, %v; want published, not released", o, ok)
	}
	if v := tb.Verdict("x", []string{"self"}, t0.Add(7*time.Second)); v.State != Up {
		t.Errorf("verdict after probing again = %+v", v)
	}
	if st := p.Stats(); st.Released != 1 || st.Published != 3 {
		t.Errorf("Stats = %+v", st)
	}
}

func TestPublisherWatermark(t *testing.T) {
	tb := NewTable(TableOptions{})
	p := NewPublisher("self", tb, PublisherOptions{WatermarkEvery: time.Second, Now: func() time.Time { return t0 }})
	w, ok := p.Tick(t0, t0.Add(-time.Second))
	if !ok || w.Observer != "self" || !w.At.Equal(t0.Add(-time.Second)) {
		t.Fatalf("first Tick = %+v, %v", w, ok)
	}
	if _, ok := p.Tick(t0.Add(500*time.Millisecond), t0); ok {
		t.Error("Tick within WatermarkEvery published")
	}
	w2, ok := p.Tick(t0.Add(time.Second), t0)
	if !ok || w2.Seq <= w.Seq {
		t.Fatalf("second Tick = %+v, %v", w2, ok)
	}
	if got, _ := tb.Watermark("self"); got != w2 {
		t.Errorf("table watermark = %+v, want %+v", got, w2)
	}
	if p.Stats().Watermarks != 2 {
		t.Errorf("Stats = %+v", p.Stats())
	}
}

// A restarted node starts a new epoch above what its table (synced from
// peers) holds from it, so its new observations win.
func TestPublisherRestartWins(t *testing.T) {
	tb := NewTable(TableOptions{})
	clock := func() time.Time { return t0 }
	old := NewPublisher("self", tb, PublisherOptions{Now: clock})
	o1, _ := old.Record(Outcome{TargetID: "x", State: Down, At: t0, Interval: time.Second})
	// Restart within the same second, with the table (as synced) kept.
	p := NewPublisher("self", tb, PublisherOptions{Now: clock})
	o2, ok := p.Record(Outcome{TargetID: "x", State: Up, At: t0, Interval: time.Second})
	if !ok || o2.Seq <= o1.Seq || SeqCounter(o2.Seq) != 1 {
		t.Fatalf("restart: old seq %#x, new %#x", o1.Seq, o2.Seq)
	}
	if got := tb.Get("x"); got[0].State != Up {
		t.Errorf("restarted observer's observation lost: %+v", got)
	}
}

// The figure that matters: targets probed every second for a minute, state
// flapping on 1% of them, publish a small fraction: each steady target
// once, and the flapping ones at every change.
func TestPublisherGossipFollowsChanges(t *testing.T) {
	tb := NewTable(TableOptions{})
	p := NewPublisher("self", tb, PublisherOptions{Now: func() time.Time { return t0 }})
	const targets, seconds = 5000, 61
	ids := make([]string, targets)
	for i := range ids {
		ids[i] = fmt.Sprint("t", i)
	}
	for s := range seconds {
		at := t0.Add(time.Duration(s) * time.Second)
		for i, id := range ids {
			st := Up
			if i%100 == 0 && s%2 == 1 { // 1% flapping every probe
				st = Down
			}
			lat := time.Duration(11+(i+s)%9) * time.Millisecond // jitter inside one bucket
			p.Record(Outcome{TargetID: id, State: st, Since: t0, At: at, Latency: lat, Interval: time.Second})
		}
		p.Tick(at, at)
	}
	st := p.Stats()
	perSec := float64(st.Published) / seconds
	t.Logf("%d targets x %ds at 1s, 1%% flapping: %d published, %d suppressed (%.0f/s for %d probes/s), %d watermarks",
		targets, seconds, st.Published, st.Suppressed, perSec, targets, st.Watermarks)
	// Steady targets publish once; flapping ones every second.
	flapping := targets / 100
	if want := uint64((targets - flapping) + flapping*seconds); st.Published != want {
		t.Errorf("published %d, want %d", st.Published, want)
	}
	if st.Published+st.Suppressed != targets*seconds {
		t.Errorf("counted %d outcomes, want %d", st.Published+st.Suppressed, targets*seconds)
	}
}

// The primary owner's verdict rides its observation: published when it
// changes, carried by later observations, dropped by a release.
func TestPublisherJudge(t *testing.T) {
	tb := NewTable(TableOptions{})
	p := NewPublisher("self", tb, PublisherOptions{Now: func() time.Time { return t0 }})
	if _, ok := p.Judge("web", Down, t0); ok {
		t.Fatal("judged a target it never published")
	}
	out := Outcome{TargetID: "web", State: Up, Since: t0, At: t0, Latency: time.Millisecond, Message: "ok", Interval: time.Second}
	if _, ok := p.Record(out); !ok {
		t.Fatal("first outcome not published")
	}
	obs, ok := p.Judge("web", Down, t0.Add(time.Second))
	if !ok || obs.Verdict != Down || !obs.VerdictSince.Equal(t0.Add(time.Second)) || obs.State != Up || obs.Message != "ok" {
		t.Fatalf("Judge = %+v, %v; want the last observation with verdict down", obs, ok)
	}
	if _, ok := p.Judge("web", Down, t0.Add(2*time.Second)); ok {
		t.Error("the same verdict published twice")
	}
	out.State, out.Since, out.At = Down, t0.Add(3*time.Second), t0.Add(3*time.Second)
	obs, _ = p.Record(out)
	if obs.Verdict != Down || !obs.VerdictSince.Equal(t0.Add(time.Second)) {
		t.Errorf("a later observation lost the verdict: %+v", obs)
	}
	if got := tb.Get("web"); len(got) != 1 || got[0].Verdict != Down {
		t.Errorf("table holds %+v", got)
	}
	p.Release("web", t0.Add(4*time.Second))
	out.At = t0.Add(5 * time.Second)
	if obs, _ = p.Record(out); obs.Verdict != Unknown {
		t.Errorf("after a release the verdict carried on: %+v", obs)
	}
}

// The outlier summary: a failure streak is published as it grows (from
// MinFails up to MaxFails) and when it ends, while the target is healthy;
// the error rate only when its 10% bucket moves, within the latency budget
// and LatencyEvery, and once the state has held ErrorSettle intervals.
func TestPublisherOutlierSummary(t *testing.T) {
	tb := NewTable(TableOptions{})
	p := NewPublisher("self", tb, PublisherOptions{LatencyEvery: 2, Now: func() time.Time { return t0 }})
	iv := time.Second
	out := func(at int, fails, errPct uint8) Outcome {
		return Outcome{TargetID: "x", State: Up, Since: t0.Add(-time.Hour), At: t0.Add(time.Duration(at) * iv), Latency: time.Millisecond,
			Interval: iv, Fails: fails, ErrorPct: errPct}
	}
	steps := []struct {
		o         Outcome
		want      bool
		fails, ep uint8
		why       string
	}{
		{out(0, 0, 0), true, 0, 0, "first outcome"},
		{out(1, 1, 6), false, 0, 0, "one failure is noise: not published (the error bucket waits for LatencyEvery)"},
		{out(2, 2, 12), true, 2, 10, "a streak of two: published at once"},
		{out(3, 0, 11), true, 0, 10, "the streak ends"},
		{out(4, 0, 10), false, 0, 0, "error rate in the same bucket"},
		{out(5, 0, 3), true, 0, 0, "error bucket moved, LatencyEvery after the last"},
		{out(6, 0, 14), false, 0, 0, "error bucket moved, but within LatencyEvery"},
		{out(7, 9, 50), true, MaxFails, 50, "a long streak is published capped"},
		{out(8, 12, 55), false, 0, 0, "the capped streak grows: nothing new to say"},
		{Outcome{TargetID: "x", State: Down, Since: t0.Add(9 * iv), At: t0.Add(9 * iv), Interval: iv, Fails: 13, ErrorPct: 60},
			true, MaxFails, 50, "down: a state change (the error rate held: the state is new)"},
		{Outcome{TargetID: "x", State: Down, Since: t0.Add(9 * iv), At: t0.Add(10 * iv), Interval: iv, Fails: 0, ErrorPct: 60},
			false, 0, 0, "down, the streak ends: it does not matter while down"},
	}
	for i, s := range steps {
		o, ok := p.Record(s.o)
		if ok != s.want {
			t.Fatalf("step %d (%s): published = %v, want %v", i, s.why, ok, s.want)
		}
		if ok && (o.Fails != s.fails || o.ErrorPct != s.ep) {
			t.Fatalf("step %d (%s): fails %d error %d%%, want %d and %d%%", i, s.why, o.Fails, o.ErrorPct, s.fails, s.ep)
		}
	}
}

func TestErrorBucket(t *testing.T) {
	for _, c := range []struct{ in, want uint8 }{{0, 0}, {4, 0}, {5, 10}, {14, 10}, {15, 20}, {99, 100}, {100, 100}, {255, 100}} {
		if got := ErrorBucket(c.in); got != c.want {
			t.Errorf("ErrorBucket(%d) = %d, want %d", c.in, got, c.want)
		}
	}
}
