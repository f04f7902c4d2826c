package target

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Built-in defaults and limits of a target's schedule. The defaults follow
// HAProxy (rise 2, fall 3) and the kubelet (10 s period). Bounds holds
// them per field, with the range each field allows; everything that fills
// or checks a schedule (config load, the API, the node, the scheduler)
// reads them from there.
const (
	DefaultInterval = 10 * time.Second
	DefaultTimeout  = 2 * time.Second
	DefaultRise     = 2
	DefaultFall     = 3
	// MinInterval is the shortest interval (and fast or down interval)
	// accepted.
	MinInterval = 100 * time.Millisecond
	// MaxInterval is the longest interval, and the longest duration of any
	// schedule field.
	MaxInterval = 24 * time.Hour
	// MinTimeout is the shortest probe timeout accepted.
	MinTimeout = time.Millisecond
	// MaxRiseFall bounds rise and fall.
	MaxRiseFall = 100
)

// Bound is the built-in default and the allowed range of one schedule
// field. Min and Max are inclusive, in nanoseconds for a duration.
type Bound struct {
	// Key is the field's name in YAML and JSON ("interval").
	Key string
	// Duration tells a duration (Min, Max in nanoseconds) from a count.
	Duration bool
	// Default says what an unset field becomes ("10s", "the interval").
	Default string
	// Min and Max are the allowed range, both included.
	Min, Max int64
	// ZeroIsDefault: zero stands for "use the default" (so a zero written
	// out is an error); otherwise zero is a value of its own (no jitter).
	ZeroIsDefault bool
	// what names the value in a fix ("an interval"); after adds a
	// condition to the range (", below the interval").
	what, after string
	get         func(*Schedule) int64
}

// Bounds is the one table of the schedule's defaults and limits, in the
// order fields are documented and checked.
var Bounds = []Bound{
	{Key: "interval", Duration: true, Default: DefaultInterval.String(), Min: int64(MinInterval), Max: int64(MaxInterval), ZeroIsDefault: true,
		what: "an interval from ", get: func(s *Schedule) int64 { return int64(s.Interval) }},
	{Key: "timeout", Duration: true, Default: DefaultTimeout.String() + ", or 80% of the interval when that is shorter",
		Min: int64(MinTimeout), Max: int64(MaxInterval), ZeroIsDefault: true,
		what: "a timeout from ", after: ", below the interval", get: func(s *Schedule) int64 { return int64(s.Timeout) }},
	{Key: "rise", Default: strconv.Itoa(DefaultRise), Min: 1, Max: MaxRiseFall, ZeroIsDefault: true,
		after: " consecutive successes", get: func(s *Schedule) int64 { return int64(s.Rise) }},
	{Key: "fall", Default: strconv.Itoa(DefaultFall), Min: 1, Max: MaxRiseFall, ZeroIsDefault: true,
		after: " consecutive failures", get: func(s *Schedule) int64 { return int64(s.Fall) }},
	{Key: "initial_delay", Duration: true, Default: "0s", Min: 0, Max: int64(MaxInterval),
		what: "an initial delay from ", get: func(s *Schedule) int64 { return int64(s.InitialDelay) }},
	{Key: "jitter", Duration: true, Default: "0s", Min: 0, Max: int64(MaxInterval),
		what: "a jitter from ", after: ", below the interval", get: func(s *Schedule) int64 { return int64(s.Jitter) }},
	{Key: "fast_interval", Duration: true, Default: "the interval", Min: int64(MinInterval), Max: int64(MaxInterval), ZeroIsDefault: true,
		after: ", or leave it out to use the interval", get: func(s *Schedule) int64 { return int64(s.FastInterval) }},
	{Key: "down_interval", Duration: true, Default: "the interval", Min: int64(MinInterval), Max: int64(MaxInterval), ZeroIsDefault: true,
		after: ", or leave it out to use the interval", get: func(s *Schedule) int64 { return int64(s.DownInterval) }},
}

// BoundOf returns the bound of the schedule field key.
func BoundOf(key string) (Bound, bool) {
	for _, b := range Bounds {
		if b.Key == key {
			return b, true
		}
	}
	return Bound{}, false
}

// Value returns the field's value in s, in nanoseconds for a duration.
func (b Bound) Value(s *Schedule) int64 { return b.get(s) }

// Format writes v as the field's values are written ("1s", "3").
func (b Bound) Format(v int64) string {
	if b.Duration {
		return formatDuration(time.Duration(v))
	}
	return strconv.FormatInt(v, 10)
}

// Range says the allowed range, such as "100ms to 24h".
func (b Bound) Range() string { return b.Format(b.Min) + " to " + b.Format(b.Max) }

// Fix says how to write the field right, naming the range.
func (b Bound) Fix() string { return "set " + b.what + b.Range() + b.after }

// Check reports v when it is outside the range, naming the field, the
// value and the range. A zero of a ZeroIsDefault field is the default, so
// it is fine unless the user wrote it out (writtenZero).
func (b Bound) Check(v int64, writtenZero bool) *FieldError {
	if v == 0 && b.ZeroIsDefault && !writtenZero {
		return nil
	}
	if v >= b.Min && v <= b.Max {
		return nil
	}
	problem := "is out of range"
	if b.Duration {
		switch {
		case v < 0 && b.Min == 0:
			problem = "is negative"
		case v < b.Min:
			problem = "is too short"
		default:
			problem = "is too long"
		}
	}
	return &FieldError{Field: b.Key, Value: b.Format(v), Problem: problem, Fix: b.Fix()}
}

