// Package silence owns silences: a time window in which a target, named by
// id or picked by a label selector, is known to be down on purpose (a
// maintenance, a deploy) and must not page anyone. A silence is one kind of
// replicated object (internal/objects, kind "silence"): written on any
// node, persisted in the store and gossiped to every node, shown on the
// targets it covers (silenced: true in their status) and honoured by
// notifications.
package silence

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/heckhq/heck/internal/objects"
	"github.com/heckhq/heck/internal/target"
)

// Limits on what a silence may hold.
const (
	MaxDuration  = 366 * 24 * time.Hour
	MaxReason    = 1024
	MaxCreatedBy = 128
	MaxSelector  = 16
)

// Silence is one silence. Exactly one of Target and Selector is set.
type Silence struct {
	ID string `json:"id"`
	// Target is the id of the one target silenced.
	Target string `json:"target,omitempty"`
	// Selector silences every target whose labels hold all of its pairs.
	Selector  map[string]string `json:"selector,omitempty"`
	Starts    time.Time         `json:"starts"`
	Ends      time.Time         `json:"ends"`
	Reason    string            `json:"reason"`
	CreatedBy string            `json:"created_by,omitempty"`
}

// Kind is the silence kind's registration: its name, validator and (JSON)
// codec.
var Kind = objects.Kind[Silence]{
	Name: "silence",
	Validate: func(key string, s Silence) error {
		if s.ID != key {
			return target.FieldError{Field: "id", Value: s.ID, Problem: fmt.Sprintf("does not match the key %q it is stored under", key),
				Fix: "store a silence under its own id"}
		}
		return s.Validate()
	},
}

// Collection is the replicated set of silences.
type Collection = objects.Collection[Silence]

// Active reports whether now falls in [Starts, Ends).
func (s *Silence) Active(now time.Time) bool {
	return !now.Before(s.Starts) && now.Before(s.Ends)
}

