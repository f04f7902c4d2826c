package api

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/heckhq/heck/internal/events"
	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/history"
	"github.com/heckhq/heck/internal/probe"
	"github.com/heckhq/heck/internal/store"
	"github.com/heckhq/heck/internal/target"
)

// Backend is what the API reads and writes. internal/node implements it.
// Every method must be safe for concurrent use.
type Backend interface {
	// Targets returns the status of every target. Order does not matter;
	// the API sorts by id.
	Targets(ctx context.Context) []TargetStatus
	// Target returns one target's status, and false when there is none.
	Target(ctx context.Context, id string) (TargetStatus, bool)
	// PutTarget adds or replaces a target, reporting whether it was new.
	// The API has already validated spec; a backend's own validation
	// errors come back as target.FieldErrors.
	PutTarget(ctx context.Context, spec target.Spec) (created bool, err error)
	// DeleteTarget removes a target; store.ErrNotFound when absent.
	DeleteTarget(ctx context.Context, id string) error
	// History returns the target's results over [from, to) in steps.
	History(ctx context.Context, id string, from, to time.Time, step time.Duration) ([]history.Point, error)
	// Uptime returns the target's uptime over 24h, 7d and 30d.
	Uptime(ctx context.Context, id string) (history.Uptime, error)
	// Transitions returns the target's last transitions, newest first.
	Transitions(ctx context.Context, id string, limit int) ([]events.Transition, error)
	// QueryTransitions returns the transitions of every target that q
	// selects, newest first (GET /api/v1/transitions).
	QueryTransitions(ctx context.Context, q store.TransitionQuery) ([]events.Transition, error)
	// TransitionLog is the node's log of transitions, which the event
	// stream follows from a cursor.
	TransitionLog() TransitionLog
	// Ready reports whether the node can serve (store reachable, targets
	// loaded); the error is shown by /readyz.
	Ready(ctx context.Context) error
}

// TransitionLog is how the event stream reads the node's transitions:
// *events.Log is one.
type TransitionLog interface {
	// Last is the cursor of the newest transition.
	Last() int64
	// SeqOf is the cursor of the transition with id (a Last-Event-ID).
	SeqOf(ctx context.Context, id string) (int64, bool)
	// Wait blocks until there is a transition after the cursor;
	// events.ErrClosed once the log is closed.
	Wait(ctx context.Context, after int64) error
	// Read returns up to limit transitions after the cursor, in order.
	Read(ctx context.Context, after int64, limit int) ([]events.Transition, error)
}

// StateSource is optionally implemented by a Backend to count its targets
// (GET /api/v1/members on a single node) more cheaply than Targets: fn is
// called once per target with its id and state.
type StateSource interface {
	EachState(fn func(id string, s health.State))
}

// TargetStatus is what the API says of a target: its spec (redacted), its
// state and since when, and its latest results.
type TargetStatus struct {
	ID     string            `json:"id"`
	Name   string            `json:"name,omitempty"`
	Kind   target.Kind       `json:"kind"`
	Labels map[string]string `json:"labels,omitempty"`
	// State is unknown, up, down (later degraded, impacted, late, stale).
	State health.State `json:"state"`
	// Since is when the target entered State: its last transition, or when
	// probing began if it never changed (zero before that).
	Since time.Time `json:"since,omitzero"`
	// Cause is the message of the result that tipped the state.
	Cause string `json:"cause,omitempty"`
	// Last is the latest result, nil before the first probe.
	Last *Result `json:"last,omitempty"`
	// Recent results, newest first; left out of listings.
	Recent []Result `json:"recent,omitempty"`
	// Observer is the node whose probes produced Last.
	Observer string `json:"observer,omitempty"`
	// Owners are the nodes that probe the target, in order (cluster).
	Owners []string `json:"owners,omitempty"`
	// Fallback is the order in which other nodes take over when the owners
	// fall silent (cluster).
	Fallback []string `json:"fallback,omitempty"`
	// Stale is true when the freshest observation is too old to trust.
	Stale bool `json:"stale"`
	// Silenced is true when a silence in force covers the target.
	Silenced bool `json:"silenced"`
	// Spec is the target's spec, always redacted by the API.
	Spec target.Spec `json:"spec"`
}

// StatusOf returns the status of a target that has not been probed yet.
func StatusOf(spec target.Spec) TargetStatus {
	return TargetStatus{ID: spec.ID, Name: spec.Name, Kind: spec.Kind, Labels: spec.Labels,
		State: health.Unknown, Spec: spec}
}

// Result is one probe result as the API shows it. Latency is written both
// as milliseconds ("latency_ms") and as a duration string ("latency").
type Result struct {
	At      time.Time     `json:"at"`
	OK      bool          `json:"ok"`
	Latency time.Duration `json:"-"`
	Message string        `json:"message"`
	Details probe.Details `json:"details,omitzero"`
}

// ResultFrom makes a Result of a probe result taken at at.
func ResultFrom(at time.Time, r probe.Result) Result {
	return Result{At: at, OK: r.OK, Latency: r.Latency, Message: r.Message, Details: r.Details}
}

type resultJSON struct {
	At        time.Time     `json:"at"`
	OK        bool          `json:"ok"`
	LatencyMS float64       `json:"latency_ms"`
	Latency   string        `json:"latency"`
	Message   string        `json:"message"`
	Details   probe.Details `json:"details,omitzero"`
}

// MarshalJSON writes the latency in milliseconds and as a string.
func (r Result) MarshalJSON() ([]byte, error) {
	return json.Marshal(resultJSON{At: r.At, OK: r.OK, LatencyMS: float64(r.Latency) / float64(time.Millisecond),
		Latency: r.Latency.String(), Message: r.Message, Details: r.Details})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (r *Result) UnmarshalJSON(b []byte) error {
	var j resultJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("result: %w", err)
	}
	*r = Result{At: j.At, OK: j.OK, Latency: time.Duration(j.LatencyMS * float64(time.Millisecond)),
		Message: j.Message, Details: j.Details}
	if d, err := time.ParseDuration(j.Latency); err == nil {
		r.Latency = d
	}
	return nil
}

// TargetList is the body of GET /api/v1/targets.
type TargetList struct {
	Targets []TargetStatus `json:"targets"`
}

// HistoryResponse is the body of GET /api/v1/targets/{id}/history.
type HistoryResponse struct {
	TargetID string          `json:"target_id"`
	From     time.Time       `json:"from"`
	To       time.Time       `json:"to"`
	Step     target.Duration `json:"step"`
	Points   []history.Point `json:"points"`
}

// UptimeResponse is the body of GET /api/v1/targets/{id}/uptime.
type UptimeResponse struct {
	TargetID string `json:"target_id"`
	history.Uptime
}

// TransitionList is the body of GET /api/v1/targets/{id}/transitions and
// (without target_id) of GET /api/v1/transitions.
type TransitionList struct {
	TargetID    string              `json:"target_id,omitempty"`
	Transitions []events.Transition `json:"transitions"`
}
