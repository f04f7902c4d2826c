package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/api"
	"github.com/heckhq/heck/internal/api/apitest"
	"github.com/heckhq/heck/internal/events"
	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/history"
	"github.com/heckhq/heck/internal/probe"
	"github.com/heckhq/heck/internal/target"
)

type resp struct {
	code   int
	header http.Header
	body   string
}

func (r resp) problem(t *testing.T) api.Problem {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q, want application/problem+json; body %s", ct, r.body)
	}
	var p api.Problem
	if err := json.Unmarshal([]byte(r.body), &p); err != nil {
		t.Fatalf("problem body %q: %v", r.body, err)
	}
	if p.Status != r.code || p.Type == "" || p.Title == "" {
		t.Fatalf("problem %+v does not match status %d or lacks type/title", p, r.code)
	}
	return p
}

func do(t *testing.T, h http.Handler, method, path, body, token string) resp {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return resp{rec.Code, rec.Header(), rec.Body.String()}
}

// okJSON checks that r is a 200 and decodes its body, failing t naming
// what otherwise.
func okJSON[T any](t *testing.T, r resp, what string) T {
	t.Helper()
	var v T
	if r.code != http.StatusOK {
		t.Fatalf("%s = %d %s", what, r.code, r.body)
	}
	if err := json.Unmarshal([]byte(r.body), &v); err != nil {
		t.Fatalf("%s body %q: %v", what, r.body, err)
	}
	return v
}

var t0 = time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC)

// fixture returns a loopback server over a backend with two targets.
func fixture(t *testing.T, opts api.Options) (*apitest.Backend, *api.Server) {
	t.Helper()
	b := apitest.New()
	web := api.StatusOf(target.Spec{ID: "web", Kind: target.KindHTTP, URL: "http://127.0.0.1:8080/",
		Labels: map[string]string{"env": "prod"}})
	web.State, web.Since, web.Cause = health.Up, t0, "HTTP 200"
	last := api.ResultFrom(t0, probe.Result{OK: true, Latency: 1500 * time.Microsecond, Message: "HTTP 200",
		Details: probe.Details{StatusCode: 200}})
	web.Last, web.Recent = &last, []api.Result{last, last}
	db := api.StatusOf(target.Spec{ID: "db", Kind: target.KindTCP, Address: "127.0.0.1:5432",
		Labels: map[string]string{"env": "dev"}})
	db.State = health.Down
	b.Set(web)
	b.Set(db)
	if opts.Metrics == nil {
		opts.Metrics = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "heck_up 1\n") })
	}
	return b, api.New(b, opts)
}

