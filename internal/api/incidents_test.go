package api_test

import (
	"net/http"
	"testing"

	"github.com/heckhq/heck/internal/api"
	"github.com/heckhq/heck/internal/api/apitest"
)

// A backend without incidents or status pages answers 501 with the fix;
// wrong methods get 405 with Allow.
func TestIncidentsAndPagesUnsupported(t *testing.T) {
	s := api.New(plainBackend{apitest.New()}, api.Options{LoopbackOnly: true})
	for _, tc := range []struct{ method, path, typ string }{
		{"GET", "/api/v1/incidents", api.TypeNoIncidents},
		{"POST", "/api/v1/incidents/x/updates", api.TypeNoIncidents},
		{"POST", "/api/v1/transitions/x/incident", api.TypeNoIncidents},
		{"GET", "/api/v1/statuspages", api.TypeNoStatusPages},
		{"DELETE", "/api/v1/statuspages/x", api.TypeNoStatusPages},
	} {
		r := do(t, s, tc.method, tc.path, "", "")
		if r.code != http.StatusNotImplemented || r.problem(t).Type != tc.typ {
			t.Errorf("%s %s = %d %s", tc.method, tc.path, r.code, r.body)
		}
	}
	for _, tc := range []struct{ method, path, allow string }{
		{"PATCH", "/api/v1/incidents", "GET, POST"},
		{"GET", "/api/v1/incidents/x/updates", "POST"},
		{"GET", "/api/v1/transitions/x/incident", "POST"},
		{"POST", "/api/v1/statuspages/x", "GET, PUT, DELETE"},
	} {
		r := do(t, s, tc.method, tc.path, "", "")
		if r.code != http.StatusMethodNotAllowed || r.header.Get("Allow") != tc.allow {
			t.Errorf("%s %s = %d (Allow %q), want 405 with %q", tc.method, tc.path, r.code, r.header.Get("Allow"), tc.allow)
		}
	}
}

// Changes need the token when one is set.
func TestIncidentsNeedToken(t *testing.T) {
	_, s := fixture(t, api.Options{Token: "tok", LoopbackOnly: true})
	for _, p := range []string{"/api/v1/incidents", "/api/v1/statuspages", "/api/v1/transitions/x/incident"} {
		if r := do(t, s, "POST", p, `{}`, ""); r.code != http.StatusUnauthorized {
			t.Errorf("POST %s without token = %d, want 401", p, r.code)
		}
	}
}
