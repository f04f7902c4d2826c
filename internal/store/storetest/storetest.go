// Package storetest is the conformance suite every store.Store
// implementation passes (sqlite now, postgres later): what each method
// returns, in which order, over which ranges, how rollups merge, what
// pruning and deletion remove, that reads run beside writes, and that data
// survives closing and reopening.
//
// An implementation's test calls
//
//	storetest.Run(t, func(t *testing.T, dir string) store.Store { ... })
//
// The suite gives each subtest a fresh directory. open must return a store
// whose state belongs to dir: empty the first time, and the same data when
// called again with the same dir after the previous store was closed (a
// file store puts its file in dir; a server store derives a database or
// schema name from it). The suite closes every store open returns.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/store"
)

// Opener opens the store kept under dir (see the package comment).
type Opener func(t *testing.T, dir string) store.Store

// base is a fixed, minute-aligned instant the tests count from.
var base = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// Run runs the whole suite against the stores open returns.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, h *harness)
	}{
		{"Objects", testObjects},
		{"ObjectsOlderNeverWins", testObjectsOlderNeverWins},
		{"Transitions", testTransitions},
		{"TransitionLog", testTransitionLog},
		{"TypedEvents", testTypedEvents},
		{"RollupsRoundTrip", testRollupsRoundTrip},
		{"RollupsMerge", testRollupsMerge},
		{"RollupsRange", testRollupsRange},
		{"Results", testResults},
		{"EmptyIDsRefused", testEmptyIDs},
		{"DeleteTargetData", testDeleteTargetData},
		{"Prune", testPrune},
		{"PruneManyRows", testPruneManyRows},
		{"ConcurrentReadsAndWrites", testConcurrent},
		{"Reopen", testReopen},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := &harness{t: t, open: open, dir: t.TempDir()}
			h.st = h.reopen()
			t.Cleanup(func() {
				if h.st != nil {
					if err := h.st.Close(); err != nil {
						t.Errorf("Close: %v", err)
					}
				}
			})
			tc.fn(t, h)
		})
	}
}

type harness struct {
	t    *testing.T
	open Opener
	dir  string
	st   store.Store
}

