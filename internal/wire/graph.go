package wire

import (
	"time"

	"github.com/heckhq/heck/internal/health"
)

// Graph is the answer of GET /api/v1/graph: the targets that have a
// dependency or are one, with their states, and the edges between them.
type Graph struct {
	Nodes []GraphNode `json:"nodes"`
	Edges []GraphEdge `json:"edges"`
}

// GraphNode is one target of the dependency graph. RootCause is set on a
// failing target whose failure is not explained by a dependency's.
type GraphNode struct {
	ID        string       `json:"id"`
	Name      string       `json:"name,omitempty"`
	State     health.State `json:"state"`
	Since     time.Time    `json:"since,omitzero"`
	Cause     string       `json:"cause,omitempty"`
	RootCause bool         `json:"root_cause,omitempty"`
}

// GraphEdge is one dependency: From depends on To.
type GraphEdge struct {
	From     string `json:"from"`
	To       string `json:"to"`
	Critical bool   `json:"critical"`
}

// Impact is the answer of GET /api/v1/targets/{id}/impact: what a failure
// of the target takes down through critical dependencies (transitively),
// and what it degrades through non-critical ones.
type Impact struct {
	Target   string       `json:"target"`
	State    health.State `json:"state"`
	Down     []GraphNode  `json:"down"`
	Degraded []GraphNode  `json:"degraded"`
}

// Cause is the answer of GET /api/v1/targets/{id}/cause: the deepest
// failing targets, down the target's critical dependencies, whose failure
// explains its own (the target itself when nothing below it fails; none
// when it is not failing), and the chain of failing dependencies from the
// target to each.
type Cause struct {
	Target     string       `json:"target"`
	State      health.State `json:"state"`
	RootCauses []GraphNode  `json:"root_causes"`
	Paths      [][]string   `json:"paths"`
}
