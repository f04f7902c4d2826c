// Package schedule runs the probes of the targets this node owns.
//
// One dispatcher goroutine (Run) keeps every target in a min-heap ordered by
// its next due time and hands each probe, when due, to a worker goroutine,
// with at most Options.Concurrency probes in flight and every probe under a
// context deadline of its target's timeout. Workers are started on demand
// and reused, so there are about as many as the most probes ever in flight
// at once, and they keep their grown stacks between probes. A target never
// has two runs in flight: its next run is computed when the previous one
// ends. (Removing a target and adding one with the same ID while its run is
// in flight makes a new target; the old run finishes unobserved.)
//
// The scheduler only times and runs probes: each result is handed to a Sink
// as an Outcome, and what it means for the target's state is the sink's to
// decide (internal/judge owns the rise/fall state machine). The sink answers
// with the Mode the target is probed in next, which picks its interval.
//
// Timing: the first run of a target is at InitialDelay plus a uniformly
// random offset within one interval, which spreads load; later runs are one
// interval after the previous run's nominal time (no drift), plus a random
// offset up to Jitter. A run late by more than an interval skips the missed
// runs instead of bursting. The interval in force follows the Mode: in
// ModeFast (a change is pending, as the sink says) FastInterval, in ModeDown
// DownInterval, in ModeNormal Interval.
package schedule

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
	"unique"

	"github.com/heckhq/heck/internal/probe"
	"github.com/heckhq/heck/internal/target"
)

// Defaults of Options.
const (
	DefaultConcurrency = 2048
	DefaultRecent      = 10
)

// maxBatch bounds how many runs the dispatcher starts per hold of the lock,
// so Upsert, Status and finishing probes never wait long for it.
const maxBatch = 128

// Job is one target to probe.
type Job struct {
	// ID identifies the target; Upsert with an existing ID replaces it.
	ID string
	// Schedule of the target, resolved (target.Schedule.Resolve). An
	// unresolved one gets the built-in defaults here, and is logged once.
	Schedule target.Schedule
	// Prober probes the target. When it implements probe.Closer it is closed
	// once it is replaced or removed and no run of it is in flight.
	Prober probe.Prober
	// Mode is the mode to start in (ModeFast, the zero value, until the
	// sink says otherwise; a node taking over a target from another node
	// starts in the mode of its last known state). Ignored when Upsert
	// replaces a job, which keeps its mode.
	Mode Mode
	// Kind is handed back in every Outcome (the probe kind, for the sink's
	// metrics), so the sink needs no lookup per result.
	Kind string
	// SpreadFirst narrows the window the first run is spread over (zero:
	// one interval). A node taking over a failed owner's target uses a
	// short window so the target is probed again promptly. Ignored on
	// replace.
	SpreadFirst time.Duration
}

// Outcome is one result of one target, handed to the Sink.
type Outcome struct {
	TargetID string
	// Kind is the job's Kind.
	Kind string
	// Due is when the run was meant to start; Start when it did.
	Due, Start time.Time
	// Lateness is Start - Due.
	Lateness time.Duration
	Result   probe.Result
	// End is when the result was known (Start plus the probe's time).
	End time.Time
	// Schedule is the job's schedule, so the sink can tell the interval
	// of the mode it answers (Mode.Interval).
	Schedule target.Schedule
}

// Mode says which of its intervals a target is probed at next.
type Mode uint8

// The modes.
const (
	// ModeFast: a change of state is pending (or none is known yet):
	// FastInterval.
	ModeFast Mode = iota
	// ModeNormal: Interval.
	ModeNormal
	// ModeDown: the target is down and nothing says otherwise:
	// DownInterval.
	ModeDown
)

// keep is what the nil sink answers: the job's mode stays.
const keep Mode = 255

type keepMode struct{}

func (keepMode) Observe(*Outcome) Mode { return keep }

// Interval returns sc's interval for the mode.
func (m Mode) Interval(sc target.Schedule) time.Duration {
	switch m {
	case ModeNormal:
		return sc.Interval.D()
	case ModeDown:
		return sc.DownInterval.D()
	}
	return sc.FastInterval.D()
}