// reopen closes the current store (if any) and opens dir again.
func (h *harness) reopen() store.Store {
	h.t.Helper()
	if h.st != nil {
		if err := h.st.Close(); err != nil {
			h.t.Fatalf("Close before reopen: %v", err)
		}
		h.st = nil
	}
	h.st = h.open(h.t, h.dir)
	if h.st == nil {
		h.t.Fatal("open returned a nil store")
	}
	return h.st
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func mkRollup(id string, minute time.Time, lat ...time.Duration) store.Rollup {
	r := store.Rollup{TargetID: id, Minute: minute}
	for i, l := range lat {
		r.Add(i%3 != 2, l)
	}
	return r
}

func sameRollup(a, b store.Rollup) bool {
	return a.TargetID == b.TargetID && a.Minute.Equal(b.Minute) && a.Count == b.Count && a.Failures == b.Failures &&
		a.LatencySum == b.LatencySum && a.LatencyMax == b.LatencyMax && a.Buckets == b.Buckets
}

func fmtRollup(r store.Rollup) string {
	return fmt.Sprintf("{%s %s n=%d f=%d sum=%d max=%d b=%v}", r.TargetID, r.Minute.UTC().Format(time.RFC3339),
		r.Count, r.Failures, r.LatencySum, r.LatencyMax, r.Buckets)
}

func testObjects(t *testing.T, h *harness) {
	c := ctx(t)
	got, err := h.st.Objects(c, "silence")
	must(t, err, "Objects on an empty store")
	if len(got) != 0 {
		t.Fatalf("empty store: Objects = %v, want none", got)
	}
	must(t, h.st.PutObjects(c, "silence", nil), "PutObjects(nil)")
	must(t, h.st.PutObjects(c, "silence", []store.ObjectRecord{
		{Key: "a", Value: []byte(`{"n":1}`), Stamp: 10, Node: "n1"},
		{Key: "b", Value: []byte(`{"n":2}`), Stamp: 1<<63 + 7, Node: "n2"},
		{Key: "gone", Stamp: 12, Node: "n1", Deleted: true},
	}), "PutObjects")
	// The same key under another kind is another object.
	must(t, h.st.PutObjects(c, "pool", []store.ObjectRecord{{Key: "a", Value: []byte(`{"p":1}`), Stamp: 1, Node: "n9"}}), "PutObjects pool")
	// Newer writes replace: a becomes a tombstone, b changes value.
	must(t, h.st.PutObjects(c, "silence", []store.ObjectRecord{
		{Key: "a", Stamp: 20, Node: "n3", Deleted: true},
		{Key: "b", Value: []byte(`{"n":3}`), Stamp: 1<<63 + 8, Node: "n2"},
	}), "PutObjects upsert")
	got, err = h.st.Objects(c, "silence")
	must(t, err, "Objects")
	want := []store.ObjectRecord{
		{Key: "a", Stamp: 20, Node: "n3", Deleted: true},
		{Key: "b", Value: []byte(`{"n":3}`), Stamp: 1<<63 + 8, Node: "n2"},
		{Key: "gone", Stamp: 12, Node: "n1", Deleted: true},
	}
	sameObjects(t, got, want)
	pool, err := h.st.Objects(c, "pool")
	must(t, err, "Objects pool")
	sameObjects(t, pool, []store.ObjectRecord{{Key: "a", Value: []byte(`{"p":1}`), Stamp: 1, Node: "n9"}})
	if err := h.st.PutObjects(c, "silence", []store.ObjectRecord{{Stamp: 1}}); err == nil {
		t.Error("PutObjects with an empty key: no error")
	}
	// Survives a reopen.
	h.reopen()
	got, err = h.st.Objects(c, "silence")
	must(t, err, "Objects after reopen")
	sameObjects(t, got, want)
}

// testObjectsOlderNeverWins: the store itself refuses an older write, so a
// late delta can never overwrite a newer entry (ties: larger node, then a
// tombstone over a value).
func testObjectsOlderNeverWins(t *testing.T, h *harness) {
	c := ctx(t)
	put := func(r store.ObjectRecord) {
		t.Helper()
		must(t, h.st.PutObjects(c, "k", []store.ObjectRecord{r}), "PutObjects")
	}
	put(store.ObjectRecord{Key: "x", Value: []byte(`"new"`), Stamp: 100, Node: "n2"})
	put(store.ObjectRecord{Key: "x", Value: []byte(`"old"`), Stamp: 99, Node: "n9"})
	put(store.ObjectRecord{Key: "x", Value: []byte(`"tie-smaller-node"`), Stamp: 100, Node: "n1"})
	put(store.ObjectRecord{Key: "x", Stamp: 50, Node: "n9", Deleted: true})
	got, err := h.st.Objects(c, "k")
	must(t, err, "Objects")
	sameObjects(t, got, []store.ObjectRecord{{Key: "x", Value: []byte(`"new"`), Stamp: 100, Node: "n2"}})
	// A tombstone with the same stamp and node wins over the value.
	put(store.ObjectRecord{Key: "x", Stamp: 100, Node: "n2", Deleted: true})
	// A larger node with the same stamp wins over that.
	put(store.ObjectRecord{Key: "x", Value: []byte(`"tie-larger-node"`), Stamp: 100, Node: "n3"})
	got, err = h.st.Objects(c, "k")
	must(t, err, "Objects")
	sameObjects(t, got, []store.ObjectRecord{{Key: "x", Value: []byte(`"tie-larger-node"`), Stamp: 100, Node: "n3"}})
	// Stamps compare as unsigned: one above 1<<63 is later than one below.
	put(store.ObjectRecord{Key: "y", Value: []byte(`1`), Stamp: 1<<63 + 1, Node: "a"})
	put(store.ObjectRecord{Key: "y", Value: []byte(`2`), Stamp: 1<<63 - 1, Node: "z"})
	got, err = h.st.Objects(c, "k")
	must(t, err, "Objects")
	if len(got) != 2 || string(got[1].Value) != "1" {
		t.Errorf("y after an older write = %+v, want value 1", got)
	}
}

func sameObjects(t *testing.T, got, want []store.ObjectRecord) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("Objects returned %d records, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Key != w.Key || string(g.Value) != string(w.Value) || g.Stamp != w.Stamp || g.Node != w.Node || g.Deleted != w.Deleted {
			t.Errorf("record %d = %+v (value %q), want %+v (value %q)", i, g, g.Value, w, w.Value)
		}
	}
}

