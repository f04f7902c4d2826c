package node

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/api"
	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/history"
	"github.com/heckhq/heck/internal/store"
)

var hT0 = time.Date(2026, 3, 4, 5, 0, 0, 0, time.UTC)

// hMin is a rollup of minute i after hT0 with count checks, fails of them
// failed, each taking lat.
func hMin(i, count, fails int, lat time.Duration) store.Rollup {
	r := store.Rollup{TargetID: "t", Minute: hT0.Add(time.Duration(i) * time.Minute)}
	for k := range count {
		r.Add(k >= fails, lat)
	}
	return r
}

// hSum is the rollup of the given ones, at minute i.
func hSum(i int, rs ...store.Rollup) store.Rollup {
	out := store.Rollup{Minute: hT0.Add(time.Duration(i) * time.Minute)}
	for _, r := range rs {
		out.Merge(r)
	}
	return out
}

func TestMerge(t *testing.T) {
	a0, a1, a2 := hMin(0, 60, 0, time.Millisecond), hMin(1, 60, 2, time.Millisecond), hMin(2, 60, 0, time.Millisecond)
	b1, b2 := hMin(1, 60, 60, 3*time.Second), hMin(2, 30, 0, 40*time.Millisecond)
	half := hMin(1, 30, 0, time.Millisecond) // owner's half of a minute before a fail-over
	boom := errors.New("connection refused")
	cases := []struct {
		name        string
		answers     []answer
		unreachable []string
		want        []store.Rollup
		cov         api.Coverage
	}{
		{name: "one observer", answers: []answer{{member: "n0", rollups: []store.Rollup{a0, a1}}, {member: "n1"}, {member: "n2"}},
			want: []store.Rollup{hSum(0, a0), hSum(1, a1)}, cov: api.Coverage{Observers: []string{"n0"}}},
		{name: "two owners of the same minutes count both",
			answers: []answer{{member: "n0", rollups: []store.Rollup{a1, a2}}, {member: "n1", rollups: []store.Rollup{b1, b2}}},
			want:    []store.Rollup{hSum(1, a1, b1), hSum(2, a2, b2)}, cov: api.Coverage{Observers: []string{"n0", "n1"}}},
		{name: "overlapping and disjoint minutes",
			answers: []answer{{member: "n2", rollups: []store.Rollup{b2}}, {member: "n0", rollups: []store.Rollup{a0, a1, a2}}},
			want:    []store.Rollup{hSum(0, a0), hSum(1, a1), hSum(2, a2, b2)}, cov: api.Coverage{Observers: []string{"n0", "n2"}}},
		{name: "a fail-over within a minute adds both halves",
			answers: []answer{{member: "old", rollups: []store.Rollup{half}}, {member: "new", rollups: []store.Rollup{half, a2}}},
			want:    []store.Rollup{hSum(1, half, half), hSum(2, a2)}, cov: api.Coverage{Observers: []string{"new", "old"}}},
		{name: "a member that did not answer is missing: partial",
			answers: []answer{{member: "n0", rollups: []store.Rollup{a0}}, {member: "n1", err: boom}, {member: "n2"}},
			want:    []store.Rollup{hSum(0, a0)},
			cov:     api.Coverage{Observers: []string{"n0"}, Partial: true, Missing: []string{"n1"}}},
		{name: "an unreachable observer is missing",
			answers: []answer{{member: "n0"}, {member: "n2", rollups: []store.Rollup{b2}}}, unreachable: []string{"n1", "n3"},
			want: []store.Rollup{hSum(2, b2)},
			cov:  api.Coverage{Observers: []string{"n2"}, Partial: true, Missing: []string{"n1", "n3"}}},
		{name: "nobody holds any", answers: []answer{{member: "n0"}, {member: "n1"}}, want: []store.Rollup{}},
		{name: "a member counts once",
			answers: []answer{{member: "n0", rollups: []store.Rollup{a0}}, {member: "n0", rollups: []store.Rollup{a0}}},
			want:    []store.Rollup{hSum(0, a0)}, cov: api.Coverage{Observers: []string{"n0"}}},
		{name: "an unreachable member that answered is not missing",
			answers: []answer{{member: "n1", rollups: []store.Rollup{a0}}}, unreachable: []string{"n1"},
			want: []store.Rollup{hSum(0, a0)}, cov: api.Coverage{Observers: []string{"n1"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, cov := merge(tc.answers, tc.unreachable)
			if !slices.Equal(got, tc.want) {
				t.Errorf("rollups\n got %+v\nwant %+v", got, tc.want)
			}
			if !slices.Equal(cov.Observers, tc.cov.Observers) || !slices.Equal(cov.Missing, tc.cov.Missing) || cov.Partial != tc.cov.Partial {
				t.Errorf("coverage %+v, want %+v", cov, tc.cov)
			}
		})
	}
}

// TestMergeOrder: the sum does not depend on the order the members
// answered in, and a minute's checks are every observer's checks.
func TestMergeOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := range 200 {
		var answers []answer
		var total uint32
		for m := range 1 + rng.IntN(5) {
			a := answer{member: fmt.Sprintf("n%d", m)}
			for i := range 10 {
				if rng.IntN(2) == 0 {
					r := hMin(i, 1+rng.IntN(60), 0, time.Duration(rng.IntN(3000))*time.Millisecond)
					total += r.Count
					a.rollups = append(a.rollups, r)
				}
			}
			answers = append(answers, a)
		}
		want, _ := merge(answers, nil)
		rng.Shuffle(len(answers), func(i, j int) { answers[i], answers[j] = answers[j], answers[i] })
		got, _ := merge(answers, nil)
		if !slices.Equal(got, want) {
			t.Fatalf("iteration %d: merge depends on the order of the answers", iter)
		}
		var sum uint32
		for _, r := range got {
			sum += r.Count
		}
		if sum != total {
			t.Fatalf("iteration %d: merged %d checks, the observers made %d", iter, sum, total)
		}
	}
}

