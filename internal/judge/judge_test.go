package judge

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/heckhq/heck/internal/health"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// run feeds script to a fresh target ('+' success, '-' failure, or a state
// name in brackets such as "[impacted]" for a source that judges itself)
// and returns the changes it made, as "from->to@i cause".
func run(t *testing.T, rule Rule, initial health.State, script string) (changes []string, last Verdict) {
	t.Helper()
	j := New()
	j.Set("x", rule, initial, t0)
	i := 0
	for len(script) > 0 {
		in := Input{At: t0.Add(time.Duration(i+1) * time.Second)}
		switch script[0] {
		case '+':
			in.OK, in.Message = true, fmt.Sprintf("ok%d", i)
			script = script[1:]
		case '-':
			in.Message = fmt.Sprintf("fail%d", i)
			script = script[1:]
		case '[':
			end := strings.IndexByte(script, ']')
			st, err := health.ParseState(script[1:end])
			if err != nil {
				t.Fatal(err)
			}
			in.State, in.Message = st, "said "+st.String()
			script = script[end+1:]
		}
		var seen *Verdict
		v, ok := j.Observe("x", in, func(v Verdict) { seen = &v })
		if !ok {
			t.Fatal("Observe of a judged target returned false")
		}
		if v.Changed != (seen != nil) {
			t.Fatalf("result %d: Changed %v but the callback ran: %v", i, v.Changed, seen != nil)
		}
		if v.Changed {
			if !v.Since.Equal(in.At) || v.Cause != in.Message {
				t.Errorf("result %d: change since %v cause %q, want %v %q", i, v.Since, v.Cause, in.At, in.Message)
			}
			changes = append(changes, fmt.Sprintf("%v->%v@%d %s", v.Prev, v.State, i, v.Cause))
		}
		last = v
		i++
	}
	return changes, last
}

func TestRiseFall(t *testing.T) {
	hap := Rule{Rise: 2, Fall: 3}
	tests := []struct {
		name    string
		rule    Rule
		initial health.State
		script  string
		want    string
		pending bool
	}{
		{"unknown to up after rise successes", hap, health.Unknown, "++", "unknown->up@1 ok1", false},
		{"unknown to down after fall failures", hap, health.Unknown, "---", "unknown->down@2 fail2", false},
		{"one failure short of fall stays unknown", hap, health.Unknown, "--", "", true},
		{"a success resets the failure count", hap, health.Unknown, "--+--", "", true},
		{"up needs fall consecutive failures", hap, health.Up, "--+---", "up->down@5 fail5", false},
		{"up with a failure is pending", hap, health.Up, "-", "", true},
		{"down needs rise consecutive successes", hap, health.Down, "+-++", "down->up@3 ok3", false},
		{"down with a success is pending", hap, health.Down, "+", "", true},
		{"rise 1 fall 1 follows every result", Rule{1, 1}, health.Unknown, "+-+", "unknown->up@0 ok0, up->down@1 fail1, down->up@2 ok2", false},
		{"a zero rule counts as 1", Rule{}, health.Unknown, "-", "unknown->down@0 fail0", false},
		{"alternating never settles", hap, health.Unknown, "+-+-+-", "", true},
		{"settles once runs are consecutive", hap, health.Unknown, "+-+-++", "unknown->up@5 ok5", false},
		{"rise 3 then fall 2", Rule{3, 2}, health.Unknown, "+++--", "unknown->up@2 ok2, up->down@4 fail4", false},
		{"down stays down on failures", hap, health.Down, "----", "", false},
		{"up stays up on successes", hap, health.Up, "+++", "", false},
		{"flapping faster than fall never goes down", hap, health.Up, "--+--+--+", "", false},
		// Sources that judge for themselves.
		{"a stated state applies at once", hap, health.Up, "[impacted]", "up->impacted@0 said impacted", false},
		{"probes take over again after a stated state", hap, health.Up, "[late]++", "up->late@0 said late, late->up@2 ok2", false},
		{"a stated state that is the current one is no change", hap, health.Down, "[down]", "", false},
		{"a stated state clears the counts", hap, health.Up, "--[up]--", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			changes, last := run(t, tc.rule, tc.initial, tc.script)
			if got := strings.Join(changes, ", "); got != tc.want {
				t.Errorf("changes %q, want %q", got, tc.want)
			}
			if last.Pending() != tc.pending {
				t.Errorf("pending = %v, want %v (verdict %+v)", last.Pending(), tc.pending, last)
			}
		})
	}
}