func testTransitions(t *testing.T, h *harness) {
	c := ctx(t)
	var all []store.Transition
	for i := range 6 {
		for _, id := range []string{"a", "b"} {
			all = append(all, store.Transition{TargetID: id, From: health.Up, To: health.Down,
				At: base.Add(time.Duration(i)*time.Minute + 123*time.Nanosecond), Cause: fmt.Sprintf("%s-%d", id, i), Observer: "n1"})
		}
	}
	all[0].From, all[0].To = health.Unknown, health.Up
	// Two batches, added out of time order: order comes from At.
	must(t, h.st.AddTransitions(c, all[6:]), "AddTransitions")
	must(t, h.st.AddTransitions(c, all[:6]), "AddTransitions")
	must(t, h.st.AddTransitions(c, nil), "AddTransitions(nil)")

	causes := func(ts []store.Transition) []string {
		var out []string
		for _, tr := range ts {
			out = append(out, tr.Cause)
		}
		return out
	}
	tests := []struct {
		name string
		q    store.TransitionQuery
		want []string
	}{
		{"one target newest first", store.TransitionQuery{TargetID: "a"}, []string{"a-5", "a-4", "a-3", "a-2", "a-1", "a-0"}},
		{"limit", store.TransitionQuery{TargetID: "b", Limit: 2}, []string{"b-5", "b-4"}},
		{"half-open range", store.TransitionQuery{TargetID: "a", From: base.Add(time.Minute + 123), To: base.Add(3*time.Minute + 123)},
			[]string{"a-2", "a-1"}},
		{"from only", store.TransitionQuery{TargetID: "a", From: base.Add(4 * time.Minute)}, []string{"a-5", "a-4"}},
		{"to only", store.TransitionQuery{TargetID: "b", To: base.Add(time.Minute)}, []string{"b-0"}},
		{"every target", store.TransitionQuery{From: base.Add(5 * time.Minute)}, nil}, // checked below
		{"unknown target", store.TransitionQuery{TargetID: "zzz"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := h.st.Transitions(c, tc.q)
			must(t, err, "Transitions")
			if tc.name == "every target" {
				g := causes(got)
				slices.Sort(g)
				if !slices.Equal(g, []string{"a-5", "b-5"}) {
					t.Fatalf("got %v, want a-5 and b-5", g)
				}
				return
			}
			if g := causes(got); !slices.Equal(g, tc.want) {
				t.Fatalf("got %v, want %v", g, tc.want)
			}
		})
	}
	got, err := h.st.Transitions(c, store.TransitionQuery{TargetID: "a"})
	must(t, err, "Transitions")
	first := got[len(got)-1]
	if first.TargetID != "a" || first.From != health.Unknown || first.To != health.Up || first.Observer != "n1" ||
		!first.At.Equal(all[0].At) {
		t.Errorf("round trip: got %+v, want %+v", first, all[0])
	}
}

// testTransitionLog covers what the transition log needs: ids stored once,
// reading from a cursor in seq order, lookup by id, and each target's head.
// testTypedEvents: events of other types share the log (and its seq)
// with transitions, keep every field, and stay out of the transitions'
// queries and heads unless asked for.
func testTypedEvents(t *testing.T, h *harness) {
	c := ctx(t)
	must(t, h.st.AddTransitions(c, []store.Transition{
		{Seq: 1, ID: "t1", TargetID: "w1", From: health.Up, To: health.Down, At: base, Cause: "HTTP 503", Observer: "n1"},
		{Seq: 2, ID: "e1", TargetID: "w1", At: base.Add(time.Minute), Cause: "latency", Observer: "n2",
			Type: "ejection", Subject: "pool/web", Before: "serving", After: "ejected until 12:00"},
		{Seq: 3, ID: "e2", TargetID: "pool/web", At: base.Add(2 * time.Minute), Type: "pool_panic", Subject: "pool/web"},
	}), "AddTransitions")
	ids := func(ts []store.Transition) string {
		var out []string
		for _, x := range ts {
			out = append(out, x.ID)
		}
		return strings.Join(out, ",")
	}
	for _, q := range []struct {
		q    store.TransitionQuery
		want string
	}{
		{store.TransitionQuery{}, "t1"},
		{store.TransitionQuery{TargetID: "w1"}, "t1"},
		{store.TransitionQuery{Events: true}, "e2,e1,t1"},
		{store.TransitionQuery{Events: true, TargetID: "w1"}, "e1,t1"},
		{store.TransitionQuery{Type: "ejection"}, "e1"},
		{store.TransitionQuery{Type: store.TypeTransition}, "t1"},
		{store.TransitionQuery{Type: "pool_panic", TargetID: "pool/web"}, "e2"},
	} {
		got, err := h.st.Transitions(c, q.q)
		must(t, err, "Transitions")
		if ids(got) != q.want {
			t.Errorf("Transitions(%+v) = %s, want %s", q.q, ids(got), q.want)
		}
	}
	e, err := h.st.TransitionByID(c, "e1")
	must(t, err, "TransitionByID")
	if e.Type != "ejection" || e.Subject != "pool/web" || e.Before != "serving" || e.After != "ejected until 12:00" || e.Observer != "n2" {
		t.Errorf("event read back as %+v", e)
	}
	all, err := h.st.TransitionsAfter(c, 0, 0)
	must(t, err, "TransitionsAfter")
	if ids(all) != "t1,e1,e2" {
		t.Errorf("TransitionsAfter = %s: the log carries every type", ids(all))
	}
	heads, _, err := h.st.TransitionHeads(c)
	must(t, err, "TransitionHeads")
	if ids(heads) != "t1" {
		t.Errorf("TransitionHeads = %s, want only the transition t1 (events move no head)", ids(heads))
	}
}

