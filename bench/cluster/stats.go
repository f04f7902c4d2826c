package main

import (
	"math"
	"runtime"
	"slices"
	"syscall"
	"time"
)

// quantile returns the q-quantile (0..1) of xs by the nearest-rank method
// (the smallest value with at least q of the samples at or below it).
func quantile(xs []time.Duration, q float64) time.Duration {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	r := int(math.Ceil(q*float64(len(s)))) - 1
	return s[min(max(r, 0), len(s)-1)]
}

// amp summarises the probes each target got over a window.
type amp struct {
	Targets   int     `json:"targets"`
	Intervals float64 `json:"intervals"`         // window / interval
	PerTarget float64 `json:"per_target_per_iv"` // mean probes per target per interval
	Excess    float64 `json:"excess_per_iv"`     // probes above one per interval, per target per interval
	Missing   float64 `json:"missing_per_iv"`    // probes below one per interval, per target per interval
	Over      int     `json:"targets_over"`      // targets with more probes than intervals (+1 for phase)
	Under     int     `json:"targets_under"`     // targets with fewer probes than intervals (-1 for phase)
	MaxRate   float64 `json:"max_per_iv"`        // highest probes per interval of any target
}

// amplification compares hit counts before and after a window of
// `intervals` intervals. A target probed exactly once per interval gets
// floor or ceil of intervals in the window, depending on its phase; only
// counts outside [floor, ceil] are over or under.
func amplification(before, after []int64, intervals float64) amp {
	a := amp{Targets: len(before), Intervals: intervals}
	if len(before) == 0 || intervals <= 0 {
		return a
	}
	lo, hi := math.Floor(intervals), math.Ceil(intervals)
	var sum, excess, missing float64
	for i := range before {
		d := float64(after[i] - before[i])
		sum += d
		if d > hi {
			a.Over++
		}
		if d < lo {
			a.Under++
		}
		excess += max(0, d-intervals)
		missing += max(0, intervals-d)
		a.MaxRate = max(a.MaxRate, d/intervals)
	}
	n := float64(len(before)) * intervals
	a.PerTarget, a.Excess, a.Missing = sum/n, excess/n, missing/n
	return a
}

// balance returns max/mean and min/mean of counts.
func balance(counts []float64) (maxMean, minMean float64) {
	if len(counts) == 0 {
		return 0, 0
	}
	sum, hi, lo := 0.0, counts[0], counts[0]
	for _, c := range counts {
		sum += c
		hi, lo = max(hi, c), min(lo, c)
	}
	mean := sum / float64(len(counts))
	if mean == 0 {
		return 0, 0
	}
	return hi / mean, lo / mean
}

// cpuTime is this process's user+system CPU so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }
