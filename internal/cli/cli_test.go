package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/wire"

	"github.com/heckhq/heck/internal/api"
	"github.com/heckhq/heck/internal/api/apitest"
	"github.com/heckhq/heck/internal/cli"
	"github.com/heckhq/heck/internal/config"
	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/probe"
	"github.com/heckhq/heck/internal/target"
)

type run struct {
	code           int
	stdout, stderr string
}

func heck(t *testing.T, args ...string) run {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Main(context.Background(), args, &out, &errb)
	return run{code, out.String(), errb.String()}
}

// usageError checks that r failed as a usage error (exit 2) whose stderr
// has each of want.
func usageError(t *testing.T, r run, want ...string) {
	t.Helper()
	if r.code != 2 {
		t.Fatalf("exit %d, want 2\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	for _, w := range want {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
		}
	}
}

// stubRunNode makes heck serve call run instead of running a node, until
// the test ends.
func stubRunNode(t *testing.T, run func(context.Context, *config.Config, *slog.Logger) error) {
	t.Helper()
	old := cli.RunNode
	t.Cleanup(func() { cli.RunNode = old })
	cli.RunNode = run
}

// server starts an API over a fake backend with three targets and points
// HECK_SERVER at it.
func server(t *testing.T, opts api.Options) *apitest.Backend {
	t.Helper()
	b := apitest.New()
	web := wire.StatusOf(target.Spec{ID: "web", Kind: target.KindHTTP, URL: "http://127.0.0.1:8080/", Labels: map[string]string{"env": "prod"}})
	web.State, web.Since = health.Up, time.Now().Add(-time.Hour)
	last := wire.ResultFrom(time.Now(), probe.Result{OK: true, Latency: 1200 * time.Microsecond, Message: "HTTP 200"})
	web.Last, web.Recent = &last, []wire.Result{last}
	db := wire.StatusOf(target.Spec{ID: "db", Kind: target.KindTCP, Address: "127.0.0.1:5432"})
	db.State, db.Cause = health.Down, "connection refused"
	dns := wire.StatusOf(target.Spec{ID: "resolver-with-a-long-id", Kind: target.KindDNS, Address: "127.0.0.1:53",
		DNS: &target.DNSOptions{Name: "example.org"}})
	b.Set(web)
	b.Set(db)
	b.Set(dns)
	_, ts := apitest.Serve(t, b, opts)
	t.Setenv("HECK_SERVER", ts.URL)
	t.Setenv("HECK_API_TOKEN", "")
	return b
}

func TestTopLevel(t *testing.T) {
	cases := []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{nil, 2, "", "Commands:"},
		{[]string{"--help"}, 0, "targets add", ""},
		{[]string{"help"}, 0, "status", ""},
		{[]string{"help", "check"}, 0, "Usage: heck check", ""},
		{[]string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
		{[]string{"stat"}, 2, "", `did you mean "status"`},
		{[]string{"targets"}, 2, "", "ls"},
		{[]string{"targets", "--help"}, 0, "rm", ""},
		{[]string{"targets", "list"}, 2, "", `unknown subcommand "list"; use one of: ls, add, rm`},
		{[]string{"version"}, 0, "heck dev (commit", ""},
		{[]string{"--version"}, 0, "heck dev", ""},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			r := heck(t, c.args...)
			if r.code != c.code || !strings.Contains(r.stdout, c.stdout) || !strings.Contains(r.stderr, c.stderr) {
				t.Fatalf("exit %d (want %d)\nstdout: %s\nstderr: %s", r.code, c.code, r.stdout, r.stderr)
			}
		})
	}
	r := heck(t, "version", "-o", "json")
	var v map[string]string
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil || v["version"] == "" || v["commit"] == "" || !strings.HasPrefix(v["go_version"], "go") {
		t.Fatalf("version json = %s (%v)", r.stdout, err)
	}
}