func testTransitionLog(t *testing.T, h *harness) {
	c := ctx(t)
	tr := func(seq int64, id, target string, minute int, to health.State) store.Transition {
		return store.Transition{Seq: seq, ID: id, TargetID: target, From: health.Up, To: to,
			At: base.Add(time.Duration(minute) * time.Minute), Cause: id, Observer: "n1"}
	}
	must(t, h.st.AddTransitions(c, []store.Transition{
		tr(1, "x1", "a", 1, health.Down), tr(2, "x2", "b", 5, health.Down), tr(3, "x3", "a", 2, health.Up),
		// Heard late: an older change of a, arriving after its newer one.
		tr(4, "x4", "a", 0, health.Down),
	}), "AddTransitions")
	// The same change heard twice (another node told us): stored once.
	must(t, h.st.AddTransitions(c, []store.Transition{tr(5, "x2", "b", 5, health.Down), tr(6, "x6", "b", 6, health.Up)}), "AddTransitions again")

	ids := func(ts []store.Transition) []string {
		var out []string
		for _, x := range ts {
			out = append(out, fmt.Sprintf("%d:%s", x.Seq, x.ID))
		}
		return out
	}
	got, err := h.st.TransitionsAfter(c, 0, 0)
	must(t, err, "TransitionsAfter")
	if want := []string{"1:x1", "2:x2", "3:x3", "4:x4", "6:x6"}; !slices.Equal(ids(got), want) {
		t.Fatalf("TransitionsAfter(0) = %v, want %v (a duplicate id is skipped)", ids(got), want)
	}
	got, err = h.st.TransitionsAfter(c, 2, 2)
	must(t, err, "TransitionsAfter")
	if want := []string{"3:x3", "4:x4"}; !slices.Equal(ids(got), want) {
		t.Fatalf("TransitionsAfter(2, limit 2) = %v, want %v", ids(got), want)
	}
	one, err := h.st.TransitionByID(c, "x3")
	must(t, err, "TransitionByID")
	if one.Seq != 3 || one.TargetID != "a" || one.To != health.Up || !one.At.Equal(base.Add(2*time.Minute)) {
		t.Errorf("TransitionByID(x3) = %+v", one)
	}
	if _, err := h.st.TransitionByID(c, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("TransitionByID(nope) = %v, want ErrNotFound", err)
	}
	heads, maxSeq, err := h.st.TransitionHeads(c)
	must(t, err, "TransitionHeads")
	slices.SortFunc(heads, func(x, y store.Transition) int { return strings.Compare(x.TargetID, y.TargetID) })
	if want := []string{"3:x3", "6:x6"}; !slices.Equal(ids(heads), want) || maxSeq != 6 {
		t.Errorf("TransitionHeads = %v, max %d; want %v, max 6 (the head is the latest by time, not by arrival)", ids(heads), maxSeq, want)
	}
	// A transition without a seq gets the next one.
	must(t, h.st.AddTransitions(c, []store.Transition{tr(0, "x7", "c", 9, health.Up)}), "AddTransitions without seq")
	if got, err = h.st.TransitionsAfter(c, 6, 0); err != nil || len(got) != 1 || got[0].Seq <= 6 || got[0].ID != "x7" {
		t.Errorf("after a write without seq: %v, %v", ids(got), err)
	}
}

func testRollupsRoundTrip(t *testing.T, h *harness) {
	c := ctx(t)
	in := []store.Rollup{
		mkRollup("a", base, time.Millisecond, 3*time.Millisecond, 40*time.Millisecond),
		mkRollup("a", base.Add(time.Minute), 20*time.Second, 0, 700*time.Microsecond),
		mkRollup("b", base, 15*time.Millisecond),
		{TargetID: "c", Minute: base}, // an empty rollup round-trips too
	}
	must(t, h.st.AddRollups(c, in), "AddRollups")
	must(t, h.st.AddRollups(c, nil), "AddRollups(nil)")
	for _, id := range []string{"a", "b", "c"} {
		got, err := h.st.Rollups(c, id, base.Add(-time.Hour), base.Add(time.Hour))
		must(t, err, "Rollups")
		var want []store.Rollup
		for _, r := range in {
			if r.TargetID == id {
				want = append(want, r)
			}
		}
		if len(got) != len(want) {
			t.Fatalf("%s: got %d rollups, want %d", id, len(got), len(want))
		}
		for i := range got {
			if !sameRollup(got[i], want[i]) {
				t.Errorf("%s[%d] = %s, want %s", id, i, fmtRollup(got[i]), fmtRollup(want[i]))
			}
			if got[i].Minute.Location() != time.UTC {
				t.Errorf("%s[%d]: Minute in %v, want UTC", id, i, got[i].Minute.Location())
			}
		}
	}
	got, err := h.st.Rollups(c, "unknown", time.Time{}, base.Add(time.Hour))
	must(t, err, "Rollups of an unknown target")
	if len(got) != 0 {
		t.Errorf("unknown target: got %d rollups", len(got))
	}
}

