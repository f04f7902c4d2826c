// Package maintenance owns maintenance windows: planned times, one-off or
// recurring (daily, or weekly on chosen days, in a time zone), in which
// targets named by id or picked by a label selector are expected to be
// down. Inside a window notifications are held, as for a silence, and
// status pages show the maintenance. A window is a replicated kind
// (internal/objects, kind "maintenance"), written in config or through the
// API and known to every node.
package maintenance

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
	// The binary carries the time zone database: windows in a zone work
	// on hosts (and containers) without tzdata.
	_ "time/tzdata"

	"github.com/heckhq/heck/internal/objects"
	"github.com/heckhq/heck/internal/target"
)

// Repeats.
const (
	Once   = ""
	Daily  = "daily"
	Weekly = "weekly"
)

// MaxDuration bounds one occurrence; a recurring one is at most a day
// (longer would overlap the next).
const MaxDuration = 31 * 24 * time.Hour

// Window is one maintenance window.
type Window struct {
	ID    string `json:"id" yaml:"id"`
	Title string `json:"title,omitempty" yaml:"title,omitempty"`
	// Targets and Selector say what is under maintenance: the union of the
	// ids and of every target whose labels hold all pairs of Selector.
	Targets  []string          `json:"targets,omitempty" yaml:"targets,omitempty"`
	Selector map[string]string `json:"selector,omitempty" yaml:"selector,omitempty"`
	// Start is the first occurrence's start; its wall-clock time in
	// TimeZone is when every later occurrence starts.
	Start    time.Time       `json:"start" yaml:"start"`
	Duration target.Duration `json:"duration" yaml:"duration"`
	// Repeat is "" (once), "daily" or "weekly" (on Days, default the
	// start's weekday).
	Repeat string   `json:"repeat,omitempty" yaml:"repeat,omitempty"`
	Days   []string `json:"days,omitempty" yaml:"days,omitempty"`
	// TimeZone is an IANA name ("Europe/Paris"; default UTC): a daily
	// 02:00 stays at 02:00 local time across daylight saving changes.
	TimeZone string `json:"time_zone,omitempty" yaml:"time_zone,omitempty"`
	// Until ends the recurrence (zero: never).
	Until  time.Time `json:"until,omitzero" yaml:"until,omitempty"`
	Reason string    `json:"reason,omitempty" yaml:"reason,omitempty"`
}

// Kind is the registration of maintenance windows.
var Kind = objects.Kind[Window]{
	Name: "maintenance",
	Validate: func(key string, w Window) error {
		if w.ID != key {
			return target.FieldError{Field: "id", Value: w.ID, Problem: fmt.Sprintf("does not match the key %q it is stored under", key),
				Fix: "store a window under its own id"}
		}
		return w.Validate()
	},
}

// Collection is the replicated set of maintenance windows.
type Collection = objects.Collection[Window]

var dayNames = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

func (w *Window) location() *time.Location {
	if w.TimeZone == "" {
		return time.UTC
	}
	loc, err := time.LoadLocation(w.TimeZone)
	if err != nil {
		return time.UTC // refused by Validate; never here in practice
	}
	return loc
}

