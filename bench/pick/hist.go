package main

import (
	"math/bits"
	"time"
)

// hist is a fixed-bucket log-linear latency histogram in nanoseconds, in
// the manner of HDR histograms: values below 2^subBits are exact, larger
// ones fall in one of 2^subBits equal buckets per power of two, so a
// recorded value is known to within 1/2^subBits (under 1.6%) of itself. It
// is a fixed array (about 28 KiB), so one per worker costs nothing per
// sample and merging is adding counts. Not safe for concurrent use.
type hist struct {
	counts [histBuckets]uint64
	n      uint64
	max    uint64
}

const (
	subBits     = 6
	subCount    = 1 << subBits
	histBuckets = (64 - subBits + 1) * subCount
)

// bucketOf returns the bucket index of v.
func bucketOf(v uint64) int {
	if v < subCount {
		return int(v)
	}
	shift := bits.Len64(v) - subBits - 1 // v>>shift is in [subCount, 2*subCount)
	return (shift+1)*subCount + int(v>>shift) - subCount
}

// bucketRange returns the smallest and largest value of bucket i.
func bucketRange(i int) (lo, hi uint64) {
	if i < subCount {
		return uint64(i), uint64(i)
	}
	shift := i/subCount - 1
	lo = uint64(i%subCount+subCount) << shift
	return lo, lo + (1 << shift) - 1
}

// record adds one observation.
func (h *hist) record(d time.Duration) {
	v := uint64(max(d, 0))
	h.counts[bucketOf(v)]++
	h.n++
	h.max = max(h.max, v)
}

// merge adds o's observations to h.
func (h *hist) merge(o *hist) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// quantile returns the value at quantile q (0 < q <= 1): the midpoint of
// the bucket holding the observation of rank ceil(q*n), capped at the
// largest value seen. It is 0 for an empty histogram.
func (h *hist) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q * float64(h.n))
	if float64(rank) < q*float64(h.n) {
		rank++
	}
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			lo, hi := bucketRange(i)
			return time.Duration(min(lo+(hi-lo)/2, h.max))
		}
	}
	return time.Duration(h.max)
}