func testRollupsMerge(t *testing.T, h *harness) {
	c := ctx(t)
	r1 := mkRollup("m", base, time.Millisecond, 2*time.Millisecond, 90*time.Millisecond)
	r2 := mkRollup("m", base.Add(17*time.Second), 300*time.Millisecond, 4*time.Second) // same minute, unaligned
	r3 := mkRollup("m", base, 50*time.Millisecond)
	other := mkRollup("m", base.Add(time.Minute), time.Second)
	must(t, h.st.AddRollups(c, []store.Rollup{r1, other}), "AddRollups")
	must(t, h.st.AddRollups(c, []store.Rollup{r2}), "AddRollups merge")
	must(t, h.st.AddRollups(c, []store.Rollup{r3, r3}), "AddRollups merge within one batch")

	want := r1
	want.Merge(r2)
	want.Merge(r3)
	want.Merge(r3)
	got, err := h.st.Rollups(c, "m", base, base.Add(2*time.Minute))
	must(t, err, "Rollups")
	if len(got) != 2 {
		t.Fatalf("got %d rollups, want 2", len(got))
	}
	if !sameRollup(got[0], want) {
		t.Errorf("merged = %s, want %s", fmtRollup(got[0]), fmtRollup(want))
	}
	if want.LatencyMax != uint32((4 * time.Second).Microseconds()) {
		t.Fatalf("test bug: max %d", want.LatencyMax)
	}
	if !sameRollup(got[1], other) {
		t.Errorf("untouched = %s, want %s", fmtRollup(got[1]), fmtRollup(other))
	}
}

func testRollupsRange(t *testing.T, h *harness) {
	c := ctx(t)
	var in []store.Rollup
	for i := range 10 {
		in = append(in, mkRollup("r", base.Add(time.Duration(i)*time.Minute), time.Duration(i+1)*time.Millisecond))
	}
	// Added newest first: reads still come oldest first.
	rev := slices.Clone(in)
	slices.Reverse(rev)
	must(t, h.st.AddRollups(c, rev), "AddRollups")
	tests := []struct {
		name     string
		from, to time.Time
		first, n int
	}{
		{"all", base, base.Add(10 * time.Minute), 0, 10},
		{"half-open", base.Add(2 * time.Minute), base.Add(5 * time.Minute), 2, 3},
		{"unaligned from excludes its minute", base.Add(2*time.Minute + time.Second), base.Add(5 * time.Minute), 3, 2},
		{"unaligned to includes its minute", base.Add(2 * time.Minute), base.Add(5*time.Minute + time.Nanosecond), 2, 4},
		{"empty range", base.Add(3 * time.Minute), base.Add(3 * time.Minute), 0, 0},
		{"zero from", time.Time{}, base.Add(2 * time.Minute), 0, 2},
		{"after", base.Add(time.Hour), base.Add(2 * time.Hour), 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := h.st.Rollups(c, "r", tc.from, tc.to)
			must(t, err, "Rollups")
			if len(got) != tc.n {
				t.Fatalf("got %d rollups, want %d", len(got), tc.n)
			}
			for i := range got {
				if !sameRollup(got[i], in[tc.first+i]) {
					t.Errorf("[%d] = %s, want %s", i, fmtRollup(got[i]), fmtRollup(in[tc.first+i]))
				}
			}
		})
	}
}

