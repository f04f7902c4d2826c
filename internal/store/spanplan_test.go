package store

import (
	"math"
	"slices"
	"testing"
	"time"
)

func TestPlanSpans(t *testing.T) {
	const h = 3600
	open := int64(math.MinInt64)
	for _, tc := range []struct {
		name     string
		lo, hi   int64
		step     time.Duration
		ok       bool
		cut      []int64
		hourLoIs int64
	}{
		{"minute step reads minutes", 0, 10 * h, time.Minute, false, nil, 0},
		{"negative step reads minutes", 0, 10 * h, -time.Hour, false, nil, 0},
		{"open bound with a grid reads minutes", open, 10 * h, time.Hour, false, nil, 0},
		{"too many cuts reads minutes", 0, (MaxSpanCuts + 1) * h, time.Hour, false, nil, 0},
		{"aligned: no cut hour", 0, 10 * h, time.Hour, true, []int64{}, 0},
		{"bounds inside hours are cut", h + 60, 3*h + 60, 2 * time.Hour, true, []int64{h, 3 * h}, h},
		{"no grid: only the bounds", 90, 5*h + 30, 0, true, []int64{0, 5 * h}, 0},
		{"open bounds, no grid", open, math.MaxInt64, 0, true, []int64{}, open},
	} {
		cut, hourLo, ok := PlanSpans(tc.lo, tc.hi, tc.step)
		if ok != tc.ok {
			t.Errorf("%s: ok %v, want %v", tc.name, ok, tc.ok)
			continue
		}
		if ok && (!slices.Equal(cut, tc.cut) || cut == nil || hourLo != tc.hourLoIs) {
			t.Errorf("%s: cut %v hourLo %d, want %v %d (never nil)", tc.name, cut, hourLo, tc.cut, tc.hourLoIs)
		}
	}
}