func TestEveryCommandHasHelp(t *testing.T) {
	for _, c := range [][]string{{"serve"}, {"validate"}, {"check"}, {"targets", "ls"}, {"targets", "add"}, {"targets", "rm"}, {"status"}, {"members"}, {"join"}, {"leave"}, {"version"}} {
		r := heck(t, append(c, "--help")...)
		if r.code != 0 || !strings.Contains(r.stdout, "Usage: heck "+strings.Join(c, " ")) {
			t.Errorf("%v --help: exit %d\n%s%s", c, r.code, r.stdout, r.stderr)
		}
		if c[0] != "version" && !strings.Contains(r.stdout, "Flags:") {
			t.Errorf("%v --help lists no flags", c)
		}
	}
}

func TestFlagErrors(t *testing.T) {
	server(t, api.Options{LoopbackOnly: true})
	cases := []struct {
		args []string
		want []string // substrings of stderr
	}{
		{[]string{"targets", "add", "--bogus"}, []string{"unknown flag --bogus", "heck targets add --help"}},
		{[]string{"targets", "add", "--id", "x", "--interval", "fast"}, []string{`flag --interval: invalid value "fast": want a duration such as 1s`}},
		{[]string{"targets", "add", "--rise", "two"}, []string{`flag --rise: invalid value "two": want a number`}},
		{[]string{"targets", "add", "--id"}, []string{"flag --id needs a value"}},
		{[]string{"targets", "ls", "-o", "yaml"}, []string{`flag -o: invalid value "yaml": use -o json or -o table`}},
		{[]string{"targets", "add", "--kind", "tcp", "--address", "127.0.0.1:1"}, []string{"flag --id is missing", "--id web"}},
		{[]string{"targets", "add", "--id", "x"}, []string{"flag --kind is missing", "http, tcp"}},
		{[]string{"targets", "add", "--id", "x", "--kind", "smtp"}, []string{`flag --kind: "smtp" is not a known kind`}},
		{[]string{"targets", "add", "--id", "x", "--kind", "tcp", "--address", "127.0.0.1:1", "--method", "POST"}, []string{"flag --method does not apply to a tcp target", "http targets"}},
		{[]string{"targets", "add", "--id", "x", "--url", "http://127.0.0.1/", "--send", "PING"}, []string{"flag --send does not apply to a http target"}},
		{[]string{"targets", "add", "--id", "x", "--url", "http://127.0.0.1/", "--label", "prod"}, []string{`flag --label: "prod" is not k=v`}},
		{[]string{"targets", "add", "--id", "x", "--url", "http://127.0.0.1/", "--header", "NoColon"}, []string{`flag --header: "NoColon" is not K:V`}},
		{[]string{"targets", "ls", "--label", "prod"}, []string{`flag --label: "prod" is not k=v`}},
		{[]string{"targets", "ls", "--state", "sideways"}, []string{"flag --state", "unknown, up, down"}},
		{[]string{"targets", "ls", "--kind", "smtp"}, []string{"--kind (kind)", "is not a known kind"}},
		{[]string{"targets", "ls", "extra"}, []string{"too many arguments"}},
		{[]string{"targets", "ls", "--pool", "nope"}, []string{"--pool (pool)", "is not a pool"}},
		{[]string{"targets", "rm"}, []string{"missing argument", "heck targets rm ID"}},
		{[]string{"check"}, []string{"missing argument"}},
		{[]string{"check", "a", "b"}, []string{"too many arguments"}},
		{[]string{"check", "http://127.0.0.1/", "--timeout", "0s"}, []string{"flag --timeout", "not positive"}},
		{[]string{"validate"}, []string{"missing argument", "heck validate FILE"}},
		{[]string{"status", "a", "b"}, []string{"too many arguments"}},
		{[]string{"status", "--server", "ftp://x"}, []string{"--server", "http://host:port"}},
		{[]string{"serve", "--join"}, []string{"flag --join needs a value"}},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			usageError(t, heck(t, c.args...), c.want...)
		})
	}
}

