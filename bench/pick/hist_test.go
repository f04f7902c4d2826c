package main

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestBucketRangeCoversValue(t *testing.T) {
	for _, v := range []uint64{0, 1, 63, 64, 65, 127, 128, 129, 1000, 1 << 20, 123456789, 1<<63 + 12345} {
		i := bucketOf(v)
		lo, hi := bucketRange(i)
		if v < lo || v > hi {
			t.Errorf("value %d: bucket %d is [%d, %d], does not hold it", v, i, lo, hi)
		}
		if i >= histBuckets {
			t.Errorf("value %d: bucket %d beyond %d buckets", v, i, histBuckets)
		}
		if v >= subCount && float64(hi-lo+1)/float64(lo) > 1.0/subCount+1e-12 {
			t.Errorf("value %d: bucket [%d, %d] wider than 1/%d of its floor", v, lo, hi, subCount)
		}
	}
	// Buckets are contiguous: each starts one past the previous one's end.
	for i := 1; i < histBuckets; i++ {
		_, prevHi := bucketRange(i - 1)
		lo, _ := bucketRange(i)
		if lo != prevHi+1 {
			t.Fatalf("bucket %d starts at %d, previous ends at %d", i, lo, prevHi)
		}
	}
}

func TestQuantile(t *testing.T) {
	tests := []struct {
		name string
		vals []time.Duration
		q    float64
		want time.Duration
	}{
		{"empty", nil, 0.5, 0},
		{"one", []time.Duration{5}, 0.99, 5},
		{"exact small values, median", []time.Duration{1, 2, 3, 4, 5}, 0.5, 3},
		{"exact small values, max", []time.Duration{1, 2, 3, 4, 5}, 1, 5},
		{"rank rounds up", []time.Duration{10, 20, 30, 40}, 0.5, 20},
		{"capped at max seen", []time.Duration{time.Millisecond}, 0.5, time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h hist
			for _, v := range tt.vals {
				h.record(v)
			}
			if got := h.quantile(tt.q); got != tt.want {
				t.Errorf("quantile(%v) of %v = %v, want %v", tt.q, tt.vals, got, tt.want)
			}
		})
	}
}

// TestQuantileMatchesSorted compares with exact quantiles of a sorted
// sample: within the histogram's 1/64 relative precision.
func TestQuantileMatchesSorted(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var a, b hist
	var all []time.Duration
	for i := range 100000 {
		// Log-uniform from 10 µs to 100 ms.
		v := time.Duration(10e3 * math.Pow(10, 4*r.Float64()))
		all = append(all, v)
		if i%2 == 0 {
			a.record(v)
		} else {
			b.record(v)
		}
	}
	a.merge(&b)
	if a.n != uint64(len(all)) {
		t.Fatalf("merged count %d, want %d", a.n, len(all))
	}
	slices.Sort(all)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		exact := all[int(q*float64(len(all)))-1]
		got := a.quantile(q)
		if rel := float64(got-exact) / float64(exact); rel > 1.0/subCount || rel < -1.0/subCount {
			t.Errorf("p%v = %v, exact %v: off by %.2f%%", q*100, got, exact, 100*rel)
		}
	}
	if a.quantile(1) != all[len(all)-1] {
		t.Errorf("p100 = %v, want the max %v", a.quantile(1), all[len(all)-1])
	}
}