// formatDuration writes whole hours and minutes without the zero tail of
// time.Duration.String ("24h", not "24h0m0s").
func formatDuration(d time.Duration) string {
	s := d.String()
	if d != 0 && d%time.Minute == 0 {
		s = strings.TrimSuffix(s, "0s")
		if d%time.Hour == 0 {
			s = strings.TrimSuffix(s, "0m")
		}
	}
	return s
}

// Resolved reports whether every field whose zero means "use the default"
// is set: the schedule has been through Resolve. Specs in the registry are
// resolved; one that is not came from a node older than this rule.
func (s *Schedule) Resolved() bool {
	return s.Interval != 0 && s.Timeout != 0 && s.Rise != 0 && s.Fall != 0 && s.FastInterval != 0 && s.DownInterval != 0
}

// Resolve is the one function that fills a schedule's defaults. It returns
// s with every field it leaves unset taken from defaults (a config's
// `defaults:` block; the zero Schedule for none), and what is still unset
// then from the built-in defaults of Bounds: interval 10s, timeout 2s or
// 80% of the interval when that is shorter, rise 2, fall 3, fast and down
// interval the interval, initial delay and jitter 0.
//
// A value of defaults that does not fit the target's own schedule yields
// to the built-in default rather than make the target invalid: a timeout
// not below the interval, a jitter not below the interval, a fast or down
// interval not above the timeout.
//
// written, when the source knows it, reports the keys the target writes
// out; those keep their value, zero included (see Fill). Resolve is
// idempotent: a resolved schedule (Resolved) is returned as it is,
// whatever defaults, so its initial delay and jitter of 0 stay 0. (A spec
// that writes every field whose zero means the default is resolved as
// written: the defaults' initial delay and jitter do not apply to it.)
func (s Schedule) Resolve(defaults Schedule, written func(key string) bool) Schedule {
	if s.Resolved() {
		// Its zero initial delay or jitter is a value by now, not "unset".
		return s
	}
	s.Fill(defaults, written)
	if s.Interval == 0 {
		s.Interval = Duration(DefaultInterval)
	}
	if s.Timeout == 0 {
		s.Timeout = Duration(defaultTimeout(s.Interval.D()))
	}
	if s.Rise == 0 {
		s.Rise = DefaultRise
	}
	if s.Fall == 0 {
		s.Fall = DefaultFall
	}
	if s.FastInterval == 0 {
		s.FastInterval = s.Interval
	}
	if s.DownInterval == 0 {
		s.DownInterval = s.Interval
	}
	return s
}

// defaultTimeout is the built-in timeout for an interval: 2s, or 80% of
// the interval when that is shorter.
func defaultTimeout(interval time.Duration) time.Duration {
	return min(DefaultTimeout, interval*8/10)
}

// Fill sets every zero field of s from d, except the keys for which
// written reports true (a zero a user wrote out stays zero, for validation
// to judge). A nil written fills every zero field. A value of d that does
// not fit s's own schedule is not taken (see Resolve), so that the
// built-in default applies. Fill is the first step of Resolve; config
// load runs it alone to validate a target as its file and `defaults:`
// block say, before Resolve.
func (s *Schedule) Fill(d Schedule, written func(key string) bool) {
	own := *s
	fill := func(key string) bool { return written == nil || !written(key) }
	dur := func(key string, v *Duration, dv Duration) {
		if *v == 0 && fill(key) {
			*v = dv
		}
	}
	dur("initial_delay", &s.InitialDelay, d.InitialDelay)
	dur("interval", &s.Interval, d.Interval)
	dur("timeout", &s.Timeout, d.Timeout)
	dur("jitter", &s.Jitter, d.Jitter)
	dur("fast_interval", &s.FastInterval, d.FastInterval)
	dur("down_interval", &s.DownInterval, d.DownInterval)
	if s.Rise == 0 && fill("rise") {
		s.Rise = d.Rise
	}
	if s.Fall == 0 && fill("fall") {
		s.Fall = d.Fall
	}
	// The schedule as it will run, to judge what came from d against.
	interval := s.Interval.D()
	if interval == 0 {
		interval = DefaultInterval
	}
	if interval < 0 {
		return // invalid: validation reports it; nothing to fit against
	}
	if own.Timeout == 0 && s.Timeout != 0 && s.Timeout.D() >= interval {
		s.Timeout = 0
	}
	if own.Jitter == 0 && s.Jitter != 0 && s.Jitter.D() >= interval {
		s.Jitter = 0
	}
	timeout := s.Timeout.D()
	if timeout == 0 {
		timeout = defaultTimeout(interval)
	}
	if own.FastInterval == 0 && s.FastInterval != 0 && s.FastInterval.D() <= timeout {
		s.FastInterval = 0
	}
	if own.DownInterval == 0 && s.DownInterval != 0 && s.DownInterval.D() <= timeout {
		s.DownInterval = 0
	}
}

// Runnable reports the first field of a resolved schedule that no
// scheduler can run: a duration not above zero (initial delay and jitter:
// negative) or over its bound's Max, a rise or fall outside its range.
// It is looser than validation, which also holds durations to their
// bound's Min: the scheduler runs what it is given (tests and benchmarks
// run faster than users may ask for), but never a schedule that would
// spin or overflow.
func (s *Schedule) Runnable() error {
	for _, b := range Bounds {
		v := b.get(s)
		lo := b.Min
		if b.Duration && b.Min > 0 {
			lo = 1
		}
		if v < lo || v > b.Max {
			r := b.Format(lo) + " to " + b.Format(b.Max)
			if b.Duration && lo == 1 {
				r = "above 0 and at most " + b.Format(b.Max)
			}
			return fmt.Errorf("%s %s: must be %s", b.Key, b.Format(v), r)
		}
	}
	return nil
}
