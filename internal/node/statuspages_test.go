package node

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/api"
	"github.com/heckhq/heck/internal/events"
	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/incident"
	"github.com/heckhq/heck/internal/statuspage"
	"github.com/heckhq/heck/internal/store"
	"github.com/heckhq/heck/internal/target"
	"github.com/heckhq/heck/internal/testkit"
)

// call sends a request to the node's server and returns the status and
// body; host, when set, is the Host header.
func spCall(t *testing.T, method, url, host, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if host != "" {
		req.Host = host
	}
	res, err := clClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

func decode[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return v
}

// expect checks a call's status, and that the body names each of want.
func expect(t *testing.T, what string, code int, body []byte, wantCode int, want ...string) {
	t.Helper()
	if code != wantCode {
		t.Fatalf("%s = %d %s, want %d", what, code, body, wantCode)
	}
	for _, w := range want {
		if !strings.Contains(string(body), w) {
			t.Fatalf("%s: %s does not mention %q", what, body, w)
		}
	}
}

func TestIncidentsAPI(t *testing.T) {
	tg := testkit.NewTargets(t)
	nn := ntStart(t, ntConfig(t.TempDir(), target.Spec{ID: "web", Name: "Shop", Kind: target.KindHTTP, URL: tg.URL("web")}))
	base := nn.base + "/api/v1/incidents"

	code, b := spCall(t, "POST", base, "", `{"title":"Checkout is slow","impact":"minor","targets":["web"],"message":"Looking into it"}`)
	expect(t, "POST", code, b, http.StatusCreated)
	in := decode[incident.Incident](t, b)
	if !strings.HasPrefix(in.ID, "i-") || in.Status != incident.Investigating || len(in.Updates) != 1 || in.Created.IsZero() || in.CreatedBy != "api" {
		t.Fatalf("created %+v", in)
	}

	tests := []struct {
		name, body string
		code       int
		want       []string
	}{
		{"unknown target", `{"title":"x","targets":["nope"]}`, http.StatusUnprocessableEntity, []string{`"targets[0]"`, "is not a known target"}},
		{"no title", `{"targets":["web"]}`, http.StatusUnprocessableEntity, []string{`"title"`, "is missing"}},
		{"bad status", `{"title":"x","status":"panicking"}`, http.StatusUnprocessableEntity, []string{`"status"`, "investigating, identified"}},
		{"bad impact", `{"title":"x","impact":"huge"}`, http.StatusUnprocessableEntity, []string{`"impact"`}},
		{"unknown field", `{"title":"x","severity":"high"}`, http.StatusBadRequest, []string{"severity"}},
		{"existing id", `{"id":"` + in.ID + `","title":"x"}`, http.StatusConflict, []string{"PUT"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, b := spCall(t, "POST", base, "", tc.body)
			expect(t, "POST "+tc.body, code, b, tc.code, tc.want...)
		})
	}

	code, b = spCall(t, "GET", base+"?status=open", "", "")
	expect(t, "GET open", code, b, http.StatusOK)
	if got := decode[[]incident.Incident](t, b); len(got) != 1 || got[0].ID != in.ID {
		t.Fatalf("open = %+v", got)
	}
	code, b = spCall(t, "GET", base+"?status=sideways", "", "")
	expect(t, "GET ?status=sideways", code, b, http.StatusBadRequest, "status=open")

	// An edit without updates keeps them.
	code, b = spCall(t, "PUT", base+"/"+in.ID, "", `{"title":"Checkout is down","impact":"major","targets":["web"]}`)
	expect(t, "PUT", code, b, http.StatusOK)
	if got := decode[incident.Incident](t, b); got.Title != "Checkout is down" || len(got.Updates) != 1 || got.Created != in.Created {
		t.Fatalf("after PUT %+v", got)
	}

	code, b = spCall(t, "POST", base+"/"+in.ID+"/updates", "", `{"status":"identified","message":"A bad deploy"}`)
	expect(t, "POST identified", code, b, http.StatusCreated, `"status":"identified"`)
	code, b = spCall(t, "POST", base+"/"+in.ID+"/updates", "", `{"status":"investigating","message":"Hmm"}`)
	expect(t, "POST going back", code, b, http.StatusUnprocessableEntity, "goes back from identified")
	code, b = spCall(t, "POST", base+"/"+in.ID+"/updates", "", `{"status":"monitoring"}`)
	expect(t, "POST without message", code, b, http.StatusUnprocessableEntity, `"message"`)
	code, b = spCall(t, "POST", base+"/"+in.ID+"/updates", "", `{"status":"resolved","message":"Rolled back"}`)
	expect(t, "POST resolved", code, b, http.StatusCreated)
	if got := decode[incident.Incident](t, b); got.Status != incident.Resolved || got.Resolved.IsZero() || len(got.Updates) != 3 {
		t.Fatalf("resolved %+v", got)
	}
	code, b = spCall(t, "GET", base+"?status=resolved", "", "")
	if got := decode[[]incident.Incident](t, b); code != http.StatusOK || len(got) != 1 {
		t.Fatalf("resolved list = %d %s", code, b)
	}

	// One click from a transition: titled after the target as a status
	// page shows it (the incident is public), attached to it, and the same
	// incident on a second click.
	if err := nn.n.PutStatusPage(t.Context(), statuspage.Page{ID: "p", Title: "P", Groups: []statuspage.Group{
		{Name: "G", Entries: []statuspage.Entry{{Target: "web", DisplayName: "Storefront"}}}}}, "test"); err != nil {
		t.Fatal(err)
	}
	tr, _ := nn.n.tlog.Append(t.Context(), events.Transition{ID: "tr-web-1", TargetID: "web", From: health.Up, To: health.Down,
		At: time.Now(), Cause: "dial tcp 127.0.0.1:1: connection refused"})
	code, b = spCall(t, "POST", nn.base+"/api/v1/transitions/"+tr.ID+"/incident", "", "")
	expect(t, "POST from transition", code, b, http.StatusCreated)
	fromTr := decode[incident.Incident](t, b)
	if fromTr.Title != "Storefront is down" || fromTr.Transition != tr.ID || len(fromTr.Targets) != 1 || fromTr.Targets[0] != "web" ||
		fromTr.Impact != incident.ImpactMajor || len(fromTr.Updates) != 1 || strings.Contains(fromTr.Updates[0].Message, "127.0.0.1") {
		t.Fatalf("from transition %+v", fromTr)
	}
	code, b = spCall(t, "POST", base, "", `{"transition":"`+tr.ID+`"}`)
	expect(t, "POST {transition}", code, b, http.StatusCreated)
	if again := decode[incident.Incident](t, b); again.ID != fromTr.ID {
		t.Fatalf("second click opened %s, want %s again", again.ID, fromTr.ID)
	}
	code, b = spCall(t, "POST", nn.base+"/api/v1/transitions/no-such/incident", "", "")
	expect(t, "from unknown transition", code, b, http.StatusNotFound, "GET /api/v1/transitions")

	code, b = spCall(t, "DELETE", base+"/"+in.ID, "", "")
	expect(t, "DELETE", code, b, http.StatusNoContent)
	code, b = spCall(t, "GET", base+"/"+in.ID, "", "")
	expect(t, "GET deleted", code, b, http.StatusNotFound)
	code, b = spCall(t, "DELETE", base+"/"+in.ID, "", "")
	expect(t, "DELETE again", code, b, http.StatusNotFound)
	code, b = spCall(t, "PATCH", base+"/"+in.ID, "", "")
	expect(t, "PATCH", code, b, http.StatusMethodNotAllowed)

	// Every change is an audit event.
	evs, err := nn.n.QueryTransitions(t.Context(), store.TransitionQuery{TargetID: "incident/" + in.ID, Type: events.TypeConfig})
	if err != nil || len(evs) < 4 {
		t.Fatalf("audit events of the incident = %d (%v), want at least 4", len(evs), err)
	}
}

func TestStatusPagesAPIAndPublic(t *testing.T) {
	tg := testkit.NewTargets(t)
	cfg := ntConfig(t.TempDir(),
		target.Spec{ID: "web", Kind: target.KindHTTP, URL: tg.URL("web")},
		target.Spec{ID: "hidden", Kind: target.KindHTTP, URL: tg.URL("down-hidden")})
	cfg.StatusPages = []statuspage.Page{{ID: "public", Title: "From config", Groups: []statuspage.Group{
		{Name: "Site", Entries: []statuspage.Entry{{Target: "web", DisplayName: "Website"}}}}}}
	nn := ntStart(t, cfg)
	base := nn.base + "/api/v1/statuspages"

	code, b := spCall(t, "GET", base, "", "")
	expect(t, "GET list", code, b, http.StatusOK, `"origin":"config"`, "From config")

	page := `{"id":"ops","title":"Ops","host":"status.example.test","groups":[{"name":"G","entries":[{"target":"web","display_name":"Shop"}]}]}`
	tests := []struct {
		name, method, path, body string
		code                     int
		want                     []string
	}{
		{"unknown target", "POST", "", `{"id":"x","title":"X","groups":[{"name":"G","entries":[{"target":"nope","display_name":"N"}]}]}`,
			http.StatusUnprocessableEntity, []string{`"groups[0].entries[0].target"`, "is not a known target"}},
		{"bad slug", "POST", "", `{"id":"Ops Page","title":"X","groups":[{"name":"G","entries":[{"target":"web","display_name":"N"}]}]}`,
			http.StatusUnprocessableEntity, []string{`"id"`, "slug"}},
		{"create", "POST", "", page, http.StatusCreated, []string{`"host":"status.example.test"`}},
		{"create again", "POST", "", page, http.StatusConflict, []string{"PUT /api/v1/statuspages/ops"}},
		{"same host", "PUT", "/other", strings.Replace(page, `"ops"`, `"other"`, 1), http.StatusUnprocessableEntity, []string{`"host"`, "page ops"}},
		{"path and body differ", "PUT", "/ops2", page, http.StatusUnprocessableEntity, []string{"the path"}},
		{"replace", "PUT", "/ops", strings.Replace(page, `"Ops"`, `"Operations"`, 1), http.StatusOK, []string{"Operations"}},
		{"replace config page", "PUT", "/public", `{"title":"Now the API's","groups":[{"name":"G","entries":[{"target":"web","display_name":"Website"}]}]}`,
			http.StatusOK, []string{"Now the API's"}},
	}
	for _, tc := range tests {
		code, b := spCall(t, tc.method, base+tc.path, "", tc.body)
		expect(t, tc.name, code, b, tc.code, tc.want...)
	}
	if p, _ := nn.n.StatusPage(t.Context(), "public"); p.Origin != "" {
		t.Errorf("a page written by the API keeps origin %q", p.Origin)
	}

	// The public side: at its path, on its host name, as JSON, and badges
	// for the targets a page shows only.
	code, b = spCall(t, "GET", nn.base+"/status/ops", "", "")
	expect(t, "GET /status/ops", code, b, http.StatusOK, "Operations", "Shop")
	for _, leak := range []string{"127.0.0.1", "/t/web", ">web<", ">nt<"} {
		if strings.Contains(string(b), leak) {
			t.Errorf("the public page shows %q", leak)
		}
	}
	code, b = spCall(t, "GET", nn.base+"/", "status.example.test", "")
	expect(t, "GET / on the page's host", code, b, http.StatusOK, "Operations")
	code, b = spCall(t, "GET", nn.base+"/status/ops.json", "", "")
	expect(t, "GET /status/ops.json", code, b, http.StatusOK, `"title": "Operations"`)
	code, b = spCall(t, "GET", nn.base+"/badge/web/status.svg", "", "")
	expect(t, "status badge", code, b, http.StatusOK, "<svg", "Shop")
	code, b = spCall(t, "GET", nn.base+"/badge/web/uptime/7d.svg", "", "")
	expect(t, "uptime badge", code, b, http.StatusOK, "<svg")
	code, b = spCall(t, "GET", nn.base+"/badge/hidden/status.svg", "", "")
	expect(t, "badge of a target no page shows", code, b, http.StatusNotFound)

	code, b = spCall(t, "DELETE", base+"/ops", "", "")
	expect(t, "DELETE", code, b, http.StatusNoContent)
	code, b = spCall(t, "GET", nn.base+"/status/ops", "", "")
	expect(t, "GET deleted page", code, b, http.StatusNotFound)
	code, b = spCall(t, "GET", base+"/ops", "", "")
	expect(t, "GET deleted page (API)", code, b, http.StatusNotFound, "GET /api/v1/statuspages")
}

// A config page that leaves the file is deleted at the next start; one
// still in it is rewritten as the file says.
func TestStatusPagesFromConfigRestart(t *testing.T) {
	dir := t.TempDir()
	tg := testkit.NewTargets(t)
	web := target.Spec{ID: "web", Kind: target.KindHTTP, URL: tg.URL("web")}
	mk := func(id, title string) statuspage.Page {
		return statuspage.Page{ID: id, Title: title, Groups: []statuspage.Group{{Name: "G", Entries: []statuspage.Entry{{Target: "web", DisplayName: "W"}}}}}
	}
	cfg := ntConfig(dir, web)
	cfg.StatusPages = []statuspage.Page{mk("a", "A"), mk("b", "B")}
	nn := ntStart(t, cfg)
	if err := nn.stop(); err != nil {
		t.Fatal(err)
	}
	cfg = ntConfig(dir, web)
	cfg.StatusPages = []statuspage.Page{mk("a", "A again")}
	nn = ntStart(t, cfg)
	ps, _ := nn.n.StatusPages(context.Background())
	if len(ps) != 1 || ps[0].ID != "a" || ps[0].Title != "A again" || ps[0].Origin != "config" {
		t.Fatalf("pages after restart = %+v", ps)
	}
}

var _ api.IncidentBackend = (*Node)(nil)
