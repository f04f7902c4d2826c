package flap

import (
	"math"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)

// every returns n changes spaced d apart, ending at t0.
func every(n int, d time.Duration) []time.Time {
	var out []time.Time
	for i := range n {
		out = append(out, t0.Add(-time.Duration(n-1-i)*d))
	}
	return out
}

func TestPercent(t *testing.T) {
	const window, iv = 20 * time.Minute, time.Minute // 20 possible changes
	cases := []struct {
		name    string
		changes []time.Time
		want    float64
	}{
		{"none", nil, 0},
		{"one now", []time.Time{t0}, 6},                     // 1.2 of 20
		{"one at the start", []time.Time{t0.Add(-window)}, 4}, // 0.8 of 20
		{"outside the window", []time.Time{t0.Add(-window - time.Second), t0.Add(time.Second)}, 0},
		{"every interval", every(20, iv), 100}, // 20.2 weighted changes of 20: capped
		{"every other interval", every(10, 2*iv), 100 * (10*0.8 + 0.4*sumFrac(10)) / 20},
		{"capped", every(60, 20*time.Second), 100},
	}
	for _, c := range cases {
		if got := Percent(c.changes, t0, window, iv, DefaultSlots); math.Abs(got-c.want) > 0.01 {
			t.Errorf("%s: %.2f%%, want %.2f%%", c.name, got, c.want)
		}
	}
	// A long interval means fewer possible changes: each weighs more.
	if got := Percent([]time.Time{t0}, t0, 20*time.Minute, 10*time.Minute, DefaultSlots); math.Abs(got-60) > 0.01 {
		t.Errorf("2 possible changes: %.2f%%, want 60%%", got)
	}
}

// sumFrac is the sum of the positions (0..1] of n changes spaced evenly
// over the window, ending at its end.
func sumFrac(n int) float64 {
	s := 0.0
	for i := range n {
		s += float64(i+1) / float64(n)
	}
	return s
}

// The detector starts flapping above High and stops only below Low.
func TestDetectorHysteresis(t *testing.T) {
	d := New(Options{})
	const window, iv = 20 * time.Minute, time.Minute
	steps := []struct {
		changes  []time.Time
		flapping bool
		changed  bool
	}{
		{every(3, iv), false, false},   // ~17%
		{every(12, iv), true, true},    // ~60%: starts
		{every(7, 3*iv), true, false},  // ~35%: between the thresholds, stays
		{every(3, 5*iv), false, true},  // ~15%: stops
		{every(7, 3*iv), false, false}, // between again: stays settled
	}
	for i, s := range steps {
		changed, p := d.Update(s.changes, t0, window, iv)
		if d.Flapping() != s.flapping || changed != s.changed {
			t.Fatalf("step %d (%.0f%%): flapping %v changed %v, want %v %v", i, p, d.Flapping(), changed, s.flapping, s.changed)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, o := range []Options{{High: 120}, {High: 30, Low: 40}, {Low: -1}} {
		if o.Validate() == nil {
			t.Errorf("%+v accepted", o)
		}
	}
	if err := (Options{High: 60, Low: 20}).Validate(); err != nil {
		t.Error(err)
	}
}
