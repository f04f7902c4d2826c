package wire

import (
	"fmt"
	"strings"
)

// Problem is an RFC 9457 problem details object.
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
	// Errors lists every problem with a field of the request.
	Errors []FieldProblem `json:"errors,omitempty"`
}

// FieldProblem is one problem with one field (or query parameter): the
// field, its value (left out for secrets), what is wrong and the fix.
type FieldProblem struct {
	Field   string `json:"field"`
	Value   string `json:"value,omitempty"`
	Problem string `json:"problem"`
	Fix     string `json:"fix"`
}

func (p *Problem) Error() string {
	var b strings.Builder
	b.WriteString(p.Title)
	if p.Detail != "" {
		b.WriteString(": ")
		b.WriteString(p.Detail)
	}
	for _, e := range p.Errors {
		b.WriteString("\n  ")
		b.WriteString(e.String())
	}
	return b.String()
}

func (e FieldProblem) String() string {
	if e.Value == "" {
		return fmt.Sprintf("%s: %s; %s", e.Field, e.Problem, e.Fix)
	}
	return fmt.Sprintf("%s: %q %s; %s", e.Field, e.Value, e.Problem, e.Fix)
}

// ProblemType names a kind of problem (the "type" member of RFC 9457).
const problemBase = "https://heck.dev/problems/"

// Problem types the API answers with.
const (
	TypeInvalidJSON    = problemBase + "invalid-json"
	TypeInvalidTarget  = problemBase + "invalid-target"
	TypeInvalidQuery   = problemBase + "invalid-query"
	TypeNotFound       = problemBase + "not-found"
	TypeConflict       = problemBase + "conflict"
	TypeUnauthorized   = problemBase + "unauthorized"
	TypeTokenRequired  = problemBase + "token-required"
	TypeTooLarge       = problemBase + "body-too-large"
	TypeUnsupported    = problemBase + "unsupported-media-type"
	TypeNotReady       = problemBase + "not-ready"
	TypeInternal       = problemBase + "internal"
	TypeMethodNotAllow = problemBase + "method-not-allowed"
	TypeInvalidRequest = problemBase + "invalid-request"
	TypeNotClustered   = problemBase + "not-clustered"
	TypeJoinFailed     = problemBase + "join-failed"
	TypeNodeLeft       = problemBase + "node-left"
)

// Problem types of the silence routes: a silence that does not validate,
// a node that keeps none.
const (
	TypeInvalidSilence = problemBase + "invalid-silence"
	TypeNoSilences     = problemBase + "silences-unsupported"
	TypeInvalidPool    = problemBase + "invalid-pool"
	TypeNoPools        = problemBase + "pools-unsupported"
	TypeNothingToPick  = problemBase + "nothing-to-pick"

	TypeInvalidNotifier = problemBase + "invalid-notifier"
	TypeNoNotifiers     = problemBase + "notifiers-unsupported"
	TypeNotifyFailed    = problemBase + "notify-failed"
	TypeInvalidWindow   = problemBase + "invalid-maintenance-window"
	TypeNoGraph         = problemBase + "graph-unsupported"
)
