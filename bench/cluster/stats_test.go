package main

import (
	"math"
	"testing"
	"time"
)

func TestQuantile(t *testing.T) {
	ms := func(xs ...int) []time.Duration {
		out := make([]time.Duration, len(xs))
		for i, x := range xs {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	tests := []struct {
		name string
		xs   []time.Duration
		q    float64
		want time.Duration
	}{
		{"empty", nil, .5, 0},
		{"one", ms(7), .99, 7 * time.Millisecond},
		{"median of odd", ms(5, 1, 3), .5, 3 * time.Millisecond},
		{"median of even is the lower", ms(4, 1, 3, 2), .5, 2 * time.Millisecond},
		{"p99 of 100 is the 99th", ms(seq(100)...), .99, 99 * time.Millisecond},
		{"p99 of 10 is the max", ms(seq(10)...), .99, 10 * time.Millisecond},
		{"max", ms(3, 9, 1), 1, 9 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := quantile(tt.xs, tt.q); got != tt.want {
				t.Errorf("quantile(%v, %v) = %v, want %v", tt.xs, tt.q, got, tt.want)
			}
		})
	}
}

func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = n - i // unsorted on purpose
	}
	return out
}

func TestAmplification(t *testing.T) {
	tests := []struct {
		name          string
		before, after []int64
		intervals     float64
		per, excess   float64
		over, under   int
	}{
		{"exactly once per interval", []int64{0, 5}, []int64{10, 15}, 10, 1, 0, 0, 0},
		{"phase: floor or ceil is fine", []int64{0, 0}, []int64{10, 11}, 10.5, 21.0 / 21, 0.5 / 21, 0, 0},
		{"a duplicate prober", []int64{0, 0}, []int64{20, 10}, 10, 1.5, 0.5, 1, 0},
		{"a gap", []int64{0, 0}, []int64{7, 10}, 10, 0.85, 0, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := amplification(tt.before, tt.after, tt.intervals)
			if math.Abs(a.PerTarget-tt.per) > 1e-9 || math.Abs(a.Excess-tt.excess) > 1e-9 || a.Over != tt.over || a.Under != tt.under {
				t.Errorf("got per %v excess %v over %d under %d, want %v %v %d %d", a.PerTarget, a.Excess, a.Over, a.Under,
					tt.per, tt.excess, tt.over, tt.under)
			}
		})
	}
}

func TestBalance(t *testing.T) {
	hi, lo := balance([]float64{90, 100, 110})
	if math.Abs(hi-1.1) > 1e-9 || math.Abs(lo-0.9) > 1e-9 {
		t.Errorf("balance = %v, %v; want 1.1, 0.9", hi, lo)
	}
	if hi, lo := balance(nil); hi != 0 || lo != 0 {
		t.Errorf("balance(nil) = %v, %v; want 0, 0", hi, lo)
	}
}

func TestIndexAndMoved(t *testing.T) {
	if i, ok := index("t42"); !ok || i != 42 {
		t.Errorf("index(t42) = %d, %v", i, ok)
	}
	for _, bad := range []string{"42", "tx", "u1", ""} {
		if _, ok := index(bad); ok {
			t.Errorf("index(%q) accepted", bad)
		}
	}
	if got := movedShare([]string{"a", "b", "c", "d"}, []string{"a", "x", "c", "x"}); got != 0.5 {
		t.Errorf("movedShare = %v, want 0.5", got)
	}
}

func TestHistogram(t *testing.T) {
	got := histogram([]time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 800 * time.Millisecond}, 250*time.Millisecond)
	if want := "0-250:2 750-1000:1"; got != want {
		t.Errorf("histogram = %q, want %q", got, want)
	}
}