func TestSetKeepsStateAndRemoveForgets(t *testing.T) {
	j := New()
	j.Set("x", Rule{Rise: 2, Fall: 3}, health.Down, t0)
	// A replaced spec changes the rule, never the state.
	j.Set("x", Rule{Rise: 1, Fall: 1}, health.Unknown, t0.Add(time.Hour))
	if v, _ := j.Status("x"); v.State != health.Down || !v.Since.Equal(t0) {
		t.Fatalf("after Set again: %+v, want down since t0", v)
	}
	if v, _ := j.Observe("x", Input{OK: true, At: t0.Add(time.Second)}, nil); v.State != health.Up {
		t.Fatalf("new rule rise 1 not applied: %+v", v)
	}
	j.Remove("x")
	if _, ok := j.Observe("x", Input{OK: true}, nil); ok {
		t.Error("Observe of a removed target returned true")
	}
	if _, ok := j.Status("x"); ok || j.Len() != 0 {
		t.Error("removed target still judged")
	}
}

// A reader never sees a new state before the change callback has run.
func TestNewStateShownOnlyAfterTheCallback(t *testing.T) {
	j := New()
	j.Set("x", Rule{1, 1}, health.Up, t0)
	var wg sync.WaitGroup
	recorded := make(chan struct{})
	wg.Go(func() {
		j.Observe("x", Input{At: t0}, func(Verdict) {
			close(recorded)
			// Hold the change while a reader tries to look.
			time.Sleep(20 * time.Millisecond)
		})
	})
	<-recorded
	if v, _ := j.Status("x"); v.State != health.Down {
		t.Errorf("reader saw %v, want down (it must wait for the callback)", v.State)
	}
	var each health.State
	j.Each(func(_ string, v Verdict) bool { each = v.State; return true })
	if each != health.Down {
		t.Errorf("Each saw %v, want down", each)
	}
	wg.Wait()
}

// The counters saturate rather than wrap: a target up for a very long time
// still reports a large run of successes and stays up; rise and fall above
// 255 are clamped, never wrapped to a small number.
func TestCountersSaturate(t *testing.T) {
	j := New()
	j.Set("x", Rule{Rise: 1, Fall: 1000}, health.Unknown, t0)
	var v Verdict
	for i := range 70000 {
		v, _ = j.Observe("x", Input{OK: true, At: t0.Add(time.Duration(i) * time.Millisecond)}, nil)
	}
	if v.State != health.Up || v.Successes != 255 {
		t.Fatalf("after 70,000 successes: %v with %d successes, want up with 255", v.State, v.Successes)
	}
	for i := range 254 {
		if v, _ = j.Observe("x", Input{At: t0.Add(time.Hour + time.Duration(i)*time.Millisecond)}, nil); v.State != health.Up {
			t.Fatalf("down after %d failures with fall 1000 (clamped to 255)", i+1)
		}
	}
	if v, _ = j.Observe("x", Input{At: t0.Add(2 * time.Hour)}, nil); v.State != health.Down {
		t.Fatalf("after 255 failures: %v, want down (fall clamped to 255)", v.State)
	}
}

// The error rate follows the recent results: it climbs towards 1 while
// results fail, falls back to 0 once they pass, and sits near the share of
// failures of a steady mix.
func TestErrorRate(t *testing.T) {
	j := New()
	j.Set("x", Rule{Rise: 1, Fall: 3}, health.Unknown, t0)
	obs := func(ok bool) Verdict {
		v, _ := j.Observe("x", Input{OK: ok, At: t0}, nil)
		return v
	}
	var v Verdict
	for range 100 {
		v = obs(true)
	}
	if v.ErrorRate != 0 {
		t.Fatalf("after 100 successes: error rate %v, want 0", v.ErrorRate)
	}
	if v = obs(false); v.ErrorRate < 0.05 || v.ErrorRate > 0.07 {
		t.Fatalf("after one failure: error rate %v, want about 1/16", v.ErrorRate)
	}
	for range 200 {
		v = obs(false)
	}
	if v.ErrorRate != 1 || v.Failures != 201 {
		t.Fatalf("after 201 failures: error rate %v, %d failures; want 1 and 201", v.ErrorRate, v.Failures)
	}
	for range 200 {
		v = obs(true)
	}
	if v.ErrorRate != 0 {
		t.Fatalf("after 200 successes: error rate %v, want back to 0", v.ErrorRate)
	}
	// One failure in four: the average sits around 0.25.
	for i := range 400 {
		v = obs(i%4 != 0)
	}
	if v.ErrorRate < 0.15 || v.ErrorRate > 0.35 {
		t.Fatalf("one failure in four: error rate %v, want about 0.25", v.ErrorRate)
	}
}

func TestMachineSize(t *testing.T) {
	if got := unsafe.Sizeof(machine{}); got != 24 {
		t.Errorf("machine is %d bytes, want 24 (one per judged target)", got)
	}
}
