// Package incident owns incidents: what an operator tells people about an
// outage (a title, the targets it affects, and updates moving it through
// investigating, identified, monitoring and resolved), shown on the web UI
// and on public status pages. An incident is one kind of replicated object
// (internal/objects, kind "incident"), so every node serves the same ones.
package incident

import "time"

// Status is where an incident stands.
type Status string

// The statuses an incident moves through, in order.
const (
	Investigating Status = "investigating"
	Identified    Status = "identified"
	Monitoring    Status = "monitoring"
	Resolved      Status = "resolved"
)

// Statuses lists every status in order.
var Statuses = []Status{Investigating, Identified, Monitoring, Resolved}

// Impact is how bad an incident is for the people it affects.
type Impact string

// Impacts, least to worst.
const (
	ImpactNone     Impact = "none"
	ImpactMinor    Impact = "minor"
	ImpactMajor    Impact = "major"
	ImpactCritical Impact = "critical"
)

// Update is one post on an incident.
type Update struct {
	At      time.Time `json:"at"`
	Status  Status    `json:"status"`
	Message string    `json:"message"`
	By      string    `json:"by,omitempty"`
}

// Incident is one incident. Status is the status of its latest update.
// A scheduled maintenance is an incident with ScheduledStart/End set.
type Incident struct {
	ID      string   `json:"id"`
	Title   string   `json:"title"`
	Status  Status   `json:"status"`
	Impact  Impact   `json:"impact,omitempty"`
	Targets []string `json:"targets,omitempty"`
	// Transition is the id of the transition it was opened from, if any.
	Transition string    `json:"transition,omitempty"`
	Updates    []Update  `json:"updates"`
	Created    time.Time `json:"created"`
	CreatedBy  string    `json:"created_by,omitempty"`
	Resolved   time.Time `json:"resolved,omitzero"`
	// ScheduledStart and ScheduledEnd mark a scheduled maintenance.
	ScheduledStart time.Time `json:"scheduled_start,omitzero"`
	ScheduledEnd   time.Time `json:"scheduled_end,omitzero"`
}
