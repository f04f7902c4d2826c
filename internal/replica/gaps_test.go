package replica

import (
	"context"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/health"
)

// deliver hands to's replica a multicast from a, as the transport would.
func deliver(to *node, from string, d health.Delta) {
	to.rep.apply(context.Background(), from, health.AppendDelta([]byte{kindHealthDirect}, &d))
}

// A change of a's that b missed (a lost packet, or a partition) is asked
// for once a's watermarks show it, a full watermark period after it, and
// a answers with exactly what b lacks; superseded sequences stop counting
// as holes, and b does not ask again.
func TestGapAskRepairsMissedChanges(t *testing.T) {
	n := newNet()
	a, b := newNode(n, "a", true), newNode(n, "b", true)
	now := time.Now()
	seq := func(c uint32) uint64 { return health.MakeSeq(1, c) }
	obs := func(target string, c uint32, st health.State) health.Observation {
		return health.Observation{TargetID: target, Observer: "a", Seq: seq(c), State: st, At: now, Since: now, Interval: time.Second}
	}
	wm := func(c uint32) health.Watermark { return health.Watermark{Observer: "a", Seq: seq(c), At: now} }
	publish := func(d health.Delta, toB bool) {
		a.table.Merge(d)
		if toB {
			deliver(b, "a", d)
		}
	}
	asks := func() uint64 { return b.rep.Stats()[FlowHealthAsk].Messages }

	publish(health.Delta{Observations: []health.Observation{obs("t1", 1, health.Up), obs("t2", 2, health.Up)}, Watermarks: []health.Watermark{wm(3)}}, true)
	// Lost on the way to b: t1 goes down, then t2 twice (the first of
	// which is superseded before anyone could ask for it).
	publish(health.Delta{Observations: []health.Observation{obs("t1", 4, health.Down), obs("t2", 5, health.Down)}}, false)
	publish(health.Delta{Observations: []health.Observation{obs("t2", 6, health.Up)}}, false)
	publish(health.Delta{Watermarks: []health.Watermark{wm(7)}}, true)
	b.rep.sendOutbox(context.Background())
	n.flush()
	if asks() != 0 {
		t.Fatalf("b asked after the first watermark past the hole: the changes could still be in flight")
	}
	publish(health.Delta{Watermarks: []health.Watermark{wm(8)}}, true)
	if asks() != 0 {
		t.Fatalf("asked before the outbox was sent")
	}
	b.rep.sendOutbox(context.Background())
	if asks() != 1 {
		t.Fatalf("b asked %d times one period after the hole, want 1", asks())
	}
	n.flush() // a gets the ask and queues its answer
	a.rep.sendOutbox(context.Background())
	n.flush()
	got := map[string]health.Observation{}
	for _, id := range []string{"t1", "t2"} {
		for _, o := range b.table.Get(id) {
			got[id] = o
		}
	}
	if got["t1"].Seq != seq(4) || got["t1"].State != health.Down || got["t2"].Seq != seq(6) || got["t2"].State != health.Up {
		t.Fatalf("b holds t1 %+v, t2 %+v after the repair; want a's latest (seq 4 down, seq 6 up)", got["t1"], got["t2"])
	}
	if c := b.table.Complete("a"); c != seq(8) {
		t.Fatalf("b's digest of a is %d, want %d: the answer vouches for the superseded sequence 5", health.SeqCounter(c), 8)
	}
	if r := a.rep.Stats()[FlowHealthRepair]; r.Messages != 1 {
		t.Fatalf("a answered %d times, want 1", r.Messages)
	}
	publish(health.Delta{Watermarks: []health.Watermark{wm(9)}}, true)
	publish(health.Delta{Watermarks: []health.Watermark{wm(10)}}, true)
	b.rep.sendOutbox(context.Background())
	if asks() != 1 {
		t.Fatalf("b asked again (%d asks) with nothing missing", asks())
	}
}

// Without an answer, b asks again only after another watermark period.
func TestGapAskRepeatsOncePerPeriod(t *testing.T) {
	n := newNet()
	a, b := newNode(n, "a", true), newNode(n, "b", true)
	_ = a
	now := time.Now()
	wm := func(c uint32) health.Delta {
		return health.Delta{Watermarks: []health.Watermark{{Observer: "a", Seq: health.MakeSeq(1, c), At: now}}}
	}
	deliver(b, "a", wm(1))
	// 2 is lost; watermarks keep coming and a never answers.
	for c := uint32(3); c <= 8; c++ {
		deliver(b, "a", wm(c))
	}
	b.rep.sendOutbox(context.Background())
	// Asked at 4 (previous 3 is past the hole at 2), 6 and 8: every other
	// watermark.
	if got := b.rep.Stats()[FlowHealthAsk].Messages; got != 3 {
		t.Fatalf("b asked %d times over 6 watermarks without an answer, want 3", got)
	}
}

