package postgres

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/store"
)

var qbase = time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)

func res(i int) store.Result {
	return store.Result{TargetID: "t", At: qbase.Add(time.Duration(i) * time.Second), Message: fmt.Sprint(i)}
}

func queuedMsgs(q *queue) []string {
	var out []string
	for i := range q.results.len() {
		out = append(out, q.results.buf[(q.results.head+i)%len(q.results.buf)].r.Message)
	}
	return out
}

func TestDeque(t *testing.T) {
	var d deque[int]
	for i := range 40 {
		d.pushBack(i)
	}
	var got []int
	for range 10 {
		got = append(got, d.popFront())
	}
	d.pushFront(got[5:])
	d.pushFront(got[:5])
	var all []int
	for d.len() > 0 {
		all = append(all, d.popFront())
	}
	want := make([]int, 40)
	for i := range want {
		want[i] = i
	}
	if !slices.Equal(all, want) {
		t.Fatalf("after pop and push back: %v", all)
	}
}

func TestQueueDropsOldestResults(t *testing.T) {
	tests := []struct {
		name     string
		limit    int
		rollups  int // rollups queued first
		results  int // results added one call each
		wantKept []string
		wantDrop uint64
	}{
		{"room", 5, 0, 3, []string{"0", "1", "2"}, 0},
		{"full", 3, 0, 5, []string{"2", "3", "4"}, 2},
		{"rollups take room, never dropped", 4, 2, 5, []string{"3", "4"}, 3},
		{"full of rollups: the new results go", 2, 2, 3, nil, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := newQueue(tc.limit)
			if tc.rollups > 0 {
				rs := make([]store.Rollup, tc.rollups)
				for i := range rs {
					rs[i] = store.Rollup{TargetID: "t", Minute: qbase, Count: 1}
				}
				if err := q.addRollups(context.Background(), rs, time.Second); err != nil {
					t.Fatal(err)
				}
			}
			for i := range tc.results {
				if err := q.addResults([]store.Result{res(i)}); err != nil {
					t.Fatal(err)
				}
			}
			if got := queuedMsgs(q); !slices.Equal(got, tc.wantKept) {
				t.Errorf("kept %v, want %v", got, tc.wantKept)
			}
			st := q.stats()
			if st.Dropped != tc.wantDrop || st.QueuedRollups != tc.rollups {
				t.Errorf("stats %+v, want %d dropped and %d rollups kept", st, tc.wantDrop, tc.rollups)
			}
			if tc.wantDrop > 0 {
				r, ok := q.dropReport()
				if !ok || r.Dropped != tc.wantDrop || r.Total != tc.wantDrop || !r.Oldest.Equal(res(0).At) {
					t.Errorf("drop report %+v (%v), want %d from %v", r, ok, tc.wantDrop, res(0).At)
				}
				if _, again := q.dropReport(); again {
					t.Error("the same drops reported twice")
				}
			}
		})
	}
}

// TestQueueFailedBatchGoesBackFirst: a batch that failed returns to the
// front; when the queue filled meanwhile, the oldest (the batch's) go.
func TestQueueFailedBatchGoesBackFirst(t *testing.T) {
	q := newQueue(4)
	for i := range 3 {
		_ = q.addResults([]store.Result{res(i)})
	}
	b := q.take(10)
	if len(b.results) != 3 {
		t.Fatalf("took %d results", len(b.results))
	}
	for i := 3; i < 6; i++ { // the batch is out: room for these
		_ = q.addResults([]store.Result{res(i)})
	}
	q.done(b, b, 0, errors.New("connection refused"))
	if got := queuedMsgs(q); !slices.Equal(got, []string{"2", "3", "4", "5"}) {
		t.Errorf("after the failed batch came back: %v, want the newest 4", got)
	}
	if st := q.stats(); st.Dropped != 2 || st.Failures != 1 || st.Written != 0 {
		t.Errorf("stats %+v", st)
	}
	b = q.take(10)
	q.done(b, batch{}, 0, nil)
	if st := q.stats(); st.Written != 4 || st.QueuedResults != 0 {
		t.Errorf("after writing: %+v", st)
	}
}

func TestQueueBarrier(t *testing.T) {
	q := newQueue(10)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := q.barrier(ctx); err != nil {
		t.Fatalf("barrier on an empty queue: %v", err)
	}
	_ = q.addResults([]store.Result{res(0)})
	waited := make(chan error, 1)
	go func() { waited <- q.barrier(ctx) }()
	b := q.take(10)
	select {
	case err := <-waited:
		t.Fatalf("barrier returned (%v) with the write in flight", err)
	case <-time.After(20 * time.Millisecond):
	}
	// Writes acknowledged after the barrier began are not waited for.
	_ = q.addResults([]store.Result{res(1)})
	q.done(b, batch{}, 0, nil)
	if err := <-waited; err != nil {
		t.Fatalf("barrier after the write: %v", err)
	}
	// A write failing meanwhile ends the wait with its error.
	go func() { waited <- q.barrier(ctx) }()
	b = q.take(10)
	for waiting := 0; waiting == 0; {
		q.mu.Lock()
		waiting = q.waiting
		q.mu.Unlock()
		runtime.Gosched()
	}
	q.done(b, b, 0, errors.New("connection refused"))
	if err := <-waited; err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("barrier during an outage: %v, want the write's error", err)
	}
}

