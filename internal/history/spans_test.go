package history

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/store"
)

// spanMem is a memStore that also serves hour spans, as the postgres
// store does: whole hours of the grid summed, the rest as minutes.
type spanMem struct {
	*memStore
	calls atomic.Int64
}

func (s *spanMem) RollupSpans(ctx context.Context, id string, from, to time.Time, step time.Duration) ([]store.Rollup, error) {
	s.calls.Add(1)
	rs, err := s.Rollups(ctx, id, from, to)
	if err != nil || step%time.Hour != 0 || from.Unix()%3600 != 0 {
		return rs, err
	}
	var out []store.Rollup
	for _, r := range rs {
		h := r.Minute.Truncate(time.Hour)
		if n := len(out); n > 0 && out[n-1].Minute.Equal(h) {
			out[n-1].Merge(r)
			continue
		}
		r.Minute = h
		out = append(out, r)
	}
	return out, nil
}

func TestRollupsInReadsSpans(t *testing.T) {
	sm := &spanMem{memStore: newMem()}
	clk := newClock(t0.Add(3 * time.Hour))
	rec := newRec(t, sm, clk, RecorderOptions{})
	c := tctx(t)
	var stored []store.Rollup
	for i := range 150 {
		stored = append(stored, store.Rollup{TargetID: "s", Minute: t0.Add(time.Duration(i) * time.Minute), Count: 2, Failures: uint32(i % 2)})
	}
	if err := sm.AddRollups(c, stored); err != nil {
		t.Fatal(err)
	}
	rec.Record("s", t0.Add(2*time.Hour+45*time.Minute), bad("x"), false) // open minute, in memory
	from, to := t0, t0.Add(3*time.Hour)

	spans, err := rec.RollupsIn(c, "s", from, to, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if sm.calls.Load() != 1 {
		t.Fatalf("RollupsIn made %d span reads, want 1", sm.calls.Load())
	}
	minutes, err := rec.Rollups(c, "s", from, to)
	if err != nil {
		t.Fatal(err)
	}
	if len(spans) >= len(minutes) {
		t.Errorf("%d spans for %d minutes: not coarser", len(spans), len(minutes))
	}
	start, step, n, err := Grid(from, to, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ps, pm := Points(spans, start, step, n), Points(minutes, start, step, n)
	for i := range pm {
		if ps[i].Count != pm[i].Count || ps[i].Failures != pm[i].Failures {
			t.Errorf("point %d: spans give %d/%d, minutes %d/%d", i, ps[i].Count, ps[i].Failures, pm[i].Count, pm[i].Failures)
		}
	}
	if last := ps[n-1]; last.Count != 61 || last.Failures != 16 {
		t.Errorf("last hour %d checks, %d failed; want the 30 stored minutes' 60 and 15 and the open minute's one", last.Count, last.Failures)
	}

	// A store without spans: RollupsIn reads minutes.
	plain := newRec(t, newMem(), clk, RecorderOptions{})
	plain.Record("s", t0.Add(2*time.Hour+45*time.Minute), bad("x"), false)
	if rs, err := plain.RollupsIn(c, "s", from, to, time.Hour); err != nil || len(rs) != 1 {
		t.Errorf("RollupsIn of a plain store: %d rollups, %v", len(rs), err)
	}
}

// queueMem is a memStore that holds some acknowledged rollups back, as
// the postgres store's queue does until its writer commits them.
type queueMem struct {
	*memStore
	held []store.Rollup
}

func (q *queueMem) PendingRollups(id string, from, to time.Time) []store.Rollup {
	var out []store.Rollup
	for _, r := range q.held {
		if r.TargetID == id && !r.Minute.Before(from) && r.Minute.Before(to) {
			out = append(out, r)
		}
	}
	return out
}

// TestPendingRollupsIncludeTheStoreQueue: what the store acknowledged but
// has not committed is pending too, so a peer reading the shared database
// misses nothing.
func TestPendingRollupsIncludeTheStoreQueue(t *testing.T) {
	qm := &queueMem{memStore: newMem(), held: []store.Rollup{{TargetID: "p", Minute: t0, Count: 5}}}
	clk := newClock(t0.Add(2 * time.Minute))
	rec := newRec(t, qm, clk, RecorderOptions{})
	rec.Record("p", t0.Add(time.Minute), ok(time.Millisecond), false) // the recorder's own, in memory
	got := rec.PendingRollups("p", t0, t0.Add(time.Hour))
	if len(got) != 2 || got[0].Count != 5 || got[1].Count != 1 {
		t.Fatalf("pending %+v, want the store's queued minute and the recorder's open one", got)
	}
}
