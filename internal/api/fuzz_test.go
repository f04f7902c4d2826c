package api_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/heckhq/heck/internal/api"
	"github.com/heckhq/heck/internal/api/apitest"
)

func FuzzDecodeTarget(f *testing.F) {
	for _, s := range []string{
		`{"id":"web","kind":"http","url":"http://127.0.0.1:8080/","interval":"1s","timeout":"500ms"}`,
		`{"id":"db","kind":"tcp","address":"127.0.0.1:5432","tcp":{"send":"PING\r\n","expect":"PONG"}}`,
		`{"id":"d","kind":"dns","address":"127.0.0.1:53","dns":{"name":"example.org","type":"A","expect_answers":["127.0.0.1"]}}`,
		`{"id":"h","kind":"http","url":"http://127.0.0.1/","http":{"json":[{"path":"status","equals":"ok"},{"path":"x","exists":true}],"headers":{"A":"b"}}}`,
		`{"id":"x",}`, `{"id":`, `[]`, `null`, `{"interval":3}`, `{"http":{"json":{}}}`, `{"labels":{"a":1}}`,
		`{"ID":"case"}`, `{} {}`, `"str"`, ``, `{"http":null}`, `{"http":{"json":[null]}}`,
		`{"id":"z","kind":"tcp","address":"127.0.0.1:9","interval":"0s","rise":0,"Replicas":0,"fall":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		spec, written, p := api.DecodeTargetWritten(data)
		if p == nil {
			// What decodes can be validated and shown without panicking;
			// knowing the written keys only adds problems.
			if strict, loose := spec.ValidateWritten(written), spec.Validate(); len(strict) < len(loose) {
				t.Fatalf("ValidateWritten found %v, fewer than Validate's %v", strict, loose)
			}
			_ = spec.Redact()
			return
		}
		if written == nil || written("interval") || written("rise") {
			t.Fatal("a body that does not decode reports written keys")
		}
		if p.Status != http.StatusBadRequest || p.Type != api.TypeInvalidJSON || p.Title == "" {
			t.Fatalf("problem %+v is not a 400 invalid-json", p)
		}
		if _, err := json.Marshal(p); err != nil {
			t.Fatalf("problem does not marshal: %v", err)
		}
	})
}

// FuzzJoin: any join body is answered with 200 or a problem, never a
// panic, and only valid requests reach the backend.
func FuzzJoin(f *testing.F) {
	for _, s := range []string{
		`{"addrs":["127.0.0.1:7946"]}`, `{"addrs":["[::1]:7946","heck.default.svc"]}`, `{"addrs":[]}`, `{"addrs":null}`,
		`{"addrs":[1]}`, `{"addrs":"x"}`, `{"adrs":[]}`, `[]`, `null`, ``, `{"addrs":["a:b:c"]}`, `{"addrs":[":0"]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b := apitest.NewCluster("n1")
		s := api.New(b, api.Options{LoopbackOnly: true})
		r := do(t, s, "POST", "/api/v1/members/join", string(data), "")
		reached := len(b.Joins()) > 0
		if r.code == http.StatusOK {
			if !reached {
				t.Fatalf("200 without a join: %s", r.body)
			}
			return
		}
		if reached {
			t.Fatalf("a rejected body (%d) reached the backend", r.code)
		}
		if p := r.problem(t); p.Status != http.StatusBadRequest && p.Status != http.StatusUnprocessableEntity {
			t.Fatalf("problem %+v is not a 400 or 422", p)
		}
	})
}
