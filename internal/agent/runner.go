package agent

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/hostcheck"
	"github.com/heckhq/heck/internal/judge"
	"github.com/heckhq/heck/internal/probe"
	"github.com/heckhq/heck/internal/probe/kinds"
	"github.com/heckhq/heck/internal/target"
	"github.com/heckhq/heck/internal/wire"
)

// Runner runs an agent's checks, each on its own schedule in the
// background, judges each with rise/fall (internal/judge, the rule heck's
// targets follow), and keeps what the endpoints serve ready-made: every
// result rebuilds the /healthz and /readyz answers once, so serving one is
// a pointer load and a write.
type Runner struct {
	checks []*entry
	judge  *judge.Judge
	log    *slog.Logger
	// now stamps results; tests set it.
	now func() time.Time

	mu   sync.Mutex // serializes record (and the entries' mutable part)
	snap atomic.Pointer[snapshot]
}

// entry is one check and its last result (guarded by Runner.mu).
type entry struct {
	name, kind string
	critical   bool
	sched      target.Schedule
	prober     probe.Prober

	ran     bool
	last    probe.Result
	lastRun time.Time
	verdict judge.Verdict
}

// NewRunner builds the probers of cfg's checks (validated, resolved):
// host checks from internal/hostcheck, dependencies through
// internal/probe/kinds like the targets of heck serve.
func NewRunner(cfg *Config, opts probe.Options, log *slog.Logger) (*Runner, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Runner{judge: judge.New(), log: log, now: time.Now}
	for i := range cfg.Checks {
		c := &cfg.Checks[i]
		p, err := newProber(c, opts)
		if err != nil {
			r.closeAll()
			return nil, fmt.Errorf("checks[%d] (%s): %w", i, c.Name(), err)
		}
		e := &entry{name: c.Name(), kind: c.Kind(), critical: c.IsCritical(), sched: c.Target.Schedule, prober: p}
		r.checks = append(r.checks, e)
		r.judge.Set(e.name, judge.Rule{Rise: e.sched.Rise, Fall: e.sched.Fall}, health.Unknown, time.Time{})
	}
	r.mu.Lock()
	r.rebuild()
	r.mu.Unlock()
	return r, nil
}

// newProber builds the prober of one check.
func newProber(c *Check, opts probe.Options) (probe.Prober, error) {
	switch hostcheck.Kind(c.Kind()) {
	case hostcheck.KindCPU:
		return hostcheck.NewCPU(deref(c.CPU)), nil
	case hostcheck.KindMemory:
		return hostcheck.NewMemory(deref(c.Memory)), nil
	case hostcheck.KindSwap:
		return hostcheck.NewSwap(deref(c.Swap)), nil
	case hostcheck.KindDisk:
		return hostcheck.NewDisk(deref(c.Disk)), nil
	case hostcheck.KindLoad:
		return hostcheck.NewLoad(deref(c.Load)), nil
	case hostcheck.KindProcess:
		return hostcheck.NewProcess(deref(c.Process))
	case hostcheck.KindFile:
		return hostcheck.NewFile(deref(c.File)), nil
	case hostcheck.KindPort:
		return hostcheck.NewPort(deref(c.Port)), nil
	case hostcheck.KindCommand:
		return hostcheck.NewCommand(deref(c.Command)), nil
	}
	spec := c.Target.Clone()
	spec.ID, spec.Name = c.Name(), ""
	spec, err := spec.Expand(nil)
	if err != nil {
		return nil, err
	}
	return kinds.New(spec.WithDefaults(), opts)
}

func deref[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}

// Run runs every check until ctx ends, then closes the probers that hold
// resources. Deep checks never run before Run: the first of each runs
// after its initial delay, in the background.
func (r *Runner) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for i, e := range r.checks {
		if s, ok := e.prober.(hostcheck.Sampler); ok {
			wg.Go(func() { s.Run(ctx) })
		}
		wg.Go(func() { r.loop(ctx, i) })
	}
	wg.Wait()
	r.closeAll()
}

func (r *Runner) closeAll() {
	for _, e := range r.checks {
		if c, ok := e.prober.(probe.Closer); ok {
			_ = c.Close()
		}
	}
}

// loop runs check i: first after its initial delay (not spread over an
// interval as a node spreads its targets: readiness waits for the first
// round), then one interval (fast interval while a change is pending, down
// interval while down), plus up to the jitter, after the start of the run
// before.
func (r *Runner) loop(ctx context.Context, i int) {
	e := r.checks[i]
	t := time.NewTimer(e.sched.InitialDelay.D())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		start := time.Now()
		res := r.probe(ctx, e)
		if ctx.Err() != nil {
			return // cut short by shutdown: not a result
		}
		next := r.record(i, res)
		if j := int64(e.sched.Jitter); j > 0 {
			next += time.Duration(rand.Int64N(j + 1))
		}
		t.Reset(max(next-time.Since(start), 0))
	}
}

// probe runs one probe within the check's timeout; a panic is a failed
// result, not a dead agent.
func (r *Runner) probe(ctx context.Context, e *entry) (res probe.Result) {
	ctx, cancel := context.WithTimeout(ctx, e.sched.Timeout.D())
	defer cancel()
	start := time.Now()
	defer func() {
		if p := recover(); p != nil {
			r.log.Error("check panicked", "check", e.name, "panic", p)
			res = probe.Fail(time.Since(start), fmt.Sprintf("the check panicked: %v", p))
		}
	}()
	return e.prober.Probe(ctx)
}

// record keeps the result of check i, judges it, rebuilds the answers and
// returns the interval until its next run.
func (r *Runner) record(i int, res probe.Result) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.checks[i]
	at := r.now()
	v, _ := r.judge.Observe(e.name, judge.Input{OK: res.OK, At: at, Message: res.Message, State: res.State}, nil)
	prev := e.status()
	e.ran, e.last, e.lastRun, e.verdict = true, res, at, v
	if st := e.status(); st != prev {
		lvl := slog.LevelInfo
		if st == wire.CheckFailing && e.critical {
			lvl = slog.LevelWarn
		}
		r.log.Log(context.Background(), lvl, "check "+st, "check", e.name, "kind", e.kind, "critical", e.critical, "message", res.Message)
	}
	r.rebuild()
	switch {
	case v.State == health.Down && !v.Pending():
		return e.sched.DownInterval.D()
	case v.Pending():
		return e.sched.FastInterval.D()
	}
	return e.sched.Interval.D()
}

// status is the check's status: pending before its first result; then
// its judged state once rise or fall settled it (degraded passes), and
// until then its last result's.
func (e *entry) status() string {
	if !e.ran {
		return wire.CheckPending
	}
	switch e.verdict.State {
	case health.Up, health.Degraded:
		return wire.CheckOK
	case health.Unknown:
		if e.last.OK {
			return wire.CheckOK
		}
	}
	return wire.CheckFailing
}