func testResults(t *testing.T, h *harness) {
	c := ctx(t)
	var in []store.Result
	for i := range 8 {
		in = append(in, store.Result{TargetID: "x", At: base.Add(time.Duration(i)*time.Second + 987654321),
			OK: i%2 == 0, Latency: time.Duration(i)*time.Millisecond + 17, Message: fmt.Sprintf("m%d", i)})
	}
	in[3].Details = []byte(`{"status_code":503}`)
	must(t, h.st.AddResults(c, in[4:]), "AddResults")
	must(t, h.st.AddResults(c, in[:4]), "AddResults")
	must(t, h.st.AddResults(c, []store.Result{{TargetID: "y", At: base, Message: "other"}}), "AddResults")
	must(t, h.st.AddResults(c, nil), "AddResults(nil)")

	msgs := func(rs []store.Result) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.Message)
		}
		return out
	}
	tests := []struct {
		name     string
		from, to time.Time
		limit    int
		want     []string
	}{
		{"newest first", time.Time{}, base.Add(time.Hour), 0, []string{"m7", "m6", "m5", "m4", "m3", "m2", "m1", "m0"}},
		{"limit", time.Time{}, base.Add(time.Hour), 3, []string{"m7", "m6", "m5"}},
		{"half-open", in[2].At, in[5].At, 0, []string{"m4", "m3", "m2"}},
		{"range and limit", in[2].At, in[5].At, 1, []string{"m4"}},
		{"zero to", in[6].At, time.Time{}, 0, []string{"m7", "m6"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := h.st.Results(c, "x", tc.from, tc.to, tc.limit)
			must(t, err, "Results")
			if g := msgs(got); !slices.Equal(g, tc.want) {
				t.Fatalf("got %v, want %v", g, tc.want)
			}
		})
	}
	got, err := h.st.Results(c, "x", in[3].At, in[3].At.Add(1), 0)
	must(t, err, "Results")
	if len(got) != 1 {
		t.Fatalf("got %d results, want 1", len(got))
	}
	g, w := got[0], in[3]
	if g.TargetID != w.TargetID || !g.At.Equal(w.At) || g.OK != w.OK || g.Latency != w.Latency ||
		g.Message != w.Message || string(g.Details) != string(w.Details) {
		t.Errorf("round trip: got %+v, want %+v", g, w)
	}
	got, err = h.st.Results(c, "nobody", time.Time{}, time.Time{}, 0)
	must(t, err, "Results of an unknown target")
	if len(got) != 0 {
		t.Errorf("unknown target: %d results", len(got))
	}
}

func testEmptyIDs(t *testing.T, h *harness) {
	c := ctx(t)
	tests := []struct {
		name string
		fn   func() error
	}{
		{"PutObjects", func() error { return h.st.PutObjects(c, store.KindTarget, []store.ObjectRecord{{Stamp: 1}}) }},
		{"AddTransitions", func() error { return h.st.AddTransitions(c, []store.Transition{{At: base}}) }},
		{"AddRollups", func() error { return h.st.AddRollups(c, []store.Rollup{{Minute: base, Count: 1}}) }},
		{"AddResults", func() error { return h.st.AddResults(c, []store.Result{{At: base}}) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.fn(); err == nil {
				t.Fatal("a record with an empty target id was accepted")
			}
		})
	}
	// A refused batch writes nothing of itself.
	err := h.st.AddRollups(c, []store.Rollup{mkRollup("ok", base, time.Millisecond), {Minute: base, Count: 1}})
	if err == nil {
		t.Fatal("batch with an empty id accepted")
	}
	got, err := h.st.Rollups(c, "ok", time.Time{}, time.Time{})
	must(t, err, "Rollups")
	if len(got) != 0 {
		t.Errorf("a failed batch left %d rollups behind", len(got))
	}
}

func seed(t *testing.T, st store.Store, id string, at time.Time) {
	t.Helper()
	c := ctx(t)
	must(t, st.AddRollups(c, []store.Rollup{mkRollup(id, at, time.Millisecond)}), "AddRollups")
	must(t, st.AddResults(c, []store.Result{{TargetID: id, At: at, Message: "fail"}}), "AddResults")
	must(t, st.AddTransitions(c, []store.Transition{{TargetID: id, At: at, From: health.Up, To: health.Down}}), "AddTransitions")
}

type counts struct{ rollups, results, transitions int }

func countOf(t *testing.T, st store.Store, id string) counts {
	t.Helper()
	c := ctx(t)
	ro, err := st.Rollups(c, id, time.Time{}, time.Time{})
	must(t, err, "Rollups")
	re, err := st.Results(c, id, time.Time{}, time.Time{}, 0)
	must(t, err, "Results")
	tr, err := st.Transitions(c, store.TransitionQuery{TargetID: id})
	must(t, err, "Transitions")
	return counts{len(ro), len(re), len(tr)}
}

func testDeleteTargetData(t *testing.T, h *harness) {
	c := ctx(t)
	must(t, h.st.PutObjects(c, store.KindTarget, []store.ObjectRecord{{Key: "del", Stamp: 3, Node: "n", Deleted: true}}), "PutObjects")
	for i := range 3 {
		seed(t, h.st, "del", base.Add(time.Duration(i)*time.Minute))
		seed(t, h.st, "keep", base.Add(time.Duration(i)*time.Minute))
	}
	must(t, h.st.DeleteTargetData(c, "del"), "DeleteTargetData")
	if got := countOf(t, h.st, "del"); got != (counts{}) {
		t.Errorf("after delete: %+v left", got)
	}
	if got := countOf(t, h.st, "keep"); got != (counts{3, 3, 3}) {
		t.Errorf("other target: %+v, want 3 of each", got)
	}
	recs, err := h.st.Objects(c, store.KindTarget)
	must(t, err, "Objects")
	if len(recs) != 1 || recs[0].Key != "del" {
		t.Errorf("DeleteTargetData touched the registry: %+v", recs)
	}
	must(t, h.st.DeleteTargetData(c, "del"), "DeleteTargetData again")
	must(t, h.st.DeleteTargetData(c, "never-seen"), "DeleteTargetData of an unknown target")
	// The target can get data again afterwards.
	seed(t, h.st, "del", base)
	if got := countOf(t, h.st, "del"); got != (counts{1, 1, 1}) {
		t.Errorf("data after delete: %+v, want 1 of each", got)
	}
}

