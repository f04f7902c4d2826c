package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/heckhq/heck/internal/api"
	"github.com/heckhq/heck/internal/api/apitest"
	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/target"
)

func setMember(b *apitest.Backend, id string, st health.State, port string) {
	spec := target.Spec{ID: id, Kind: target.KindTCP, Address: "127.0.0.1:" + port, Labels: map[string]string{"app": "web"}}
	ts := api.StatusOf(spec)
	ts.State = st
	b.Set(ts)
}

func TestPoolsRoutes(t *testing.T) {
	b, s := fixture(t, api.Options{Token: "tok", LoopbackOnly: true})
	if got := okJSON[[]api.Pool](t, do(t, s, "GET", "/api/v1/pools", "", ""), "list empty"); len(got) != 0 {
		t.Fatalf("empty list = %+v", got)
	}
	setMember(b, "a", health.Up, "1001")
	setMember(b, "b", health.Up, "1002")
	setMember(b, "c", health.Down, "1003")
	body := `{"name":"web","selector":{"app":"web"}}`
	if r := do(t, s, "POST", "/api/v1/pools", body, ""); r.code != http.StatusUnauthorized {
		t.Fatalf("POST without token = %d, want 401", r.code)
	}
	r := do(t, s, "POST", "/api/v1/pools", body, "tok")
	if r.code != http.StatusCreated || r.header.Get("Location") != "/api/v1/pools/web" {
		t.Fatalf("POST = %d %s", r.code, r.body)
	}
	if r := do(t, s, "POST", "/api/v1/pools", body, "tok"); r.code != http.StatusConflict {
		t.Fatalf("POST again = %d, want 409", r.code)
	}
	p := okJSON[api.Pool](t, do(t, s, "GET", "/api/v1/pools/web", "", ""), "get")
	if p.Name != "web" || len(p.Members) != 3 || p.Healthy != 2 || p.Panic || p.Members[2].State != health.Down || p.Members[2].Serving {
		t.Fatalf("pool = %+v", p)
	}
	h := okJSON[api.Healthy](t, do(t, s, "GET", "/api/v1/pools/web/healthy", "", ""), "healthy")
	if len(h.Members) != 2 || h.Members[0].ID != "a" || h.Members[1].ID != "b" || h.Panic {
		t.Fatalf("healthy = %+v", h)
	}
	seen := map[string]bool{}
	for range 4 {
		pk := okJSON[api.Pick](t, do(t, s, "GET", "/api/v1/pools/web/pick?strategy=round_robin", "", ""), "pick")
		if pk.Member.ID == "c" || pk.Member.Address != "127.0.0.1" || pk.Strategy != "round_robin" {
			t.Fatalf("pick = %+v", pk)
		}
		seen[pk.Member.ID] = true
	}
	if len(seen) != 2 {
		t.Fatalf("round robin picked %v", seen)
	}
	if r := do(t, s, "GET", "/api/v1/pools/web/pick?strategy=fastest", "", ""); r.code != http.StatusBadRequest ||
		!strings.Contains(r.problem(t).Detail, "least_latency") {
		t.Fatalf("bad strategy = %d %s", r.code, r.body)
	}
	if r := do(t, s, "GET", "/api/v1/pools/nope/pick", "", ""); r.code != http.StatusNotFound || !strings.Contains(r.problem(t).Detail, "heck pools ls") {
		t.Fatalf("unknown pool = %d %s", r.code, r.body)
	}
	// Panic: two of three down fails open over all.
	setMember(b, "b", health.Down, "1002")
	h = okJSON[api.Healthy](t, do(t, s, "GET", "/api/v1/pools/web/healthy", "", ""), "healthy in panic")
	if !h.Panic || len(h.Members) != 3 {
		t.Fatalf("healthy in panic = %+v", h)
	}
	// Panic off and nothing healthy: 503 with the reason.
	if r := do(t, s, "PUT", "/api/v1/pools/web", `{"selector":{"app":"web"},"panic_threshold":0}`, "tok"); r.code != http.StatusOK {
		t.Fatalf("PUT = %d %s", r.code, r.body)
	}
	setMember(b, "a", health.Down, "1001")
	r = do(t, s, "GET", "/api/v1/pools/web/pick", "", "")
	if r.code != http.StatusServiceUnavailable || r.problem(t).Type != api.TypeNothingToPick || r.header.Get("Retry-After") == "" ||
		!strings.Contains(r.problem(t).Detail, "panic threshold is 0") {
		t.Fatalf("pick with nothing healthy = %d %s", r.code, r.body)
	}
	// An empty pool: 503 saying it is empty.
	if r := do(t, s, "PUT", "/api/v1/pools/empty", `{"targets":["ghost"]}`, "tok"); r.code != http.StatusCreated {
		t.Fatalf("PUT empty = %d %s", r.code, r.body)
	}
	if r := do(t, s, "GET", "/api/v1/pools/empty/pick", "", ""); r.code != http.StatusServiceUnavailable || !strings.Contains(r.problem(t).Detail, "has no members") {
		t.Fatalf("pick from empty = %d %s", r.code, r.body)
	}
	if r := do(t, s, "DELETE", "/api/v1/pools/web", "", "tok"); r.code != http.StatusNoContent {
		t.Fatalf("DELETE = %d", r.code)
	}
	if r := do(t, s, "DELETE", "/api/v1/pools/web", "", "tok"); r.code != http.StatusNotFound {
		t.Fatalf("DELETE again = %d", r.code)
	}
}

func TestPoolsInvalid(t *testing.T) {
	_, s := fixture(t, api.Options{LoopbackOnly: true})
	tests := []struct {
		name, path, body string
		code             int
		field            string
	}{
		{"no members", "/api/v1/pools", `{"name":"web"}`, http.StatusUnprocessableEntity, "targets"},
		{"bad name", "/api/v1/pools", `{"name":"Web!","targets":["a"]}`, http.StatusUnprocessableEntity, "name"},
		{"weight", "/api/v1/pools", `{"name":"web","targets":["a"],"members":{"a":{"weight":-2}}}`, http.StatusUnprocessableEntity, "members.a.weight"},
		{"path and body disagree", "/api/v1/pools/api", `{"name":"web","targets":["a"]}`, http.StatusUnprocessableEntity, ""},
		{"unknown field", "/api/v1/pools", `{"name":"web","targets":["a"],"wieght":1}`, http.StatusBadRequest, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			method := "POST"
			if tc.path != "/api/v1/pools" {
				method = "PUT"
			}
			r := do(t, s, method, tc.path, tc.body, "")
			if r.code != tc.code {
				t.Fatalf("%s = %d %s, want %d", method, r.code, r.body, tc.code)
			}
			p := r.problem(t)
			if tc.field != "" && (len(p.Errors) == 0 || p.Errors[0].Field != tc.field || p.Errors[0].Fix == "") {
				t.Fatalf("errors = %+v, want field %s with a fix", p.Errors, tc.field)
			}
		})
	}
	s2 := api.New(plainBackend{apitest.New()}, api.Options{LoopbackOnly: true})
	if r := do(t, s2, "GET", "/api/v1/pools", "", ""); r.code != http.StatusNotImplemented {
		t.Fatalf("pools on a backend without them = %d", r.code)
	}
}
