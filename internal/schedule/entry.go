package schedule

import (
	"math"
	"math/rand/v2"
	"slices"
	"time"
	"unique"

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
// small (224 bytes, plus the ring): 50,000 of them must fit well under
// 4 KiB each. What is the same for many targets (kind, schedule, messages,
// remote addresses) is interned and shared.
type entry struct {
	id     string
	kind   unique.Handle[string]
	sched  unique.Handle[target.Schedule]
	prober probe.Prober

	// base is the nominal time of the next run (or of the run in flight),
	// due base plus jitter; lastBase the nominal time of the last run.
	base, due, lastBase int64
	hidx                int32 // index in the heap, -1 when not there
	// pgen is bumped each time the prober is replaced, rgen is pgen of the
	// run in flight (16 bits: it would take 65,536 replacements during
	// one run to confuse them).
	pgen, rgen uint16
	phase      uint8
	removed    bool
	mode       Mode
	// rhead is the ring's oldest sample when full, rlen its length (here,
	// with the other small fields, to keep the struct free of padding).
	rhead, rlen uint16

	lastAt int64 // start of the last result, noTime before any
	last   lastResult
	checks uint64
	failed uint64

	// ring of recent results, oldest at rhead when full.
	ring []sample
	// rmsg holds the message of each sample in ring (same index) while
	// they differ; nil while every sample has the last result's message,
	// which is what a target whose results do not change has: its ring
	// then costs 16 bytes per result instead of 24.
	rmsg []unique.Handle[string]
}

// sample is one recent result, 16 bytes; its message is in entry.rmsg or
// is the last result's.
type sample struct {
	at    int64 // mono start
	latOK int64 // latency in ns << 1 | ok
}

// lastResult is the last result, 40 bytes instead of a probe.Result's 160:
// message and remote address are interned, and the details beyond the
// status code and remote address (TLS, certificate, DNS, gRPC), which most
// targets do not have, sit behind a pointer shared with the previous
// result while they do not change.
type lastResult struct {
	latOK  int64 // latency in ns << 1 | ok
	msg    unique.Handle[string]
	remote unique.Handle[string]
	extra  *probe.Details // nil when there is nothing beyond status and remote
	status int32          // Details.StatusCode, when it fits
}

// set stores res, sharing the previous result's remote address and extra
// details when they are unchanged.
func (l *lastResult) set(res *probe.Result, msg unique.Handle[string]) {
	l.latOK = packLat(res.Latency, res.OK)
	l.msg = msg
	d := &res.Details
	switch {
	case d.RemoteAddr == "":
		l.remote = unique.Handle[string]{}
	case d.RemoteAddr != msgValue(l.remote):
		l.remote = unique.Make(d.RemoteAddr)
	}
	code := d.StatusCode
	if int(int32(code)) != code {
		code = 0 // kept in extra instead
	}
	l.status = int32(code)
	rest := *d
	rest.StatusCode -= code
	rest.RemoteAddr = ""
	switch {
	case isZeroDetails(&rest):
		l.extra = nil
	case l.extra == nil || !equalDetails(l.extra, &rest):
		x := new(probe.Details) // rest itself stays on the stack
		*x = rest
		x.Answers = slices.Clone(rest.Answers)
		x.Checks = slices.Clone(rest.Checks)
		l.extra = x
	}
}

// result rebuilds the probe.Result.
func (l *lastResult) result() probe.Result {
	r := probe.Result{OK: l.latOK&1 == 1, Latency: time.Duration(l.latOK >> 1), Message: msgValue(l.msg)}
	if l.extra != nil {
		r.Details = *l.extra
	}
	r.Details.StatusCode += int(l.status)
	r.Details.RemoteAddr = msgValue(l.remote)
	return r
}

func packLat(lat time.Duration, ok bool) int64 {
	v := int64(lat) << 1
	if ok {
		v |= 1
	}
	return v
}

func isZeroDetails(d *probe.Details) bool {
	return d.StatusCode == 0 && d.RemoteAddr == "" && d.TLSVersion == "" && d.CertExpiry.IsZero() &&
		d.CertDaysLeft == 0 && len(d.Answers) == 0 && d.Rcode == "" && d.Serving == "" &&
		len(d.Checks) == 0
}

func equalDetails(a, b *probe.Details) bool {
	return a.StatusCode == b.StatusCode && a.RemoteAddr == b.RemoteAddr && a.TLSVersion == b.TLSVersion &&
		a.CertExpiry == b.CertExpiry && a.CertDaysLeft == b.CertDaysLeft && slices.Equal(a.Answers, b.Answers) &&
		a.Rcode == b.Rcode && a.Serving == b.Serving && slices.Equal(a.Checks, b.Checks)
}

// interval returns the interval in force, in ns (see Mode).
func (e *entry) interval() int64 { return int64(e.mode.Interval(e.schedule())) }

// schedule returns the entry's schedule (shared by every entry with the
// same one).
func (e *entry) schedule() target.Schedule { return e.sched.Value() }

func (e *entry) jitter() int64 {
	if j := int64(e.schedule().Jitter); j > 0 {
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

// msgValue returns the string of an interned handle, "" for the zero handle.
func msgValue(h unique.Handle[string]) string {
	if h == (unique.Handle[string]{}) {
		return ""
	}
	return h.Value()
}

// addSample adds a result with message msg to the ring (allocated); prev
// is the message of the newest sample already there (the previous last
// result).
func (e *entry) addSample(smp sample, msg, prev unique.Handle[string]) {
	n := len(e.ring)
	if survivors := min(int(e.rlen), n-1); e.rmsg == nil && survivors > 0 && msg != prev {
		// The messages start to differ: give each sample its own.
		e.rmsg = make([]unique.Handle[string], n)
		for k := range int(e.rlen) {
			e.rmsg[(int(e.rhead)+k)%n] = prev
		}
	}
	var i int
	if int(e.rlen) < n {
		i = (int(e.rhead) + int(e.rlen)) % n
		e.rlen++
	} else {
		i = int(e.rhead)
		e.rhead = uint16((i + 1) % n)
	}
	e.ring[i] = smp
	if e.rmsg == nil {
		return
	}
	e.rmsg[i] = msg
	// Every sample alike again (checked from the newest, so a mixed ring
	// is found out at its first differing sample): drop rmsg.
	for k := int(e.rlen) - 1; k >= 0; k-- {
		if e.rmsg[(int(e.rhead)+k)%n] != msg {
			return
		}
	}
	e.rmsg = nil
}

// sampleMsg returns the message of the k-th sample, oldest first.
func (e *entry) sampleMsg(k int) unique.Handle[string] {
	if e.rmsg == nil {
		return e.last.msg
	}
	return e.rmsg[(int(e.rhead)+k)%len(e.ring)]
}

// recordLocked applies one result to e's counters and recent results, and
// fills o.
func (s *Scheduler) recordLocked(e *entry, r run, start, end int64, res *probe.Result, o *Outcome) {
	// Share the message with the last result when unchanged, else intern
	// it, so a result's freshly built message string is not retained.
	msg := e.last.msg
	prevMsg := msg
	if last := msgValue(msg); e.lastAt != noTime && last == res.Message {
		res.Message = last
	} else {
		msg = intern(res.Message)
		res.Message = msg.Value()
	}
	e.checks++
	if !res.OK {
		e.failed++
	}
	e.lastAt = start
	e.last.set(res, msg)

	if s.recent > 0 {
		if e.ring == nil {
			e.ring = make([]sample, s.recent)
		}
		e.addSample(sample{at: start, latOK: e.last.latOK}, msg, prevMsg)
	}

	o.TargetID = e.id
	o.Kind = msgValue(e.kind)
	o.Due = s.at(r.due)
	o.Start = s.at(start)
	o.Lateness = time.Duration(start - r.due)
	o.Result = *res
	o.End = s.at(end)
	o.Schedule = e.schedule()
}

// Status is what the scheduler knows of one job.
type Status struct {
	ID string `json:"id"`
	// Mode is the mode of the next run.
	Mode Mode `json:"mode"`
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
	st.Mode = e.mode
	if e.lastAt != noTime {
		st.Last = e.last.result()
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
				Message: msgValue(e.sampleMsg(i)),
			}
		}
	}
}