// Sink receives every outcome and answers the mode of the target's next
// run. Observe is called from the probe goroutines, concurrently for
// different targets and in order for one target (the next run of a target
// waits for Observe to return). It must be fast, and must not retain o or
// anything it points to past the call except by copying: o is reused.
// Result.Details slices are shared read-only.
type Sink interface {
	Observe(o *Outcome) Mode
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(o *Outcome) Mode

// Observe calls f(o).
func (f SinkFunc) Observe(o *Outcome) Mode { return f(o) }

// Options configure a Scheduler.
type Options struct {
	// Sink receives the outcomes; nil drops them and keeps every job in
	// the mode it started in.
	Sink Sink
	// Concurrency bounds the probes in flight (default 2048).
	Concurrency int
	// Recent is how many results are kept per target for Status (default
	// 10; negative keeps none).
	Recent int
	// Logger for probe panics and Close errors (default slog.Default()).
	Logger *slog.Logger
	// Now reads the clock (default time.Now). It only stamps times; the
	// dispatcher's waits use real timers.
	Now func() time.Time
}

// Scheduler runs jobs. Its methods are safe for concurrent use.
type Scheduler struct {
	sink   Sink
	conc   int
	recent int
	log    *slog.Logger
	nowFn  func() time.Time
	epoch  time.Time
	wake   chan struct{}
	pool   sync.Pool // *Outcome
	// unresolved is set once a job came with an unresolved schedule (and
	// was logged).
	unresolved atomic.Bool

	mu       sync.Mutex
	jobs     map[string]*entry
	heap     timerHeap
	inflight int
	active   bool // Run is running
}

// New returns a Scheduler with no jobs; Run starts it.
func New(opts Options) *Scheduler {
	s := &Scheduler{
		sink:   opts.Sink,
		conc:   opts.Concurrency,
		recent: opts.Recent,
		log:    opts.Logger,
		nowFn:  opts.Now,
		wake:   make(chan struct{}, 1),
		jobs:   make(map[string]*entry),
	}
	if s.sink == nil {
		// No sink: every job stays in the mode it started in.
		s.sink = keepMode{}
	}
	if s.conc <= 0 {
		s.conc = DefaultConcurrency
	}
	switch {
	case s.recent == 0:
		s.recent = DefaultRecent
	case s.recent < 0:
		s.recent = 0
	case s.recent > 1<<15:
		s.recent = 1 << 15
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.nowFn == nil {
		s.nowFn = time.Now
	}
	s.epoch = s.nowFn()
	s.pool.New = func() any { return new(Outcome) }
	return s
}

// mono is a time as nanoseconds since the scheduler's epoch: compact, and
// monotonic when the clock carries a monotonic reading.
func (s *Scheduler) mono(t time.Time) int64 { return int64(t.Sub(s.epoch)) }

func (s *Scheduler) at(m int64) time.Time { return s.epoch.Add(time.Duration(m)) }

func (s *Scheduler) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// run is one dispatched probe.
type run struct {
	e       *entry
	prober  probe.Prober
	gen     uint16
	due     int64
	timeout time.Duration
}

// Run dispatches due probes until ctx is done, then stops dispatching,
// waits for the probes in flight to finish (each is bounded by its
// timeout, and its outcome still reaches the Sink) and returns nil. Probes
// run under a context that keeps ctx's values but not its cancellation.
// Run returns an error if it is already running.
func (s *Scheduler) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.active {
		s.mu.Unlock()
		return errors.New("schedule: Run called while already running")
	}
	s.active = true
	s.mu.Unlock()

	probeCtx := context.WithoutCancel(ctx)
	var wg sync.WaitGroup
	work := make(chan run)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	batch := make([]run, 0, maxBatch)
	for {
		batch = batch[:0]
		wait := time.Duration(-1) // forever
		s.mu.Lock()
		now := s.mono(s.nowFn())
		for len(batch) < maxBatch && s.inflight < s.conc && len(s.heap) > 0 && s.heap[0].due <= now {
			batch = append(batch, s.startLocked(s.heap.pop(), now))
		}
		switch {
		case len(batch) == maxBatch:
			wait = 0
		case s.inflight >= s.conc:
			// Wait for a slot: a finishing probe signals.
		case len(s.heap) > 0:
			wait = time.Duration(s.heap[0].due - now)
		}
		s.mu.Unlock()
		for _, r := range batch {
			// Hand the run to an idle worker, or start one: workers are
			// never more than the runs in flight, so the pool is bounded
			// by Concurrency, and they keep their grown stacks between
			// probes instead of growing a fresh goroutine's each time.
			select {
			case work <- r:
			default:
				wg.Go(func() { s.worker(probeCtx, r, work) })
			}
		}
		if wait == 0 {
			if ctx.Err() != nil {
				break
			}
			continue
		}
		if wait > 0 {
			timer.Reset(wait)
		}
		select {
		case <-ctx.Done():
		case <-s.wake:
		case <-timer.C:
		}
		timer.Stop()
		if ctx.Err() != nil {
			break
		}
	}
	close(work)
	wg.Wait()
	s.mu.Lock()
	s.active = false
	s.mu.Unlock()
	return nil
}

// startLocked marks e running and returns its run. A run late by more than
// an interval moves the target's nominal time to the latest point of its
// grid not after now, so the runs it missed are skipped, not made up.
func (s *Scheduler) startLocked(e *entry, now int64) run {
	iv := e.interval()
	if late := now - e.base; late > iv {
		e.base += late / iv * iv
	}
	e.lastBase = e.base
	e.phase = phaseRunning
	e.rgen = e.pgen
	s.inflight++
	return run{e: e, prober: e.prober, gen: e.pgen, due: e.due, timeout: e.schedule().Timeout.D()}
}

// worker runs r, then every run handed to it until work is closed.
func (s *Scheduler) worker(ctx context.Context, r run, work <-chan run) {
	for {
		s.execute(ctx, r)
		var ok bool
		if r, ok = <-work; !ok {
			return
		}
	}
}

func (s *Scheduler) execute(ctx context.Context, r run) {
	start := s.nowFn()
	res := s.probe(ctx, r, start)
	if !res.OK && res.Reason == probe.ReasonTimeout && overloaded(s.mono(start)-r.due, r.timeout) {
		res.Reason = probe.ReasonLate
	}
	s.finish(r, start, res)
}

// overloaded reports whether a probe that started late by lateness, with
// the given timeout, says more about this node than about its target: it
// started late by more than half its timeout. Each probe's deadline counts
// from its start, not its due time, so lateness does not eat the timeout;
// but a probe that started that late ran while this node (or the machine
// it shares) could not keep up, and its timeout is counted as "late"
// (probe.ReasonLate), not "timeout".
func overloaded(lateness int64, timeout time.Duration) bool {
	return timeout > 0 && lateness > int64(timeout/2)
}

// probe runs one probe under its timeout. A panicking prober fails the
// probe instead of the node.
func (s *Scheduler) probe(ctx context.Context, r run, start time.Time) (res probe.Result) {
	defer func() {
		if v := recover(); v != nil {
			res = probe.Fail(s.nowFn().Sub(start), fmt.Sprintf("probe panicked: %v", v))
			s.log.Error("probe panicked", "target", r.e.id, "panic", v)
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	res = r.prober.Probe(ctx)
	if res.Latency <= 0 {
		res.Latency = s.nowFn().Sub(start)
	}
	return res
}

// finish records a result, hands it to the sink, then schedules the
// target's next run in the mode the sink answered (or closes the run's
// prober if it was replaced or removed meanwhile).
func (s *Scheduler) finish(r run, startT time.Time, res probe.Result) {
	e := r.e
	start := s.mono(startT)
	var o *Outcome
	s.mu.Lock()
	end := s.mono(s.nowFn())
	mode := e.mode
	if !e.removed {
		o = s.pool.Get().(*Outcome)
		s.recordLocked(e, r, start, end, &res, o)
		e.phase = phaseObserving
	}
	s.mu.Unlock()

	if o != nil {
		if m := s.sink.Observe(o); m != keep {
			mode = m
		}
		*o = Outcome{}
		s.pool.Put(o)
	}

	var toClose probe.Prober
	s.mu.Lock()
	if !e.removed {
		e.mode = mode
		e.advance(end)
	}
	wake := s.inflight == s.conc
	s.inflight--
	if e.removed || r.gen != e.pgen {
		toClose = r.prober
	}
	if !e.removed {
		e.phase = phaseIdle
		s.heap.push(e)
		if e.hidx == 0 {
			wake = true
		}
	}
	s.mu.Unlock()
	if wake {
		s.signal()
	}
	if toClose != nil {
		s.close(e.id, toClose)
	}
}

func (s *Scheduler) close(id string, p probe.Prober) {
	if c, ok := p.(probe.Closer); ok {
		if err := c.Close(); err != nil {
			s.log.Warn("close prober", "target", id, "err", err)
		}
	}
}

// Upsert adds a job, or replaces the job with the same ID without
// disturbing the others. A replaced job keeps its mode, counters and
// recent results; its new schedule applies from its next run (at once if
// the interval in force changes); its old prober is closed after any run
// of it in flight completes. It returns an error naming the field when the
// job is unusable.
func (s *Scheduler) Upsert(job Job) error {
	sc, err := s.normalize(job)
	if err != nil {
		return err
	}
	now := s.mono(s.nowFn())
	var toClose probe.Prober
	s.mu.Lock()
	e, ok := s.jobs[job.ID]
	if !ok {
		e = &entry{id: job.ID, kind: unique.Make(job.Kind), sched: unique.Make(sc), prober: job.Prober, mode: job.Mode, hidx: -1, lastAt: noTime}
		spread := int64(sc.Interval)
		if job.SpreadFirst > 0 && int64(job.SpreadFirst) < spread {
			spread = int64(job.SpreadFirst)
		}
		e.base = now + int64(sc.InitialDelay) + rand.Int64N(spread)
		e.due = e.base + e.jitter()
		s.jobs[job.ID] = e
		s.heap.push(e)
	} else {
		if !sameProber(e.prober, job.Prober) {
			// The current prober is closed here unless a run of it is in
			// flight; then finish closes it.
			if e.phase == phaseIdle || e.rgen != e.pgen {
				toClose = e.prober
			}
			e.prober = job.Prober
			e.pgen++
		}
		old := e.schedule()
		oldIv := e.interval()
		e.sched = unique.Make(sc)
		e.kind = unique.Make(job.Kind)
		if e.phase == phaseIdle {
			// Otherwise the run in flight computes the next run under the
			// new schedule when it finishes.
			s.rescheduleLocked(e, now, old, oldIv)
		}
	}
	top := e.hidx == 0
	s.mu.Unlock()
	if top {
		s.signal()
	}
	if toClose != nil {
		s.close(job.ID, toClose)
	}
	return nil
}

// rescheduleLocked applies a replaced schedule to a job whose next run is
// already computed.
func (s *Scheduler) rescheduleLocked(e *entry, now int64, old target.Schedule, oldIv int64) {
	iv := e.interval()
	sc := e.schedule()
	if e.lastAt == noTime {
		if old.Interval == sc.Interval && old.InitialDelay == sc.InitialDelay {
			return
		}
		// Not run yet: pick a first run under the new schedule, unless the
		// one already picked comes sooner.
		b := now + int64(sc.InitialDelay) + rand.Int64N(int64(sc.Interval))
		if b >= e.base {
			return
		}
		e.base = b
	} else {
		if iv == oldIv && old.Jitter == sc.Jitter {
			return
		}
		e.base = max(e.lastBase+iv, now)
	}
	e.due = e.base + e.jitter()
	if e.hidx >= 0 {
		s.heap.fix(int(e.hidx))
	}
}

// Remove stops probing id and reports whether it was there. Its prober is
// closed now, or after its run in flight completes (that run's outcome is
// dropped).
func (s *Scheduler) Remove(id string) bool {
	var toClose probe.Prober
	s.mu.Lock()
	e, ok := s.jobs[id]
	if ok {
		delete(s.jobs, id)
		if e.hidx >= 0 {
			s.heap.remove(int(e.hidx))
		}
		e.removed = true
		if e.phase == phaseIdle || e.rgen != e.pgen {
			toClose = e.prober
		}
	}
	s.mu.Unlock()
	if toClose != nil {
		s.close(id, toClose)
	}
	return ok
}

// Len returns the number of jobs.
func (s *Scheduler) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.jobs)
}

// Status returns the status of id, with a copy of its recent results.
func (s *Scheduler) Status(id string) (Status, bool) {
	var st Status
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.jobs[id]
	if !ok {
		return st, false
	}
	s.fillLocked(&st, e, true)
	return st, true
}

// listChunk is how many statuses All copies per hold of the lock.
const listChunk = 256

// All iterates over the status of every job, without their Recent results
// (use Status for those). It is cheap enough to list 50,000 jobs: it copies
// the job list once, then statuses in small chunks, never holding the lock
// while yielding. Every job present when All starts and not removed before
// its turn is yielded once; jobs added meanwhile are not. The *Status is
// valid only until the next iteration; copy it to keep it. Order is
// unspecified.
func (s *Scheduler) All() iter.Seq2[string, *Status] {
	return func(yield func(string, *Status) bool) {
		s.mu.Lock()
		list := make([]*entry, 0, len(s.jobs))
		for _, e := range s.jobs {
			list = append(list, e)
		}
		s.mu.Unlock()
		buf := make([]Status, listChunk)
		for len(list) > 0 {
			n := 0
			s.mu.Lock()
			for len(list) > 0 && n < len(buf) {
				e := list[0]
				list = list[1:]
				if e.removed {
					continue
				}
				buf[n] = Status{}
				s.fillLocked(&buf[n], e, false)
				n++
			}
			s.mu.Unlock()
			for i := range n {
				if !yield(buf[i].ID, &buf[i]) {
					return
				}
			}
		}
	}
}

// Each calls fn for every job's status as All does, until fn returns false.
func (s *Scheduler) Each(fn func(id string, st *Status) bool) {
	for id, st := range s.All() {
		if !fn(id, st) {
			return
		}
	}
}

// Resolve returns sc resolved. A resolved schedule (every spec a node of
// this version puts in the registry) is returned as it is; one that is not
// (a spec written by an older node) gets the built-in defaults, never a
// node's own defaults block, so that every node runs it alike. The first
// unresolved schedule is logged, naming its target. The node resolves
// with it the schedule it shows as well as the one it runs.
func (s *Scheduler) Resolve(id string, sc target.Schedule) target.Schedule {
	if sc.Resolved() {
		return sc
	}
	sc = sc.Resolve(target.Schedule{}, nil)
	if s.unresolved.CompareAndSwap(false, true) {
		s.log.Warn("a target's schedule came without its defaults (written by an older heck?); using the built-in defaults",
			"target", id, "interval", sc.Interval.D(), "timeout", sc.Timeout.D(), "rise", sc.Rise, "fall", sc.Fall)
	}
	return sc
}

// normalize checks a job and resolves its schedule (Resolve), then holds
// it to what can run (target.Schedule.Runnable), not to the stricter
// bounds of validation.
func (s *Scheduler) normalize(job Job) (target.Schedule, error) {
	if job.ID == "" {
		return target.Schedule{}, errors.New("schedule: job id is empty: give every job its target's id")
	}
	if job.Prober == nil {
		return target.Schedule{}, fmt.Errorf("schedule: job %q: prober is nil: build one from the target's spec", job.ID)
	}
	sc := s.Resolve(job.ID, job.Schedule)
	if err := sc.Runnable(); err != nil {
		return sc, fmt.Errorf("schedule: job %q: %w", job.ID, err)
	}
	return sc, nil
}

// sameProber reports whether a and b are the same prober; probers of
// uncomparable types are never the same.
func sameProber(a, b probe.Prober) (same bool) {
	defer func() {
		if recover() != nil {
			same = false
		}
	}()
	return a == b
}

// intern returns the canonical handle of a message.
func intern(msg string) unique.Handle[string] { return unique.Make(msg) }
