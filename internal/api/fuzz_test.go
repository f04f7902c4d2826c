package api_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/heckhq/heck/internal/api"
)

func FuzzDecodeTarget(f *testing.F) {
	for _, s := range []string{
		`{"id":"web","kind":"http","url":"http://127.0.0.1:8080/","interval":"1s","timeout":"500ms"}`,
		`{"id":"db","kind":"tcp","address":"127.0.0.1:5432","tcp":{"send":"PING\r\n","expect":"PONG"}}`,
		`{"id":"d","kind":"dns","address":"127.0.0.1:53","dns":{"name":"example.org","type":"A","expect_answers":["127.0.0.1"]}}`,
		`{"id":"h","kind":"http","url":"http://127.0.0.1/","http":{"json":[{"path":"status","equals":"ok"},{"path":"x","exists":true}],"headers":{"A":"b"}}}`,
		`{"id":"x",}`, `{"id":`, `[]`, `null`, `{"interval":3}`, `{"http":{"json":{}}}`, `{"labels":{"a":1}}`,
		`{"ID":"case"}`, `{} {}`, `"str"`, ``, `{"http":null}`, `{"http":{"json":[null]}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		spec, p := api.DecodeTarget(data)
		if p == nil {
			// What decodes can be validated and shown without panicking.
			_ = spec.Validate()
			_ = spec.Redact()
			return
		}
		if p.Status != http.StatusBadRequest || p.Type != api.TypeInvalidJSON || p.Title == "" {
			t.Fatalf("problem %+v is not a 400 invalid-json", p)
		}
		if _, err := json.Marshal(p); err != nil {
			t.Fatalf("problem does not marshal: %v", err)
		}
	})
}