func testPrune(t *testing.T, h *harness) {
	now := base.Add(30 * 24 * time.Hour)
	day := 24 * time.Hour
	tests := []struct {
		name string
		r    store.Retention
		want counts // of 3 records each 1, 10 and 20 days old
	}{
		{"zero keeps all", store.Retention{}, counts{3, 3, 3}},
		{"results", store.Retention{Results: 5 * day}, counts{3, 1, 3}},
		{"rollups", store.Retention{Rollups: 15 * day}, counts{2, 3, 3}},
		{"transitions", store.Retention{Transitions: 12 * time.Hour}, counts{3, 3, 0}},
		{"all", store.Retention{Results: 2 * day, Rollups: 11 * day, Transitions: 25 * day}, counts{2, 1, 3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := ctx(t)
			id := "p-" + tc.name
			for _, age := range []time.Duration{day, 10 * day, 20 * day} {
				seed(t, h.st, id, now.Add(-age))
			}
			must(t, h.st.Prune(c, tc.r, now), "Prune")
			if got := countOf(t, h.st, id); got != tc.want {
				t.Errorf("after prune: %+v, want %+v", got, tc.want)
			}
		})
	}
	t.Run("tombstones", func(t *testing.T) {
		c := ctx(t)
		ts := func(age time.Duration) uint64 { return uint64(now.Add(-age).UnixMilli()) << 16 }
		must(t, h.st.PutObjects(c, store.KindTarget, []store.ObjectRecord{
			{Key: "old-tomb", Stamp: ts(10 * day), Node: "n", Deleted: true},
			{Key: "new-tomb", Stamp: ts(time.Hour), Node: "n", Deleted: true},
			{Key: "old-live", Value: []byte(`{}`), Stamp: ts(10 * day), Node: "n"},
		}), "PutObjects")
		must(t, h.st.Prune(c, store.Retention{Results: day}, now), "Prune without tombstone retention")
		recs, err := h.st.Objects(c, store.KindTarget)
		must(t, err, "Objects")
		if len(recs) != 3 {
			t.Fatalf("tombstones pruned with zero retention: %+v", recs)
		}
		must(t, h.st.Prune(c, store.Retention{Tombstones: 7 * day}, now), "Prune")
		recs, err = h.st.Objects(c, store.KindTarget)
		must(t, err, "Objects")
		var ids []string
		for _, r := range recs {
			ids = append(ids, r.Key)
		}
		slices.Sort(ids)
		if !slices.Equal(ids, []string{"new-tomb", "old-live"}) {
			t.Errorf("after tombstone prune: %v, want new-tomb and old-live", ids)
		}
	})
	t.Run("object tombstones", func(t *testing.T) {
		c := ctx(t)
		ts := func(age time.Duration) uint64 { return uint64(now.Add(-age).UnixMilli()) << 16 }
		must(t, h.st.PutObjects(c, "silence", []store.ObjectRecord{
			{Key: "old-tomb", Stamp: ts(10 * day), Node: "n", Deleted: true},
			{Key: "new-tomb", Stamp: ts(time.Hour), Node: "n", Deleted: true},
			{Key: "old-live", Value: []byte(`{}`), Stamp: ts(10 * day), Node: "n"},
		}), "PutObjects")
		must(t, h.st.Prune(c, store.Retention{Tombstones: 7 * day}, now), "Prune")
		recs, err := h.st.Objects(c, "silence")
		must(t, err, "Objects")
		var keys []string
		for _, r := range recs {
			keys = append(keys, r.Key)
		}
		if !slices.Equal(keys, []string{"new-tomb", "old-live"}) {
			t.Errorf("after tombstone prune: %v, want new-tomb and old-live", keys)
		}
	})
}

