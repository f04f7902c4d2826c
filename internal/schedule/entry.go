package schedule

import (
	"math"
	"math/rand/v2"
	"time"
	"unique"

	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/probe"
	"github.com/heckhq/heck/internal/target"
)

// Phases of an entry.
const (
	phaseIdle      uint8 = iota // waiting in the heap
	phaseRunning                // a probe is in flight
	phaseObserving              // the result is being handed to the sink
)

// noTime marks a mono time not yet set.
const noTime = math.MinInt64

// entry is one job and what the scheduler knows of it. Every field is
// guarded by Scheduler.mu. Times are mono (ns since the epoch). It is kept
// small: 50,000 of them must fit well under 4 KiB each.
type entry struct {
	id     string
	kind   string
	sched  target.Schedule
	prober probe.Prober

	// base is the nominal time of the next run (or of the run in flight),
	// due base plus jitter; lastBase the nominal time of the last run.
	base, due, lastBase int64
	hidx                int32  // index in the heap, -1 when not there
	pgen                uint32 // bumped each time the prober is replaced
	rgen                uint32 // pgen of the run in flight
	phase               uint8
	removed             bool
	state               health.State
	succ, fail          uint32 // consecutive successes, failures

	since  int64 // when state began
	cause  unique.Handle[string]
	lastAt int64 // start of the last result, noTime before any
	last   probe.Result
	checks uint64
	failed uint64

	// ring of recent results, oldest at rhead when full.
	ring  []sample
	rhead uint16
	rlen  uint16
}

// sample is one recent result, 24 bytes: the message is an interned handle,
// shared by every result (of any target) with the same message.
type sample struct {
	at    int64 // mono start
	latOK int64 // latency in ns << 1 | ok
	msg   unique.Handle[string]
}

// interval returns the interval in force, in ns: FastInterval while a
// transition is pending (state neither up nor down, or the last result
// disagrees with it), DownInterval while down, Interval otherwise.
func (e *entry) interval() int64 {
	switch e.state {
	case health.Up:
		if e.fail > 0 {
			return int64(e.sched.FastInterval)
		}
		return int64(e.sched.Interval)
	case health.Down:
		if e.succ > 0 {
			return int64(e.sched.FastInterval)
		}
		return int64(e.sched.DownInterval)
	default:
		return int64(e.sched.FastInterval)
	}
}

func (e *entry) jitter() int64 {
	if j := int64(e.sched.Jitter); j > 0 {
		return rand.Int64N(j + 1)
	}
	return 0
}

// advance computes the next run after a run that ended at now: one
// interval after the last nominal time, so runs do not drift. When that is
// already past (the run overran a short interval) the next run starts at
// once, on the latest grid point not after now.
func (e *entry) advance(now int64) {
	iv := e.interval()
	b := e.lastBase + iv
	if late := now - b; late > iv {
		b += late / iv * iv
	}
	e.base = b
	e.due = b + e.jitter()
}

func msgValue(h unique.Handle[string]) string {
	if h == (unique.Handle[string]{}) {
		return ""
	}
	return h.Value()
}

