// Package judge owns the state of each target this node judges: the
// rise/fall state machine with HAProxy semantics, fed by results from any
// source (probe outcomes now; heartbeat pings, dependency verdicts and
// flap detection are further sources of the same Input). The scheduler only
// times and runs probes; what a result means for a target's state is
// decided here, in one place.
//
// From unknown, Rise consecutive successes take a target up and Fall
// consecutive failures take it down; up needs Fall consecutive failures to
// go down, down needs Rise consecutive successes to go up. A change records
// when it happened and the message of the result that tipped it. An Input
// may also carry a State of its own (a source that judges for itself, such
// as a dependency verdict that says impacted): it then sets the state at
// once, without counting.
package judge

import (
	"hash/maphash"
	"math"
	"sync"
	"time"
	"unique"

	"github.com/heckhq/heck/internal/health"
)

// Rule is how consecutive results move a target's state.
type Rule struct {
	Rise, Fall int
}

// Input is one result for a target.
type Input struct {
	OK bool
	// At is when the result was known (the end of a probe): the time a
	// state it tips begins.
	At      time.Time
	Message string
	// State, when not Unknown, is a state the source decided itself; it
	// replaces the target's state at once (rise and fall do not apply).
	State health.State
}

// Verdict is a target's state after a result.
type Verdict struct {
	State health.State
	// Prev is the state before the result; Changed is State != Prev.
	Prev    health.State
	Changed bool
	// Since is when State began; Cause the message of the result that
	// tipped it ("" if it never changed here).
	Since time.Time
	Cause string
	// Successes and Failures are the consecutive counts (one is zero),
	// saturating at 255.
	Successes, Failures int
	// ErrorRate is the share of recent results that failed (0..1), an
	// exponentially weighted average over about the last 16.
	ErrorRate float64
}

// Pending reports whether the state may be about to change: unknown, or
// up or down while the last result disagrees. Schedulers probe faster
// then.
func (v *Verdict) Pending() bool {
	switch v.State {
	case health.Unknown:
		return true
	case health.Up:
		return v.Failures > 0
	case health.Down:
		return v.Successes > 0
	}
	return false
}

const numShards = 64

// Judge holds the state machines. Safe for concurrent use; results for
// different targets are judged in parallel.
type Judge struct {
	seed   maphash.Seed
	shards [numShards]shard
}

type shard struct {
	mu sync.Mutex
	m  map[string]machine
	_  [40]byte // keep shards on separate cache lines
}

// machine is one target's state, 24 bytes held in the map itself: every
// judged target has one. Rise and fall are at most target.MaxRiseFall
// (100); the counters saturate at 255 (only a count up to rise or fall, or
// an outlier test's few consecutive failures, decides anything). errs is
// the recent error rate, an exponentially weighted average of failed
// results over about the last 16 (errAlpha), in units of 1/65535.
type machine struct {
	rise, fall uint8
	succ, fail uint8
	state      health.State
	errs       uint16
	since      int64 // unix ns
	cause      unique.Handle[string]
}

// errShift sets the error rate's smoothing: each result moves it by
// 1/2^errShift of the way to 0 or 1, a window of about 16 results.
const errShift = 4

// noteResult moves the error rate towards failed.
func (m *machine) noteResult(failed bool) {
	e := int32(m.errs)
	if failed {
		e += (math.MaxUint16 - e + (1<<errShift - 1)) >> errShift
	} else {
		e -= (e + (1<<errShift - 1)) >> errShift
	}
	m.errs = uint16(min(max(e, 0), math.MaxUint16))
}

// threshold clamps a rise or fall count to 1..255.
func threshold(n int) uint8 { return uint8(min(max(n, 1), math.MaxUint8)) }

// bump adds one to a counter, saturating.
func bump(n uint8) uint8 {
	if n == math.MaxUint8 {
		return n
	}
	return n + 1
}

