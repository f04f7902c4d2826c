// Package events owns the spine of heck: the log of state transitions, of
// every target, from every node, in which every consumer (the server-sent
// event stream, metrics, and later notifications, pools and the web UI)
// learns that a target changed.
//
// The node's verdict stage appends each transition once, under an id
// derived from the change itself (TransitionID), so every node lists the
// same change under the same id. The Log is durable: it writes to the
// store, applies back-pressure instead of dropping, and serves readers from
// a cursor (its local sequence), so a slow or reconnecting reader catches
// up with nothing lost and nothing twice.
package events

import (
	"time"

	"github.com/heckhq/heck/internal/health"
)

// Transition is a change of a target's state.
type Transition struct {
	// ID is derived from the change itself (the target, and the observer
	// and sequence of the observation that made it), so every node gives
	// the same change the same id.
	ID string `json:"id,omitempty"`
	// Seq is the transition's position in this node's log (its order of
	// arrival here; it differs between nodes): the cursor of readers.
	Seq      int64        `json:"-"`
	TargetID string       `json:"target_id"`
	From     health.State `json:"from"`
	To       health.State `json:"to"`
	At       time.Time    `json:"at"`
	// Cause is the human message of the result that tipped the state.
	Cause string `json:"cause"`
	// Observer is the node that judged it.
	Observer string `json:"observer,omitempty"`
}
