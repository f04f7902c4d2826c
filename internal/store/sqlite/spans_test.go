package sqlite

import (
	"database/sql"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/history"
	"github.com/heckhq/heck/internal/store"
	"github.com/heckhq/heck/internal/store/sqlkit"
)

var _ history.SpanStore = (*Store)(nil)

// groups sums rs into the steps of the grid from + k*step (one group
// without a step), as internal/node's group and history.Points do.
func groups(rs []store.Rollup, from time.Time, step time.Duration) map[int64]store.Rollup {
	out := map[int64]store.Rollup{}
	for _, r := range rs {
		k := int64(0)
		if step > 0 {
			k = int64(r.Minute.Sub(from) / step)
		}
		g := out[k]
		g.Merge(r)
		out[k] = g
	}
	return out
}

// checkSpans compares the spans of [from, to) in steps of step with the
// minutes grouped the same way, and returns the spans.
func checkSpans(t *testing.T, s *Store, id string, from, to time.Time, step time.Duration) []store.Rollup {
	t.Helper()
	c := testCtx(t)
	minutes, err := s.Rollups(c, id, from, to)
	if err != nil {
		t.Fatal(err)
	}
	spans, err := s.RollupSpans(c, id, from, to, step)
	if err != nil {
		t.Fatal(err)
	}
	gm, gs := groups(minutes, from, step), groups(spans, from, step)
	if len(gm) != len(gs) {
		t.Fatalf("[%s, %s) step %v: %d groups of minutes, %d of spans", from, to, step, len(gm), len(gs))
	}
	for k, m := range gm {
		if gs[k] != m {
			t.Fatalf("[%s, %s) step %v: group %d: spans sum to %+v, minutes to %+v", from, to, step, k, gs[k], m)
		}
	}
	for i := 1; i < len(spans); i++ {
		if !spans[i-1].Minute.Before(spans[i].Minute) {
			t.Fatalf("spans out of order at %d", i)
		}
	}
	return spans
}

// TestRollupSpans: the spans of a range sum to the same as its minutes,
// from fewer rows, wherever the range starts and ends.
func TestRollupSpans(t *testing.T) {
	s := openT(t, filepath.Join(t.TempDir(), "heck.db"))
	defer s.Close()
	c := testCtx(t)
	start := time.Now().UTC().Truncate(time.Hour).Add(-5 * time.Hour)
	var rs []store.Rollup
	for i := range 5 * 60 {
		r := store.Rollup{TargetID: "t", Minute: start.Add(time.Duration(i) * time.Minute)}
		r.Add(i%7 != 0, time.Duration(i%50)*time.Millisecond)
		rs = append(rs, r)
	}
	for _, part := range [][]store.Rollup{rs[:150], rs[150:], rs[100:200]} { // some minutes twice
		if err := s.AddRollups(c, part); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name     string
		from, to time.Time
		step     time.Duration
		maxRows  int
	}{
		{"open", time.Time{}, time.Time{}, 0, 5},
		{"whole hours", start, start.Add(5 * time.Hour), 0, 5},
		{"ragged", start.Add(17 * time.Minute), start.Add(4*time.Hour + 3*time.Minute), 0, 43 + 3 + 3},
		{"within an hour", start.Add(70 * time.Minute), start.Add(100 * time.Minute), 0, 30},
		{"sub-second bounds", start.Add(time.Hour + 500*time.Millisecond), start.Add(3*time.Hour + 1), 0, 59 + 1 + 1},
		{"ragged grid of 2h", start.Add(17 * time.Minute), start.Add(5 * time.Hour), 2 * time.Hour, 3*60 + 1},
		{"aligned grid of 1h", start, start.Add(5 * time.Hour), time.Hour, 5},
		{"grid under an hour reads minutes", start, start.Add(5 * time.Hour), 10 * time.Minute, 300},
		{"grid with an open bound reads minutes", time.Time{}, start.Add(5 * time.Hour), time.Hour, 300},
		{"empty range", start.Add(time.Hour), start.Add(time.Hour), 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spans := checkSpans(t, s, "t", tc.from, tc.to, tc.step)
			if len(spans) > tc.maxRows {
				t.Errorf("%d spans, want at most %d", len(spans), tc.maxRows)
			}
		})
	}
	if spans, err := s.RollupSpans(c, "unknown", start, start.Add(time.Hour), 0); err != nil || len(spans) != 0 {
		t.Errorf("spans of an unknown target: %v, %v", spans, err)
	}
}

