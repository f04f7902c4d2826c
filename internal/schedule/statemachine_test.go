package schedule

import (
	"fmt"
	"testing"
	"time"
	"unique"

	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/probe"
	"github.com/heckhq/heck/internal/target"
)

func stateCode(s health.State) byte {
	switch s {
	case health.Up:
		return 'U'
	case health.Down:
		return 'D'
	default:
		return '?'
	}
}

// TestRiseFall feeds scripted results to the state machine and checks the
// state after each, which results made a transition, and its time and cause.
func TestRiseFall(t *testing.T) {
	tests := []struct {
		name       string
		rise, fall int
		initial    health.State
		results    string // + success, - failure
		want       string // state after each result: ? unknown, U up, D down
	}{
		{"unknown rises after rise successes", 2, 3, health.Unknown, "++", "?U"},
		{"unknown falls after fall failures", 2, 3, health.Unknown, "---", "??D"},
		{"alternating never settles", 2, 3, health.Unknown, "+-+-+-", "??????"},
		{"settles once runs are consecutive", 2, 3, health.Unknown, "+-+-++", "?????U"},
		{"up needs fall consecutive failures", 2, 3, health.Up, "--+---", "UUUUUD"},
		{"down needs rise consecutive successes", 2, 3, health.Down, "+-++", "DDDU"},
		{"rise 1 fall 1 flips every result", 1, 1, health.Unknown, "+-+", "UDU"},
		{"initial up stays up on success", 2, 3, health.Up, "+++", "UUU"},
		{"rise 3 then fall 2", 3, 2, health.Unknown, "+++--", "??UUD"},
		{"down stays down on failures", 2, 3, health.Down, "----", "DDDD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(Options{})
			sc := sched(time.Second)
			sc.Rise, sc.Fall = tt.rise, tt.fall
			e := &entry{id: "t", sched: unique.Make(sc), state: tt.initial, lastAt: noTime, hidx: -1}
			var got []byte
			for i, c := range []byte(tt.results) {
				res := probe.Result{OK: c == '+', Message: fmt.Sprintf("result %d", i)}
				var o Outcome
				prev := e.state
				start, end := int64(i)*int64(time.Second), int64(i)*int64(time.Second)+int64(time.Millisecond)
				s.recordLocked(e, run{due: start}, start, end, &res, &o)
				got = append(got, stateCode(o.State))
				if o.Prev != prev || o.Changed != (o.State != prev) {
					t.Errorf("result %d: prev %v changed %v, state %v was %v", i, o.Prev, o.Changed, o.State, prev)
				}
				if o.Changed {
					if o.Since != s.at(end) {
						t.Errorf("result %d: since %v, want the result's end %v", i, o.Since, s.at(end))
					}
					if cause := msgValue(e.cause); cause != res.Message {
						t.Errorf("result %d: cause %q, want %q", i, cause, res.Message)
					}
				}
				if (o.Successes == 0) == (o.Failures == 0) {
					t.Errorf("result %d: successes %d failures %d: exactly one must be zero", i, o.Successes, o.Failures)
				}
			}
			if string(got) != tt.want {
				t.Errorf("states after %s = %s, want %s", tt.results, got, tt.want)
			}
		})
	}
}

// TestIntervalSelection checks which interval is in force in each state.
func TestIntervalSelection(t *testing.T) {
	sc := target.Schedule{Interval: 10e9, FastInterval: 1e9, DownInterval: 5e9, Rise: 2, Fall: 3, Timeout: 5e8}
	tests := []struct {
		name       string
		state      health.State
		succ, fail uint32
		want       time.Duration
	}{
		{"unknown before any result is pending", health.Unknown, 0, 0, time.Second},
		{"unknown after a success is pending", health.Unknown, 1, 0, time.Second},
		{"unknown after a failure is pending", health.Unknown, 0, 1, time.Second},
		{"up and agreeing", health.Up, 3, 0, 10 * time.Second},
		{"up taken over, no result yet", health.Up, 0, 0, 10 * time.Second},
		{"up with a failure is pending", health.Up, 0, 1, time.Second},
		{"down and agreeing", health.Down, 0, 4, 5 * time.Second},
		{"down taken over, no result yet", health.Down, 0, 0, 5 * time.Second},
		{"down with a success is pending", health.Down, 1, 0, time.Second},
		{"other states count as pending", health.Stale, 0, 0, time.Second},
	}
	for _, tt := range tests {
		e := &entry{sched: unique.Make(sc), state: tt.state, succ: tt.succ, fail: tt.fail}
		if got := time.Duration(e.interval()); got != tt.want {
			t.Errorf("%s: interval %v, want %v", tt.name, got, tt.want)
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
		e := &entry{sched: unique.Make(sched(time.Second)), state: health.Up, lastBase: tt.lastBase}
		e.advance(tt.end)
		if e.base != tt.want || e.due != e.base {
			t.Errorf("%s: base %v due %v, want %v", tt.name, time.Duration(e.base), time.Duration(e.due), time.Duration(tt.want))
		}
	}
}
