package api

import (
	"context"
	"time"

	"github.com/heckhq/heck/internal/events"
	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/history"
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
	// History returns the target's results over [from, to) in steps, of
	// scope: this node's own records, or every member's merged; Coverage
	// says whose records the answer holds.
	History(ctx context.Context, id string, from, to time.Time, step time.Duration, scope Scope) ([]history.Point, Coverage, error)
	// Uptime returns the target's uptime over 24h, 7d and 30d, of scope.
	Uptime(ctx context.Context, id string, scope Scope) (history.Uptime, Coverage, error)
	// Rollups returns this node's own rollups of the target with minutes
	// in [from, to) (whole seconds), summed into groups of step (whole
	// minutes) from from: only the non-empty groups, oldest first, each
	// with Minute set to its start (GET /api/v1/targets/{id}/rollups).
	Rollups(ctx context.Context, id string, from, to time.Time, step time.Duration) ([]store.Rollup, error)
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

// PendingBackend is a Backend that can also give the rollups it has not
// stored yet (GET /api/v1/targets/{id}/rollups?pending=true): nodes sharing
// one store ask each other for these alone.
type PendingBackend interface {
	PendingRollups(ctx context.Context, id string, from, to time.Time, step time.Duration) ([]store.Rollup, error)
}
