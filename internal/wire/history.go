package wire

import (
	"time"

	"github.com/heckhq/heck/internal/history"
	"github.com/heckhq/heck/internal/target"
)

// Scope says whose records a history or uptime read covers.
type Scope string

// Scopes of a read.
const (
	// ScopeCluster merges the records of every member that probed the
	// target (the default).
	ScopeCluster Scope = "cluster"
	// ScopeLocal reads only the answering node's own records.
	ScopeLocal Scope = "local"
)

// Coverage says whose records an answer holds: with scope cluster, the
// members whose records were merged (observers), and the members that may
// hold records of the range but did not answer (missing, and then partial
// is true).
type Coverage struct {
	Scope Scope `json:"scope"`
	// Observers are the members whose records the answer holds (those that
	// answered with none are left out), sorted.
	Observers []string `json:"observers,omitempty"`
	// Partial is true when some member that may hold records of the range
	// did not answer: the counts are then lower bounds.
	Partial bool `json:"partial"`
	// Missing names those members, sorted.
	Missing []string `json:"missing,omitempty"`
	// SharedStore is true when every member writes to one shared store
	// (Postgres): the answering node read every observer's records from
	// it, so Observers names only that node.
	SharedStore bool `json:"shared_store,omitempty"`
}

// HistoryResponse is the body of GET /api/v1/targets/{id}/history.
type HistoryResponse struct {
	TargetID string          `json:"target_id"`
	From     time.Time       `json:"from"`
	To       time.Time       `json:"to"`
	Step     target.Duration `json:"step"`
	Points   []history.Point `json:"points"`
	Coverage
}

// UptimeResponse is the body of GET /api/v1/targets/{id}/uptime.
type UptimeResponse struct {
	TargetID string `json:"target_id"`
	history.Uptime
	Coverage
}
