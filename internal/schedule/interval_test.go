package schedule

import (
	"testing"
	"time"
	"unique"

	"github.com/heckhq/heck/internal/target"
)

// TestIntervalSelection checks which interval each mode runs at.
func TestIntervalSelection(t *testing.T) {
	sc := target.Schedule{Interval: 10e9, FastInterval: 1e9, DownInterval: 5e9, Rise: 2, Fall: 3, Timeout: 5e8}
	for _, tt := range []struct {
		mode Mode
		want time.Duration
	}{{ModeFast, time.Second}, {ModeNormal, 10 * time.Second}, {ModeDown, 5 * time.Second}} {
		e := &entry{sched: unique.Make(sc), mode: tt.mode}
		if got := time.Duration(e.interval()); got != tt.want {
			t.Errorf("mode %v: interval %v, want %v", tt.mode, got, tt.want)
		}
		if got := tt.mode.Interval(sc); got != tt.want {
			t.Errorf("Mode(%v).Interval = %v, want %v", tt.mode, got, tt.want)
		}
	}
}

// TestAdvance checks the next nominal time after a run: one interval after
// the last, or on the latest grid point when a run overran.
func TestAdvance(t *testing.T) {
	const s = int64(time.Second)
	tests := []struct {
		name          string
		lastBase, end int64
		want          int64
	}{
		{"on time", 10 * s, 10*s + s/10, 11 * s},
		{"ended exactly at the next point", 10 * s, 11 * s, 11 * s},
		{"overran by less than an interval runs at once, on the grid", 10 * s, 11*s + s/2, 11 * s},
		{"overran by several intervals skips the missed ones", 10 * s, 15*s + s/2, 15 * s},
	}
	for _, tt := range tests {
		e := &entry{sched: unique.Make(sched(time.Second)), mode: ModeNormal, lastBase: tt.lastBase}
		e.advance(tt.end)
		if e.base != tt.want || e.due != e.base {
			t.Errorf("%s: base %v due %v, want %v", tt.name, time.Duration(e.base), time.Duration(e.due), time.Duration(tt.want))
		}
	}
}
