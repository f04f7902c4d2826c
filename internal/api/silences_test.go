package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/heckhq/heck/internal/api"
	"github.com/heckhq/heck/internal/api/apitest"
)

func TestSilencesRoutes(t *testing.T) {
	b, s := fixture(t, api.Options{Token: "tok", LoopbackOnly: true})
	if got := okJSON[[]api.Silence](t, do(t, s, "GET", "/api/v1/silences", "", ""), "list empty"); len(got) != 0 {
		t.Fatalf("empty list = %+v", got)
	}
	body := `{"target":"web","for":"2h","reason":"deploy","created_by":"ann"}`
	if r := do(t, s, "POST", "/api/v1/silences", body, ""); r.code != http.StatusUnauthorized {
		t.Fatalf("POST without token = %d, want 401", r.code)
	}
	r := do(t, s, "POST", "/api/v1/silences", body, "tok")
	if r.code != http.StatusCreated || !strings.HasPrefix(r.header.Get("Location"), "/api/v1/silences/s-") {
		t.Fatalf("POST = %d %s (Location %q)", r.code, r.body, r.header.Get("Location"))
	}
	got := okJSON[[]api.Silence](t, do(t, s, "GET", "/api/v1/silences", "", ""), "list")
	if len(got) != 1 || got[0].Target != "web" || !got[0].Active || got[0].Ends.Sub(got[0].Starts).Hours() != 2 || got[0].CreatedBy != "ann" {
		t.Fatalf("list = %+v", got)
	}
	if len(b.Silences(context.Background())) != 1 {
		t.Fatal("backend does not hold the silence")
	}
	id := got[0].ID
	if r := do(t, s, "DELETE", "/api/v1/silences/"+id, "", "tok"); r.code != http.StatusNoContent {
		t.Fatalf("DELETE = %d %s", r.code, r.body)
	}
	r = do(t, s, "DELETE", "/api/v1/silences/"+id, "", "tok")
	if r.code != http.StatusNotFound || !strings.Contains(r.problem(t).Detail, "heck silence ls") {
		t.Fatalf("DELETE again = %d %s", r.code, r.body)
	}
}

func TestSilencesInvalid(t *testing.T) {
	_, s := fixture(t, api.Options{LoopbackOnly: true})
	tests := []struct {
		name, body string
		code       int
		field      string
	}{
		{"no target", `{"for":"2h","reason":"x"}`, http.StatusUnprocessableEntity, "target"},
		{"bad duration", `{"target":"web","for":"2 hours","reason":"x"}`, http.StatusUnprocessableEntity, "for"},
		{"bad selector", `{"selector":"env","for":"2h","reason":"x"}`, http.StatusUnprocessableEntity, "selector"},
		{"no reason", `{"target":"web","for":"2h"}`, http.StatusUnprocessableEntity, "reason"},
		{"unknown field", `{"target":"web","for":"2h","reason":"x","durashun":"1h"}`, http.StatusBadRequest, ""},
		{"not json", `{`, http.StatusBadRequest, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, s, "POST", "/api/v1/silences", tc.body, "")
			if r.code != tc.code {
				t.Fatalf("POST = %d %s, want %d", r.code, r.body, tc.code)
			}
			p := r.problem(t)
			if tc.field != "" && (len(p.Errors) == 0 || p.Errors[0].Field != tc.field || p.Errors[0].Fix == "") {
				t.Fatalf("errors = %+v, want field %s with a fix", p.Errors, tc.field)
			}
		})
	}
	if r := do(t, s, "PUT", "/api/v1/silences", "", ""); r.code != http.StatusMethodNotAllowed {
		t.Fatalf("PUT = %d", r.code)
	}
}

// plainBackend hides every optional interface of the backend it wraps.
type plainBackend struct{ api.Backend }

// A backend without silences answers 501 with the fix.
func TestSilencesUnsupported(t *testing.T) {
	s := api.New(plainBackend{apitest.New()}, api.Options{LoopbackOnly: true})
	r := do(t, s, "GET", "/api/v1/silences", "", "")
	if r.code != http.StatusNotImplemented || r.problem(t).Type != api.TypeNoSilences {
		t.Fatalf("GET = %d %s", r.code, r.body)
	}
}