func TestRoutes(t *testing.T) {
	b, s := fixture(t, api.Options{LoopbackOnly: true})
	b.SetHistory("web", []history.Point{{Start: t0, Count: 60, Failures: 1}},
		history.Uptime{Day: 0.99, Week: 0.995, Month: -1},
		[]events.Transition{{TargetID: "web", From: health.Unknown, To: health.Up, At: t0, Cause: "HTTP 200"}})

	t.Run("livez", func(t *testing.T) {
		r := do(t, s, "GET", "/livez", "", "")
		if r.code != 200 || strings.TrimSpace(r.body) != "ok" {
			t.Fatalf("livez = %d %q", r.code, r.body)
		}
	})
	t.Run("readyz", func(t *testing.T) {
		if r := do(t, s, "GET", "/readyz", "", ""); r.code != 200 || strings.TrimSpace(r.body) != "ok" {
			t.Fatalf("readyz = %d %q", r.code, r.body)
		}
		b.SetReady(errors.New("store: database is locked"))
		defer b.SetReady(nil)
		r := do(t, s, "GET", "/readyz", "", "")
		if r.code != 503 || !strings.Contains(r.body, "database is locked") {
			t.Fatalf("readyz = %d %q, want 503 with the reason", r.code, r.body)
		}
	})
	t.Run("list", func(t *testing.T) {
		r := do(t, s, "GET", "/api/v1/targets", "", "")
		var l api.TargetList
		if err := json.Unmarshal([]byte(r.body), &l); err != nil || r.code != 200 {
			t.Fatalf("list = %d %s (%v)", r.code, r.body, err)
		}
		if len(l.Targets) != 2 || l.Targets[0].ID != "db" || l.Targets[1].ID != "web" {
			t.Fatalf("list not sorted by id or incomplete: %+v", l.Targets)
		}
		if l.Targets[1].Recent != nil {
			t.Errorf("list carries recent results: %+v", l.Targets[1].Recent)
		}
		// The JSON carries id, kind and state as names.
		var raw struct {
			Targets []map[string]any `json:"targets"`
		}
		_ = json.Unmarshal([]byte(r.body), &raw)
		if got := raw.Targets[1]; got["id"] != "web" || got["kind"] != "http" || got["state"] != "up" {
			t.Fatalf("target JSON = %v, want id, kind, state", got)
		}
	})
	filters := []struct {
		query string
		want  string
	}{
		{"state=up", "web"}, {"state=down", "db"}, {"kind=tcp", "db"}, {"label=env=prod", "web"},
		{"label=env=prod&state=down", ""}, {"state=unknown", ""},
	}
	for _, f := range filters {
		t.Run("filter "+f.query, func(t *testing.T) {
			r := do(t, s, "GET", "/api/v1/targets?"+f.query, "", "")
			var l api.TargetList
			_ = json.Unmarshal([]byte(r.body), &l)
			var ids []string
			for _, x := range l.Targets {
				ids = append(ids, x.ID)
			}
			if strings.Join(ids, ",") != f.want {
				t.Fatalf("?%s = %v, want %q", f.query, ids, f.want)
			}
		})
	}
	t.Run("get", func(t *testing.T) {
		r := do(t, s, "GET", "/api/v1/targets/web", "", "")
		var st api.TargetStatus
		if err := json.Unmarshal([]byte(r.body), &st); err != nil || r.code != 200 {
			t.Fatalf("get = %d %s", r.code, r.body)
		}
		if st.State != health.Up || st.Last == nil || st.Last.Latency != 1500*time.Microsecond || len(st.Recent) != 2 ||
			st.Spec.URL != "http://127.0.0.1:8080/" || !st.Since.Equal(t0) {
			t.Fatalf("get = %+v", st)
		}
		if !strings.Contains(r.body, `"latency_ms":1.5`) {
			t.Errorf("result JSON lacks latency_ms: %s", r.body)
		}
	})
	t.Run("post then put then delete", func(t *testing.T) {
		r := do(t, s, "POST", "/api/v1/targets", `{"id":"new","kind":"tcp","address":"127.0.0.1:9","interval":"1s","timeout":"500ms"}`, "")
		if r.code != 201 || r.header.Get("Location") != "/api/v1/targets/new" {
			t.Fatalf("post = %d %v %s", r.code, r.header, r.body)
		}
		if sp, _ := b.Spec("new"); sp.Interval.D() != time.Second || sp.Timeout.D() != 500*time.Millisecond {
			t.Fatalf("stored spec %+v", sp)
		}
		r = do(t, s, "PUT", "/api/v1/targets/new", `{"kind":"tcp","address":"127.0.0.1:10"}`, "")
		if r.code != 200 {
			t.Fatalf("put update = %d %s", r.code, r.body)
		}
		if sp, _ := b.Spec("new"); sp.Address != "127.0.0.1:10" || sp.ID != "new" {
			t.Fatalf("put did not update: %+v", sp)
		}
		r = do(t, s, "PUT", "/api/v1/targets/other", `{"id":"other","kind":"tcp","address":"127.0.0.1:10"}`, "")
		if r.code != 201 || r.header.Get("Location") != "/api/v1/targets/other" {
			t.Fatalf("put create = %d %s", r.code, r.body)
		}
		if r := do(t, s, "DELETE", "/api/v1/targets/new", "", ""); r.code != 204 {
			t.Fatalf("delete = %d %s", r.code, r.body)
		}
		if _, ok := b.Spec("new"); ok {
			t.Fatal("delete left the target")
		}
	})
	t.Run("history defaults", func(t *testing.T) {
		before := time.Now()
		r := do(t, s, "GET", "/api/v1/targets/web/history", "", "")
		var h api.HistoryResponse
		if err := json.Unmarshal([]byte(r.body), &h); err != nil || r.code != 200 || len(h.Points) != 1 || h.Points[0].Count != 60 {
			t.Fatalf("history = %d %s", r.code, r.body)
		}
		from, to, step := b.LastRange()
		if step != 5*time.Minute || to.Sub(from) != 24*time.Hour || to.Before(before) {
			t.Fatalf("default range %v..%v step %v", from, to, step)
		}
	})
	for _, q := range []struct {
		query    string
		from, to time.Time
		step     time.Duration
	}{
		{"from=2025-05-01T00:00:00Z&to=2025-05-01T12:00:00Z&step=1h", t0.Add(-12 * time.Hour), t0, time.Hour},
		{"from=1746057600&to=1746100800&step=1m", t0.Add(-12 * time.Hour), t0, time.Minute},
		{"from=-7d&step=1d", time.Time{}, time.Time{}, 24 * time.Hour},
		{"from=-2h&to=-1h", time.Time{}, time.Time{}, 5 * time.Minute},
	} {
		t.Run("history "+q.query, func(t *testing.T) {
			if r := do(t, s, "GET", "/api/v1/targets/web/history?"+q.query, "", ""); r.code != 200 {
				t.Fatalf("= %d %s", r.code, r.body)
			}
			from, to, step := b.LastRange()
			if step != q.step {
				t.Fatalf("step %v, want %v", step, q.step)
			}
			if q.to.IsZero() { // relative to now
				if d := time.Since(to); d < 0 || d > time.Hour+time.Minute {
					t.Fatalf("to %v is not near now", to)
				}
				if strings.Contains(q.query, "7d") && to.Sub(from) != 7*24*time.Hour ||
					strings.Contains(q.query, "2h") && to.Sub(from) != time.Hour {
					t.Fatalf("range %v..%v", from, to)
				}
				return
			}
			if !to.Equal(q.to) || !from.Equal(q.from) {
				t.Fatalf("range %v..%v, want %v..%v", from, to, q.from, q.to)
			}
		})
	}
	t.Run("uptime", func(t *testing.T) {
		r := do(t, s, "GET", "/api/v1/targets/web/uptime", "", "")
		if r.code != 200 || !strings.Contains(r.body, `"24h":0.99`) || !strings.Contains(r.body, `"30d":-1`) {
			t.Fatalf("uptime = %d %s", r.code, r.body)
		}
	})
	t.Run("transitions", func(t *testing.T) {
		r := do(t, s, "GET", "/api/v1/targets/web/transitions?limit=5", "", "")
		var l api.TransitionList
		if err := json.Unmarshal([]byte(r.body), &l); err != nil || r.code != 200 || len(l.Transitions) != 1 || l.Transitions[0].To != health.Up {
			t.Fatalf("transitions = %d %s", r.code, r.body)
		}
		r = do(t, s, "GET", "/api/v1/targets/db/transitions", "", "")
		if r.code != 200 || !strings.Contains(r.body, `"transitions":[]`) {
			t.Fatalf("empty transitions = %d %s", r.code, r.body)
		}
		at := l.Transitions[0].At
		b.Log.Append(context.Background(), events.Transition{ID: "w1", TargetID: "web", From: health.Unknown, To: health.Up, At: at})
		for _, c := range []struct {
			query string
			n     int
		}{
			{"since=" + at.Format(time.RFC3339Nano), 1},
			{"since=" + at.Add(time.Nanosecond).Format(time.RFC3339Nano), 0},
			{"until=" + at.Format(time.RFC3339Nano), 0},
			{"until=" + at.Add(time.Nanosecond).Format(time.RFC3339Nano), 1},
		} {
			r := do(t, s, "GET", "/api/v1/transitions?"+strings.ReplaceAll(c.query, "+", "%2B"), "", "")
			var l api.TransitionList
			if err := json.Unmarshal([]byte(r.body), &l); err != nil || r.code != 200 || len(l.Transitions) != c.n {
				t.Errorf("transitions?%s = %d %s, want %d", c.query, r.code, r.body, c.n)
			}
		}
	})
}

