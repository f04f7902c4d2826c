package web

import (
	"bufio"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/incident"
	"github.com/heckhq/heck/internal/target"
	"github.com/heckhq/heck/internal/user"
)

type env struct {
	node *fakeNode
	auth *fakeAuth
	inc  *fakeIncidents
	h    *Handler
	srv  *httptest.Server
}

func newEnv(t testing.TB, o Options) *env {
	t.Helper()
	e := &env{node: newFakeNode(), auth: newFakeAuth()}
	e.inc = newFakeIncidents(e.node)
	e.auth.addUser("ada", user.Admin, "pw-admin-1")
	e.auth.addUser("ed", user.Editor, "pw-editor-1")
	e.auth.addUser("vi", user.Viewer, "pw-viewer-1")
	e.node.add("web-1", health.Up, map[string]string{"env": "prod"})
	e.node.add("web-2", health.Down, map[string]string{"env": "prod"})
	e.node.add("db", health.Down, map[string]string{"env": "stage"})
	no := false
	w1 := e.node.targets["web-1"]
	w1.Spec.DependsOn = []target.Dependency{{Target: "db"}, {Target: "cache", Critical: &no}}
	e.node.targets["web-1"] = w1
	h, err := New(Deps{Targets: e.node, History: e.node, Transitions: e.node, Log: e.node, Members: e.node, Pools: e.node, Graph: e.node,
		Vantages: e.node, Auth: e.auth, Users: e.auth, Incidents: e.inc, StatusPages: e.inc}, o)
	if err != nil {
		t.Fatal(err)
	}
	e.h = h
	e.srv = httptest.NewServer(h)
	t.Cleanup(func() { h.Close(); e.srv.Close() })
	return e
}

// do sends a request as name ("" anonymous), not following redirects.
func (e *env) do(t testing.TB, method, path, as string, form url.Values) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, e.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if as != "" {
		req.AddCookie(&http.Cookie{Name: "sess", Value: as})
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestPages(t *testing.T) {
	e := newEnv(t, Options{NodeName: "node-a"})
	e.node.transition("web-2", health.Down, "connection refused")
	_, _ = e.inc.PutIncident(context.Background(), incident.Incident{ID: "inc-x", Title: "DB is down", Status: incident.Investigating}, "ada")
	tests := []struct {
		path string
		want []string
	}{
		{"/", []string{"web-1", "web-2", "<svg class=\"spark\"", "100%", "Add target", "connection refused"}},
		{"/targets/web-2", []string{"Response time", "uptime per day, last 90 days", "Open incident", "node-a", "Vantage points", "transitions/tr-1/incident"}},
		{"/targets/web-1", []string{"Depends on", "/targets/db", "cache", "non-critical"}},
		{"/targets/db", []string{"Needed by", "/targets/web-1"}},
		{"/cluster", []string{"node-b", "eu-2", "dependency graph", "root cause", "1 / 2"}},
		{"/incidents", []string{"DB is down", "investigating"}},
		{"/incidents/inc-x", []string{"Post an update"}},
		{"/statuspages", []string{"New status page"}},
		{"/statuspages/new", []string{"display_name"}},
		{"/users", []string{"ada", "ed", "vi", "Invite a collaborator"}},
		{"/new/target", []string{"name=\"csrf\" value=\"csrf-ada\"", "Depends on"}},
		{"/targets/web-1/edit", []string{"value=\"web-1\"", "env=prod"}},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			resp, body := e.do(t, "GET", tc.path, "ada", nil)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: %d\n%s", tc.path, resp.StatusCode, body)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("GET %s: no %q in the page", tc.path, w)
				}
			}
			if strings.Contains(body, "<form method=\"post\"") && !strings.Contains(body, `name="csrf" value="csrf-ada"`) {
				t.Errorf("GET %s: a form without the CSRF token", tc.path)
			}
		})
	}
}