// Validate reports every problem, each naming the field, the value and
// the fix.
func (w *Window) Validate() error {
	var errs target.FieldErrors
	add := func(field, value, problem, fix string) {
		errs = append(errs, target.FieldError{Field: field, Value: value, Problem: problem, Fix: fix})
	}
	if !target.ValidID(w.ID) {
		add("id", w.ID, "is not a valid id", "use 1 to 128 letters, digits, '.', '_', ':' or '-'")
	}
	if len(w.Targets) == 0 && len(w.Selector) == 0 {
		add("targets", "", "is empty, and so is selector", "name the targets (targets: [id]) or select them by label (selector: {k: v})")
	}
	for i, id := range w.Targets {
		if !target.ValidID(id) {
			add(fmt.Sprintf("targets[%d]", i), id, "is not a valid target id", "use the id of a target (heck targets ls)")
		}
	}
	if w.Start.IsZero() {
		add("start", "", "is missing", "give the first start as an RFC 3339 time, such as 2026-12-13T02:00:00+01:00")
	}
	maxD := MaxDuration
	if w.Repeat != Once {
		maxD = 24 * time.Hour
	}
	if d := w.Duration.D(); d <= 0 || d > maxD {
		add("duration", w.Duration.String(), "is out of range", fmt.Sprintf("give a duration from 1s to %s (a recurring window at most a day)", maxD))
	}
	switch w.Repeat {
	case Once, Daily:
		if len(w.Days) > 0 {
			add("days", strings.Join(w.Days, ","), "only applies to a weekly window", "set repeat: weekly, or remove days")
		}
	case Weekly:
		for i, d := range w.Days {
			if !slices.Contains(dayNames, strings.ToLower(d)) {
				add(fmt.Sprintf("days[%d]", i), d, "is not a weekday", "use sun, mon, tue, wed, thu, fri or sat")
			}
		}
	default:
		add("repeat", w.Repeat, "is not a repeat", `use "" (once), daily or weekly`)
	}
	if w.TimeZone != "" {
		if _, err := time.LoadLocation(w.TimeZone); err != nil {
			add("time_zone", w.TimeZone, "is not a known time zone", "use an IANA name such as Europe/Paris or America/New_York, or leave it out for UTC")
		}
	}
	if !w.Until.IsZero() && !w.Until.After(w.Start) {
		add("until", w.Until.Format(time.RFC3339), "is not after start", "end the recurrence after the first start, or leave until out")
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// Matches reports whether the window covers the target, whatever the time.
func (w *Window) Matches(spec *target.Spec) bool {
	if slices.Contains(w.Targets, spec.ID) {
		return true
	}
	if len(w.Selector) == 0 {
		return false
	}
	for k, v := range w.Selector {
		if got, ok := spec.Labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// onDay reports whether an occurrence starts on the given local date.
func (w *Window) onDay(day time.Time) bool {
	if w.Repeat != Weekly {
		return true
	}
	days := w.Days
	if len(days) == 0 {
		days = []string{dayNames[w.Start.In(w.location()).Weekday()]}
	}
	for _, d := range days {
		if strings.EqualFold(d, dayNames[day.Weekday()]) {
			return true
		}
	}
	return false
}

// occurrence returns the start of the occurrence on the local date of day.
func (w *Window) occurrence(day time.Time) time.Time {
	loc := w.location()
	s := w.Start.In(loc)
	y, m, d := day.In(loc).Date()
	return time.Date(y, m, d, s.Hour(), s.Minute(), s.Second(), s.Nanosecond(), loc)
}

// Current returns the occurrence in force at now, if any: its start and
// end.
func (w *Window) Current(now time.Time) (start, end time.Time, ok bool) {
	d := w.Duration.D()
	if w.Repeat == Once {
		return w.Start, w.Start.Add(d), !now.Before(w.Start) && now.Before(w.Start.Add(d))
	}
	if now.Before(w.Start) {
		return time.Time{}, time.Time{}, false
	}
	loc := w.location()
	today := now.In(loc)
	// An occurrence of at most a day in force now began today or yesterday.
	for _, day := range []time.Time{today, today.AddDate(0, 0, -1)} {
		if !w.onDay(day) {
			continue
		}
		s := w.occurrence(day)
		if s.Before(w.Start) || !w.Until.IsZero() && !s.Before(w.Until) {
			continue
		}
		if !now.Before(s) && now.Before(s.Add(d)) {
			return s, s.Add(d), true
		}
	}
	return time.Time{}, time.Time{}, false
}

// Active reports whether an occurrence is in force at now.
func (w *Window) Active(now time.Time) bool {
	_, _, ok := w.Current(now)
	return ok
}

// Next returns the start of the next occurrence beginning after now, if
// there is one (for status pages' "scheduled maintenance").
func (w *Window) Next(now time.Time) (time.Time, bool) {
	if w.Repeat == Once {
		return w.Start, w.Start.After(now)
	}
	loc := w.location()
	day := now.In(loc)
	if w.Start.After(now) {
		day = w.Start.In(loc)
	}
	for range 8 { // a weekly window starts within 7 days
		if w.onDay(day) {
			s := w.occurrence(day)
			if s.After(now) && !s.Before(w.Start) {
				if !w.Until.IsZero() && !s.Before(w.Until) {
					return time.Time{}, false
				}
				return s, true
			}
		}
		day = day.AddDate(0, 0, 1)
	}
	return time.Time{}, false
}

// Covering reports whether a window in force at now covers the target.
func Covering(ws []Window, spec *target.Spec, now time.Time) bool {
	for i := range ws {
		if ws[i].Matches(spec) && ws[i].Active(now) {
			return true
		}
	}
	return false
}

// Sorted returns ws by id.
func Sorted(ws []Window) []Window {
	out := slices.Clone(ws)
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
