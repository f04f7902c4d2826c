package health

import (
	"testing"
	"time"
)

func TestVerdict(t *testing.T) {
	now := t0.Add(time.Hour)
	sec := time.Second
	ob := func(observer string, seq uint64, st State, age time.Duration) Observation {
		return Observation{TargetID: "x", Observer: observer, Seq: seq, State: st, At: now.Add(-age), Interval: sec, Message: observer}
	}
	wm := func(observer string, seq uint64, age time.Duration) Watermark {
		return Watermark{Observer: observer, Seq: seq, At: now.Add(-age)}
	}
	tests := []struct {
		name   string
		obs    []Observation
		wms    []Watermark
		owners []string
		want   Verdict // Observations not compared
	}{
		{name: "nothing observed", owners: []string{"a"}, want: Verdict{State: Unknown}},
		{
			name: "fresh owner", obs: []Observation{ob("a", 1, Up, 2*sec), ob("b", 1, Down, 0)}, owners: []string{"a"},
			want: Verdict{State: Up, Last: Up, Observer: "a", At: now.Add(-2 * sec)},
		},
		{
			name: "owner older than 3 intervals is stale", obs: []Observation{ob("a", 1, Up, 4*sec)}, owners: []string{"a"},
			want: Verdict{State: Stale, Last: Up, Observer: "a", At: now.Add(-4 * sec), Stale: true},
		},
		{
			name: "exactly 3 intervals is still fresh", obs: []Observation{ob("a", 1, Down, 3*sec)}, owners: []string{"a"},
			want: Verdict{State: Down, Last: Down, Observer: "a", At: now.Add(-3 * sec)},
		},
		{
			name: "watermark keeps an unchanged observation fresh",
			obs:  []Observation{ob("a", 1, Up, 20*sec)}, wms: []Watermark{wm("a", 2, sec)}, owners: []string{"a"},
			want: Verdict{State: Up, Last: Up, Observer: "a", At: now.Add(-sec)},
		},
		{
			name: "stale watermark does not help",
			obs:  []Observation{ob("a", 1, Up, 20*sec)}, wms: []Watermark{wm("a", 2, 10*sec)}, owners: []string{"a"},
			want: Verdict{State: Stale, Last: Up, Observer: "a", At: now.Add(-10 * sec), Stale: true},
		},
		{
			name: "watermark vouches for an old observation of the same life",
			obs:  []Observation{ob("a", 1, Up, time.Hour)}, wms: []Watermark{wm("a", 2, 0)}, owners: []string{"a"},
			want: Verdict{State: Up, Last: Up, Observer: "a", At: now},
		},
		{
			name: "watermark of a later life does not vouch",
			obs:  []Observation{ob("a", MakeSeq(1, 9), Up, 40*sec)}, wms: []Watermark{wm("a", MakeSeq(2, 1), 0)}, owners: []string{"a"},
			want: Verdict{State: Stale, Last: Up, Observer: "a", At: now.Add(-40 * sec), Stale: true},
		},
		{
			name: "released observation neither votes nor is vouched for",
			obs:  []Observation{released(ob("a", 5, Down, 0)), ob("b", 1, Up, 2*sec)}, wms: []Watermark{wm("a", 6, 0)}, owners: []string{"a", "b"},
			want: Verdict{State: Up, Last: Up, Observer: "b", At: now.Add(-2 * sec)},
		},
		{
			name: "released owner: fallback to a non-owner still probing",
			obs:  []Observation{released(ob("a", 5, Down, 0)), ob("z", 1, Up, 2*sec)}, owners: []string{"a"},
			want: Verdict{State: Up, Last: Up, Observer: "z", At: now.Add(-2 * sec), Fallback: true},
		},
		{
			name: "only released observations: stale, last state kept",
			obs:  []Observation{released(ob("a", 5, Down, 0)), released(ob("z", 1, Up, sec))}, owners: []string{"a"},
			want: Verdict{State: Stale, Last: Down, Observer: "a", At: now, Stale: true, Fallback: true},
		},
		{
			name: "majority of three owners",
			obs:  []Observation{ob("a", 1, Down, 0), ob("b", 1, Up, sec), ob("c", 1, Up, 2*sec)}, owners: []string{"a", "b", "c"},
			want: Verdict{State: Up, Last: Up, Observer: "b", At: now.Add(-sec)},
		},
		{
			name: "tie goes to the worse state",
			obs:  []Observation{ob("a", 1, Up, 0), ob("b", 1, Down, sec)}, owners: []string{"a", "b"},
			want: Verdict{State: Down, Last: Down, Observer: "b", At: now.Add(-sec)},
		},
		{
			name: "stale owners do not vote",
			obs:  []Observation{ob("a", 1, Down, 10*sec), ob("b", 1, Up, sec)}, owners: []string{"a", "b"},
			want: Verdict{State: Up, Last: Up, Observer: "b", At: now.Add(-sec)},
		},
		{
			name: "unknown loses to a real state",
			obs:  []Observation{ob("a", 1, Unknown, 0), ob("b", 1, Unknown, 0), ob("c", 1, Up, sec)}, owners: []string{"a", "b", "c"},
			want: Verdict{State: Up, Last: Up, Observer: "c", At: now.Add(-sec)},
		},
		{
			name: "non-owners do not vote when an owner observed",
			obs:  []Observation{ob("a", 1, Up, sec), ob("z", 1, Down, 0), ob("y", 1, Down, 0)}, owners: []string{"a"},
			want: Verdict{State: Up, Last: Up, Observer: "a", At: now.Add(-sec)},
		},
		{
			name: "no owner observation: freshest of anyone, marked",
			obs:  []Observation{ob("z", 1, Down, 2*sec), ob("y", 1, Up, sec)}, owners: []string{"new"},
			want: Verdict{State: Up, Last: Up, Observer: "y", At: now.Add(-sec), Fallback: true},
		},
		{
			name: "fallback observation can be stale too",
			obs:  []Observation{ob("z", 1, Down, 9*sec), ob("y", 1, Up, 8*sec)}, owners: nil,
			want: Verdict{State: Stale, Last: Up, Observer: "y", At: now.Add(-8 * sec), Stale: true, Fallback: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := NewTable(TableOptions{})
			tb.Apply(tt.obs...)
			tb.ApplyWatermarks(tt.wms...)
			got := tb.Verdict("x", tt.owners, now)
			if len(got.Observations) != len(tt.obs) {
				t.Errorf("Observations = %d, want %d", len(got.Observations), len(tt.obs))
			}
			got.Observations = nil
			if got.State != tt.want.State || got.Last != tt.want.Last || got.Observer != tt.want.Observer ||
				!got.At.Equal(tt.want.At) || got.Stale != tt.want.Stale || got.Fallback != tt.want.Fallback {
				t.Errorf("Verdict =\n %+v\nwant\n %+v", got, tt.want)
			}
		})
	}
}

