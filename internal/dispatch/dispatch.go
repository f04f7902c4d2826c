// Package dispatch owns what turns the cluster's transitions into
// notifications: the routes from targets to notifiers, the message made of
// a transition, the delivery records that make a notification happen once
// across the cluster (a replicated kind, "delivery", keyed by the
// notification id: the transition's stable id and the notifier's), and the
// retry schedule of a delivery. The node runs it: only a target's primary
// owner delivers, and it records each delivery before and after sending,
// so an owner that takes over neither drops nor resends what was done.
package dispatch

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/heckhq/heck/internal/events"
	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/notify"
	"github.com/heckhq/heck/internal/objects"
	"github.com/heckhq/heck/internal/target"
)

// Route sends the transitions of the targets it matches to its notifiers.
// With no routes at all, every notifier gets every transition.
type Route struct {
	// Notifiers are the ids of the notifiers to send to.
	Notifiers []string `json:"notifiers" yaml:"notifiers"`
	// Match keeps targets whose labels hold all of its pairs (empty: all).
	Match map[string]string `json:"match,omitempty" yaml:"match,omitempty"`
	// Severity keeps messages of at least this severity: critical, warning
	// or info (default: all). Resolved messages follow the severity of
	// the message they resolve.
	Severity notify.Severity `json:"severity,omitempty" yaml:"severity,omitempty"`
	// Reminder repeats a firing notification while the target stays in
	// its state (0: never).
	Reminder target.Duration `json:"reminder,omitempty" yaml:"reminder,omitempty"`
}

// Validate checks a route against the notifiers known.
func (r *Route) Validate(known func(id string) bool) target.FieldErrors {
	var errs target.FieldErrors
	if len(r.Notifiers) == 0 {
		errs = append(errs, target.FieldError{Field: "notifiers", Problem: "is empty", Fix: "name the notifiers to send to (heck notifiers ls)"})
	}
	for i, id := range r.Notifiers {
		if known != nil && !known(id) {
			errs = append(errs, target.FieldError{Field: fmt.Sprintf("notifiers[%d]", i), Value: id, Problem: "is not a notifier",
				Fix: "name a notifier defined under notifiers:"})
		}
	}
	switch r.Severity {
	case "", notify.SeverityCritical, notify.SeverityWarning, notify.SeverityInfo:
	default:
		errs = append(errs, target.FieldError{Field: "severity", Value: string(r.Severity), Problem: "is not a severity", Fix: "use critical, warning or info"})
	}
	if r.Reminder < 0 || (r.Reminder > 0 && r.Reminder.D() < time.Minute) {
		errs = append(errs, target.FieldError{Field: "reminder", Value: r.Reminder.String(), Problem: "is out of range", Fix: "give 1m or more, or leave it out for no reminders"})
	}
	return errs
}

var rank = map[notify.Severity]int{notify.SeverityInfo: 0, notify.SeverityWarning: 1, notify.SeverityCritical: 2}

// Matches reports whether the route takes a message of severity sev about
// the target.
func (r *Route) Matches(spec *target.Spec, sev notify.Severity) bool {
	for k, v := range r.Match {
		if got, ok := spec.Labels[k]; !ok || got != v {
			return false
		}
	}
	return r.Severity == "" || rank[sev] >= rank[r.Severity]
}

// Targets returns the notifiers a message of severity sev about the target
// goes to, each once, in order; with no routes, all of them.
func Targets(routes []Route, all []string, spec *target.Spec, sev notify.Severity) []string {
	if len(routes) == 0 {
		return all
	}
	var out []string
	for i := range routes {
		if routes[i].Matches(spec, sev) {
			for _, id := range routes[i].Notifiers {
				if !slices.Contains(out, id) {
					out = append(out, id)
				}
			}
		}
	}
	return out
}

// Severity of a transition to state to.
func Severity(to health.State) notify.Severity {
	switch to {
	case health.Down:
		return notify.SeverityCritical
	case health.Up:
		return notify.SeverityInfo
	}
	return notify.SeverityWarning
}

