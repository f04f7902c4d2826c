package store

import "time"

// LatencyBuckets are the upper bounds of the latency histogram kept in each
// rollup; the last bucket is everything slower. Roughly 1-2-5 steps from
// 1 ms to 10 s, enough to read p50/p95/p99 within a step.
var LatencyBuckets = [NumBuckets - 1]time.Duration{
	time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond,
	10 * time.Millisecond, 20 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 200 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second,
}

// NumBuckets is the number of histogram buckets in a Rollup.
const NumBuckets = 14

// BucketOf returns the histogram bucket that d falls in.
func BucketOf(d time.Duration) int {
	for i, b := range LatencyBuckets {
		if d <= b {
			return i
		}
	}
	return NumBuckets - 1
}

// Add folds one result into r.
func (r *Rollup) Add(ok bool, latency time.Duration) {
	r.Count++
	if !ok {
		r.Failures++
	}
	us := latency.Microseconds()
	if us < 0 {
		us = 0
	}
	r.LatencySum += uint64(us)
	if uint32(min(us, 1<<32-1)) > r.LatencyMax {
		r.LatencyMax = uint32(min(us, 1<<32-1))
	}
	r.Buckets[BucketOf(latency)]++
}

// Merge adds o into r (same target and minute, or any span being summed).
func (r *Rollup) Merge(o Rollup) {
	r.Count += o.Count
	r.Failures += o.Failures
	r.LatencySum += o.LatencySum
	r.LatencyMax = max(r.LatencyMax, o.LatencyMax)
	for i := range r.Buckets {
		r.Buckets[i] += o.Buckets[i]
	}
}

// Quantile estimates the q-quantile (0 < q <= 1) of latency from the
// histogram: the upper bound of the bucket holding it, capped by the
// observed maximum.
func (r *Rollup) Quantile(q float64) time.Duration {
	if r.Count == 0 {
		return 0
	}
	rank := uint64(q*float64(r.Count) + 0.5)
	if rank < 1 {
		rank = 1
	}
	maxD := time.Duration(r.LatencyMax) * time.Microsecond
	var seen uint64
	for i, n := range r.Buckets {
		seen += uint64(n)
		if seen >= rank {
			if i < len(LatencyBuckets) && LatencyBuckets[i] < maxD {
				return LatencyBuckets[i]
			}
			return maxD
		}
	}
	return maxD
}
