package history

import (
	"testing"
	"time"
	"unsafe"

	"github.com/heckhq/heck/internal/store"
)

// TestAggMatchesRollup: the compact open minute folds results exactly as
// store.Rollup.Add does.
func TestAggMatchesRollup(t *testing.T) {
	results := []struct {
		ok  bool
		lat time.Duration
	}{
		{true, 0}, {true, -time.Millisecond}, {true, 999 * time.Microsecond}, {true, time.Millisecond},
		{false, 1500 * time.Microsecond}, {true, 47 * time.Millisecond}, {false, 2 * time.Second},
		{true, 10 * time.Second}, {false, 11 * time.Second}, {true, 2 * time.Hour},
		{true, time.Duration(1<<32+5) * time.Microsecond}, // beyond LatencyMax's 32 bits
	}
	var want store.Rollup
	a := agg{minute: t0.Unix()}
	for _, r := range results {
		want.Add(r.ok, r.lat)
		a.add(r.ok, r.lat)
	}
	want.TargetID, want.Minute = "x", t0
	if got := a.rollup("x"); got != want {
		t.Errorf("agg rollup\n got %+v\nwant %+v", got, want)
	}
	a.failing = true
	a.reset()
	if a.count != 0 || a.sum != 0 || a.max != 0 || a.buckets != ([store.NumBuckets]uint16{}) || !a.failing || a.minute != t0.Unix() {
		t.Errorf("reset left %+v", a)
	}
}

// TestAggOverflowClosesEarly: more results in one minute than a 16-bit
// bucket holds are all counted: the minute is closed early and the store
// merges the parts.
func TestAggOverflowClosesEarly(t *testing.T) {
	st, clk := newMem(), newClock(t0)
	rec := newRec(t, st, clk, RecorderOptions{})
	c := tctx(t)
	const n = maxAggCount*2 + 10
	for i := range n {
		rec.Record("busy", t0.Add(time.Duration(i)*time.Microsecond), ok(time.Millisecond), false)
	}
	clk.Set(t0.Add(time.Minute))
	if err := rec.Flush(c); err != nil {
		t.Fatal(err)
	}
	rs, _ := st.Rollups(c, "busy", t0, t0.Add(time.Hour))
	if len(rs) != 1 || rs[0].Count != n || rs[0].Buckets[store.BucketOf(time.Millisecond)] != n {
		t.Fatalf("rollups %+v, want one minute of %d results in the 1 ms bucket", rs, n)
	}
}

// TestAggSize guards the per-target footprint of the open minute.
func TestAggSize(t *testing.T) {
	if s := unsafe.Sizeof(agg{}); s > 64 {
		t.Errorf("agg is %d bytes, want at most 64: every target has one", s)
	}
}