// recordLocked applies one result to e's state machine, counters and
// recent results, and fills o.
func (s *Scheduler) recordLocked(e *entry, r run, start, end int64, res *probe.Result, o *Outcome) {
	// Share the message with the last result when unchanged, else intern
	// it, so a result's freshly built message string is not retained.
	var msg unique.Handle[string]
	if e.lastAt != noTime && e.last.Message == res.Message {
		res.Message = e.last.Message
		if e.rlen > 0 {
			msg = e.ring[(int(e.rhead)+int(e.rlen)-1)%len(e.ring)].msg
		} else {
			msg = intern(res.Message)
		}
	} else {
		msg = intern(res.Message)
		res.Message = msg.Value()
	}

	prev := e.state
	e.checks++
	if res.OK {
		e.succ++
		e.fail = 0
		if e.state != health.Up && e.succ >= uint32(e.sched.Rise) {
			e.state = health.Up
		}
	} else {
		e.failed++
		e.fail++
		e.succ = 0
		if e.state != health.Down && e.fail >= uint32(e.sched.Fall) {
			e.state = health.Down
		}
	}
	changed := e.state != prev
	if changed {
		s.shown[e] = shownState{state: prev, since: e.since, cause: e.cause}
		e.since = end
		e.cause = msg
	}
	e.lastAt = start
	e.last = *res

	if s.recent > 0 {
		if e.ring == nil {
			e.ring = make([]sample, s.recent)
		}
		lat := int64(res.Latency) << 1
		if res.OK {
			lat |= 1
		}
		smp := sample{at: start, latOK: lat, msg: msg}
		if int(e.rlen) < len(e.ring) {
			e.ring[(int(e.rhead)+int(e.rlen))%len(e.ring)] = smp
			e.rlen++
		} else {
			e.ring[e.rhead] = smp
			e.rhead = uint16((int(e.rhead) + 1) % len(e.ring))
		}
	}

	o.TargetID = e.id
	o.Kind = e.kind
	o.Due = s.at(r.due)
	o.Start = s.at(start)
	o.Lateness = time.Duration(start - r.due)
	o.Result = *res
	o.State = e.state
	o.Prev = prev
	o.Changed = changed
	o.Since = s.at(e.since)
	o.Successes = int(e.succ)
	o.Failures = int(e.fail)
}

// Status is what the scheduler knows of one job.
type Status struct {
	ID    string       `json:"id"`
	State health.State `json:"state"`
	// Since is when State began: the end of the result that tipped it, or
	// when the job was added (or Job.Since) if it never changed.
	Since time.Time `json:"since"`
	// Cause is the message of the result that tipped the state ("" before
	// any transition).
	Cause string `json:"cause,omitempty"`
	// Successes and Failures are the consecutive counts.
	Successes int `json:"successes"`
	Failures  int `json:"failures"`
	// Last is the last result and LastAt when it started (zero before the
	// first result).
	Last   probe.Result `json:"last,omitzero"`
	LastAt time.Time    `json:"last_at,omitzero"`
	// Checks and Failed count results since the job was added.
	Checks uint64 `json:"checks"`
	Failed uint64 `json:"failed"`
	// Interval is the interval in force; Next the nominal time of the next
	// run (of the run in flight while Running).
	Interval time.Duration `json:"interval"`
	Next     time.Time     `json:"next"`
	Running  bool          `json:"running,omitempty"`
	// Recent results, oldest first (Status only; All leaves it nil).
	Recent []Sample `json:"recent,omitempty"`
}

// Sample is one recent result.
type Sample struct {
	At      time.Time     `json:"at"`
	OK      bool          `json:"ok"`
	Latency time.Duration `json:"latency"`
	Message string        `json:"message"`
}

func (s *Scheduler) fillLocked(st *Status, e *entry, recent bool) {
	st.ID = e.id
	st.State = e.state
	st.Since = s.at(e.since)
	st.Cause = msgValue(e.cause)
	if len(s.shown) > 0 {
		if h, ok := s.shown[e]; ok {
			st.State, st.Since, st.Cause = h.state, s.at(h.since), msgValue(h.cause)
		}
	}
	st.Successes = int(e.succ)
	st.Failures = int(e.fail)
	if e.lastAt != noTime {
		st.Last = e.last
		st.LastAt = s.at(e.lastAt)
	}
	st.Checks = e.checks
	st.Failed = e.failed
	st.Interval = time.Duration(e.interval())
	st.Next = s.at(e.base)
	st.Running = e.phase != phaseIdle
	if recent && e.rlen > 0 {
		st.Recent = make([]Sample, e.rlen)
		for i := range st.Recent {
			smp := &e.ring[(int(e.rhead)+i)%len(e.ring)]
			st.Recent[i] = Sample{
				At:      s.at(smp.at),
				OK:      smp.latOK&1 == 1,
				Latency: time.Duration(smp.latOK >> 1),
				Message: msgValue(smp.msg),
			}
		}
	}
}
