package store

import (
	"math"
	"time"
)

// MaxSpanCuts bounds the grid a RollupSpans read cuts hours by; a finer
// grid reads minutes.
const MaxSpanCuts = 10_000

// HourOf returns the start of the hour holding second s (Unix seconds).
func HourOf(s int64) int64 { return s - ((s%3600)+3600)%3600 }

// PlanSpans plans a driver's RollupSpans read over the seconds [lo, hi)
// (math.MinInt64 and math.MaxInt64 for open bounds) on the grid
// lo + k*step. ok false means the read should be of minutes instead (a
// negative step, one under an hour, a grid with an open bound or of more
// than MaxSpanCuts steps). Otherwise cut lists, sorted and never nil, the
// starts of the hours a cut falls inside, which are read as minutes, and
// hourLo is the first hour to read whole hours from.
func PlanSpans(lo, hi int64, step time.Duration) (cut []int64, hourLo int64, ok bool) {
	stepS := int64(step / time.Second)
	if step < 0 || (step > 0 && stepS < 3600) ||
		(stepS > 0 && (lo == math.MinInt64 || hi == math.MaxInt64 || (hi-lo)/stepS > MaxSpanCuts)) {
		return nil, 0, false
	}
	cut = []int64{}
	addCut := func(c int64) {
		if c != math.MinInt64 && c != math.MaxInt64 && c%3600 != 0 {
			if h := HourOf(c); len(cut) == 0 || cut[len(cut)-1] != h {
				cut = append(cut, h)
			}
		}
	}
	addCut(lo)
	if stepS > 0 {
		for c := lo + stepS; c < hi; c += stepS {
			addCut(c)
		}
	}
	addCut(hi)
	hourLo = int64(math.MinInt64)
	if lo != math.MinInt64 {
		hourLo = HourOf(lo)
	}
	return cut, hourLo, true
}
