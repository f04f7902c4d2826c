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
	// Observer is the node that judged it (of another event: the node
	// that decided it).
	Observer string `json:"observer,omitempty"`
	// Type is empty for a change of a target's state; the log carries
	// other events too (TypeEjection, TypePoolPanic...), each with a
	// Subject (the pool...) and Before and After summaries. TargetID is
	// then the target the event concerns, or the subject.
	Type    string `json:"type,omitempty"`
	Subject string `json:"subject,omitempty"`
	Before  string `json:"before,omitempty"`
	After   string `json:"after,omitempty"`
}

// Event types besides state transitions.
const (
	// TypeEjection: a pool's judge ejected a member (Subject the pool,
	// TargetID the member, After until when and why).
	TypeEjection = "ejection"
	// TypePoolPanic and TypePoolRecovered: a pool entered or left panic
	// (Subject and TargetID "pool/NAME").
	TypePoolPanic     = "pool_panic"
	TypePoolRecovered = "pool_recovered"
	// TypeConfig: a replicated object (target, pool, notifier, silence,
	// maintenance window) was written or deleted (Subject "KIND/KEY",
	// Observer the node that wrote it, After the new value, redacted).
	TypeConfig = "config"
	// TypeMember: the observing node saw a member join, leave or fail.
	TypeMember = "member"
	// TypeStoreDrop: the node's store dropped raw results from a full
	// write queue while its database was away (Subject "store/NODE",
	// Cause how many and of when).
	TypeStoreDrop = "store_drop"
)

// Kind is the event's type as the event stream names it: "transition"
// for a change of state.
func (t *Transition) Kind() string {
	if t.Type == "" {
		return "transition"
	}
	return t.Type
}

// EventID derives the id of an event other than a transition from what
// identifies it (its type, subject and when it began), the same on every
// node that derives it.
func EventID(typ, subject string, at time.Time) string {
	return TransitionID(typ+"\x00"+subject, "", at, 0)
}