// testPruneManyRows prunes more rows than any implementation would sensibly
// delete in one go, across several targets.
func testPruneManyRows(t *testing.T, h *harness) {
	c := ctx(t)
	const minutes = 6000
	var rs []store.Rollup
	for _, id := range []string{"big", "small"} {
		n := minutes
		if id == "small" {
			n = 10
		}
		for i := range n {
			rs = append(rs, store.Rollup{TargetID: id, Minute: base.Add(time.Duration(i) * time.Minute), Count: 1})
		}
	}
	must(t, h.st.AddRollups(c, rs), "AddRollups")
	now := base.Add(minutes * time.Minute)
	must(t, h.st.Prune(c, store.Retention{Rollups: 100 * time.Minute}, now), "Prune")
	got, err := h.st.Rollups(c, "big", time.Time{}, time.Time{})
	must(t, err, "Rollups")
	if len(got) != 100 || !got[0].Minute.Equal(now.Add(-100*time.Minute)) {
		t.Errorf("big: %d rollups left (first %v), want the last 100", len(got), got[0].Minute)
	}
	got, err = h.st.Rollups(c, "small", time.Time{}, time.Time{})
	must(t, err, "Rollups")
	if len(got) != 0 {
		t.Errorf("small: %d rollups left, want 0", len(got))
	}
}

func testConcurrent(t *testing.T, h *harness) {
	c := ctx(t)
	const batches, perBatch = 25, 50
	var wg sync.WaitGroup
	var done atomic.Bool
	errc := make(chan error, 16)
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer done.Store(true)
		for b := range batches {
			rs := make([]store.Rollup, perBatch)
			for i := range rs {
				rs[i] = store.Rollup{TargetID: fmt.Sprintf("c%d", i%5), Minute: base.Add(time.Duration(b) * time.Minute), Count: 1}
			}
			if err := h.st.AddRollups(c, rs); err != nil {
				errc <- fmt.Errorf("add rollups: %w", err)
				return
			}
			if err := h.st.AddResults(c, []store.Result{{TargetID: "c0", At: base.Add(time.Duration(b) * time.Second)}}); err != nil {
				errc <- fmt.Errorf("add results: %w", err)
				return
			}
		}
	}()
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("c%d", r)
			var last uint32
			for !done.Load() {
				rs, err := h.st.Rollups(c, id, time.Time{}, time.Time{})
				if err != nil {
					errc <- fmt.Errorf("read rollups: %w", err)
					return
				}
				var sum uint32
				for _, x := range rs {
					sum += x.Count
				}
				if sum < last || sum%10 != 0 {
					errc <- fmt.Errorf("reader saw %d checks after %d: a partial or lost batch", sum, last)
					return
				}
				last = sum
				if _, err := h.st.Results(c, "c0", time.Time{}, time.Time{}, 5); err != nil {
					errc <- fmt.Errorf("read results: %w", err)
					return
				}
				if err := h.st.Ping(c); err != nil {
					errc <- fmt.Errorf("ping: %w", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	for r := range 5 {
		rs, err := h.st.Rollups(c, fmt.Sprintf("c%d", r), time.Time{}, time.Time{})
		must(t, err, "Rollups")
		var sum uint32
		for _, x := range rs {
			sum += x.Count
		}
		if sum != batches*perBatch/5 {
			t.Errorf("c%d: %d checks, want %d", r, sum, batches*perBatch/5)
		}
	}
}

func testReopen(t *testing.T, h *harness) {
	c := ctx(t)
	must(t, h.st.PutObjects(c, store.KindTarget, []store.ObjectRecord{{Key: "t", Value: []byte(`{"id":"t"}`), Stamp: 5, Node: "n"}}), "PutObjects")
	seed(t, h.st, "t", base)
	r := mkRollup("t", base.Add(time.Minute), 5*time.Millisecond, 5*time.Second)
	must(t, h.st.AddRollups(c, []store.Rollup{r}), "AddRollups")

	st := h.reopen()
	must(t, st.Ping(c), "Ping after reopen")
	recs, err := st.Objects(c, store.KindTarget)
	must(t, err, "Objects")
	if len(recs) != 1 || recs[0].Key != "t" || string(recs[0].Value) != `{"id":"t"}` || recs[0].Stamp != 5 {
		t.Errorf("targets after reopen: %+v", recs)
	}
	if got := countOf(t, st, "t"); got != (counts{2, 1, 1}) {
		t.Errorf("after reopen: %+v, want 2 rollups, 1 result, 1 transition", got)
	}
	rs, err := st.Rollups(c, "t", base.Add(time.Minute), base.Add(2*time.Minute))
	must(t, err, "Rollups")
	if len(rs) != 1 || !sameRollup(rs[0], r) {
		t.Errorf("rollup after reopen = %v, want %s", rs, fmtRollup(r))
	}
	// Writes after reopen merge with what was stored before.
	must(t, st.AddRollups(c, []store.Rollup{r}), "AddRollups after reopen")
	rs, err = st.Rollups(c, "t", base.Add(time.Minute), base.Add(2*time.Minute))
	must(t, err, "Rollups")
	if len(rs) != 1 || rs[0].Count != 2*r.Count {
		t.Errorf("merge after reopen: %v", rs)
	}
}