// TestRollupSpansRandom: over random writes (minutes merged several
// times, calls spanning hours) and random ranges and grids, spans and
// minutes sum to the same.
func TestRollupSpansRandom(t *testing.T) {
	s := openT(t, filepath.Join(t.TempDir(), "heck.db"))
	defer s.Close()
	c := testCtx(t)
	rng := rand.New(rand.NewPCG(12, 34))
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	const minutes = 3 * 24 * 60
	for range 40 {
		var batch []store.Rollup
		for range rng.IntN(400) + 1 {
			r := store.Rollup{TargetID: []string{"a", "b"}[rng.IntN(2)], Minute: start.Add(time.Duration(rng.IntN(minutes)) * time.Minute)}
			for range rng.IntN(5) + 1 {
				r.Add(rng.IntN(9) != 0, time.Duration(rng.ExpFloat64()*float64(30*time.Millisecond)))
			}
			batch = append(batch, r)
		}
		if err := s.AddRollups(c, batch); err != nil {
			t.Fatal(err)
		}
	}
	steps := []time.Duration{0, time.Hour, 90 * time.Minute, 2 * time.Hour, 7 * time.Hour, 24 * time.Hour}
	for range 200 {
		from := start.Add(time.Duration(rng.Int64N(int64(minutes * time.Minute))))
		if rng.IntN(3) == 0 {
			from = from.Truncate(time.Minute)
		}
		to := from.Add(time.Duration(rng.Int64N(int64(minutes * time.Minute))))
		checkSpans(t, s, []string{"a", "b"}[rng.IntN(2)], from, to, steps[rng.IntN(len(steps))])
	}
	// 30 days in 24-hour steps read hours, not minutes.
	spans := checkSpans(t, s, "a", start.Add(-27*24*time.Hour+17*time.Minute), start.Add(3*24*time.Hour), 24*time.Hour)
	if len(spans) > 3*24+31*60 {
		t.Errorf("%d spans for 3 days of data in 24-hour steps", len(spans))
	}
}

// hourRows reads a target's stored hour rollups.
func hourRows(t *testing.T, s *Store, id string) []store.Rollup {
	t.Helper()
	spans, err := s.RollupSpans(testCtx(t), id, time.Time{}, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	return spans
}

// TestPutRollupsSumsHours: PutRollups replaces minutes and their hours
// become the sums of the minutes as stored, however often it runs.
func TestPutRollupsSumsHours(t *testing.T) {
	s := openT(t, filepath.Join(t.TempDir(), "heck.db"))
	defer s.Close()
	c := testCtx(t)
	h := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	mk := func(min, n int) store.Rollup {
		r := store.Rollup{TargetID: "t", Minute: h.Add(time.Duration(min) * time.Minute)}
		for range n {
			r.Add(true, 3*time.Millisecond)
		}
		return r
	}
	if err := s.AddRollups(c, []store.Rollup{mk(0, 5), mk(1, 5), mk(61, 2)}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := s.PutRollups(c, []store.Rollup{mk(1, 1), mk(2, 3)}); err != nil {
			t.Fatal(err)
		}
	}
	got := hourRows(t, s, "t")
	want := []store.Rollup{mk(0, 5+1+3), mk(60, 2)}
	want[0].Minute, want[1].Minute = h, h.Add(time.Hour)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("hours after PutRollups:\n%+v\nwant\n%+v", got, want)
	}
}