func TestErrors(t *testing.T) {
	_, s := fixture(t, api.Options{LoopbackOnly: true})
	big := `{"id":"x","kind":"http","url":"http://127.0.0.1/","name":"` + strings.Repeat("a", api.MaxBodyBytes) + `"}`
	cases := []struct {
		name         string
		method, path string
		body         string
		code         int
		typ          string
		field        string // an errors[].field expected
		detail       string // a substring of detail (or of an error's fix)
	}{
		{"malformed JSON", "POST", "/api/v1/targets", `{"id":"x",}`, 400, api.TypeInvalidJSON, "", "offset 11"},
		{"truncated JSON", "POST", "/api/v1/targets", `{"id":"x"`, 400, api.TypeInvalidJSON, "", "ends early"},
		{"empty body", "POST", "/api/v1/targets", ``, 400, api.TypeInvalidJSON, "", "empty"},
		{"two objects", "POST", "/api/v1/targets", `{} {}`, 400, api.TypeInvalidJSON, "", "after the JSON object"},
		{"not an object", "POST", "/api/v1/targets", `[1]`, 400, api.TypeInvalidJSON, "(body)", "object"},
		{"unknown field", "POST", "/api/v1/targets", `{"id":"x","kind":"tcp","address":"127.0.0.1:9","intervall":"1s"}`, 400, api.TypeInvalidJSON, "intervall", `did you mean "interval"`},
		{"unknown nested field", "POST", "/api/v1/targets", `{"id":"x","kind":"http","url":"http://127.0.0.1/","http":{"methd":"GET"}}`, 400, api.TypeInvalidJSON, "http.methd", `"method"`},
		{"wrong type", "POST", "/api/v1/targets", `{"id":"x","kind":"tcp","address":"127.0.0.1:9","rise":"two"}`, 400, api.TypeInvalidJSON, "rise", "whole number"},
		{"bad duration", "POST", "/api/v1/targets", `{"id":"x","kind":"tcp","address":"127.0.0.1:9","interval":"fast"}`, 400, api.TypeInvalidJSON, "interval", "duration"},
		{"bad nested array", "POST", "/api/v1/targets", `{"id":"x","kind":"http","url":"http://127.0.0.1/","http":{"json":[{"path":"a","nope":1}]}}`, 400, api.TypeInvalidJSON, "http.json[0].nope", ""},
		{"invalid spec", "POST", "/api/v1/targets", `{"id":"x","kind":"http","url":"ftp://h","interval":"1s","timeout":"2s"}`, 422, api.TypeInvalidTarget, "url", "problem"},
		{"invalid spec timeout", "POST", "/api/v1/targets", `{"id":"x","kind":"http","url":"http://127.0.0.1/","interval":"1s","timeout":"2s"}`, 422, api.TypeInvalidTarget, "timeout", ""},
		{"unknown kind", "POST", "/api/v1/targets", `{"id":"x","kind":"smtp"}`, 422, api.TypeInvalidTarget, "kind", ""},
		{"id mismatch", "PUT", "/api/v1/targets/a", `{"id":"b","kind":"tcp","address":"127.0.0.1:9"}`, 422, api.TypeInvalidTarget, "id", "URL"},
		{"redacted placeholder", "PUT", "/api/v1/targets/a", `{"kind":"http","url":"http://127.0.0.1/","http":{"headers":{"Authorization":"<redacted>"}}}`, 422, api.TypeInvalidTarget, "http.headers.Authorization", ""},
		{"exists", "POST", "/api/v1/targets", `{"id":"web","kind":"tcp","address":"127.0.0.1:9"}`, 409, api.TypeConflict, "", "PUT"},
		{"too large", "POST", "/api/v1/targets", big, 413, api.TypeTooLarge, "", "1 MiB"},
		{"get missing", "GET", "/api/v1/targets/nope", "", 404, api.TypeNotFound, "", `"nope"`},
		{"delete missing", "DELETE", "/api/v1/targets/nope", "", 404, api.TypeNotFound, "", ""},
		{"history missing", "GET", "/api/v1/targets/nope/history", "", 404, api.TypeNotFound, "", ""},
		{"uptime missing", "GET", "/api/v1/targets/nope/uptime", "", 404, api.TypeNotFound, "", ""},
		{"transitions missing", "GET", "/api/v1/targets/nope/transitions", "", 404, api.TypeNotFound, "", ""},
		{"method not allowed", "PATCH", "/api/v1/targets/web", "", 405, api.TypeMethodNotAllow, "", "GET, PUT, DELETE"},
		{"method not allowed on list", "DELETE", "/api/v1/targets", "", 405, api.TypeMethodNotAllow, "", "GET, POST"},
		{"unknown route", "GET", "/api/v1/nothing", "", 404, api.TypeNotFound, "", "no API route"},
		{"bad state", "GET", "/api/v1/targets?state=sideways", "", 400, api.TypeInvalidQuery, "state", "state"},
		{"bad kind", "GET", "/api/v1/targets?kind=smtp", "", 400, api.TypeInvalidQuery, "kind", "kind"},
		{"bad label", "GET", "/api/v1/targets?label=env", "", 400, api.TypeInvalidQuery, "label", "label"},
		{"unknown param", "GET", "/api/v1/targets?colour=red", "", 400, api.TypeInvalidQuery, "colour", "colour"},
		{"bad from", "GET", "/api/v1/targets/web/history?from=yesterday", "", 400, api.TypeInvalidQuery, "from", "from"},
		{"bad to", "GET", "/api/v1/targets/web/history?to=2025-13-01", "", 400, api.TypeInvalidQuery, "to", "to"},
		{"bad step", "GET", "/api/v1/targets/web/history?step=often", "", 400, api.TypeInvalidQuery, "step", "step"},
		{"tiny step", "GET", "/api/v1/targets/web/history?step=1ms", "", 400, api.TypeInvalidQuery, "step", ""},
		{"too many points", "GET", "/api/v1/targets/web/history?from=-30d&step=1s", "", 400, api.TypeInvalidQuery, "step", ""},
		{"from after to", "GET", "/api/v1/targets/web/history?from=-1h&to=-2h", "", 400, api.TypeInvalidQuery, "from", ""},
		{"bad scope", "GET", "/api/v1/targets/web/history?scope=all", "", 400, api.TypeInvalidQuery, "scope", "local"},
		{"bad scope and from", "GET", "/api/v1/targets/web/history?scope=all&from=soon", "", 400, api.TypeInvalidQuery, "scope", "from"},
		{"bad uptime scope", "GET", "/api/v1/targets/web/uptime?scope=everyone", "", 400, api.TypeInvalidQuery, "scope", "cluster"},
		{"rollups missing", "GET", "/api/v1/targets/nope/rollups", "", 404, api.TypeNotFound, "", `"nope"`},
		{"rollups of the cluster", "GET", "/api/v1/targets/web/rollups?scope=cluster", "", 400, api.TypeInvalidQuery, "scope", "history?scope=cluster"},
		{"rollups step not minutes", "GET", "/api/v1/targets/web/rollups?step=90s", "", 400, api.TypeInvalidQuery, "step", "whole minutes"},
		{"rollups bad from", "GET", "/api/v1/targets/web/rollups?from=dawn", "", 400, api.TypeInvalidQuery, "from", "RFC 3339"},
		{"rollups from after to", "GET", "/api/v1/targets/web/rollups?from=-1h&to=-2h", "", 400, api.TypeInvalidQuery, "from", "earlier"},
		{"rollups too many groups", "GET", "/api/v1/targets/web/rollups?from=-100d", "", 400, api.TypeInvalidQuery, "step", "larger step"},
		{"rollups method", "POST", "/api/v1/targets/web/rollups", "", 405, api.TypeMethodNotAllow, "", "GET"},
		{"bad limit", "GET", "/api/v1/targets/web/transitions?limit=0", "", 400, api.TypeInvalidQuery, "limit", "limit"},
		{"bad limit text", "GET", "/api/v1/targets/web/transitions?limit=ten", "", 400, api.TypeInvalidQuery, "limit", ""},
		{"bad since", "GET", "/api/v1/transitions?since=yesterday", "", 400, api.TypeInvalidQuery, "since", "since"},
		{"bad until", "GET", "/api/v1/transitions?until=-1h", "", 400, api.TypeInvalidQuery, "until", "until"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := do(t, s, c.method, c.path, c.body, "")
			if r.code != c.code {
				t.Fatalf("status %d, want %d: %s", r.code, c.code, r.body)
			}
			p := r.problem(t)
			if p.Type != c.typ {
				t.Errorf("type %q, want %q", p.Type, c.typ)
			}
			all := p.Detail
			found := c.field == ""
			for _, e := range p.Errors {
				all += " " + e.Fix + " " + e.Problem
				found = found || e.Field == c.field
				if e.Problem == "" || e.Fix == "" {
					t.Errorf("error %+v lacks problem or fix", e)
				}
			}
			if !found {
				t.Errorf("no error names field %q: %+v", c.field, p.Errors)
			}
			if !strings.Contains(all, c.detail) {
				t.Errorf("problem %q does not mention %q", all, c.detail)
			}
		})
	}
	t.Run("wrong content type", func(t *testing.T) {
		req := httptest.NewRequest("POST", "/api/v1/targets", strings.NewReader(`{}`))
		req.Header.Set("Content-Type", "text/plain")
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != 415 {
			t.Fatalf("status %d, want 415", rec.Code)
		}
	})
	t.Run("backend field errors", func(t *testing.T) {
		b, s := fixture(t, api.Options{LoopbackOnly: true})
		b.SetPutError(target.FieldErrors{{Field: "id", Value: "x", Problem: "is reserved", Fix: "pick another"}})
		r := do(t, s, "PUT", "/api/v1/targets/x", `{"kind":"tcp","address":"127.0.0.1:9"}`, "")
		if p := r.problem(t); r.code != 422 || len(p.Errors) != 1 || p.Errors[0].Problem != "is reserved" {
			t.Fatalf("= %d %+v", r.code, p)
		}
		b.SetPutError(errors.New("disk full"))
		if r := do(t, s, "PUT", "/api/v1/targets/x", `{"kind":"tcp","address":"127.0.0.1:9"}`, ""); r.code != 500 {
			t.Fatalf("= %d, want 500", r.code)
		}
	})
}

