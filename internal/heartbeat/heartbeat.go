// Package heartbeat owns push targets: hosts and jobs that check in with
// heck (POST /ping/TOKEN) instead of being probed. It defines what a ping
// records, the replicated kind that carries the latest pings of every
// target to every node (kind "ping"), the rule that turns the latest ping
// into a state (up while pings arrive on time, late once the period and
// grace pass, down after fail_after more or at once on a failure ping),
// and the prober the target's owner schedules to apply that rule, so the
// verdict comes from one judge like any other target's.
//
// Any node accepts a ping: it is recorded locally at once and flushed to
// the replicated collection in batches (Buffer), so a burst of pings costs
// one store write and one broadcast per flush, not per ping.
package heartbeat

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/objects"
	"github.com/heckhq/heck/internal/probe"
	"github.com/heckhq/heck/internal/target"
)

// Ping kinds.
const (
	// Success is a plain ping (/ping/TOKEN): the job ran, or the host is
	// alive.
	Success = "success"
	// Start marks a job's start (/ping/TOKEN/start): the time to its next
	// success is its duration.
	Start = "start"
	// Fail reports a failure (/ping/TOKEN/fail, or a non-zero exit code).
	Fail = "fail"
)

// MaxBody is how much of a ping's body is kept (the tail: a job's output
// ends with what matters).
const MaxBody = 10 << 10

// Ping is the latest check-in of a target, as replicated.
type Ping struct {
	Target string    `json:"target"`
	At     time.Time `json:"at"`
	// Kind is success, start or fail.
	Kind string `json:"kind"`
	// ExitCode is the job's exit code when the ping gave one (-1: none).
	ExitCode int `json:"exit_code"`
	// Body is the tail of the ping's body, at most MaxBody bytes.
	Body string `json:"body,omitempty"`
	// Node is the node that took the ping; Source the client's address.
	Node   string `json:"node"`
	Source string `json:"source,omitempty"`
	// Started is the last start ping before this one (zero if none) and
	// Duration the time from it to this ping, for a success or failure
	// that ends a started run.
	Started  time.Time     `json:"started,omitzero"`
	Duration time.Duration `json:"duration,omitempty"`
}

// Kind is the registration of pings as replicated objects, keyed by target
// id: the latest ping of each target wins everywhere.
var Kind = objects.Kind[Ping]{
	Name: "ping",
	Validate: func(key string, p Ping) error {
		switch {
		case key != p.Target || !target.ValidID(p.Target):
			return target.FieldError{Field: "ping.target", Value: key, Problem: "does not name the target it is stored under", Fix: "key a ping by its target's id"}
		case p.Kind != Success && p.Kind != Start && p.Kind != Fail:
			return target.FieldError{Field: "ping.kind", Value: p.Kind, Problem: "is not a ping kind", Fix: "use success, start or fail"}
		case len(p.Body) > MaxBody:
			return target.FieldError{Field: "ping.body", Value: strconv.Itoa(len(p.Body)) + " bytes", Problem: "is too long", Fix: fmt.Sprintf("keep at most %d bytes", MaxBody)}
		}
		return nil
	},
}

// Collection is the replicated set of latest pings.
type Collection = objects.Collection[Ping]