// TestHourRollupsPrunedAndDeleted: retention drops the hours wholly before
// the rollups' cutoff, DeleteTargetData every hour of its target.
func TestHourRollupsPrunedAndDeleted(t *testing.T) {
	s := openT(t, filepath.Join(t.TempDir(), "heck.db"))
	defer s.Close()
	c := testCtx(t)
	h := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	var rs []store.Rollup
	for i := range 5 {
		for _, id := range []string{"a", "b"} {
			rs = append(rs, store.Rollup{TargetID: id, Minute: h.Add(time.Duration(i) * time.Hour), Count: 1})
		}
	}
	if err := s.AddRollups(c, rs); err != nil {
		t.Fatal(err)
	}
	// Cutoff at 02:30: hours 00 and 01 go, 02 (straddling) stays.
	if err := s.Prune(c, store.Retention{Rollups: time.Hour}, h.Add(3*time.Hour+30*time.Minute)); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "b"} {
		got := hourRows(t, s, id)
		if len(got) != 3 || !got[0].Minute.Equal(h.Add(2*time.Hour)) {
			t.Errorf("%s: hours after pruning %+v, want 02:00 to 04:00", id, got)
		}
	}
	if err := s.DeleteTargetData(c, "a"); err != nil {
		t.Fatal(err)
	}
	if got := hourRows(t, s, "a"); len(got) != 0 {
		t.Errorf("hours of a deleted target: %+v", got)
	}
	if got := hourRows(t, s, "b"); len(got) != 3 {
		t.Errorf("hours of b after deleting a: %+v", got)
	}
}