// Notifies reports whether a transition is worth a message: a change to or
// from a bad state, not a target's first verdict of up, nor a change
// through unknown or stale (no word is not news).
func Notifies(t *events.Transition) bool {
	if t.Type != "" {
		return false
	}
	switch {
	case t.To == health.Unknown || t.To == health.Stale:
		return false
	case t.To == health.Up && (t.From == health.Unknown || t.From == health.Stale):
		return false
	}
	return t.To != t.From
}

// Message builds the message of a transition. incident is the id of the
// firing notification a resolved one closes ("" for a firing one).
func Message(t *events.Transition, spec *target.Spec, notifier, incident, node string) notify.Message {
	m := notify.Message{
		ID: NotificationID(t.ID, notifier), Kind: notify.KindFiring, Incident: incident,
		Target: notify.Target{ID: spec.ID, Name: spec.Name, Kind: string(spec.Kind), Labels: spec.Labels, URLOrAddress: where(spec)},
		From:   t.From.String(), To: t.To.String(), At: t.At, Cause: t.Cause, Severity: Severity(t.To), Node: node,
	}
	if t.To == health.Up {
		m.Kind = notify.KindResolved
	}
	return m
}

func where(s *target.Spec) string {
	if s.URL != "" {
		return s.Redact().URL
	}
	return s.Address
}

// NotificationID is a notification's id: the transition's and the
// notifier's, so every node derives the same one.
func NotificationID(transition, notifier string) string { return transition + "/" + notifier }

// Delivery states.
const (
	// Sending: a node took the notification and is delivering it.
	Sending = "sending"
	// Delivered: the channel took it.
	Delivered = "delivered"
	// Failed: the channel refused it for good, or retries ran out.
	Failed = "failed"
	// Held: not sent, on purpose: a silence or a maintenance window
	// covered the target, or it was flapping.
	Held = "held"
)

// Delivery is the record of one notification, replicated to every node.
type Delivery struct {
	ID         string    `json:"id"`
	Transition string    `json:"transition"`
	Target     string    `json:"target"`
	Notifier   string    `json:"notifier"`
	Kind       string    `json:"kind"`
	State      string    `json:"state"`
	Node       string    `json:"node"`
	Attempts   int       `json:"attempts"`
	Error      string    `json:"error,omitempty"`
	Reason     string    `json:"reason,omitempty"` // why it was held
	At         time.Time `json:"at"`
	Delivered  time.Time `json:"delivered,omitzero"`
}

// Kind is the registration of deliveries.
var Kind = objects.Kind[Delivery]{
	Name: "delivery",
	Validate: func(key string, d Delivery) error {
		if key != d.ID || !strings.HasSuffix(d.ID, "/"+d.Notifier) {
			return target.FieldError{Field: "delivery", Value: key, Problem: "is not keyed by its notification id", Fix: "key a delivery by transition/notifier"}
		}
		switch d.State {
		case Sending, Delivered, Failed, Held:
		default:
			return target.FieldError{Field: "delivery.state", Value: d.State, Problem: "is not a delivery state", Fix: "use sending, delivered, failed or held"}
		}
		return nil
	},
}

// Collection is the replicated set of deliveries.
type Collection = objects.Collection[Delivery]

// Backoff is the wait before retry n (1-based): 1s, 2s, 4s... at most 5m.
func Backoff(n int) time.Duration {
	d := time.Second
	for i := 1; i < n && d < 5*time.Minute; i++ {
		d *= 2
	}
	return min(d, 5*time.Minute)
}

// Folded is the reason prefix of a notification held because its target's
// failure is its dependency's: the root cause's notification lists it.
const Folded = "folded into the notification of its root cause"

// FoldWait is how long a target with critical dependencies waits, after
// going down, before its own notification: long enough for a dependency
// that failed at the same moment to be judged down (its interval times
// its fall), so that the target is folded into it instead of alerting on
// its own. At least 2s, at most 2m.
func FoldWait(deps []target.Schedule) time.Duration {
	var w time.Duration
	for i := range deps {
		w = max(w, deps[i].Interval.D()*time.Duration(max(deps[i].Fall, 1)))
	}
	return min(max(w+2*time.Second, 2*time.Second), 2*time.Minute)
}

// GiveUp is how long a delivery is retried before it fails.
const GiveUp = time.Hour