// After a silence longer than the table's stale limit (a partition), the
// first watermark is enough: b asks at once, not a period later, and not
// again at the next watermark. A watermark after an ordinary period does
// not ask for what could still be in flight.
func TestGapAskAfterSilenceAsksAtOnce(t *testing.T) {
	n := newNet()
	a, b := newNode(n, "a", true), newNode(n, "b", true)
	start := time.Now()
	seq := func(c uint32) uint64 { return health.MakeSeq(1, c) }
	wm := func(c uint32, at time.Duration) health.Delta {
		return health.Delta{Watermarks: []health.Watermark{{Observer: "a", Seq: seq(c), At: start.Add(at)}}}
	}
	asks := func() uint64 {
		b.rep.sendOutbox(context.Background())
		return b.rep.Stats()[FlowHealthAsk].Messages
	}
	stale := b.table.MinStale()
	deliver(b, "a", wm(1, 0))
	deliver(b, "a", wm(3, time.Second)) // seq 2: a's, already held by b
	b.table.Apply(health.Observation{TargetID: "t0", Observer: "a", Seq: seq(2), State: health.Up, At: start, Since: start, Interval: time.Second})
	// a's next change is lost, and its next watermark reaches b only after a silence.
	lost2 := health.Observation{TargetID: "t2", Observer: "a", Seq: seq(4), State: health.Down, At: start, Since: start, Interval: time.Second}
	a.table.Apply(lost2)
	c := b.rep.Stats()[FlowHealthAsk].Messages
	deliver(b, "a", wm(5, time.Second+stale+time.Second))
	if got := asks(); got != c+1 {
		t.Fatalf("after a %v silence b asked %d times at the first watermark, want 1", stale+time.Second, got-c)
	}
	n.flush()
	a.rep.sendOutbox(context.Background())
	n.flush()
	if got := b.table.Get("t2"); len(got) != 1 || got[0].Seq != seq(4) {
		t.Fatalf("b holds t2 %+v after the repair, want a's seq 4", got)
	}
	if c := b.table.Complete("a"); c != seq(5) {
		t.Fatalf("b's digest of a is %d, want 5", health.SeqCounter(c))
	}
	deliver(b, "a", wm(6, 2*time.Second+stale+time.Second))
	if got := asks(); got != c+1 {
		t.Fatalf("b asked again at the next watermark with nothing missing (%d asks)", got-c)
	}
}

// A hole below only the newest watermark is asked for settleFlushes
// flushes later, not at once and not a period later; one that fills in
// the meantime is not asked for.
func TestGapAskAfterSettling(t *testing.T) {
	for _, fills := range []bool{false, true} {
		n := newNet()
		a, b := newNode(n, "a", true), newNode(n, "b", true)
		now := time.Now()
		seq := func(c uint32) uint64 { return health.MakeSeq(1, c) }
		wm := func(c uint32) health.Delta {
			return health.Delta{Watermarks: []health.Watermark{{Observer: "a", Seq: seq(c), At: now}}}
		}
		asks := func() uint64 { return b.rep.Stats()[FlowHealthAsk].Messages }
		late := health.Delta{Observations: []health.Observation{{TargetID: "t1", Observer: "a", Seq: seq(2), State: health.Down, At: now, Since: now, Interval: time.Second}}}
		a.table.Merge(late)
		deliver(b, "a", wm(1))
		deliver(b, "a", wm(3)) // seq 2 is not here (yet)
		for range settleFlushes - 1 {
			b.rep.Flush()
		}
		if asks() != 0 {
			t.Fatalf("fills %v: b asked before the hole had settled", fills)
		}
		if fills {
			deliver(b, "a", late)
		}
		b.rep.Flush()
		want := uint64(1)
		if fills {
			want = 0
		}
		if got := asks(); got != want {
			t.Fatalf("fills %v: %d asks once the hole had settled, want %d", fills, got, want)
		}
		if fills {
			continue
		}
		n.flush()
		a.rep.Flush()
		n.flush()
		if got := b.table.Get("t1"); len(got) != 1 || got[0].Seq != seq(2) {
			t.Fatalf("b holds t1 %+v after the repair, want a's seq 2", got)
		}
		for range 2 * settleFlushes {
			b.rep.Flush()
		}
		if got := asks(); got != 1 {
			t.Fatalf("b asked %d times in all, want 1", got)
		}
	}
}

func TestGapBound(t *testing.T) {
	t.Parallel()
	at := time.Unix(1000, 0)
	prev := health.Watermark{Observer: "a", Seq: 10, At: at}
	for _, tt := range []struct {
		name  string
		after time.Duration
		want  uint64
	}{
		{"one period", time.Second, 10},
		{"exactly the stale limit", 3 * time.Second, 10},
		{"past the stale limit", 3*time.Second + 1, 20},
		{"clock went back", -time.Minute, 10},
	} {
		if got := gapBound(prev, health.Watermark{Observer: "a", Seq: 20, At: at.Add(tt.after)}, 3*time.Second); got != tt.want {
			t.Errorf("%s: gapBound = %d, want %d", tt.name, got, tt.want)
		}
	}
	if got := gapBound(health.Watermark{Seq: 10}, health.Watermark{Seq: 20, At: at}, 3*time.Second); got != 10 {
		t.Errorf("previous without a time: gapBound = %d, want 10", got)
	}
}

// DeltaForObservers answers for the named observers only, with a digest of
// those only: the asker must not raise its digest of anyone else.
func TestDeltaForObserversIsScoped(t *testing.T) {
	tb := health.NewTable(health.TableOptions{})
	now := time.Now()
	for _, o := range []string{"a", "c"} {
		tb.Apply(health.Observation{TargetID: "t-" + o, Observer: o, Seq: health.MakeSeq(1, 1), State: health.Up, At: now, Since: now, Interval: time.Second})
	}
	d := tb.DeltaForObservers(health.Summary{"a": {}})
	if len(d.Observations) != 1 || d.Observations[0].Observer != "a" {
		t.Fatalf("answer for a holds %+v, want only a's observation", d.Observations)
	}
	if _, ok := d.Digest["c"]; ok || d.Digest["a"] != health.MakeSeq(1, 1) {
		t.Fatalf("answer digest %v, want only a's entry", d.Digest)
	}
	if d := tb.DeltaForObservers(health.Summary{"nobody": {}}); !d.Empty() {
		t.Fatalf("answer for an unknown observer: %+v, want empty", d)
	}
}