func TestAuth(t *testing.T) {
	const tok = "s3cret-token"
	post := `{"id":"n%d","kind":"tcp","address":"127.0.0.1:9"}`
	cases := []struct {
		name        string
		opts        api.Options
		token       string
		read, write int
		writeType   string
	}{
		{"loopback, no token configured", api.Options{LoopbackOnly: true}, "", 200, 201, ""},
		{"loopback, token configured, none sent", api.Options{LoopbackOnly: true, Token: tok}, "", 200, 401, api.TypeUnauthorized},
		{"loopback, wrong token", api.Options{LoopbackOnly: true, Token: tok}, "nope", 200, 401, api.TypeUnauthorized},
		{"loopback, right token", api.Options{LoopbackOnly: true, Token: tok}, tok, 200, 201, ""},
		{"public, no token configured", api.Options{}, "", 403, 403, api.TypeTokenRequired},
		{"public, no token configured, open reads", api.Options{OpenReads: true}, "", 200, 403, api.TypeTokenRequired},
		{"public, token, none sent", api.Options{Token: tok}, "", 401, 401, api.TypeUnauthorized},
		{"public, token, wrong", api.Options{Token: tok}, tok + "x", 401, 401, api.TypeUnauthorized},
		{"public, token, right", api.Options{Token: tok}, tok, 200, 201, ""},
		{"public, token, open reads", api.Options{Token: tok, OpenReads: true}, "", 200, 401, api.TypeUnauthorized},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, s := fixture(t, c.opts)
			for _, path := range []string{"/api/v1/targets", "/api/v1/targets/web", "/metrics", "/api/v1/targets/web/uptime"} {
				if r := do(t, s, "GET", path, "", c.token); r.code != c.read {
					t.Errorf("GET %s = %d, want %d: %s", path, r.code, c.read, r.body)
				}
			}
			r := do(t, s, "POST", "/api/v1/targets", strings.Replace(post, "%d", string(rune('a'+i)), 1), c.token)
			if r.code != c.write {
				t.Fatalf("POST = %d, want %d: %s", r.code, c.write, r.body)
			}
			if c.writeType != "" {
				p := r.problem(t)
				if p.Type != c.writeType {
					t.Errorf("problem type %q, want %q", p.Type, c.writeType)
				}
				if c.writeType == api.TypeTokenRequired && !strings.Contains(p.Detail, "api.token") {
					t.Errorf("detail %q does not say to set api.token", p.Detail)
				}
				if c.write == 401 && r.header.Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
			}
			if r := do(t, s, "DELETE", "/api/v1/targets/web", "", c.token); r.code != c.write && !(c.write == 201 && r.code == 204) {
				t.Errorf("DELETE = %d, want %d", r.code, c.write)
			}
			for _, path := range []string{"/livez", "/readyz"} {
				if r := do(t, s, "GET", path, "", ""); r.code != 200 {
					t.Errorf("GET %s = %d, want 200 without a token", path, r.code)
				}
			}
		})
	}
}

