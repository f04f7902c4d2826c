package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/heckhq/heck/internal/target"
)

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

func writeProblem(w http.ResponseWriter, p *Problem) {
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(p)
}

func problem(status int, typ, title, detail string) *Problem {
	return &Problem{Type: typ, Title: title, Status: status, Detail: detail}
}

// fieldProblems turns validation errors into field problems, leaving out
// the values of secret fields.
func fieldProblems(fes target.FieldErrors) []FieldProblem {
	out := make([]FieldProblem, len(fes))
	for i, e := range fes {
		out[i] = FieldProblem{Field: e.Field, Value: safeValue(e.Field, e.Value), Problem: e.Problem, Fix: e.Fix}
	}
	return out
}

// secretField reports whether field may hold a secret whose value must not
// be echoed: request bodies and payloads, and headers of sensitive names.
func secretField(field string) bool {
	f := strings.ToLower(field)
	if strings.HasSuffix(f, "http.body") || strings.HasSuffix(f, "tcp.send") || strings.HasSuffix(f, "tcp.expect") {
		return true
	}
	if i := strings.Index(f, "http.headers."); i >= 0 {
		name := f[i+len("http.headers."):]
		for _, s := range []string{"authorization", "cookie", "token", "secret", "password", "key", "credential"} {
			if strings.Contains(name, s) {
				return true
			}
		}
	}
	return false
}

func safeValue(field, value string) string {
	if secretField(field) {
		return ""
	}
	f := strings.ToLower(field)
	if f == "url" || strings.HasSuffix(f, ".url") {
		value = target.Spec{URL: value}.Redact().URL
	}
	if len(value) > 200 {
		value = value[:200] + "..."
	}
	return value
}

func queryProblem(errs ...FieldProblem) *Problem {
	p := problem(http.StatusBadRequest, TypeInvalidQuery, "Invalid query parameter", "")
	names := make([]string, len(errs))
	for i, e := range errs {
		names[i] = strconv.Quote(e.Field)
	}
	p.Detail = "check the query parameter " + strings.Join(names, ", ")
	p.Errors = errs
	return p
}
