package target

import (
	"strings"
	"testing"
	"time"
)

// TestBounds checks every schedule field at min-1, min, max and max+1
// (one nanosecond or one count beyond), on an otherwise valid spec whose
// relations (timeout below interval and so on) leave room for the bound.
func TestBounds(t *testing.T) {
	set := map[string]func(*Schedule, int64){
		"interval":      func(s *Schedule, v int64) { s.Interval = Duration(v) },
		"timeout":       func(s *Schedule, v int64) { s.Timeout = Duration(v) },
		"rise":          func(s *Schedule, v int64) { s.Rise = int(v) },
		"fall":          func(s *Schedule, v int64) { s.Fall = int(v) },
		"initial_delay": func(s *Schedule, v int64) { s.InitialDelay = Duration(v) },
		"jitter":        func(s *Schedule, v int64) { s.Jitter = Duration(v) },
		"fast_interval": func(s *Schedule, v int64) { s.FastInterval = Duration(v) },
		"down_interval": func(s *Schedule, v int64) { s.DownInterval = Duration(v) },
	}
	if len(set) != len(Bounds) {
		t.Fatalf("%d bounds, %d setters: a field is missing here", len(Bounds), len(set))
	}
	for _, b := range Bounds {
		for _, c := range []struct {
			name string
			v    int64
			ok   bool
		}{{"min-1", b.Min - 1, false}, {"min", b.Min, true}, {"max", b.Max, true}, {"max+1", b.Max + 1, false}} {
			t.Run(b.Key+"/"+c.name, func(t *testing.T) {
				s := httpSpec()
				// Room for the bound: the interval at its longest, the
				// timeout at its shortest.
				s.Interval, s.Timeout = Duration(MaxInterval), Duration(MinTimeout)
				if b.Key == "interval" {
					s.Interval = 0
				}
				if b.Key == "timeout" {
					s.Timeout = 0
				}
				set[b.Key](&s.Schedule, c.v)
				var mine []FieldError
				for _, e := range s.ValidateWritten(func(string) bool { return true }) {
					if e.Field == b.Key && !strings.Contains(e.Problem, "below the interval") && !strings.Contains(e.Problem, "above the timeout") {
						mine = append(mine, e)
					}
				}
				if c.ok && len(mine) > 0 {
					t.Fatalf("%s %s refused: %v", b.Key, b.Format(c.v), mine)
				}
				if !c.ok {
					if len(mine) != 1 {
						t.Fatalf("%s %s: errors %v, want one", b.Key, b.Format(c.v), mine)
					}
					msg := mine[0].Error()
					for _, part := range []string{b.Key, `"` + b.Format(c.v) + `"`, b.Range()} {
						if !strings.Contains(msg, part) {
							t.Errorf("%q does not name %q", msg, part)
						}
					}
				}
				// The scheduler's looser check accepts everything in range.
				r := s.Schedule.Resolve(Schedule{}, nil)
				if err := r.Runnable(); c.ok && err != nil {
					t.Errorf("Runnable refused %s %s: %v", b.Key, b.Format(c.v), err)
				}
				if c.v > b.Max {
					if err := r.Runnable(); err == nil || !strings.Contains(err.Error(), b.Key) {
						t.Errorf("Runnable took %s %s (err %v)", b.Key, b.Format(c.v), err)
					}
				}
			})
		}
	}
}