func released(o Observation) Observation {
	o.Released = true
	return o
}

func TestVerdictDefaultsInterval(t *testing.T) {
	tb := NewTable(TableOptions{StaleAfter: 2})
	tb.Apply(Observation{TargetID: "x", Observer: "a", Seq: 1, State: Up, At: t0})
	if v := tb.Verdict("x", []string{"a"}, t0.Add(2*DefaultInterval)); v.Stale {
		t.Error("zero interval should mean DefaultInterval; 2 intervals is fresh with StaleAfter 2")
	}
	if v := tb.Verdict("x", []string{"a"}, t0.Add(2*DefaultInterval+time.Millisecond)); !v.Stale {
		t.Error("beyond StaleAfter intervals should be stale")
	}
}

func TestMinStaleFloorsShortIntervals(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	for _, tc := range []struct {
		age   time.Duration
		stale bool
	}{{time.Second, false}, {2900 * time.Millisecond, false}, {4 * time.Second, true}} {
		tb := NewTable(TableOptions{})
		tb.Apply(Observation{TargetID: "t", Observer: "a", Seq: MakeSeq(1, 1), State: Up,
			At: now.Add(-tc.age), Since: now.Add(-time.Hour), Interval: 200 * time.Millisecond})
		v := tb.Verdict("t", []string{"a"}, now)
		if v.Stale != tc.stale {
			t.Errorf("200ms interval, observation %v old: stale=%v, want %v (floor %v)", tc.age, v.Stale, tc.stale, DefaultMinStale)
		}
	}
}
