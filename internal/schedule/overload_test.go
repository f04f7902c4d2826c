package schedule

import (
	"testing"
	"time"
)

func TestOverloaded(t *testing.T) {
	for _, tc := range []struct {
		late    time.Duration
		timeout time.Duration
		want    bool
	}{
		{0, 500 * time.Millisecond, false},
		{250 * time.Millisecond, 500 * time.Millisecond, false},
		{251 * time.Millisecond, 500 * time.Millisecond, true},
		{3 * time.Second, 2 * time.Second, true},
		{time.Second, 0, false},
		{-time.Second, time.Second, false},
	} {
		if got := overloaded(int64(tc.late), tc.timeout); got != tc.want {
			t.Errorf("overloaded(%v, %v) = %v, want %v", tc.late, tc.timeout, got, tc.want)
		}
	}
}
