package health

import (
	"sync"
	"testing"
	"time"
)

func TestWatermarkPeriod(t *testing.T) {
	for _, tc := range []struct {
		members int
		want    time.Duration
	}{
		{0, time.Second},
		{1, time.Second},
		{20, time.Second},
		{400, time.Second},
		{401, 1002500 * time.Microsecond},
		{600, 1500 * time.Millisecond},
		{1000, 2500 * time.Millisecond},
		{3200, 8 * time.Second},
	} {
		if got := WatermarkPeriod(tc.members); got != tc.want {
			t.Errorf("WatermarkPeriod(%d) = %v, want %v", tc.members, got, tc.want)
		}
	}
}

// The stale floor follows the cluster size: unchanged up to 400 members,
// three watermark periods above; an explicit MinStale stays the floor.
func TestTableSetClusterSize(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	for _, tc := range []struct {
		name     string
		floor    time.Duration
		members  int
		minStale time.Duration
		age      time.Duration
		stale    bool
	}{
		{"small cluster keeps 3s", 0, 20, 3 * time.Second, 4 * time.Second, true},
		{"400 members keeps 3s", 0, 400, 3 * time.Second, 4 * time.Second, true},
		{"1000 members: 7.5s", 0, 1000, 7500 * time.Millisecond, 4 * time.Second, false},
		{"1000 members, past 7.5s", 0, 1000, 7500 * time.Millisecond, 7600 * time.Millisecond, true},
		{"configured floor above", 10 * time.Second, 1000, 10 * time.Second, 8 * time.Second, false},
	} {
		tb := NewTable(TableOptions{MinStale: tc.floor})
		tb.SetClusterSize(tc.members)
		if got := tb.MinStale(); got != tc.minStale {
			t.Errorf("%s: MinStale = %v, want %v", tc.name, got, tc.minStale)
		}
		if got := tb.Options().MinStale; got != tc.minStale {
			t.Errorf("%s: Options().MinStale = %v, want %v", tc.name, got, tc.minStale)
		}
		tb.Apply(Observation{TargetID: "t", Observer: "a", Seq: MakeSeq(1, 1), State: Up,
			At: now.Add(-tc.age), Since: now.Add(-time.Hour), Interval: 200 * time.Millisecond})
		if v := tb.Verdict("t", []string{"a"}, now); v.Stale != tc.stale {
			t.Errorf("%s: observation %v old: stale=%v, want %v", tc.name, tc.age, v.Stale, tc.stale)
		}
	}
	// Shrinking back lowers it again.
	tb := NewTable(TableOptions{})
	tb.SetClusterSize(2000)
	tb.SetClusterSize(10)
	if got := tb.MinStale(); got != DefaultMinStale {
		t.Errorf("after shrinking to 10 members MinStale = %v, want %v", got, DefaultMinStale)
	}
}

func TestPublisherSetWatermarkEvery(t *testing.T) {
	tb := NewTable(TableOptions{})
	p := NewPublisher("self", tb, PublisherOptions{Now: func() time.Time { return t0 }})
	if got := p.WatermarkEvery(); got != DefaultWatermarkEvery {
		t.Fatalf("default period %v, want %v", got, DefaultWatermarkEvery)
	}
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	if _, ok := p.Tick(at(0), at(0)); !ok {
		t.Fatal("first Tick did not publish")
	}
	// Lengthened to 2 s (800 members): 1.5 s after the last is too soon.
	p.SetWatermarkEvery(WatermarkPeriod(800))
	if got := p.WatermarkEvery(); got != 2*time.Second {
		t.Fatalf("period %v after SetWatermarkEvery(2s)", got)
	}
	if _, ok := p.Tick(at(1500*time.Millisecond), at(1500*time.Millisecond)); ok {
		t.Error("published 1.5s after the last with a 2s period")
	}
	if w, ok := p.Tick(at(2*time.Second), at(2*time.Second)); !ok || !w.At.Equal(at(2*time.Second)) {
		t.Errorf("did not publish 2s after the last with a 2s period: %+v, %v", w, ok)
	}
	// Shortened back: due as soon as the new period has passed.
	p.SetWatermarkEvery(time.Second)
	if _, ok := p.Tick(at(3*time.Second), at(3*time.Second)); !ok {
		t.Error("did not publish 1s after the last once the period is back to 1s")
	}
	// A zero or negative period keeps the current one.
	p.SetWatermarkEvery(0)
	p.SetWatermarkEvery(-time.Second)
	if got := p.WatermarkEvery(); got != time.Second {
		t.Errorf("period %v after SetWatermarkEvery(0) and (-1s), want 1s kept", got)
	}
	if got := p.Stats().Watermarks; got != 3 {
		t.Errorf("%d watermarks published, want 3", got)
	}
}

// SetWatermarkEvery is safe alongside Tick and Record (run with -race).
func TestPublisherSetWatermarkEveryConcurrent(t *testing.T) {
	tb := NewTable(TableOptions{})
	p := NewPublisher("self", tb, PublisherOptions{Now: func() time.Time { return t0 }})
	var wg sync.WaitGroup
	wg.Add(3)
	go func() {
		defer wg.Done()
		for i := range 1000 {
			p.SetWatermarkEvery(WatermarkPeriod(i * 3))
		}
	}()
	go func() {
		defer wg.Done()
		for i := range 1000 {
			now := t0.Add(time.Duration(i) * 100 * time.Millisecond)
			p.Tick(now, now)
		}
	}()
	go func() {
		defer wg.Done()
		for i := range 1000 {
			now := t0.Add(time.Duration(i) * 100 * time.Millisecond)
			p.Record(Outcome{TargetID: "x", State: Up, Since: t0, At: now, Interval: time.Second})
			tb.SetClusterSize(i * 3)
			tb.Verdict("x", []string{"self"}, now)
		}
	}()
	wg.Wait()
	if p.Stats().Watermarks == 0 {
		t.Error("no watermark published")
	}
}