// Matches reports whether s names or selects the target, whatever the time.
func (s *Silence) Matches(spec *target.Spec) bool {
	if s.Target != "" {
		return s.Target == spec.ID
	}
	if len(s.Selector) == 0 {
		return false
	}
	for k, v := range s.Selector {
		if got, ok := spec.Labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// Covers reports whether s silences the target at now.
func (s *Silence) Covers(spec *target.Spec, now time.Time) bool {
	return s.Active(now) && s.Matches(spec)
}

// Retention is how long an expired silence stays listed (as Alertmanager
// keeps them, for whoever asks what was silenced last night) before every
// node deletes it.
const Retention = 5 * 24 * time.Hour

// Expired returns the ids of the silences that ended more than keep before
// now, to be deleted.
func Expired(ss []Silence, now time.Time, keep time.Duration) []string {
	var ids []string
	for i := range ss {
		if !ss[i].Ends.After(now.Add(-keep)) {
			ids = append(ids, ss[i].ID)
		}
	}
	return ids
}

// Covering reports whether any of ss silences the target at now.
func Covering(ss []Silence, spec *target.Spec, now time.Time) bool {
	for i := range ss {
		if ss[i].Covers(spec, now) {
			return true
		}
	}
	return false
}

// SelectorString renders the selector as k=v pairs joined by commas, sorted.
func (s *Silence) SelectorString() string {
	keys := make([]string, 0, len(s.Selector))
	for k := range s.Selector {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + s.Selector[k]
	}
	return strings.Join(parts, ",")
}

// Validate checks every field and reports every problem, each naming the
// field, the value and the fix.
func (s *Silence) Validate() error {
	var errs target.FieldErrors
	add := func(field, value, problem, fix string) {
		errs = append(errs, target.FieldError{Field: field, Value: value, Problem: problem, Fix: fix})
	}
	if !target.ValidID(s.ID) {
		add("id", s.ID, "is not a valid id", "use 1 to 128 letters, digits, '.', '_', ':' or '-', starting with a letter or digit")
	}
	switch {
	case s.Target == "" && len(s.Selector) == 0:
		add("target", "", "is missing, and so is selector", "name a target (--target ID) or select targets by label (--selector k=v)")
	case s.Target != "" && len(s.Selector) > 0:
		add("selector", s.SelectorString(), "is set together with target", "give either a target or a selector, not both")
	case s.Target != "" && !target.ValidID(s.Target):
		add("target", s.Target, "is not a valid target id", "use the id of a target (heck targets ls)")
	}
	if len(s.Selector) > MaxSelector {
		add("selector", s.SelectorString(), fmt.Sprintf("has %d pairs", len(s.Selector)), fmt.Sprintf("use at most %d", MaxSelector))
	}
	for k, v := range s.Selector {
		if k == "" || strings.ContainsAny(k, "=,") || strings.ContainsAny(v, ",") {
			add("selector", k+"="+v, "is not a label pair", "write key=value, keys without '=' or ',', values without ','")
		}
	}
	switch {
	case s.Starts.IsZero():
		add("starts", "", "is missing", "give the time the silence starts")
	case s.Ends.IsZero():
		add("ends", "", "is missing", "give the time the silence ends, or a duration (--for 2h)")
	case !s.Ends.After(s.Starts):
		add("ends", s.Ends.Format(time.RFC3339), "is not after starts "+s.Starts.Format(time.RFC3339), "end the silence after it starts")
	case s.Ends.Sub(s.Starts) > MaxDuration:
		add("ends", s.Ends.Format(time.RFC3339), "is more than a year after starts", "silence for at most 366 days")
	}
	if strings.TrimSpace(s.Reason) == "" {
		add("reason", "", "is missing", "say why the target is silenced (--reason TEXT)")
	} else if len(s.Reason) > MaxReason {
		add("reason", s.Reason[:32]+"...", fmt.Sprintf("is %d bytes long", len(s.Reason)), fmt.Sprintf("keep it under %d bytes", MaxReason))
	}
	if len(s.CreatedBy) > MaxCreatedBy {
		add("created_by", s.CreatedBy[:32]+"...", fmt.Sprintf("is %d bytes long", len(s.CreatedBy)), fmt.Sprintf("keep it under %d bytes", MaxCreatedBy))
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// ParseSelector parses "k=v" pairs joined by commas ("env=prod,team=db").
func ParseSelector(s string) (map[string]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	out := map[string]string{}
	for _, pair := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(pair), "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, target.FieldError{Field: "selector", Value: s, Problem: fmt.Sprintf("has %q, which is not a label pair", pair),
				Fix: "write key=value pairs joined by commas, e.g. env=prod,team=db"}
		}
		out[k] = strings.TrimSpace(v)
	}
	return out, nil
}

// Request is what a user asks for when adding a silence: the window is
// Starts (now when zero) to Ends, or Starts plus For.
type Request struct {
	Target    string    `json:"target,omitempty"`
	Selector  string    `json:"selector,omitempty"`
	Starts    time.Time `json:"starts,omitempty"`
	Ends      time.Time `json:"ends,omitempty"`
	For       string    `json:"for,omitempty"` // a Go duration: "2h", "30m"
	Reason    string    `json:"reason"`
	CreatedBy string    `json:"created_by,omitempty"`
}

// Build turns a request into a validated silence with a new id.
func Build(req Request, now time.Time) (Silence, error) {
	s := Silence{ID: NewID(), Target: req.Target, Starts: req.Starts, Ends: req.Ends, Reason: req.Reason, CreatedBy: req.CreatedBy}
	sel, err := ParseSelector(req.Selector)
	if err != nil {
		if fes, ok := target.AsFieldErrors(err); ok {
			return Silence{}, fes
		}
		return Silence{}, err
	}
	s.Selector = sel
	if s.Starts.IsZero() {
		s.Starts = now
	}
	s.Starts = s.Starts.UTC().Truncate(time.Second)
	if req.For != "" {
		if !req.Ends.IsZero() {
			return Silence{}, target.FieldErrors{{Field: "for", Value: req.For, Problem: "is set together with ends", Fix: "give either a duration or an end time"}}
		}
		d, err := time.ParseDuration(req.For)
		if err != nil || d <= 0 {
			return Silence{}, target.FieldErrors{{Field: "for", Value: req.For, Problem: "is not a positive duration", Fix: "write a duration such as 30m, 2h or 72h"}}
		}
		s.Ends = s.Starts.Add(d)
	}
	s.Ends = s.Ends.UTC()
	if err := s.Validate(); err != nil {
		return Silence{}, err
	}
	return s, nil
}

// NewID returns a fresh random silence id ("s-" and 12 hex digits).
func NewID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "s-" + hex.EncodeToString(b[:])
}
