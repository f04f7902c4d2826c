package e2e

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/testkit"
)

// TestQuickstart runs the README's first command on examples/quickstart.yaml
// (moved to a free port) and checks what the README promises: three
// targets up, one down, readable with heck status and heck targets ls.
func TestQuickstart(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile(filepath.Join(moduleRoot, "examples", "quickstart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(src), "7800") {
		t.Fatal("examples/quickstart.yaml no longer mentions port 7800; update this test")
	}
	dir := t.TempDir()
	n := serve(t, dir, nil, func(port int) []string {
		writeFile(t, dir, "quickstart.yaml", strings.ReplaceAll(string(src), "7800", itoa(port)))
		return []string{"--config", "quickstart.yaml"}
	})

	want := map[string]struct{ kind, state string }{
		"heck-livez":  {"http", "up"},
		"heck-readyz": {"http", "up"},
		"heck-tcp":    {"tcp", "up"},
		"closed-port": {"tcp", "down"},
	}
	states := map[string]string{}
	for id, w := range want {
		states[id] = w.state
	}
	got := n.waitStates(t, states)
	if len(got) != len(want) {
		t.Errorf("targets ls lists %d targets, want %d", len(got), len(want))
	}
	for id, w := range want {
		if got[id].str("kind") != w.kind {
			t.Errorf("%s: kind %q, want %q", id, got[id].str("kind"), w.kind)
		}
	}

	// heck status -o json: counts and the same target objects; exit 0
	// because the status was shown, though a target is down.
	r := heck(t, dir, nil, "status", "-o", "json", "--server", n.url)
	if r.Code != 0 {
		t.Errorf("heck status with a target down: exit %d, want 0\n%s", r.Code, r)
	}
	if r := heck(t, dir, nil, "status", "--check", "--server", n.url); r.Code != 1 {
		t.Errorf("heck status --check with a target down: exit %d, want 1\n%s", r.Code, r)
	}
	var sum struct {
		Counts  map[string]int `json:"counts"`
		Total   int            `json:"total"`
		Targets []any          `json:"targets"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &sum); err != nil {
		t.Fatalf("heck status -o json: %v\n%s", err, r.Stdout)
	}
	if sum.Counts["up"] != 3 || sum.Counts["down"] != 1 || sum.Total != 4 {
		t.Errorf("status counts %v total %d, want 3 up, 1 down of 4", sum.Counts, sum.Total)
	}
	for id, l := range decodeTargets(t, sum.Targets) {
		if w := want[id]; l.str("kind") != w.kind || l.str("state") != w.state {
			t.Errorf("status lists %s as %s/%s, want %s/%s", id, l.str("kind"), l.str("state"), w.kind, w.state)
		}
	}

	// The table, and the server taken from HECK_SERVER.
	r = heck(t, dir, []string{"HECK_SERVER=" + n.url}, "status")
	if r.Code != 0 || !strings.Contains(r.Stdout, "4 targets: 3 up, 1 down") {
		t.Errorf("heck status with HECK_SERVER: want exit 0 and \"4 targets: 3 up, 1 down\"\n%s", r)
	}
	r = heck(t, dir, []string{"HECK_SERVER=" + n.url}, "status", "closed-port", "--check", "-o", "json")
	var one map[string]any
	if err := json.Unmarshal([]byte(r.Stdout), &one); err != nil || r.Code != 1 {
		t.Fatalf("heck status closed-port --check -o json: want exit 1 and JSON\n%s", r)
	}
	if l := listed(one); l.str("id") != "closed-port" || l.str("state") != "down" || !strings.Contains(l.str("cause"), "refused") {
		t.Errorf("closed-port: %v, want down because the connection was refused", one)
	}
	if r := heck(t, dir, nil, "status", "heck-livez", "--server", n.url); r.Code != 0 || !strings.Contains(r.Stdout, "up") {
		t.Errorf("heck status heck-livez: want exit 0 and up\n%s", r)
	}

	// The REST API as the README curls it.
	code, body := get(t, http.MethodGet, n.url+"/api/v1/targets", "", "")
	if code != http.StatusOK || !strings.Contains(body, `"targets"`) {
		t.Errorf("GET /api/v1/targets: %d %s", code, body)
	}
	// Data goes to ./data, relative to where heck runs.
	if _, err := os.Stat(filepath.Join(dir, "data", "heck.db")); err != nil {
		t.Errorf("the quickstart's store is not at ./data/heck.db: %v", err)
	}
	// Ctrl-C in the terminal the README runs it in.
	if code, took := n.Signal(t, os.Interrupt); code != 0 || took > 5*time.Second {
		t.Errorf("SIGINT: exit %d after %s, want 0 within seconds", code, took)
	}
	// With the node gone, the clients say where they looked and what to do.
	r = heck(t, dir, nil, "status", "--server", n.url)
	if r.Code != 2 || !strings.Contains(r.Stderr, n.url) || !strings.Contains(r.Stderr, "heck serve") {
		t.Errorf("heck status with no node: want exit 2 naming %s and suggesting heck serve\n%s", n.url, r)
	}
}

// TestTargetsAddRm manages targets of a node running on the embedded
// defaults (only --listen given) with heck targets add, ls and rm.
func TestTargetsAddRm(t *testing.T) {
	t.Parallel()
	web, clock := testkit.NewServer(t), testkit.NewServer(t)
	closed := testkit.ClosedAddr(t)

	dir := t.TempDir()
	n := serve(t, dir, nil, func(port int) []string { return []string{"--listen", "127.0.0.1:" + itoa(port)} })
	if got := n.lsJSON(t); len(got) != 0 {
		t.Fatalf("a node on the embedded defaults lists %d targets, want none", len(got))
	}
	if r := heck(t, dir, nil, "status", "--server", n.url); r.Code != 0 || !strings.Contains(r.Stdout, "0 targets") {
		t.Errorf("heck status with no targets: want exit 0 and \"0 targets\"\n%s", r)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "heck.db")); err != nil {
		t.Errorf("the embedded default store is not at ./data/heck.db: %v", err)
	}

	fast := []string{"--interval", "300ms", "--timeout", "200ms", "--rise", "1", "--fall", "1"}
	adds := []struct {
		args []string
		out  string
	}{
		{append([]string{"--id", "web", "--kind", "http", "--url", web.URL() + "/healthz"}, fast...), "added web (http " + web.URL() + "/healthz)"},
		{append([]string{"--id", "clock", "--url", clock.URL() + "/"}, fast...), "added clock (http "},
		{append([]string{"--id", "db", "--kind", "tcp", "--address", closed, "--label", "tier=db"}, fast...), "added db (tcp " + closed + ")"},
	}
	for _, a := range adds {
		r := heck(t, dir, nil, append([]string{"targets", "add", "--server", n.url}, a.args...)...)
		if r.Code != 0 || !strings.Contains(r.Stdout, a.out) {
			t.Fatalf("heck targets add %v: want exit 0 and %q\n%s", a.args, a.out, r)
		}
	}
	got := n.waitStates(t, map[string]string{"web": "up", "clock": "up", "db": "down"})
	if cause := got["db"].str("cause"); got["db"].str("kind") != "tcp" || !(strings.Contains(cause, "refused") || strings.Contains(cause, "timed out")) {
		t.Errorf("db: %v, want a tcp target down with connection refused", got["db"])
	}

	// Mistakes come back naming the flag; nothing changes.
	bad := []struct {
		name string
		args []string
		want string
	}{
		{"duplicate", []string{"--id", "web", "--url", web.URL()}, "exists"},
		{"timeout above interval", []string{"--id", "x", "--url", web.URL(), "--interval", "200ms", "--timeout", "300ms"}, "--timeout"},
		{"flag of another kind", []string{"--id", "x", "--kind", "tcp", "--address", closed, "--body-contains", "ok"}, "--body-contains"},
		{"missing kind", []string{"--id", "x", "--address", closed}, "--kind"},
		{"bad url", []string{"--id", "x", "--kind", "http", "--url", "not a url"}, "--url"},
	}
	for _, b := range bad {
		r := heck(t, dir, nil, append([]string{"targets", "add", "--server", n.url}, b.args...)...)
		if r.Code != 2 || !strings.Contains(r.Stderr, b.want) {
			t.Errorf("%s: want exit 2 and %q on stderr\n%s", b.name, b.want, r)
		}
	}

	// The API refuses zeros written out in JSON as the config refuses
	// them in YAML, naming each field; the target is not added.
	code, body := get(t, "POST", n.url+"/api/v1/targets", "",
		`{"id":"zeros","kind":"tcp","address":"`+closed+`","interval":"0s","rise":0}`)
	var p struct {
		Errors []struct{ Field, Value, Problem, Fix string } `json:"errors"`
	}
	if err := json.Unmarshal([]byte(body), &p); err != nil || code != http.StatusUnprocessableEntity || len(p.Errors) != 2 ||
		p.Errors[0].Field != "interval" || p.Errors[0].Value != "0s" || !strings.Contains(p.Errors[0].Fix, "100ms to 24h") ||
		p.Errors[1].Field != "rise" || p.Errors[1].Value != "0" || !strings.Contains(p.Errors[1].Fix, "1 to 100") {
		t.Errorf("POST a target with interval 0s and rise 0: got %d %s, want 422 naming interval and rise", code, body)
	}
	if _, added := n.lsJSON(t)["zeros"]; added {
		t.Error("a target with interval 0s and rise 0 was added")
	}

	// --replace swaps a target in place.
	r := heck(t, dir, nil, append([]string{"targets", "add", "--replace", "--server", n.url, "--id", "db", "--kind", "tcp",
		"--address", closed, "--label", "tier=db", "--label", "v=2"}, fast...)...)
	if r.Code != 0 || !strings.Contains(r.Stdout, "replaced db") {
		t.Errorf("heck targets add --replace: want exit 0 and \"replaced db\"\n%s", r)
	}
	db := n.lsJSON(t)["db"]
	if labels, _ := db["labels"].(map[string]any); labels["v"] != "2" {
		t.Errorf("db after --replace: %v, want label v=2", db)
	}

	// rm stops the probes.
	r = heck(t, dir, nil, "targets", "rm", "web", "--server", n.url)
	if r.Code != 0 || !strings.Contains(r.Stdout, "removed web") {
		t.Fatalf("heck targets rm web: %s", r)
	}
	if n := web.HitsWhile(t, waiting, clock, 4); n != 0 {
		t.Errorf("web got %d hits after heck targets rm", n)
	}
	if r := heck(t, dir, nil, "targets", "rm", "web", "--server", n.url); r.Code != 2 || !strings.Contains(r.Stderr, `no target has id "web"`) {
		t.Errorf("removing web again: want exit 2 naming web\n%s", r)
	}
	ids := []string{}
	for id := range n.lsJSON(t, "HECK_SERVER="+n.url) {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"clock", "db"}) {
		t.Errorf("targets after rm: %v, want clock and db", ids)
	}
	// Filters of heck targets ls.
	r = heck(t, dir, nil, "targets", "ls", "--state", "down", "--label", "tier=db", "-o", "json", "--server", n.url)
	var l struct {
		Targets []any `json:"targets"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &l); err != nil || r.Code != 0 || len(l.Targets) != 1 {
		t.Errorf("targets ls --state down --label tier=db: want db alone\n%s", r)
	}
}

// TestValidate checks heck validate: every example is valid (given the
// variables it refers to) and a broken file gets every problem with its
// file:line, exit 1.
func TestValidate(t *testing.T) {
	t.Parallel()
	examples, err := filepath.Glob(filepath.Join(moduleRoot, "examples", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cluster, err := filepath.Glob(filepath.Join(moduleRoot, "examples", "cluster", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	examples = append(examples, cluster...)
	if len(examples) < 2 {
		t.Fatalf("found %d example configs, want quickstart.yaml and full.yaml at least", len(examples))
	}
	// full.yaml refers to these; a gossip key is 32 random bytes in base64.
	// notify.yaml's secrets.
	env := []string{"HECK_API_TOKEN=e2e-token", "HECK_GOSSIP_KEY=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", "WEB_TOKEN=e2e-web",
		"HECK_WEBHOOK_SECRET=e2e-webhook", "HECK_SMTP_PASSWORD=e2e-smtp", "HECK_PG_PASSWORD=e2e-pg", "HECK_REDIS_PASSWORD=e2e-redis"}
	for _, ex := range examples {
		rel, _ := filepath.Rel(moduleRoot, ex)
		t.Run(rel, func(t *testing.T) {
			r := heck(t, moduleRoot, env, "validate", rel)
			if r.Code != 0 || !strings.Contains(r.Stdout, ": ok (") {
				t.Errorf("heck validate %s: want exit 0 and ok\n%s", rel, r)
			}
		})
	}

	dir := t.TempDir()
	writeFile(t, dir, "broken.yaml", brokenConfig)
	r := heck(t, dir, nil, "validate", "broken.yaml")
	if r.Code != 1 {
		t.Errorf("heck validate broken.yaml: exit %d, want 1\n%s", r.Code, r)
	}
	for _, want := range brokenProblems {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("heck validate broken.yaml does not report %q\n%s", want, r)
		}
	}
	if !strings.Contains(r.Stdout, "broken.yaml: 4 problem(s)") {
		t.Errorf("heck validate broken.yaml: want the count of problems\n%s", r)
	}

	r = heck(t, dir, nil, "validate", "-o", "json", "broken.yaml")
	var v struct {
		OK       bool `json:"ok"`
		Problems []struct {
			File  string `json:"file"`
			Line  int    `json:"line"`
			Field string `json:"field"`
		} `json:"problems"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &v); err != nil || r.Code != 1 || v.OK || len(v.Problems) != 4 {
		t.Errorf("heck validate -o json broken.yaml: want exit 1 and 4 problems (err %v)\n%s", err, r)
	}
	for _, p := range v.Problems {
		if p.File != "broken.yaml" || p.Line == 0 || p.Field == "" {
			t.Errorf("problem without file, line or field: %+v", p)
		}
	}

	if r := heck(t, dir, nil, "validate", "missing.yaml"); r.Code != 2 || !strings.Contains(r.Stderr, "missing.yaml") {
		t.Errorf("heck validate missing.yaml: want exit 2 naming the file\n%s", r)
	}

	// Zero values written out are nonsense the issue asks to reject: each
	// is named with its line, value and fix, not silently defaulted.
	t.Run("explicit zeros", func(t *testing.T) {
		writeFile(t, dir, "zeros.yaml", zerosConfig)
		r := heck(t, dir, nil, "validate", "zeros.yaml")
		if r.Code != 1 {
			t.Errorf("heck validate zeros.yaml: exit %d, want 1\n%s", r.Code, r)
		}
		for _, want := range append(zerosProblems, "zeros.yaml: 2 problem(s)") {
			if !strings.Contains(r.Stdout, want) {
				t.Errorf("heck validate zeros.yaml does not report %q\n%s", want, r)
			}
		}
	})
}

// brokenConfig has four problems; brokenProblems is how validate and
// serve name them.
const brokenConfig = `listen: 127.0.0.1:7800
targets:
  - id: web
    kind: http
    url: "not a url"
  - id: web
    kind: nope
  - id: db
    kind: tcp
    address: 127.0.0.1:5432
    interval: 1s
    timeout: 5s
`

var brokenProblems = []string{
	`broken.yaml:5:10: targets[0].url: "not a url"`,
	`broken.yaml:6:9: targets[1].id: "web" is already used`,
	`broken.yaml:7:11: targets[1].kind: "nope" is not a known kind`,
	`broken.yaml:12:14: targets[2].timeout: "5s" is not below the interval`,
}

const zerosConfig = `listen: 127.0.0.1:7800
targets:
  - id: db
    kind: tcp
    address: 127.0.0.1:5432
    interval: 0s
    timeout: 1s
    rise: 0
`

var zerosProblems = []string{
	`zeros.yaml:6:15: targets[0].interval: "0s" is too short; set an interval from 100ms to 24h`,
	`zeros.yaml:8:11: targets[0].rise: "0" is out of range; set 1 to 100 consecutive successes`,
}

// TestCheck runs heck check against live and closed loopback targets.
func TestCheck(t *testing.T) {
	t.Parallel()
	live := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/broken" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(live.Close)
	closed := testkit.ClosedAddr(t)
	liveAddr := strings.TrimPrefix(live.URL, "http://")

	cases := []struct {
		arg  string
		code int
		out  string
	}{
		{live.URL + "/", 0, "ok  http"},
		{live.URL + "/broken", 1, "FAIL  http"},
		{"http://" + closed + "/", 1, "refused"},
		{liveAddr, 0, "ok  tcp"},
		{"tcp://" + closed, 1, "refused"},
	}
	dir := t.TempDir()
	for _, c := range cases {
		r := heck(t, dir, nil, "check", c.arg)
		if r.Code != c.code || !strings.Contains(r.Stdout, c.out) {
			t.Errorf("heck check %s: want exit %d and %q\n%s", c.arg, c.code, c.out, r)
		}
	}
	r := heck(t, dir, nil, "check", "-o", "json", live.URL+"/")
	var res map[string]any
	if err := json.Unmarshal([]byte(r.Stdout), &res); err != nil || r.Code != 0 {
		t.Fatalf("heck check -o json: %v\n%s", err, r)
	}
	if l := listed(res); l.str("kind") != "http" || l.str("state") != "up" || res["ok"] != true {
		t.Errorf("heck check -o json: %v, want kind http, state up, ok", res)
	}
	if r := heck(t, dir, nil, "check", "not a target"); r.Code != 2 || r.Stderr == "" {
		t.Errorf("heck check on nonsense: want exit 2 with a message\n%s", r)
	}
}

// TestVersionAndHelp checks heck version, --help and the usage errors.
func TestVersionAndHelp(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := heck(t, dir, nil, "version")
	if r.Code != 0 || !strings.HasPrefix(r.Stdout, "heck ") || !strings.Contains(r.Stdout, "go1.") {
		t.Errorf("heck version: %s", r)
	}
	r = heck(t, dir, nil, "version", "-o", "json")
	var v map[string]any
	if err := json.Unmarshal([]byte(r.Stdout), &v); err != nil || r.Code != 0 || v["version"] == nil || v["go_version"] == nil {
		t.Errorf("heck version -o json: %v\n%s", err, r)
	}
	r = heck(t, dir, nil, "--help")
	if r.Code != 0 {
		t.Errorf("heck --help: %s", r)
	}
	for _, cmd := range []string{"serve", "validate", "check", "status", "targets ls", "targets add", "targets rm", "version"} {
		if !strings.Contains(r.Stdout, cmd) {
			t.Errorf("heck --help does not list %q", cmd)
		}
		h := heck(t, dir, nil, append(strings.Fields(cmd), "--help")...)
		if h.Code != 0 || !strings.Contains(h.Stdout, "Usage: heck "+cmd) {
			t.Errorf("heck %s --help: want exit 0 and its usage\n%s", cmd, h)
		}
	}
	for _, args := range [][]string{{}, {"nope"}, {"serve", "--nope"}, {"status", "a", "b"}} {
		if r := heck(t, dir, nil, args...); r.Code != 2 || r.Stderr == "" {
			t.Errorf("heck %v: want exit 2 with a message\n%s", args, r)
		}
	}
}