// TestMigrationBackfillsHourRollups: a store of schema 5 (minute rollups
// only) opens with hour rollups summed from its minutes.
func TestMigrationBackfillsHourRollups(t *testing.T) {
	path := filepath.Join(t.TempDir(), "heck.db")
	c := testCtx(t)
	ms, err := sqlkit.LoadMigrations(migrationFS)
	if err != nil {
		t.Fatal(err)
	}
	// A file at schema 5 with minutes of two targets, negative times and
	// an empty histogram among them.
	s := &Store{path: path, log: slog.New(slog.DiscardHandler)}
	if s.w, err = sql.Open("sqlite", path); err != nil {
		t.Fatal(err)
	}
	if err := s.migrateWith(c, ms[:5]); err != nil {
		t.Fatal(err)
	}
	h := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	var minutes []store.Rollup
	for i, at := range []time.Time{h, h.Add(time.Minute), h.Add(59 * time.Minute), h.Add(time.Hour), time.Unix(-3600-60, 0), time.Unix(-3600, 0)} {
		r := store.Rollup{TargetID: []string{"a", "b"}[i%2], Minute: at.UTC()}
		for j := range i {
			r.Add(j%2 == 0, time.Duration(j*7)*time.Millisecond)
		}
		minutes = append(minutes, r)
		buf := encodeBuckets(nil, &r.Buckets)
		if _, err := s.w.ExecContext(c, `INSERT OR IGNORE INTO target_ids (name) VALUES (?)`, r.TargetID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.w.ExecContext(c, `INSERT INTO rollups (tid, minute, n, fails, lat_sum, lat_max, buckets)
			SELECT tid, ?, ?, ?, ?, ?, ? FROM target_ids WHERE name = ?`, at.Unix(), r.Count, r.Failures, r.LatencySum, r.LatencyMax, blobOf(buf), r.TargetID); err != nil {
			t.Fatal(err)
		}
	}
	// And enough hours of a third target for several statements.
	const manyHours = 3*mergeBatch + 5
	if _, err := s.w.ExecContext(c, `INSERT INTO target_ids (name) VALUES ('c')`); err != nil {
		t.Fatal(err)
	}
	for i := range manyHours * 2 {
		if _, err := s.w.ExecContext(c, `INSERT INTO rollups (tid, minute, n, fails, lat_sum, lat_max, buckets)
			SELECT tid, ?, 1, 0, 10, 10, NULL FROM target_ids WHERE name = 'c'`, h.Unix()+int64(i/2)*3600+int64(i%2)*60); err != nil {
			t.Fatal(err)
		}
	}
	s.w.Close()

	st := openT(t, path)
	if got := hourRows(t, st, "c"); len(got) != manyHours || got[0].Count != 2 || got[manyHours-1].LatencySum != 20 {
		t.Errorf("c: %d hours after the migration, want %d of 2 checks each", len(got), manyHours)
	}
	defer st.Close()
	if v := versions(t, path); len(v) != len(ms) {
		t.Fatalf("versions after opening: %v", v)
	}
	for _, id := range []string{"a", "b"} {
		want := map[int64]store.Rollup{}
		for _, m := range minutes {
			if m.TargetID == id {
				k := hourOf(m.Minute.Unix())
				w := want[k]
				w.Merge(m)
				w.TargetID, w.Minute = id, time.Unix(k, 0).UTC()
				want[k] = w
			}
		}
		got := hourRows(t, st, id)
		if len(got) != len(want) {
			t.Fatalf("%s: %d hours after the migration, want %d: %+v", id, len(got), len(want), got)
		}
		for _, g := range got {
			if w := want[g.Minute.Unix()]; g != w {
				t.Errorf("%s: hour %s = %+v, want %+v", id, g.Minute, g, w)
			}
		}
	}
	// And AddRollups merges into the migrated hours.
	if err := st.AddRollups(c, []store.Rollup{{TargetID: "a", Minute: h.Add(5 * time.Minute), Count: 4}}); err != nil {
		t.Fatal(err)
	}
	checkSpans(t, st, "a", h, h.Add(2*time.Hour), time.Hour)
	if got := hourRows(t, st, "a"); got[len(got)-1].Count != 0+2+4 {
		t.Errorf("hour after a merge: %+v", got[len(got)-1])
	}
}

// TestAddRollupsMergesWithinACall: a call of several upsert statements
// (mergeBatch rows each) with a minute repeated inside one statement and
// across two merges every copy, in minutes and hours.
func TestAddRollupsMergesWithinACall(t *testing.T) {
	s := openT(t, filepath.Join(t.TempDir(), "heck.db"))
	defer s.Close()
	c := testCtx(t)
	h := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	var rs []store.Rollup
	want := map[int64]store.Rollup{}
	for i := range 2*mergeBatch + 5 {
		m := h.Add(time.Duration(i%(mergeBatch+3)) * time.Minute) // repeats inside and across statements
		r := store.Rollup{TargetID: "t", Minute: m}
		r.Add(i%3 != 0, time.Duration(i)*time.Millisecond)
		rs = append(rs, r)
		w := want[m.Unix()]
		w.Merge(r)
		w.TargetID, w.Minute = "t", m
		want[m.Unix()] = w
	}
	if err := s.AddRollups(c, rs); err != nil {
		t.Fatal(err)
	}
	got, err := s.Rollups(c, "t", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d minutes stored, want %d", len(got), len(want))
	}
	for _, g := range got {
		if w := want[g.Minute.Unix()]; g != w {
			t.Errorf("minute %s = %+v, want %+v", g.Minute, g, w)
		}
	}
	checkSpans(t, s, "t", time.Time{}, time.Time{}, 0)
}

// TestAddResultsBatches: a call of several statements (mergeBatch rows
// each) stores every result, and of two at the same nanosecond, inside one
// statement or across two, the last.
func TestAddResultsBatches(t *testing.T) {
	s := openT(t, filepath.Join(t.TempDir(), "heck.db"))
	defer s.Close()
	c := testCtx(t)
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	var rs []store.Result
	const distinct = mergeBatch + 7
	for i := range 2*mergeBatch + 3 {
		rs = append(rs, store.Result{TargetID: "t", At: at.Add(time.Duration(i%distinct) * time.Second), OK: true,
			Latency: time.Duration(i), Message: fmt.Sprint(i)})
	}
	if err := s.AddResults(c, rs); err != nil {
		t.Fatal(err)
	}
	got, err := s.Results(c, "t", time.Time{}, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != distinct {
		t.Fatalf("%d results stored, want %d", len(got), distinct)
	}
	for _, g := range got {
		sec := int(g.At.Sub(at) / time.Second)
		last := sec
		for last+distinct < len(rs) {
			last += distinct
		}
		if g.Message != fmt.Sprint(last) {
			t.Errorf("result at +%ds: %q, want the last written, %d", sec, g.Message, last)
		}
	}
	if err := s.AddResults(c, []store.Result{{TargetID: "t", At: at}, {At: at}}); err == nil {
		t.Error("a result with an empty target id was stored")
	}
}