// TestRoles: a viewer sees no edit buttons and gets 403 on every POST;
// the anonymous are sent to sign in; an editor may edit but not manage
// users.
func TestRoles(t *testing.T) {
	e := newEnv(t, Options{})
	_, _ = e.inc.PutIncident(context.Background(), incident.Incident{ID: "inc-1", Title: "x", Status: incident.Investigating}, "ada")
	for _, path := range []string{"/", "/targets/web-1", "/incidents", "/incidents/inc-1", "/statuspages"} {
		resp, body := e.do(t, "GET", path, "vi", nil)
		if resp.StatusCode != 200 {
			t.Fatalf("viewer GET %s: %d", path, resp.StatusCode)
		}
		for _, no := range []string{"Add target", ">Edit<", ">Delete", "Open incident", "Post an update", "New status page", `method="post" action="/targets`} {
			if strings.Contains(body, no) {
				t.Errorf("viewer GET %s shows %q", path, no)
			}
		}
	}
	posts := []string{"/new/target", "/targets/web-1/edit", "/targets/web-1/delete", "/incidents/new", "/incidents/inc-1/updates",
		"/incidents/inc-1/delete", "/transitions/tr-1/incident", "/statuspages/new", "/users/invite", "/users/ed/role", "/users/ed/delete"}
	for _, p := range posts {
		form := url.Values{"csrf": {"csrf-vi"}, "id": {"evil"}, "kind": {"http"}, "url": {"http://127.0.0.1:1/"}, "role": {"admin"}}
		if resp, _ := e.do(t, "POST", p, "vi", form); resp.StatusCode != http.StatusForbidden {
			t.Errorf("viewer POST %s: %d, want 403", p, resp.StatusCode)
		}
		if resp, _ := e.do(t, "POST", p, "", form); resp.StatusCode != http.StatusForbidden {
			t.Errorf("anonymous POST %s: %d, want 403", p, resp.StatusCode)
		}
	}
	if _, ok := e.node.Target(context.Background(), "evil"); ok {
		t.Fatal("a viewer's POST created a target")
	}
	if _, ok := e.node.Target(context.Background(), "web-1"); !ok {
		t.Fatal("a viewer's POST deleted a target")
	}
	for _, p := range []string{"/users"} {
		if resp, _ := e.do(t, "GET", p, "ed", nil); resp.StatusCode != http.StatusForbidden {
			t.Errorf("editor GET %s: %d, want 403", p, resp.StatusCode)
		}
	}
	if resp, _ := e.do(t, "POST", "/users/vi/role", "ed", url.Values{"csrf": {"csrf-ed"}, "role": {"admin"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("editor POST /users/vi/role: %d, want 403", resp.StatusCode)
	}
	resp, _ := e.do(t, "GET", "/targets/web-1", "", nil)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login?next=%2Ftargets%2Fweb-1") {
		t.Errorf("anonymous GET: %d to %q, want 303 to the login page", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestOpenReads: with open reads the anonymous see the pages and no
// buttons, and still cannot post.
func TestOpenReads(t *testing.T) {
	e := newEnv(t, Options{OpenReads: true})
	resp, body := e.do(t, "GET", "/", "", nil)
	if resp.StatusCode != 200 || strings.Contains(body, "Add target") || !strings.Contains(body, "Sign in") {
		t.Fatalf("anonymous dashboard with open reads: %d, buttons or no sign-in link", resp.StatusCode)
	}
}

// TestCSRF: a form without the token, or with another's, is refused and
// changes nothing; with it, it goes through.
func TestCSRF(t *testing.T) {
	e := newEnv(t, Options{})
	form := func(csrf string) url.Values {
		v := url.Values{"id": {"api"}, "kind": {"http"}, "url": {"http://127.0.0.1:8080/healthz"}, "interval": {"5s"}}
		if csrf != "" {
			v.Set("csrf", csrf)
		}
		return v
	}
	for _, tok := range []string{"", "csrf-ed", "garbage"} {
		resp, body := e.do(t, "POST", "/new/target", "ada", form(tok))
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "CSRF") {
			t.Errorf("csrf %q: %d, want 403 naming CSRF", tok, resp.StatusCode)
		}
	}
	if _, ok := e.node.Target(context.Background(), "api"); ok {
		t.Fatal("a forged form created the target")
	}
	resp, _ := e.do(t, "POST", "/new/target", "ada", form("csrf-ada"))
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/targets/api?flash=saved" {
		t.Fatalf("good form: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	got, ok := e.node.Target(context.Background(), "api")
	if !ok || got.Spec.Interval.D() != 5*time.Second || got.Spec.URL != "http://127.0.0.1:8080/healthz" {
		t.Fatalf("stored %+v", got.Spec)
	}
	// Logging in from another site's form is refused.
	req, _ := http.NewRequest("POST", e.srv.URL+"/login", strings.NewReader("name=ada&password=pw-admin-1"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if r2.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site login: %d, want 403", r2.StatusCode)
	}
}

// TestTargetForm: bad input is shown beside the form, naming field, value
// and fix, and nothing is stored; an edit keeps what the form does not show.
func TestTargetForm(t *testing.T) {
	e := newEnv(t, Options{})
	tests := []struct {
		name string
		form url.Values
		want []string
	}{
		{"bad interval", url.Values{"id": {"x"}, "kind": {"http"}, "url": {"http://127.0.0.1/"}, "interval": {"soon"}}, []string{"interval", "soon", "is not a duration"}},
		{"bad label", url.Values{"id": {"x"}, "kind": {"http"}, "url": {"http://127.0.0.1/"}, "labels": {"prod"}}, []string{"labels", "is not name=value"}},
		{"no url", url.Values{"id": {"x"}, "kind": {"http"}}, []string{"url"}},
		{"taken id", url.Values{"id": {"web-1"}, "kind": {"http"}, "url": {"http://127.0.0.1/"}}, []string{"is taken"}},
		{"bad json", url.Values{"json": {`{"id": "x", "kind": "http", "url": "http://127.0.0.1/", "intervall": "5s"}`}}, []string{"intervall"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.form.Set("csrf", "csrf-ed")
			before := e.node.puts
			resp, body := e.do(t, "POST", "/new/target", "ed", tc.form)
			if resp.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("%d, want 422", resp.StatusCode)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("no %q in the form's problems", w)
				}
			}
			if e.node.puts != before {
				t.Error("a bad form was stored")
			}
		})
	}
	// Edit: change the interval; labels, kind and URL kept.
	resp, _ := e.do(t, "POST", "/targets/web-1/edit", "ed", url.Values{"csrf": {"csrf-ed"}, "kind": {"http"},
		"url": {"http://127.0.0.1:9/web-1"}, "interval": {"30s"}, "labels": {"env=prod, team=web"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("edit: %d", resp.StatusCode)
	}
	got, _ := e.node.Target(context.Background(), "web-1")
	if got.Spec.Interval.D() != 30*time.Second || got.Spec.Labels["team"] != "web" || got.Spec.URL != "http://127.0.0.1:9/web-1" {
		t.Fatalf("edited spec %+v", got.Spec)
	}
}

// TestDashboardFilters: search, state, label and pool filters, and paging.
func TestDashboardFilters(t *testing.T) {
	e := newEnv(t, Options{PageSize: 10})
	for i := range 25 {
		e.node.add(fmt.Sprintf("svc-%02d", i), health.Up, map[string]string{"team": "pay"})
	}
	tests := []struct {
		query     string
		has, hasn []string
	}{
		{"q=web", []string{"t-web-1", "t-web-2"}, []string{"t-db", "t-svc-00"}},
		{"state=down", []string{"t-web-2", "t-db"}, []string{"t-web-1"}},
		{"label=env%3Dprod", []string{"t-web-1", "t-web-2"}, []string{"t-db"}},
		{"label=env", []string{"label", "is not name=value"}, []string{"t-svc-00"}},
		{"pool=nope", []string{"is not a pool"}, []string{"t-web-1"}},
		{"pool=web", []string{"t-web-1", "t-web-2"}, []string{"t-db"}},
		{"", []string{"t-db", "t-web-2", "t-svc-00", "rel=\"next\"", "Showing 1–10 of 28"}, []string{"t-svc-09", "rel=\"prev\""}},
		{"page=3", []string{"t-svc-24", "rel=\"prev\"", "Showing 21–28"}, []string{"rel=\"next\"", "t-db"}},
		{"q=PAY&state=up", []string{"t-svc-00"}, []string{"t-web-1"}},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			_, body := e.do(t, "GET", "/?"+tc.query, "vi", nil)
			for _, w := range tc.has {
				if !strings.Contains(body, w) {
					t.Errorf("no %q", w)
				}
			}
			for _, w := range tc.hasn {
				if strings.Contains(body, w) {
					t.Errorf("has %q", w)
				}
			}
		})
	}
}

// TestLive: a transition reaches an open stream at once.
func TestLive(t *testing.T) {
	e := newEnv(t, Options{})
	req, _ := http.NewRequest("GET", e.srv.URL+"/ui/events", nil)
	req.AddCookie(&http.Cookie{Name: "sess", Value: "vi"})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	rd := bufio.NewReader(resp.Body)
	if line, _ := rd.ReadString('\n'); !strings.HasPrefix(line, "retry:") {
		t.Fatalf("first line %q", line)
	}
	start := time.Now()
	e.node.transition("web-1", health.Down, "connection refused")
	var got []string
	for {
		if len(got) == 0 {
			if line, _ := rd.ReadString('\n'); !strings.HasPrefix(line, "id: ") {
				continue
			} else {
				got = append(got, line)
			}
		}
		line, err := rd.ReadString('\n')
		if err != nil {
			t.Fatalf("stream ended: %v (got %q)", err, got)
		}
		got = append(got, line)
		if strings.HasPrefix(line, "data: ") {
			if !strings.Contains(line, `"target":"web-1"`) || !strings.Contains(line, `"to":"down"`) {
				t.Fatalf("event %q", line)
			}
			break
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("the change took %v to arrive, want < 1s", d)
	}
	if got[0] != "id: 1\n" || got[1] != "event: state\n" {
		t.Fatalf("event lines %q", got)
	}
	// Anonymous streams are refused.
	r2, _ := e.do(t, "GET", "/ui/events", "", nil)
	if r2.StatusCode != http.StatusSeeOther {
		t.Fatalf("anonymous stream: %d", r2.StatusCode)
	}
}

// TestLoginFlow: no users yet says how to create one; a login sets the
// cookie and goes where it was asked (only locally); an invitation sets a
// password that then signs in.
func TestLoginFlow(t *testing.T) {
	e := newEnv(t, Options{})
	_, body := e.do(t, "GET", "/login", "", nil)
	if strings.Contains(body, "heck user add") {
		t.Fatal("the no-users hint shows while users exist")
	}
	resp, _ := e.do(t, "POST", "/login", "", url.Values{"name": {"ada"}, "password": {"pw-admin-1"}, "next": {"/cluster"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/cluster" || len(resp.Cookies()) == 0 {
		t.Fatalf("login: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, _ = e.do(t, "POST", "/login", "", url.Values{"name": {"ada"}, "password": {"pw-admin-1"}, "next": {"//evil.example/"}})
	if resp.Header.Get("Location") != "/" {
		t.Fatalf("login sent to %q, want /", resp.Header.Get("Location"))
	}
	resp, body = e.do(t, "POST", "/login", "", url.Values{"name": {"ada"}, "password": {"nope"}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "wrong user name or password") {
		t.Fatalf("bad login: %d", resp.StatusCode)
	}
	_, body = e.do(t, "POST", "/users/invite", "ada", url.Values{"csrf": {"csrf-ada"}, "name": {"bo"}, "role": {"editor"}})
	if !strings.Contains(body, "/invite?token=inv-bo") {
		t.Fatal("no invitation link")
	}
	resp, _ = e.do(t, "POST", "/invite", "", url.Values{"token": {"inv-bo"}, "password": {"longenough"}, "confirm": {"longenough"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("accept: %d", resp.StatusCode)
	}
	if resp, _ = e.do(t, "POST", "/login", "", url.Values{"name": {"bo"}, "password": {"longenough"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("invitee login: %d", resp.StatusCode)
	}

	empty := newFakeAuth()
	h, err := New(Deps{Targets: e.node, Auth: empty, Users: empty}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/login", nil))
	if !strings.Contains(rec.Body.String(), "heck user add --name admin --role admin") {
		t.Fatal("no hint to create the first admin")
	}
}

// TestIncidents: open one from the form and from a transition, post an
// update.
func TestIncidents(t *testing.T) {
	e := newEnv(t, Options{})
	e.node.transition("db", health.Down, "refused")
	resp, _ := e.do(t, "POST", "/transitions/tr-1/incident", "ed", url.Values{"csrf": {"csrf-ed"}})
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/incidents/inc-1") {
		t.Fatalf("from transition: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body := e.do(t, "POST", "/incidents/new", "ed", url.Values{"csrf": {"csrf-ed"}, "title": {""}, "impact": {"minor"}, "status": {"investigating"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "title") {
		t.Fatalf("empty title: %d", resp.StatusCode)
	}
	resp, _ = e.do(t, "POST", "/incidents/new", "ed", url.Values{"csrf": {"csrf-ed"}, "title": {"Slow"}, "impact": {"major"}, "status": {"identified"}, "targets": {"web-1, db"}, "message": {"looking"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: %d", resp.StatusCode)
	}
	in, err := e.inc.Incident(context.Background(), "inc-2")
	if err != nil || in.Title != "Slow" || len(in.Targets) != 2 || in.CreatedBy != "ed" || in.Updates[0].Message != "looking" {
		t.Fatalf("stored %+v %v", in, err)
	}
	resp, _ = e.do(t, "POST", "/incidents/inc-2/updates", "ed", url.Values{"csrf": {"csrf-ed"}, "status": {"resolved"}, "message": {"fixed"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("update: %d", resp.StatusCode)
	}
	if in, _ = e.inc.Incident(context.Background(), "inc-2"); in.Status != incident.Resolved {
		t.Fatalf("status %s", in.Status)
	}
}

// TestStatusPageForm: JSON errors and the backend's field errors are
// shown; a good page is saved.
func TestStatusPageForm(t *testing.T) {
	e := newEnv(t, Options{})
	tests := []struct {
		json string
		code int
		want string
	}{
		{`{"id": "p", "title": "T", "groupz": []}`, 422, "unknown field"},
		{`{"id": "p"`, 422, "does not decode"},
		{`{"id": "p", "title": ""}`, 422, "give the page a title"},
		{`{"id": "p", "title": "Public", "groups": [{"name": "Web", "entries": [{"target": "web-1", "display_name": "Website"}]}]}`, 303, ""},
	}
	for _, tc := range tests {
		resp, body := e.do(t, "POST", "/statuspages/new", "ed", url.Values{"csrf": {"csrf-ed"}, "json": {tc.json}})
		if resp.StatusCode != tc.code || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %d, want %d with %q", tc.json, resp.StatusCode, tc.code, tc.want)
		}
	}
	if p, err := e.inc.StatusPage(context.Background(), "p"); err != nil || p.Title != "Public" {
		t.Fatalf("stored %+v %v", p, err)
	}
}

// TestSVG: every chart is well-formed XML, escapes names, and marks root
// causes.
func TestSVG(t *testing.T) {
	now := time.Now().Truncate(time.Minute)
	e := newEnv(t, Options{})
	pts, _, _ := e.node.History(context.Background(), "x", now.Add(-time.Hour), now, time.Minute, "")
	g := e.node.Graph(context.Background())
	g.Nodes = append(g.Nodes, g.Nodes[0])
	g.Nodes[len(g.Nodes)-1].ID = `<evil&"id>`
	gs, _ := graphSVG(g, 100)
	vals, fail := sparkSeries(pts, now.Add(-time.Hour), 60)
	fail[3] = true
	for name, s := range map[string]string{
		"spark":      string(sparkline(vals, fail)),
		"emptyspark": string(sparkline([]float64{-1, -1}, []bool{false, false})),
		"chart":      string(latencyChart(pts, now.Add(-time.Hour), now)),
		"empty":      string(latencyChart(nil, now.Add(-time.Hour), now)),
		"bar":        string(uptimeBar(daysOf(nil, now.Add(-90*24*time.Hour), 90))),
		"graph":      string(gs),
	} {
		d := xml.NewDecoder(strings.NewReader(s))
		for {
			_, err := d.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: not XML: %v\n%s", name, err, s)
			}
		}
	}
	if !strings.Contains(string(gs), `class="gnode st-down root"`) || strings.Contains(string(gs), `<evil`) {
		t.Fatalf("graph: root cause not marked or name not escaped")
	}
}

func TestStatic(t *testing.T) {
	e := newEnv(t, Options{})
	for _, p := range []string{"/assets/app.css", "/assets/app.js"} {
		resp, body := e.do(t, "GET", p+"?v="+e.h.assetTag, "", nil)
		if resp.StatusCode != 200 || len(body) < 100 || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
			t.Errorf("%s: %d, %d bytes, %q", p, resp.StatusCode, len(body), resp.Header.Get("Cache-Control"))
		}
	}
	if resp, _ := e.do(t, "GET", "/nope", "ada", nil); resp.StatusCode != 404 {
		t.Errorf("unknown page: %d", resp.StatusCode)
	}
}