func TestGroup(t *testing.T) {
	rs := []store.Rollup{hMin(0, 60, 1, time.Millisecond), hMin(1, 60, 0, time.Millisecond), hMin(4, 10, 10, time.Second), hMin(7, 5, 0, time.Millisecond)}
	got := group(slices.Clone(rs), hT0, 5*time.Minute)
	want := []store.Rollup{hSum(0, rs[0], rs[1], rs[2]), hSum(5, rs[3])}
	if !slices.Equal(got, want) {
		t.Fatalf("group of 5m\n got %+v\nwant %+v", got, want)
	}
	// Grouped rollups give the points the minutes give.
	pts := history.Points(rs, hT0, 5*time.Minute, 2)
	if gp := history.Points(got, hT0, 5*time.Minute, 2); !slices.Equal(gp, pts) {
		t.Fatalf("points of the groups %+v differ from the points of the minutes %+v", gp, pts)
	}
}

// TestUptimeGroups: uptime from rollups summed in days from the start of
// the 30 days is the uptime from the minutes, whatever the time of day.
func TestUptimeGroups(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for iter := range 100 {
		now := hT0.Add(time.Duration(rng.Int64N(int64(24 * time.Hour))))
		from, to := history.UptimeRange(now)
		from, to = ceilSecond(from), ceilSecond(to)
		var rs []store.Rollup
		for m := from.Truncate(time.Minute).Add(time.Minute); m.Before(to); m = m.Add(time.Duration(1+rng.IntN(600)) * time.Minute) {
			r := store.Rollup{Minute: m}
			for range 1 + rng.IntN(4) {
				r.Add(rng.IntN(5) > 0, time.Millisecond)
			}
			rs = append(rs, r)
		}
		want := history.UptimeOf(rs, now)
		got := history.UptimeOf(group(slices.Clone(rs), from, uptimeGroup), now)
		if got != want {
			t.Fatalf("iteration %d (now %s): uptime from days %+v, from minutes %+v", iter, now, got, want)
		}
	}
}

func TestFanoutAsk(t *testing.T) {
	a0 := hMin(0, 60, 0, time.Millisecond)
	f := &fanout{
		peers:   []peer{{name: "ok"}, {name: "unknown"}, {name: "refused"}, {name: "hung"}},
		timeout: 100 * time.Millisecond,
		fetch: func(ctx context.Context, p peer) ([]store.Rollup, error) {
			switch p.name {
			case "ok":
				return []store.Rollup{a0}, nil
			case "unknown":
				return nil, errUnknownTarget
			case "refused":
				return nil, errors.New("connection refused")
			}
			<-ctx.Done()
			return nil, ctx.Err()
		},
	}
	start := time.Now()
	answers := f.ask(context.Background())
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("ask took %s: the hung member was not given up on after its 100ms", took)
	}
	_, cov := merge(answers, nil)
	if !cov.Partial || !slices.Equal(cov.Missing, []string{"hung", "refused"}) || !slices.Equal(cov.Observers, []string{"ok"}) {
		t.Fatalf("coverage %+v: want ok observed, hung and refused missing, unknown neither", cov)
	}
	for _, a := range answers {
		if a.member == "hung" && (a.err == nil || !errors.Is(a.err, context.DeadlineExceeded)) {
			t.Fatalf("hung member's error %v, want a deadline", a.err)
		}
	}

	// The caller's cancellation ends every question at once.
	f.timeout = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan []answer)
	go func() { done <- f.ask(ctx) }()
	cancel()
	select {
	case answers := <-done:
		for _, a := range answers {
			if a.member == "hung" && !errors.Is(a.err, context.Canceled) {
				t.Fatalf("hung member after cancel: %v, want canceled", a.err)
			}
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ask did not return after its context was cancelled")
	}
}

func TestMayHold(t *testing.T) {
	now := time.Now()
	from := now.Add(-time.Hour)
	n := &Node{name: "self", table: health.NewTable(health.TableOptions{})}
	obs := func(observer string, epoch uint32, at time.Time, released bool) health.Observation {
		return health.Observation{TargetID: "t", Observer: observer, Seq: health.MakeSeq(epoch, 1), State: health.Up,
			At: at, Interval: 10 * time.Second, Released: released}
	}
	n.table.Apply(
		obs("self", 1, now, false),                        // this node: read locally
		obs("recent", 1, now.Add(-time.Minute), false),    // probed within the range
		obs("old", 1, now.Add(-3*time.Hour), false),       // stopped long before, no watermark since
		obs("vouched", 1, now.Add(-3*time.Hour), false),   // unchanged since, its watermark says it kept probing
		obs("restarted", 1, now.Add(-3*time.Hour), false), // its watermark is of a later life
		obs("released", 1, now.Add(-2*time.Hour), true),   // released before the range
		obs("edge", 1, from.Add(-12*time.Second), false),  // its last probe's interval reaches the range
	)
	n.table.ApplyWatermarks(
		health.Watermark{Observer: "vouched", Seq: health.MakeSeq(1, 2), At: now},
		health.Watermark{Observer: "restarted", Seq: health.MakeSeq(2, 1), At: now},
		health.Watermark{Observer: "released", Seq: health.MakeSeq(1, 2), At: now},
	)
	got := slices.Sorted(maps.Keys(n.mayHold("t", from)))
	if want := []string{"edge", "recent", "vouched"}; !slices.Equal(got, want) {
		t.Fatalf("may hold records since an hour ago: %v, want %v", got, want)
	}
}