// New returns a judge with no targets.
func New() *Judge {
	j := &Judge{seed: maphash.MakeSeed()}
	for i := range j.shards {
		j.shards[i].m = map[string]machine{}
	}
	return j
}

func (j *Judge) shard(id string) *shard {
	return &j.shards[maphash.String(j.seed, id)%numShards]
}

// Set starts judging id under rule from state initial since since (the
// last known state, when taking a target over from another node; Unknown
// otherwise), or, when id is judged already, changes only its rule.
func (j *Judge) Set(id string, rule Rule, initial health.State, since time.Time) {
	sh := j.shard(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if m, ok := sh.m[id]; ok {
		m.rise, m.fall = threshold(rule.Rise), threshold(rule.Fall)
		sh.m[id] = m
		return
	}
	sh.m[id] = machine{rise: threshold(rule.Rise), fall: threshold(rule.Fall), state: initial, since: since.UnixNano()}
}

// Remove stops judging id.
func (j *Judge) Remove(id string) {
	sh := j.shard(id)
	sh.mu.Lock()
	delete(sh.m, id)
	sh.mu.Unlock()
}

// Observe judges one result of id and returns the verdict. When the state
// changes, changed (if not nil) is called with the verdict before any
// reader can see the new state (Status and Each wait for it), so whatever
// it records about the change is there when the state shows. changed must
// not call back into the judge. A result for a target that is not judged
// (removed meanwhile) returns false.
func (j *Judge) Observe(id string, in Input, changed func(Verdict)) (Verdict, bool) {
	sh := j.shard(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	m, ok := sh.m[id]
	if !ok {
		return Verdict{}, false
	}
	defer func() { sh.m[id] = m }()
	prev := m.state
	switch {
	case in.State != health.Unknown:
		m.succ, m.fail = 0, 0
		m.state = in.State
	case in.OK:
		m.noteResult(false)
		m.succ = bump(m.succ)
		m.fail = 0
		if m.state != health.Up && m.succ >= m.rise {
			m.state = health.Up
		}
	default:
		m.noteResult(true)
		m.fail = bump(m.fail)
		m.succ = 0
		if m.state != health.Down && m.fail >= m.fall {
			m.state = health.Down
		}
	}
	if m.state != prev {
		m.since = in.At.UnixNano()
		m.cause = unique.Make(in.Message)
	}
	v := m.verdict()
	v.Prev, v.Changed = prev, m.state != prev
	if v.Changed && changed != nil {
		changed(v)
	}
	return v, true
}

func (m *machine) verdict() Verdict {
	v := Verdict{State: m.state, Prev: m.state, Successes: int(m.succ), Failures: int(m.fail),
		ErrorRate: float64(m.errs) / math.MaxUint16}
	if m.since != 0 {
		v.Since = time.Unix(0, m.since)
	}
	if m.cause != (unique.Handle[string]{}) {
		v.Cause = m.cause.Value()
	}
	return v
}

// Status returns id's current verdict.
func (j *Judge) Status(id string) (Verdict, bool) {
	sh := j.shard(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	m, ok := sh.m[id]
	if !ok {
		return Verdict{}, false
	}
	return m.verdict(), true
}

// Each calls fn with every judged target's verdict, a shard at a time
// (never holding a lock while fn runs), until fn returns false.
func (j *Judge) Each(fn func(id string, v Verdict) bool) {
	type item struct {
		id string
		v  Verdict
	}
	var buf []item
	for i := range j.shards {
		sh := &j.shards[i]
		buf = buf[:0]
		sh.mu.Lock()
		for id, m := range sh.m {
			buf = append(buf, item{id, m.verdict()})
		}
		sh.mu.Unlock()
		for _, it := range buf {
			if !fn(it.id, it.v) {
				return
			}
		}
	}
}

// Len returns how many targets are judged.
func (j *Judge) Len() int {
	n := 0
	for i := range j.shards {
		sh := &j.shards[i]
		sh.mu.Lock()
		n += len(sh.m)
		sh.mu.Unlock()
	}
	return n
}
