package wire

import "time"

// The body of a heck agent's /healthz (internal/agent writes it, the agent
// target kind, internal/probe/agentprobe, reads it). docs/agent.md
// documents it; change both together.

// Overall statuses of an agent.
const (
	// AgentOK: every check passes.
	AgentOK = "ok"
	// AgentDegraded: no critical check fails, some non-critical one does.
	AgentDegraded = "degraded"
	// AgentDown: a critical check fails, or the first round of checks has
	// not completed (Starting).
	AgentDown = "down"
)

// Statuses of one agent check.
const (
	CheckOK      = "ok"
	CheckFailing = "failing"
	// CheckPending: the check has not run yet.
	CheckPending = "pending"
)

// AgentHealth is the body of GET /healthz: the status of the host as a
// whole and of each check, in the agent config's order. With ?check=NAME
// Checks holds that one check and Status is its status mapped onto ok,
// degraded (a non-critical check failing) or down.
type AgentHealth struct {
	Status string `json:"status"`
	// Starting is true until every check has a first result.
	Starting bool `json:"starting"`
	// Failing names the failing checks, critical ones first.
	Failing []string     `json:"failing,omitempty"`
	Checks  []AgentCheck `json:"checks"`
}

// AgentCheck is one check of an agent.
type AgentCheck struct {
	Name     string `json:"name"`
	Kind     string `json:"kind"`
	Status   string `json:"status"`
	Critical bool   `json:"critical"`
	// Message is the last result's.
	Message string `json:"message,omitempty"`
	// LatencyMS of the last run, in milliseconds.
	LatencyMS float64 `json:"latency_ms"`
	// LastRun is when the last run ended (absent while pending).
	LastRun time.Time `json:"last_run,omitzero"`
	// Since is when the status began (absent while pending).
	Since time.Time `json:"since,omitzero"`
	// ConsecutiveFailures and ConsecutiveSuccesses count the last run of
	// like results (one of the two is 0; they stop at 255).
	ConsecutiveFailures  int `json:"consecutive_failures"`
	ConsecutiveSuccesses int `json:"consecutive_successes"`
}
