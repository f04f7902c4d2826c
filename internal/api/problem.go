package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/heckhq/heck/internal/target"
)

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
