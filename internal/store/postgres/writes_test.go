package postgres

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/store"
)

// TestRefusedRecordsDropOnlyThemselves: when the database refuses a
// batch for its data, the calls it held are written one by one and only
// the refused one is dropped, counted as rejected.
func TestRefusedRecordsDropOnlyThemselves(t *testing.T) {
	pg := server.Get(t)
	st := openT(t, freshDB(t, pg), Options{})
	c := testCtx(t)
	if _, err := st.pool.Exec(c, "ALTER TABLE results ADD CONSTRAINT heck_test_no_bad CHECK (message <> 'bad')"); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	for i, msg := range []string{"ok1", "bad", "ok2"} {
		if err := st.AddResults(c, []store.Result{{TargetID: "t", At: now.Add(time.Duration(i) * time.Second), Message: msg}}); err != nil {
			t.Fatal(err)
		}
	}
	r := store.Rollup{TargetID: "t", Minute: now, Count: 1}
	if err := st.AddRollups(c, []store.Rollup{r}); err != nil {
		t.Fatal(err)
	}
	got, err := st.Results(c, "t", time.Time{}, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, r := range got {
		msgs = append(msgs, r.Message)
	}
	if !slices.Equal(msgs, []string{"ok2", "ok1"}) {
		t.Errorf("results %v, want ok2 and ok1", msgs)
	}
	if rs, err := st.Rollups(c, "t", time.Time{}, time.Time{}); err != nil || len(rs) != 1 {
		t.Errorf("rollups beside the refused result: %+v, %v", rs, err)
	}
	if s := st.QueueStats(); s.Rejected != 1 || s.Dropped != 0 || s.Written != 3 {
		t.Errorf("stats %+v, want 1 rejected, 3 written", s)
	}
}

// TestCloseReportsWhatIsLeft: Close with the database away gives up after
// CloseTimeout and says how much was not written.
func TestCloseReportsWhatIsLeft(t *testing.T) {
	pg := faultServer.Get(t)
	st, err := Open(testCtx(t), freshDB(t, pg), Options{CloseTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := pg.Start(); err != nil {
			t.Fatal(err)
		}
	}()
	if err := st.AddResults(context.Background(), []store.Result{{TargetID: "t", At: time.Now(), Message: "m"}}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = st.Close()
	if err == nil || !strings.Contains(err.Error(), "1 results and 0 rollups were not written") {
		t.Fatalf("Close with the database away: %v", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("Close took %s with a 300ms close timeout", took)
	}
	if err := st.AddResults(context.Background(), []store.Result{{TargetID: "t", At: time.Now()}}); err == nil {
		t.Error("a write after Close was accepted")
	}
}

// TestFlush: after Flush, what was acknowledged is in the tables, as
// another connection sees them.
func TestFlush(t *testing.T) {
	pg := server.Get(t)
	st := openT(t, freshDB(t, pg), Options{})
	c := testCtx(t)
	var rs []store.Result
	for i := range 500 {
		rs = append(rs, store.Result{TargetID: "t", At: time.Now().Add(time.Duration(i) * time.Millisecond)})
	}
	if err := st.AddResults(c, rs); err != nil {
		t.Fatal(err)
	}
	if err := st.AddRollups(c, []store.Rollup{{TargetID: "t", Minute: time.Now(), Count: 3}}); err != nil {
		t.Fatal(err)
	}
	if err := st.Flush(c); err != nil {
		t.Fatal(err)
	}
	if n := count(t, st.pool, "SELECT count(*) FROM results"); n != 500 {
		t.Errorf("%d results in the table after Flush, want 500", n)
	}
	if n := count(t, st.pool, "SELECT coalesce(sum(n), 0) FROM rollups_hour"); n != 3 {
		t.Errorf("hour rollups of %d checks after Flush, want 3", n)
	}
}

// TestTextMended: free text PostgreSQL cannot hold (NUL bytes, invalid
// UTF-8) is mended rather than refused; target ids with it are refused.
func TestTextMended(t *testing.T) {
	pg := server.Get(t)
	st := openT(t, freshDB(t, pg), Options{})
	c := testCtx(t)
	now := time.Now().UTC()
	if err := st.AddResults(c, []store.Result{{TargetID: "t", At: now, Message: "body \x00 and \xff"}}); err != nil {
		t.Fatal(err)
	}
	if err := st.AddTransitions(c, []store.Transition{{ID: "x", TargetID: "t", At: now, Cause: "nul \x00"}}); err != nil {
		t.Fatalf("a transition whose cause holds a NUL byte: %v", err)
	}
	got, err := st.Results(c, "t", time.Time{}, time.Time{}, 0)
	if err != nil || len(got) != 1 || got[0].Message != "body \uFFFD and \uFFFD" {
		t.Errorf("mended result: %+v, %v", got, err)
	}
	if tr, err := st.TransitionByID(c, "x"); err != nil || tr.Cause != "nul \uFFFD" {
		t.Errorf("mended transition: %+v, %v", tr, err)
	}
	if err := st.AddResults(c, []store.Result{{TargetID: "bad\x00id", At: now}}); err == nil {
		t.Error("a target id with a NUL byte was accepted")
	}
	if s := st.QueueStats(); s.Rejected != 0 {
		t.Errorf("%d records rejected", s.Rejected)
	}
}

// TestCopyWrites: PutRollups replaces minutes and sums their hours again
// (a rerun of a copy changes nothing), and PutResults writes past a queue
// far smaller than what it is given, dropping none.
func TestCopyWrites(t *testing.T) {
	pg := server.Get(t)
	st := openT(t, freshDB(t, pg), Options{Observer: "n1", Queue: 10})
	c := testCtx(t)
	start := time.Now().UTC().Truncate(time.Hour).Add(-3 * time.Hour)
	var rs []store.Rollup
	for i := range 150 {
		r := store.Rollup{TargetID: "t", Minute: start.Add(time.Duration(i) * time.Minute)}
		r.Add(i%3 != 0, time.Duration(i)*time.Millisecond)
		rs = append(rs, r)
	}
	for range 2 {
		if err := st.PutRollups(c, rs); err != nil {
			t.Fatal(err)
		}
	}
	var want store.Rollup
	for _, r := range rs {
		want.Merge(r)
	}
	spans, err := st.RollupSpans(c, "t", start, start.Add(3*time.Hour), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var got store.Rollup
	for _, r := range spans {
		got.Merge(r)
	}
	if got != want || len(spans) != 3 {
		t.Errorf("hours after copying twice: %d spans summing to %+v, want 3 summing to %+v", len(spans), got, want)
	}
	var res []store.Result
	for i := range 100 {
		res = append(res, store.Result{TargetID: "t", At: start.Add(time.Duration(i) * time.Second)})
	}
	if err := st.PutResults(c, res); err != nil {
		t.Fatal(err)
	}
	counts, err := st.TableCounts(c)
	if err != nil {
		t.Fatal(err)
	}
	if counts["results"] != 100 || counts["rollups"] != 150 || st.Dropped() != 0 {
		t.Errorf("counts %v, %d dropped; want 100 results and 150 rollups, none dropped", counts, st.Dropped())
	}
}
