package schedule

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/judge"
	"github.com/heckhq/heck/internal/probe"
	"github.com/heckhq/heck/internal/target"
)

// fakeProber is a scripted prober: result i is script(i). It records when
// each run started, the deadline it got, how many runs overlapped, and
// whether it was closed.
type fakeProber struct {
	script func(i int) probe.Result
	delay  time.Duration // each run takes this long (or until ctx ends)
	block  chan struct{} // when set, each run waits for a receive
	onRun  func(i int)   // called at the start of each run
	mu     sync.Mutex
	starts []time.Time
	slack  []time.Duration // deadline - start
	errs   []error         // ctx.Err() at the end of each run
	in     int
	maxIn  int
	closed int
	closeT time.Time
}

func okProber() *fakeProber { return &fakeProber{} }

func (p *fakeProber) Probe(ctx context.Context) probe.Result {
	now := time.Now()
	p.mu.Lock()
	i := len(p.starts)
	p.starts = append(p.starts, now)
	dl, ok := ctx.Deadline()
	if !ok {
		p.slack = append(p.slack, -1)
	} else {
		p.slack = append(p.slack, dl.Sub(now))
	}
	p.in++
	p.maxIn = max(p.maxIn, p.in)
	p.mu.Unlock()
	if p.onRun != nil {
		p.onRun(i)
	}
	if p.delay > 0 {
		t := time.NewTimer(p.delay)
		select {
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
	}
	if p.block != nil {
		<-p.block
	}
	res := probe.Result{OK: true, Message: "ok"}
	if p.script != nil {
		res = p.script(i)
	}
	p.mu.Lock()
	p.in--
	p.errs = append(p.errs, ctx.Err())
	p.mu.Unlock()
	return res
}

func (p *fakeProber) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed++
	p.closeT = time.Now()
	return nil
}

func (p *fakeProber) runs() []time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]time.Time(nil), p.starts...)
}

func (p *fakeProber) closes() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// pattern returns a script from a string of '+' (success) and '-'
// (failure); past its end the last result repeats.
func pattern(s string) func(i int) probe.Result {
	return func(i int) probe.Result {
		c := s[min(i, len(s)-1)]
		if c == '+' {
			return probe.Result{OK: true, Message: "ok", Latency: time.Millisecond}
		}
		return probe.Result{OK: false, Message: "refused", Latency: time.Millisecond}
	}
}

// recorder is a Sink that keeps a copy of every outcome and judges it as
// a node does (rise/fall from unknown), answering the mode of the verdict.
type recorder struct {
	mu      sync.Mutex
	out     []Outcome
	j       *judge.Judge
	changed map[string][]string
}

func (r *recorder) Observe(o *Outcome) Mode {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.out = append(r.out, *o)
	if r.j == nil {
		r.j, r.changed = judge.New(), map[string][]string{}
	}
	if _, ok := r.j.Status(o.TargetID); !ok {
		r.j.Set(o.TargetID, judge.Rule{Rise: o.Schedule.Rise, Fall: o.Schedule.Fall}, health.Unknown, o.Start)
	}
	v, _ := r.j.Observe(o.TargetID, judge.Input{OK: o.Result.OK, At: o.End, Message: o.Result.Message}, func(v judge.Verdict) {
		r.changed[o.TargetID] = append(r.changed[o.TargetID], fmt.Sprintf("%v->%v %q", v.Prev, v.State, v.Cause))
	})
	switch {
	case v.Pending():
		return ModeFast
	case v.State == health.Down:
		return ModeDown
	}
	return ModeNormal
}

// changes lists the state changes of id, as "from->to cause".
func (r *recorder) changes(id string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.changed[id]
}

func (r *recorder) of(id string) []Outcome {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Outcome
	for _, o := range r.out {
		if o.TargetID == id {
			out = append(out, o)
		}
	}
	return out
}

func sched(interval time.Duration) target.Schedule {
	return target.Spec{Schedule: target.Schedule{Interval: target.Duration(interval)}}.WithDefaults().Schedule
}

// started runs s in the background and returns a stop function that
// cancels it and waits for Run to return.
func started(t *testing.T, s *Scheduler) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
}

func mustUpsert(t *testing.T, s *Scheduler, j Job) {
	t.Helper()
	if err := s.Upsert(j); err != nil {
		t.Fatalf("Upsert(%s): %v", j.ID, err)
	}
}

func gaps(ts []time.Time) []time.Duration {
	var g []time.Duration
	for i := 1; i < len(ts); i++ {
		g = append(g, ts[i].Sub(ts[i-1]))
	}
	return g
}