func TestQueueRollupsWaitForRoom(t *testing.T) {
	q := newQueue(2)
	two := []store.Rollup{{TargetID: "a", Minute: qbase, Count: 1}, {TargetID: "b", Minute: qbase, Count: 1}}
	if err := q.addRollups(context.Background(), two, time.Second); err != nil {
		t.Fatal(err)
	}
	err := q.addRollups(context.Background(), two[:1], 30*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "full of rollups") {
		t.Fatalf("rollups into a queue full of rollups: %v, want a full-queue error", err)
	}
	done := make(chan error, 1)
	go func() { done <- q.addRollups(context.Background(), two[:1], 10*time.Second) }()
	b := q.take(10) // the writer takes the batch: room again
	if err := <-done; err != nil {
		t.Fatalf("rollups once there is room: %v", err)
	}
	q.done(b, batch{}, 0, nil)
	// A call larger than the queue goes into an empty one.
	q = newQueue(1)
	if err := q.addRollups(context.Background(), two, time.Second); err != nil {
		t.Fatalf("a call larger than the queue: %v", err)
	}
	q.close()
	if err := q.addResults([]store.Result{res(0)}); !errors.Is(err, errClosed) {
		t.Errorf("write after close: %v", err)
	}
}

func TestGroupRollups(t *testing.T) {
	m := qbase.Add(5 * time.Minute)
	r := func(id string, at time.Time, lat time.Duration) store.Rollup {
		x := store.Rollup{TargetID: id, Minute: at}
		x.Add(lat < time.Second, lat)
		return x
	}
	calls := []queuedRollups{
		{seq: 1, rs: []store.Rollup{r("a", m, time.Millisecond), r("a", m, 2*time.Second), r("b", m, time.Millisecond)}},
		{seq: 2, rs: []store.Rollup{r("a", m.Add(time.Minute), 3*time.Millisecond), r("a", m.Add(time.Hour), time.Millisecond)}},
	}
	minutes, hours := groupRollups(calls)
	if len(minutes) != 4 || minutes[spanKey{"a", m.Unix()}].Count != 2 || minutes[spanKey{"a", m.Unix()}].Failures != 1 {
		t.Errorf("minutes: %d keys, a@m %+v", len(minutes), minutes[spanKey{"a", m.Unix()}])
	}
	h := hours[spanKey{"a", qbase.Unix()}]
	if len(hours) != 3 || h == nil || h.Count != 3 || h.LatencyMax != 2_000_000 {
		t.Errorf("hours: %d keys, a@hour %+v", len(hours), h)
	}
	for _, tc := range []struct{ s, want int64 }{{3600, 3600}, {3599, 0}, {-1, -3600}, {7201, 7200}} {
		if got := hourOf(tc.s); got != tc.want {
			t.Errorf("hourOf(%d) = %d, want %d", tc.s, got, tc.want)
		}
	}
}

func TestCleanText(t *testing.T) {
	for in, want := range map[string]string{"ok": "ok", "a\x00b": "a\uFFFDb", "bad \xff": "bad \uFFFD"} {
		if got := cleanText(in); got != want {
			t.Errorf("cleanText(%q) = %q, want %q", in, got, want)
		}
	}
	if err := checkID("x", "a\x00"); err == nil {
		t.Error("a target id with a NUL byte accepted")
	}
}

func TestQueuePendingRollups(t *testing.T) {
	q := newQueue(100)
	a := store.Rollup{TargetID: "a", Minute: qbase, Count: 1}
	b := store.Rollup{TargetID: "b", Minute: qbase, Count: 1}
	late := store.Rollup{TargetID: "a", Minute: qbase.Add(time.Hour), Count: 2}
	_ = q.addRollups(context.Background(), []store.Rollup{a, b}, time.Second)
	inFlight := q.take(10) // being written
	_ = q.addRollups(context.Background(), []store.Rollup{late}, time.Second)
	got := q.pendingRollups("a", qbase.Unix(), qbase.Add(2*time.Hour).Unix())
	if len(got) != 2 || got[0].Count != 1 || got[1].Count != 2 {
		t.Errorf("pending of a: %+v, want the one being written and the queued one", got)
	}
	if got := q.pendingRollups("a", qbase.Unix(), qbase.Add(time.Minute).Unix()); len(got) != 1 {
		t.Errorf("pending of a in its first minute: %+v", got)
	}
	q.done(inFlight, batch{}, 0, nil)
	q.done(q.take(10), batch{}, 0, nil)
	if got := q.pendingRollups("a", 0, qbase.Add(2*time.Hour).Unix()); len(got) != 0 {
		t.Errorf("pending after everything was written: %+v", got)
	}
}