func TestBoundMessages(t *testing.T) {
	for _, tc := range []struct {
		key  string
		v    int64
		want string
	}{
		{"interval", int64(50 * time.Millisecond), `interval: "50ms" is too short; set an interval from 100ms to 24h`},
		{"interval", int64(25 * time.Hour), `interval: "25h" is too long; set an interval from 100ms to 24h`},
		{"timeout", -1, `timeout: "-1ns" is too short; set a timeout from 1ms to 24h, below the interval`},
		{"rise", 101, `rise: "101" is out of range; set 1 to 100 consecutive successes`},
		{"jitter", -int64(time.Second), `jitter: "-1s" is negative; set a jitter from 0s to 24h, below the interval`},
		{"fast_interval", int64(time.Millisecond), `fast_interval: "1ms" is too short; set 100ms to 24h, or leave it out to use the interval`},
	} {
		b, _ := BoundOf(tc.key)
		fe := b.Check(tc.v, false)
		if fe == nil || fe.Error() != tc.want {
			t.Errorf("%s %d: %v, want %s", tc.key, tc.v, fe, tc.want)
		}
	}
}

// TestResolve is the table of resolution: own fields, then the defaults
// block, then the built-ins; defaults that do not fit yield.
func TestResolve(t *testing.T) {
	s := func(d time.Duration) Duration { return Duration(d) }
	sec := time.Second
	builtin := Schedule{Interval: s(10 * sec), Timeout: s(2 * sec), Rise: 2, Fall: 3, FastInterval: s(10 * sec), DownInterval: s(10 * sec)}
	tests := []struct {
		name          string
		own, defaults Schedule
		written       []string
		want          Schedule
	}{
		{"nothing: built-ins", Schedule{}, Schedule{}, nil, builtin},
		{"short interval: 80% timeout", Schedule{Interval: s(sec)}, Schedule{}, nil,
			Schedule{Interval: s(sec), Timeout: s(800 * time.Millisecond), Rise: 2, Fall: 3, FastInterval: s(sec), DownInterval: s(sec)}},
		{"defaults fill", Schedule{}, Schedule{Interval: s(30 * sec), Rise: 5, Jitter: s(sec), InitialDelay: s(sec)}, nil,
			Schedule{Interval: s(30 * sec), Timeout: s(2 * sec), Rise: 5, Fall: 3, Jitter: s(sec), InitialDelay: s(sec), FastInterval: s(30 * sec), DownInterval: s(30 * sec)}},
		{"own beats defaults", Schedule{Interval: s(sec), Rise: 1}, Schedule{Interval: s(30 * sec), Rise: 5}, nil,
			Schedule{Interval: s(sec), Timeout: s(800 * time.Millisecond), Rise: 1, Fall: 3, FastInterval: s(sec), DownInterval: s(sec)}},
		{"written zero jitter kept", Schedule{}, Schedule{Jitter: s(sec)}, []string{"jitter"}, builtin},
		{"defaults timeout yields", Schedule{Interval: s(sec)}, Schedule{Timeout: s(5 * sec)}, nil,
			Schedule{Interval: s(sec), Timeout: s(800 * time.Millisecond), Rise: 2, Fall: 3, FastInterval: s(sec), DownInterval: s(sec)}},
		{"defaults fast_interval yields to own timeout", Schedule{Timeout: s(3 * sec)}, Schedule{FastInterval: s(2 * sec)}, nil,
			Schedule{Interval: s(10 * sec), Timeout: s(3 * sec), Rise: 2, Fall: 3, FastInterval: s(10 * sec), DownInterval: s(10 * sec)}},
		{"resolved stays as it is", builtin, Schedule{Jitter: s(sec), InitialDelay: s(sec), Interval: s(sec)}, nil, builtin},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := map[string]bool{}
			for _, k := range tc.written {
				w[k] = true
			}
			got := tc.own.Resolve(tc.defaults, func(k string) bool { return w[k] })
			if got != tc.want {
				t.Fatalf("got  %+v\nwant %+v", got, tc.want)
			}
			if !got.Resolved() {
				t.Fatal("Resolve's result is not Resolved")
			}
			if again := got.Resolve(Schedule{Interval: s(sec), Jitter: s(sec)}, nil); again != got {
				t.Fatalf("not idempotent: %+v", again)
			}
			if err := got.Runnable(); err != nil {
				t.Fatal(err)
			}
		})
	}
}