// ParseAction reads what follows /ping/TOKEN: "" (success), "start",
// "fail" or an exit code ("0" is a success, any other a failure).
func ParseAction(s string) (kind string, exitCode int, err error) {
	switch s {
	case "":
		return Success, -1, nil
	case Start:
		return Start, -1, nil
	case Fail:
		return Fail, -1, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 255 {
		return "", 0, fmt.Errorf("%q is not start, fail or an exit code from 0 to 255", s)
	}
	if n == 0 {
		return Success, 0, nil
	}
	return Fail, n, nil
}

// Tail keeps the last MaxBody bytes of b, cut at a UTF-8 boundary.
func Tail(b []byte) string {
	if len(b) <= MaxBody {
		return string(b)
	}
	b = b[len(b)-MaxBody:]
	for i := 0; i < len(b) && i < 4; i++ {
		if b[i]&0xC0 != 0x80 { // not a continuation byte
			return string(b[i:])
		}
	}
	return string(b)
}

// NewToken returns a fresh unguessable token: 20 random bytes in base32
// (32 characters, 160 bits).
func NewToken() string {
	var b [20]byte
	_, _ = rand.Read(b[:])
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

// Verdict is the state of a heartbeat target at now, given its latest
// ping (nil: none yet) and since, when heck started watching it (a target
// that never pings is late once period and grace pass from then).
func Verdict(h *target.HeartbeatOptions, last *Ping, since, now time.Time) (health.State, string) {
	grace, failAfter := h.GraceOrDefault(), h.FailAfterOrDefault()
	ref, what := since, "no ping yet"
	due := next(h, since).Add(grace)
	if last != nil {
		if last.Kind == Fail {
			msg := "failure ping"
			if last.ExitCode > 0 {
				msg = fmt.Sprintf("exit code %d", last.ExitCode)
			}
			if t := lastLine(last.Body); t != "" {
				msg += ": " + t
			}
			return health.Down, msg
		}
		ref, what = last.At, "last ping "+last.At.UTC().Format(time.RFC3339)
		due = next(h, ref).Add(grace)
		if last.Kind == Start {
			// A run in progress must finish within the grace.
			what = "started " + last.At.UTC().Format(time.RFC3339)
			due = ref.Add(grace)
		}
	}
	if last == nil && since.IsZero() {
		return health.Unknown, what
	}
	switch {
	case !now.After(due):
		if last == nil {
			return health.Unknown, what
		}
		return health.Up, fmt.Sprintf("on time (%s)", what)
	case now.After(due.Add(failAfter)):
		return health.Down, fmt.Sprintf("no ping for %s (%s; %s, grace %s, fail after %s)",
			now.Sub(ref).Round(time.Second), what, every(h), grace, failAfter)
	}
	return health.Late, fmt.Sprintf("late by %s (%s; %s, grace %s)", now.Sub(due).Round(time.Second), what, every(h), grace)
}

// next is when the ping after one at t is due: a period later, or the
// schedule's next time.
func next(h *target.HeartbeatOptions, t time.Time) time.Time {
	if h.Schedule != "" {
		if s, loc, err := h.Cron(); err == nil {
			return s.Next(t.In(loc))
		}
	}
	return t.Add(h.Period.D())
}

// every says how often pings are due.
func every(h *target.HeartbeatOptions) string {
	if h.Schedule != "" {
		tz := h.TimeZone
		if tz == "" {
			tz = "UTC"
		}
		return fmt.Sprintf("schedule %q %s", h.Schedule, tz)
	}
	return "period " + h.Period.String()
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// Lookup returns the latest ping of a target.
type Lookup interface {
	Get(targetID string) (Ping, bool)
}

// Prober applies Verdict when its owner schedules it: it is the target's
// "probe". Its result carries the state it decided (probe.Result.State),
// which replaces rise and fall.
type Prober struct {
	ID    string
	Opts  target.HeartbeatOptions
	Pings Lookup
	// Since is when watching began; Now reads the clock (time.Now when nil).
	Since time.Time
	Now   func() time.Time
}

// Probe implements probe.Prober.
func (p *Prober) Probe(context.Context) probe.Result {
	now := time.Now()
	if p.Now != nil {
		now = p.Now()
	}
	var last *Ping
	if x, ok := p.Pings.Get(p.ID); ok {
		last = &x
	}
	st, msg := Verdict(&p.Opts, last, p.Since, now)
	r := probe.Result{OK: st == health.Up || st == health.Unknown, Message: msg, State: st}
	if last != nil {
		r.Latency = last.Duration // a job's run time, when it pinged start
	}
	if !r.OK {
		r.Reason = probe.ReasonOther
	}
	return r
}