func TestTargets(t *testing.T) {
	b := server(t, api.Options{LoopbackOnly: true})

	r := heck(t, "targets", "add", "--id", "api", "--kind", "http", "--url", "http://127.0.0.1:9000/healthz",
		"--interval", "1s", "--timeout", "500ms", "--rise", "1", "--fall", "2", "--label", "team=core",
		"--header", "Accept: application/json", "--expect-status", "200,204", "--body-contains", "ok", "--method", "HEAD")
	if r.code != 0 || !strings.Contains(r.stdout, "added api (http http://127.0.0.1:9000/healthz)") {
		t.Fatalf("add: %d %s %s", r.code, r.stdout, r.stderr)
	}
	sp, _ := b.Spec("api")
	if sp.Interval.D() != time.Second || sp.Timeout.D() != 500*time.Millisecond || sp.Rise != 1 || sp.Fall != 2 ||
		sp.Labels["team"] != "core" || sp.HTTP == nil || sp.HTTP.Headers["Accept"] != "application/json" ||
		strings.Join(sp.HTTP.ExpectStatus, ",") != "200,204" || sp.HTTP.BodyContains != "ok" || sp.HTTP.Method != "HEAD" {
		t.Fatalf("stored spec %+v %+v", sp, sp.HTTP)
	}
	r = heck(t, "targets", "add", "--id", "cache", "--kind", "tcp", "--address", "127.0.0.1:6379", "--send", "PING\r\n", "--expect", "PONG")
	if sp, _ := b.Spec("cache"); r.code != 0 || sp.TCP == nil || sp.TCP.Expect != "PONG" {
		t.Fatalf("add tcp: %d %s %+v", r.code, r.stderr, sp)
	}
	r = heck(t, "targets", "add", "--id", "ns", "--kind", "dns", "--address", "127.0.0.1:53", "--dns-name", "example.org", "--dns-type", "AAAA", "--expect-answer", "::1")
	if sp, _ := b.Spec("ns"); r.code != 0 || sp.DNS == nil || sp.DNS.Type != "AAAA" || sp.DNS.ExpectAnswers[0] != "::1" {
		t.Fatalf("add dns: %d %s %+v", r.code, r.stderr, sp)
	}
	// Without --kind, --url means http; flags may follow positionals anywhere.
	if r := heck(t, "targets", "add", "--url", "http://127.0.0.1:9001/", "--id", "implicit"); r.code != 0 {
		t.Fatalf("add without --kind: %d %s", r.code, r.stderr)
	}

	t.Run("duplicate and replace", func(t *testing.T) {
		r := heck(t, "targets", "add", "--id", "api", "--url", "http://127.0.0.1:9000/")
		if r.code != 2 || !strings.Contains(r.stderr, `target "api" exists; pass --replace`) {
			t.Fatalf("duplicate: %d %s", r.code, r.stderr)
		}
		r = heck(t, "targets", "add", "--replace", "--id", "api", "--url", "http://127.0.0.1:9002/")
		if sp, _ := b.Spec("api"); r.code != 0 || !strings.Contains(r.stdout, "replaced api") || sp.URL != "http://127.0.0.1:9002/" {
			t.Fatalf("replace: %d %s %s", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("invalid target names the flags", func(t *testing.T) {
		r := heck(t, "targets", "add", "--id", "bad", "--url", "ftp://x", "--interval", "1s", "--timeout", "2s", "--expect-status", "200,abc")
		usageError(t, r, "Invalid target", "--url (url)", "--timeout (timeout)", "--expect-status (http.expect_status[1])", `"abc"`)
	})

	t.Run("ls table", func(t *testing.T) {
		r := heck(t, "targets", "ls")
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		if r.code != 0 || len(lines) != 8 || !strings.HasPrefix(lines[0], "ID ") {
			t.Fatalf("ls: %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		// Aligned: every row's KIND column starts where the header's does.
		col := strings.Index(lines[0], "KIND")
		for _, l := range lines[1:] {
			if len(l) <= col || l[col-1] != ' ' || l[col] == ' ' {
				t.Errorf("row not aligned with KIND at %d: %q", col, l)
			}
		}
		if !strings.Contains(r.stdout, "HTTP 200") || !strings.Contains(r.stdout, "1.2ms") {
			t.Errorf("ls lacks the last result:\n%s", r.stdout)
		}
	})
	t.Run("ls json", func(t *testing.T) {
		r := heck(t, "targets", "ls", "-o", "json")
		var l struct {
			Targets []map[string]any `json:"targets"`
		}
		err := json.Unmarshal([]byte(r.stdout), &l)
		ts := l.Targets
		if err != nil || r.code != 0 || len(ts) != 7 {
			t.Fatalf("ls json: %v %d %s", err, r.code, r.stdout)
		}
		for _, x := range ts {
			if x["id"] == nil || x["kind"] == nil || x["state"] == nil {
				t.Errorf("target object lacks id, kind or state: %v", x)
			}
		}
	})
	filters := []struct {
		args []string
		want string
	}{
		{[]string{"--state", "up"}, "web"}, {[]string{"--state", "down"}, "db"}, {[]string{"--kind", "tcp"}, "cache,db"},
		{[]string{"--label", "env=prod"}, "web"}, {[]string{"--label", "team=core", "--label", "env=prod"}, ""},
		{[]string{"-q", "IMPLICIT"}, "implicit"}, {[]string{"-q", "6379"}, "cache"}, {[]string{"-q", "0.1:9002"}, "api"},
	}
	for _, f := range filters {
		t.Run("ls "+strings.Join(f.args, " "), func(t *testing.T) {
			r := heck(t, append([]string{"targets", "ls", "-o", "json"}, f.args...)...)
			var l wire.TargetList
			_ = json.Unmarshal([]byte(r.stdout), &l)
			var ids []string
			for _, x := range l.Targets {
				ids = append(ids, x.ID)
			}
			if r.code != 0 || strings.Join(ids, ",") != f.want {
				t.Fatalf("= %v (exit %d %s), want %q", ids, r.code, r.stderr, f.want)
			}
		})
	}
	t.Run("rm", func(t *testing.T) {
		r := heck(t, "targets", "rm", "cache", "ns")
		if r.code != 0 || !strings.Contains(r.stdout, "removed cache\nremoved ns") {
			t.Fatalf("rm: %d %s %s", r.code, r.stdout, r.stderr)
		}
		r = heck(t, "targets", "rm", "cache")
		if r.code != 2 || !strings.Contains(r.stderr, `no target has id "cache"`) {
			t.Fatalf("rm missing: %d %s", r.code, r.stderr)
		}
	})
}

func TestStatus(t *testing.T) {
	b := server(t, api.Options{LoopbackOnly: true})
	r := heck(t, "status")
	if r.code != 0 || !strings.Contains(r.stdout, "3 targets: 1 unknown, 1 up, 1 down") || !strings.Contains(r.stdout, "STATE") {
		t.Fatalf("status: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// Exit codes: 0 whenever the status was shown; --check fails on a down target.
	for _, c := range []struct {
		args []string
		want int
	}{
		{[]string{"status"}, 0}, {[]string{"status", "--check"}, 1}, {[]string{"status", "-o", "json", "--check"}, 1},
		{[]string{"status", "db"}, 0}, {[]string{"status", "db", "--check"}, 1}, {[]string{"status", "web", "--check"}, 0},
	} {
		if r := heck(t, c.args...); r.code != c.want {
			t.Errorf("%v: exit %d, want %d\n%s", c.args, r.code, c.want, r.stderr)
		}
	}
	r = heck(t, "status", "-o", "json")
	var sum struct {
		Counts  map[string]int   `json:"counts"`
		Total   int              `json:"total"`
		Targets []map[string]any `json:"targets"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &sum); err != nil || sum.Total != 3 || sum.Counts["down"] != 1 || len(sum.Targets) != 3 ||
		sum.Targets[0]["id"] != "db" || sum.Targets[0]["state"] != "down" || sum.Targets[0]["kind"] != "tcp" {
		t.Fatalf("status json: %v %s", err, r.stdout)
	}

	r = heck(t, "status", "web")
	for _, w := range []string{"ID:", "web", "State:", "up since", "Uptime:", "Recent results:", "HTTP 200", "every 10s, timeout 2s, rise 2, fall 3"} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("status web lacks %q:\n%s", w, r.stdout)
		}
	}
	if r.code != 0 {
		t.Errorf("status web exit %d", r.code)
	}
	r = heck(t, "status", "db", "-o", "json")
	var d map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &d); err != nil || r.code != 0 || d["id"] != "db" || d["state"] != "down" || d["kind"] != "tcp" || d["uptime"] == nil {
		t.Fatalf("status db json: %d %v %s", r.code, err, r.stdout)
	}
	b.SetCoverage(wire.Coverage{Observers: []string{"n1"}, Partial: true, Missing: []string{"n2", "n3"}})
	if r := heck(t, "status", "web"); !strings.Contains(r.stdout, "partial: n2, n3 did not answer") {
		t.Errorf("status web with a partial uptime does not say so:\n%s", r.stdout)
	}
	r = heck(t, "status", "web", "-o", "json")
	if !strings.Contains(r.stdout, `"uptime_missing": [`) {
		t.Errorf("status web -o json with a partial uptime lacks uptime_missing:\n%s", r.stdout)
	}
	b.SetCoverage(wire.Coverage{})
	if r := heck(t, "status", "nope"); r.code != 2 || !strings.Contains(r.stderr, `no target has id "nope"`) {
		t.Fatalf("status nope: %d %s", r.code, r.stderr)
	}
	_ = b.DeleteTarget(context.Background(), "db")
	if r := heck(t, "status", "--check"); r.code != 0 {
		t.Fatalf("status --check with none down: exit %d", r.code)
	}
}

func TestTokenAndServer(t *testing.T) {
	server(t, api.Options{Token: "t0k"})
	add := []string{"targets", "add", "--id", "x", "--kind", "tcp", "--address", "127.0.0.1:9"}
	r := heck(t, add...)
	if r.code != 2 || !strings.Contains(r.stderr, "Unauthorized") || !strings.Contains(r.stderr, "HECK_API_TOKEN") {
		t.Fatalf("no token: %d %s", r.code, r.stderr)
	}
	if r := heck(t, append(add, "--token", "wrong")...); r.code != 2 || !strings.Contains(r.stderr, "wrong") {
		t.Fatalf("wrong token: %d %s", r.code, r.stderr)
	}
	if r := heck(t, append(add, "--token", "t0k")...); r.code != 0 {
		t.Fatalf("--token: %d %s", r.code, r.stderr)
	}
	t.Setenv("HECK_API_TOKEN", "t0k")
	if r := heck(t, "targets", "rm", "x"); r.code != 0 {
		t.Fatalf("HECK_API_TOKEN: %d %s", r.code, r.stderr)
	}
	// --server beats HECK_SERVER; nothing listens on this port.
	r = heck(t, "status", "--server", "http://127.0.0.1:1")
	if r.code != 2 || !strings.Contains(r.stderr, "cannot reach the heck API at http://127.0.0.1:1") || !strings.Contains(r.stderr, "heck serve") {
		t.Fatalf("unreachable: %d %s", r.code, r.stderr)
	}
}

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	must(t, os.WriteFile(good, []byte("targets:\n  - id: web\n    kind: http\n    url: http://127.0.0.1:8080/\n  - id: db\n    kind: tcp\n    address: 127.0.0.1:5432\n"), 0o600))
	must(t, os.WriteFile(bad, []byte("targets:\n  - id: web\n    kind: http\n    url: ftp://x\n  - id: db\n    kind: tcp\n    interval: 5ms\n"), 0o600))

	r := heck(t, "validate", good)
	if r.code != 0 || strings.TrimSpace(r.stdout) != good+": ok (2 targets)" {
		t.Fatalf("good: %d %q %s", r.code, r.stdout, r.stderr)
	}
	r = heck(t, "validate", bad)
	if r.code != 1 || !strings.Contains(r.stdout, bad+":4:") || !strings.Contains(r.stdout, "targets[1].address") || !strings.Contains(r.stdout, "problem(s)") {
		t.Fatalf("bad: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = heck(t, "validate", bad, "-o", "json")
	var v struct {
		OK       bool             `json:"ok"`
		Problems []config.Problem `json:"problems"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil || r.code != 1 || v.OK || len(v.Problems) < 3 {
		t.Fatalf("bad json: %d %v %s", r.code, err, r.stdout)
	}
	if r := heck(t, "validate", filepath.Join(dir, "missing.yaml")); r.code != 2 || !strings.Contains(r.stderr, "missing.yaml") {
		t.Fatalf("missing: %d %s", r.code, r.stderr)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

type fakeProber struct{ res probe.Result }

func (p fakeProber) Probe(ctx context.Context) probe.Result { return p.res }

func TestCheck(t *testing.T) {
	oldParse, oldNew := cli.ParseCheckArg, cli.NewProber
	t.Cleanup(func() { cli.ParseCheckArg, cli.NewProber = oldParse, oldNew })
	var gotSpec target.Spec
	var gotGuard *probe.Guard
	cli.ParseCheckArg = func(arg string) (target.Spec, error) {
		if strings.HasPrefix(arg, "http://") {
			return target.Spec{Kind: target.KindHTTP, URL: arg}, nil
		}
		if strings.Contains(arg, ":") {
			return target.Spec{Kind: target.KindTCP, Address: arg}, nil
		}
		return target.Spec{}, errors.New(`"` + arg + `" is not a URL or host:port; write http://host/path or host:port`)
	}
	cli.NewProber = func(s target.Spec, o probe.Options) (probe.Prober, error) {
		gotSpec, gotGuard = s, o.Guard
		if strings.HasSuffix(s.Address, ":1") {
			return fakeProber{probe.Result{OK: false, Latency: 300 * time.Microsecond, Message: "connection refused"}}, nil
		}
		return fakeProber{probe.Result{OK: true, Latency: 2 * time.Millisecond, Message: "HTTP 200", Details: probe.Details{StatusCode: 200}}}, nil
	}
	r := heck(t, "check", "http://127.0.0.1:8080/", "--timeout", "3s")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "ok  http http://127.0.0.1:8080/  HTTP 200 (2ms)") || !strings.Contains(r.stdout, "status_code: 200") {
		t.Fatalf("pass: %d %q %s", r.code, r.stdout, r.stderr)
	}
	if gotSpec.Timeout.D() != 3*time.Second || gotSpec.Interval.D() <= 3*time.Second || gotGuard == nil {
		t.Fatalf("prober got %+v guard %v", gotSpec.Schedule, gotGuard)
	}
	r = heck(t, "check", "127.0.0.1:1")
	if r.code != 1 || !strings.HasPrefix(r.stdout, "FAIL  tcp 127.0.0.1:1  connection refused") {
		t.Fatalf("fail: %d %q %s", r.code, r.stdout, r.stderr)
	}
	r = heck(t, "check", "-o", "json", "127.0.0.1:1")
	var j map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &j); err != nil || r.code != 1 || j["ok"] != false || j["state"] != "down" ||
		j["kind"] != "tcp" || j["id"] == nil || j["message"] != "connection refused" || j["latency_ms"] != 0.3 {
		t.Fatalf("json: %d %v %s", r.code, err, r.stdout)
	}
	if r := heck(t, "check", "nonsense"); r.code != 2 || !strings.Contains(r.stderr, "is not a URL or host:port") {
		t.Fatalf("bad arg: %d %s", r.code, r.stderr)
	}
	cli.ParseCheckArg = nil
	if r := heck(t, "check", "http://127.0.0.1/"); r.code != 2 {
		t.Fatalf("no prober: %d", r.code)
	}
}

func TestServe(t *testing.T) {
	var got *config.Config
	stubRunNode(t, func(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
		got = cfg
		if log == nil {
			return errors.New("no logger")
		}
		return nil
	})
	dir := t.TempDir()
	r := heck(t, "serve", "--listen", "127.0.0.1:7999", "--data-dir", dir, "--node-name", "n1", "--gossip", "127.0.0.1:7946", "--join", "127.0.0.1:7947,127.0.0.1:7948")
	if r.code != 0 || got == nil {
		t.Fatalf("serve: %d %s", r.code, r.stderr)
	}
	if got.Listen != "127.0.0.1:7999" || got.Node.DataDir != dir || got.Node.Name != "n1" || got.Cluster.Bind != "127.0.0.1:7946" ||
		strings.Join(got.Cluster.Join, ",") != "127.0.0.1:7947,127.0.0.1:7948" {
		t.Fatalf("config = %+v", got)
	}
	got = nil
	if r := heck(t, "serve"); r.code != 0 || got == nil || got.Listen != config.DefaultListen {
		t.Fatalf("serve with defaults: %d %s %+v", r.code, r.stderr, got)
	}
	cfgFile := filepath.Join(dir, "heck.yaml")
	must(t, os.WriteFile(cfgFile, []byte("listen: 127.0.0.1:7801\ntargets:\n  - id: a\n    kind: tcp\n    address: 127.0.0.1:1\n"), 0o600))
	if r := heck(t, "serve", "--config", cfgFile); r.code != 0 || got.Listen != "127.0.0.1:7801" || len(got.Targets) != 1 {
		t.Fatalf("serve --config: %d %s %+v", r.code, r.stderr, got)
	}
	if r := heck(t, "serve", "--listen", "0.0.0.0:7800"); r.code != 2 || !strings.Contains(r.stderr, "--listen") || !strings.Contains(r.stderr, "api.token") {
		t.Fatalf("public listen without token: %d %s", r.code, r.stderr)
	}
	if r := heck(t, "serve", "--config", filepath.Join(dir, "nope.yaml")); r.code != 2 || !strings.Contains(r.stderr, "nope.yaml") {
		t.Fatalf("missing config: %d %s", r.code, r.stderr)
	}
	cli.RunNode = func(context.Context, *config.Config, *slog.Logger) error { return errors.New("store: disk full") }
	if r := heck(t, "serve"); r.code != 2 || !strings.Contains(r.stderr, "disk full") {
		t.Fatalf("node error: %d %s", r.code, r.stderr)
	}
}

// TestExitCodesInHelp: status and check document their exit codes.
func TestExitCodesInHelp(t *testing.T) {
	for _, c := range []struct {
		cmd  string
		want []string
	}{
		{"status", []string{"Exit codes:", "--check", "1 when any target shown is down"}},
		{"check", []string{"Exit codes:", "0 the check passed", "1 it failed", "2 "}},
	} {
		r := heck(t, c.cmd, "--help")
		for _, w := range c.want {
			if r.code != 0 || !strings.Contains(r.stdout, w) {
				t.Errorf("heck %s --help lacks %q (exit %d):\n%s", c.cmd, w, r.code, r.stdout)
			}
		}
	}
}

func TestTargetsAddDependsOn(t *testing.T) {
	b := server(t, api.Options{LoopbackOnly: true})
	for _, id := range []string{"dep-db", "dep-cache", "zone:a"} {
		if r := heck(t, "targets", "add", "--id", id, "--kind", "tcp", "--address", "127.0.0.1:9"); r.code != 0 {
			t.Fatalf("add %s: %d %s", id, r.code, r.stderr)
		}
	}
	r := heck(t, "targets", "add", "--id", "dep-app", "--url", "http://127.0.0.1:9000/", "--depends-on", "dep-db,dep-cache:optional", "--depends-on", "zone:a")
	if r.code != 0 {
		t.Fatalf("add: %d %s", r.code, r.stderr)
	}
	sp, _ := b.Spec("dep-app")
	var got []string
	for _, d := range sp.DependsOn {
		got = append(got, d.Target+"/"+strconv.FormatBool(d.IsCritical()))
	}
	if strings.Join(got, " ") != "dep-db/true dep-cache/false zone:a/true" {
		t.Errorf("stored dependencies %v, want db critical, cache optional, zone:a critical", got)
	}
	usageError(t, heck(t, "targets", "add", "--id", "x", "--url", "http://127.0.0.1:9000/", "--depends-on", ":optional"),
		`flag --depends-on: ":optional" names no target`)
}
