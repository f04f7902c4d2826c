package wire

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/heckhq/heck/internal/events"
	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/probe"
	"github.com/heckhq/heck/internal/target"
)

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
	// Maintenance is true when a maintenance window in force covers it.
	Maintenance bool `json:"maintenance"`
	// PingURL is where a heartbeat target's host checks in (POST or GET;
	// /start, /fail and /EXIT_CODE variants).
	PingURL string `json:"ping_url,omitempty"`
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
	// NextCursor, on a page (limit or cursor given) that is not the last,
	// is the cursor of the next page.
	NextCursor string `json:"next_cursor,omitempty"`
}

// TransitionList is the body of GET /api/v1/targets/{id}/transitions and
// (without target_id) of GET /api/v1/transitions.
type TransitionList struct {
	TargetID    string              `json:"target_id,omitempty"`
	Transitions []events.Transition `json:"transitions"`
}