func TestSecretsRedacted(t *testing.T) {
	b, s := fixture(t, api.Options{LoopbackOnly: true})
	body := `{"id":"sec","kind":"http","url":"http://user:hunter2@127.0.0.1:8080/",` +
		`"http":{"headers":{"Authorization":"Bearer abc123","X-Api-Key":"k-999","Accept":"text/plain","X-Token":"${TOK}"}}}`
	if r := do(t, s, "PUT", "/api/v1/targets/sec", body, ""); r.code != 201 {
		t.Fatalf("put = %d %s", r.code, r.body)
	} else if strings.Contains(r.body, "hunter2") || strings.Contains(r.body, "abc123") {
		t.Fatalf("put response echoes a secret: %s", r.body)
	}
	if sp, _ := b.Spec("sec"); sp.HTTP.Headers["Authorization"] != "Bearer abc123" {
		t.Fatalf("backend got a redacted spec: %+v", sp.HTTP)
	}
	for _, path := range []string{"/api/v1/targets/sec", "/api/v1/targets"} {
		r := do(t, s, "GET", path, "", "")
		for _, secret := range []string{"hunter2", "abc123", "k-999"} {
			if strings.Contains(r.body, secret) {
				t.Errorf("GET %s shows %q: %s", path, secret, r.body)
			}
		}
		if !strings.Contains(r.body, "text/plain") || !strings.Contains(r.body, "${TOK}") || !strings.Contains(r.body, target.Redacted) {
			t.Errorf("GET %s redacted too much or nothing: %s", path, r.body)
		}
	}
	// A validation error never echoes a secret value.
	r := do(t, s, "PUT", "/api/v1/targets/sec2", `{"kind":"http","url":"http://u:pw-777@127.0.0.1:99999/","http":{"body":"pw-777","method":"FETCH"}}`, "")
	if r.code != 422 || strings.Contains(r.body, "pw-777") {
		t.Fatalf("validation = %d, echoes the secret? %s", r.code, r.body)
	}
	r = do(t, s, "PUT", "/api/v1/targets/sec2", `{"kind":"http","url":"http://127.0.0.1/","http":{"body":123456789}}`, "")
	if r.code != 400 || strings.Contains(r.body, "123456789") {
		t.Fatalf("type error = %d, echoes the body? %s", r.code, r.body)
	}
}

func TestStatusOfAndResultJSON(t *testing.T) {
	r := api.ResultFrom(t0, probe.Result{OK: true, Latency: 2500 * time.Microsecond, Message: "ok"})
	b, _ := json.Marshal(r)
	var back api.Result
	if err := json.Unmarshal(b, &back); err != nil || back.Latency != r.Latency || !back.At.Equal(t0) || back.Message != "ok" {
		t.Fatalf("round trip %s -> %+v (%v)", b, back, err)
	}
	_ = context.Background()
}
