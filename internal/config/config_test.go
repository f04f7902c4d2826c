package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/heckhq/heck/internal/probe"
	"github.com/heckhq/heck/internal/store"
	"github.com/heckhq/heck/internal/target"
)

// env is a fixed environment for parse.
func env(kv ...string) target.LookupFunc {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// validKey is a base64 AES-128 key.
const validKey = "MDEyMzQ1Njc4OWFiY2RlZg=="

func problemsOf(t *testing.T, err error) []Problem {
	t.Helper()
	var le *LoadError
	if !errors.As(err, &le) {
		t.Fatalf("want a *LoadError, got %T: %v", err, err)
	}
	return le.Problems
}

func TestDefault(t *testing.T) {
	c := Default()
	host, _ := os.Hostname()
	if host == "" {
		host = DefaultNodeName
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"listen", c.Listen, "127.0.0.1:7800"},
		{"node.name", c.Node.Name, host},
		{"node.data_dir", c.Node.DataDir, "./data"},
		{"store.driver", c.Store.Driver, "sqlite"},
		{"store.path", c.Store.Path, filepath.Join("data", "heck.db")},
		{"retention.results", c.Store.Retention.Results.D(), 7 * 24 * time.Hour},
		{"retention.rollups", c.Store.Retention.Rollups.D(), 90 * 24 * time.Hour},
		{"retention.transitions", c.Store.Retention.Transitions.D(), 400 * 24 * time.Hour},
		{"store.recent", c.Store.Recent, 10},
		{"probe.deny_networks", c.Probe.DenyNetworks, []string{"169.254.0.0/16", "fe80::/10", "fd00:ec2::254/128", "100.100.100.200/32"}},
		{"probe.concurrency", c.Probe.Concurrency, 2048},
		{"log.level", c.Log.Level, "info"},
		{"log.format", c.Log.Format, "text"},
		{"cluster.weight", c.Cluster.Weight, 1.0},
		{"cluster.replicas", c.Cluster.Replicas, 1},
		{"cluster.tombstone_horizon", c.Cluster.TombstoneHorizon.D(), 7 * 24 * time.Hour},
		{"cluster enabled", c.Cluster.Enabled(), false},
		{"per target metrics", c.API.PerTargetMetricsEnabled(), true},
	}
	for _, ch := range checks {
		if !reflect.DeepEqual(ch.got, ch.want) {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Default() does not validate: %v", err)
	}
	// Each call is a fresh value: changing one does not change the next.
	c.Probe.DenyNetworks[0] = "10.0.0.0/8"
	if Default().Probe.DenyNetworks[0] != "169.254.0.0/16" || !slices.Equal(Default().Probe.DenyNetworks, probe.DefaultDenyNetworks) {
		t.Error("Default() shares its deny list")
	}
}

func TestEmptyFileIsDefault(t *testing.T) {
	for _, doc := range []string{"", "\n", "# nothing here\n", "---\n", "~\n"} {
		c, err := parse("heck.yaml", []byte(doc), env())
		if err != nil {
			t.Fatalf("%q: %v", doc, err)
		}
		want := Default()
		want.Path = "heck.yaml"
		if !reflect.DeepEqual(c, want) {
			t.Errorf("%q: got %+v, want the defaults %+v", doc, c, want)
		}
	}
}

// TestProblems has one case per kind of problem: the file holds exactly
// that problem, found at the field, line and column given, with the value
// and a fix saying what to do.
func TestProblems(t *testing.T) {
	tests := []struct {
		name      string
		doc       string
		env       []string
		field     string
		line, col int
		value     string
		problem   string // substring
		fix       string // substring
	}{
		{"syntax error", "listen: 127.0.0.1:7800\n  log: x\n", nil,
			"", 2, 3, "", `is not valid YAML: mapping values are not allowed in this context at "  log: x"`, "indentation"},
		// yaml.v3 reports this one at line 1, where the list's block starts.
		{"mis-indented key in a list", "listen: 127.0.0.1:7800\ntargets:\n  - id: web\n    kind: http\n   url: http://127.0.0.1/\n", nil,
			"", 5, 4, "", `is not valid YAML: did not find expected '-' indicator at "   url: http://127.0.0.1/"`, "indentation"},
		{"mis-indented key under a target", "targets:\n  - id: web\n    kind: http\n  url: http://127.0.0.1/\n", nil,
			"", 4, 3, "", `at "  url: http://127.0.0.1/"`, "indentation"},
		// yaml.v3 reports an unclosed quote at the end of the file.
		{"unclosed quote", "listen: \"127.0.0.1:7800\nlog:\n  level: info\n", nil,
			"", 1, 1, "", `is not valid YAML: found unexpected end of stream at "listen: \"127.0.0.1:7800"`, "quoting"},
		{"unclosed flow list", "targets: [a, b\nlisten: x\n", nil,
			"", 1, 1, "", `at "targets: [a, b"`, "indentation"},
		{"not a mapping", "- a\n- b\n", nil,
			"", 1, 1, "", "is not a mapping", "listen: 127.0.0.1:7800"},
		{"second document", "listen: 127.0.0.1:7800\n---\nlisten: 127.0.0.1:7801\n", nil,
			"", 2, 1, "", "second YAML document", "one document"},
		{"unknown key near miss", "lisen: 127.0.0.1:7800\n", nil,
			"lisen", 1, 1, "", "not a known setting", `did you mean "listen"?`},
		{"unknown key lists known ones", "colour: blue\n", nil,
			"colour", 1, 1, "", "not a known setting", "use one of: node, listen, api"},
		{"unknown key typo of a nested one", "intervall: 5s\n", nil,
			"intervall", 1, 1, "", "not a known setting", `did you mean "defaults.interval"?`},
		{"schedule key at the top", "interval: 5s\n", nil,
			"interval", 1, 1, "", "not a known setting", `belongs under "defaults:"`},
		{"target key typo", "targets:\n  - id: a\n    kind: tcp\n    address: 127.0.0.1:1\n    timout: 1s\n", nil,
			"targets[0].timout", 5, 5, "", "not a known setting", `did you mean "timeout"?`},
		{"http option beside the url", "targets:\n  - id: a\n    kind: http\n    url: http://127.0.0.1/\n    expect_status: [\"200\"]\n", nil,
			"targets[0].expect_status", 5, 5, "", "not a known setting", `belongs under "http:"`},
		{"key written twice", "listen: 127.0.0.1:7800\nlog: {level: info}\nlisten: 127.0.0.1:7801\n", nil,
			"listen", 3, 1, "", "is set twice (first on line 1)", "keep one"},
		{"not a whole number", "targets:\n  - id: a\n    kind: tcp\n    address: 127.0.0.1:1\n    rise: two\n", nil,
			"targets[0].rise", 5, 11, "two", "is not a whole number", "such as 3"},
		{"not a duration", "defaults:\n  interval: soon\n", nil,
			"defaults.interval", 2, 13, "soon", "is not a duration", `"500ms", "10s"`},
		{"not a bool", "api:\n  open_reads: maybe\n", nil,
			"api.open_reads", 2, 15, "maybe", "is not true or false", "true or false"},
		{"not a number", "cluster:\n  weight: heavy\n", nil,
			"cluster.weight", 2, 11, "heavy", "is not a number", "such as 1"},
		{"list for a value", "targets:\n  - id: a\n    kind: http\n    url: [http://127.0.0.1/]\n", nil,
			"targets[0].url", 4, 10, "", "is a list, not a single value", `after "url:"`},
		{"value for a list", "cluster:\n  join: 127.0.0.1:7946\n", nil,
			"cluster.join", 2, 9, "127.0.0.1:7946", "not a list", "write a list"},
		{"value for a block", "log: debug\n", nil,
			"log", 1, 6, "debug", "not a mapping", "fields of log"},
		{"value for labels", "targets:\n  - id: a\n    kind: tcp\n    address: 127.0.0.1:1\n    labels: web\n", nil,
			"targets[0].labels", 5, 13, "", "not a mapping", "name: value"},
		{"merge of a value", "log:\n  <<: x\n", nil,
			"log.<<", 2, 7, "", "merges a single value, not a mapping", "<<: *defaults"},

		{"listen not host:port", "listen: 7800\n", nil,
			"listen", 1, 9, "7800", "is not host:port", `"127.0.0.1:7800"`},
		{"listen bad port", "listen: 127.0.0.1:78000\n", nil,
			"listen", 1, 9, "127.0.0.1:78000", "has no valid port", "1 to 65535"},
		{"token needed off loopback", "listen: 0.0.0.0:7800\n", nil,
			"api.token", 1, 9, "", `is required because listen "0.0.0.0:7800" is not a loopback address`, `set api.token to "${HECK_API_TOKEN}"`},
		{"token needed on all interfaces", "listen: :7800\napi:\n  token: \"${EMPTY}\"\n", []string{"EMPTY", ""},
			"api.token", 3, 10, "", "is required", "HECK_API_TOKEN"},
		{"token from an unset variable", "listen: 127.0.0.1:7800\napi:\n  token: \"${HECK_API_TOKEN}\"\n", nil,
			"api.token", 3, 10, "${HECK_API_TOKEN}", "environment variable HECK_API_TOKEN, which is not set", "export HECK_API_TOKEN"},
		{"node name empty", "node:\n  name: \"\"\n", nil,
			"node.name", 2, 9, "", "is empty", "host name"},
		{"data dir empty", "node:\n  data_dir: \"\"\n", nil,
			"node.data_dir", 2, 13, "", "is empty", `"./data"`},
		{"log level", "log:\n  level: loud\n", nil,
			"log.level", 2, 10, "loud", "is not a log level", "debug, info, warn, error"},
		{"log format", "log:\n  format: xml\n", nil,
			"log.format", 2, 11, "xml", "is not a log format", "text or json"},
		{"postgres without a dsn", "store:\n  driver: postgres\n", nil,
			"store.postgres.dsn", 2, 3, "", "is missing", "set the connection string"},
		{"unknown driver", "store:\n  driver: mysql\n", nil,
			"store.driver", 2, 11, "mysql", "is not a known store driver", "use one of: postgres, sqlite"},
		{"negative retention", "store:\n  retention:\n    rollups: -1h\n", nil,
			"store.retention.rollups", 3, 14, "-1h0m0s", "is negative", "0 to keep forever"},
		{"recent zero", "store:\n  recent: 0\n", nil,
			"store.recent", 2, 11, "0", "is out of range", "1 to 1000"},
		{"recent too many", "store:\n  recent: 1001\n", nil,
			"store.recent", 2, 11, "1001", "is out of range", "1 to 1000"},
		{"deny network", "probe:\n  deny_networks: [169.254.0.0/16, 10.0.0.0/33]\n", nil,
			"probe.deny_networks[1]", 2, 35, "10.0.0.0/33", "is not a network", "CIDR"},
		{"concurrency", "probe:\n  concurrency: 0\n", nil,
			"probe.concurrency", 2, 16, "0", "is below 1", "1 or more"},
		{"cluster bind", "cluster:\n  bind: 127.0.0.1\n", nil,
			"cluster.bind", 2, 9, "127.0.0.1", "is not host:port", `"127.0.0.1:7946"`},
		{"cluster advertise everywhere", "cluster:\n  advertise: 0.0.0.0:7946\n", nil,
			"cluster.advertise", 2, 14, "0.0.0.0:7946", "not an address other nodes can reach", "own address"},
		{"cluster join", "cluster:\n  join: [127.0.0.1:7946, \"a b\"]\n", nil,
			"cluster.join[1]", 2, 26, "a b", "is not host:port or a host", "port 7946 is the default"},
		{"cluster join port", "cluster:\n  join:\n    - 127.0.0.1:0\n", nil,
			"cluster.join[0]", 3, 7, "127.0.0.1:0", "has no valid port", "1 to 65535"},
		{"cluster weight zero", "cluster:\n  weight: 0\n", nil,
			"cluster.weight", 2, 11, "0", "is not a positive number", "above 0"},
		{"cluster weight infinite", "cluster:\n  weight: .inf\n", nil,
			"cluster.weight", 2, 11, "+Inf", "is not a positive number", "above 0"},
		{"cluster key not base64", "cluster:\n  keys: [\"not base64!\"]\n", nil,
			"cluster.keys[0]", 2, 10, "", "is not base64", "head -c 32 /dev/urandom | base64"},
		{"cluster key length", "cluster:\n  keys:\n    - " + validKey + "\n    - \"${SHORT}\"\n", []string{"SHORT", "c2hvcnQ="},
			"cluster.keys[1]", 4, 7, "", "decodes to 5 bytes, not 16, 24 or 32", "base64"},
		{"cluster replicas", "cluster:\n  replicas: 0\n", nil,
			"cluster.replicas", 2, 13, "0", "is below 1", "1 (the default) or more"},
		{"cluster spread", "cluster:\n  spread: region\n", nil,
			"cluster.spread", 2, 11, "region", "is not a known spread", "spread: zone"},
		{"tombstone horizon", "cluster:\n  tombstone_horizon: 30m\n", nil,
			"cluster.tombstone_horizon", 2, 22, "30m0s", "is too short", "1h or more"},

		{"target interval", "targets:\n  - id: a\n    kind: tcp\n    address: 127.0.0.1:1\n    interval: 50ms\n", nil,
			"targets[0].interval", 5, 15, "50ms", "is too short", "set an interval from 100ms to 24h"},
		{"target timeout above interval", "targets:\n  - id: a\n    kind: tcp\n    address: 127.0.0.1:1\n    interval: 1s\n    timeout: 1s\n", nil,
			"targets[0].timeout", 6, 14, "1s", "is not below the interval (1s)", "shorter than the interval"},
		{"target absent field at its target", "targets:\n  - id: a\n    kind: tcp\n    address: 127.0.0.1:1\n  - id: b\n    kind: http\n", nil,
			"targets[1].url", 5, 5, "", "is missing", "set the URL"},
		{"target nested list item", "targets:\n  - id: a\n    kind: http\n    url: http://127.0.0.1/\n    http:\n      expect_status:\n        - \"200\"\n        - \"abc\"\n", nil,
			"targets[0].http.expect_status[1]", 8, 11, "abc", "is not a status code", `"2xx"`},
		{"duplicate id", "targets:\n  - {id: a, kind: tcp, address: \"127.0.0.1:1\"}\n  - {id: a, kind: tcp, address: \"127.0.0.1:2\"}\n", nil,
			"targets[1].id", 3, 10, "a", "is already used by targets[0]", "unique id"},
		{"unknown kind", "targets:\n  - id: a\n    kind: smtp\n", nil,
			"targets[0].kind", 3, 11, "smtp", "is not a known kind", "http, tcp, dns"},
		{"target unset variable", "targets:\n  - id: a\n    kind: http\n    url: http://127.0.0.1/\n    http:\n      headers:\n        Authorization: \"Bearer ${WEB_TOKEN}\"\n", nil,
			"targets[0].http.headers.Authorization", 7, 24, "${WEB_TOKEN}", "environment variable WEB_TOKEN, which is not set", "export WEB_TOKEN"},
		{"header name with a dot, unset variable", "targets:\n  - id: a\n    kind: http\n    url: http://127.0.0.1/\n    http:\n      headers: {X.Token: \"${T}\"}\n", nil,
			"targets[0].http.headers.X.Token", 6, 26, "${T}", "environment variable T", "export T"},
		{"defaults invalid", "defaults:\n  interval: 10ms\ntargets:\n  - {id: a, kind: tcp, address: \"127.0.0.1:1\"}\n  - {id: b, kind: tcp, address: \"127.0.0.1:2\"}\n", nil,
			"defaults.interval", 2, 13, "10ms", "is too short", "100ms to 24h"},
		{"dependency on an unknown target", "targets:\n  - {id: a, kind: tcp, address: \"127.0.0.1:1\", depends_on: [{target: ghost}]}\n", nil,
			"targets[0].depends_on[0].target", 2, 70, "ghost", "is not a target", "remove the dependency"},
		{"dependency cycle", "targets:\n  - {id: a, kind: tcp, address: \"127.0.0.1:1\", depends_on: [{target: b}]}\n  - {id: b, kind: tcp, address: \"127.0.0.1:2\", depends_on: [{target: a}]}\n", nil,
			"targets[0].depends_on", 2, 60, "a -> b -> a", "dependency cycle", "remove one"},
		{"pool without members", "pools:\n  - name: web\n", nil,
			"pools[0].targets", 2, 5, "", "is empty", "selector"},
		{"pool weight", "pools:\n  - name: web\n    targets: [a]\n    members:\n      a: {weight: 0, port: 99999}\n", nil,
			"pools[0].members.a.port", 5, 28, "99999", "is not a port", "1 to 65535"},
		{"pool name repeated", "pools:\n  - {name: web, targets: [a]}\n  - {name: web, targets: [b]}\n", nil,
			"pools[1].name", 3, 12, "web", "pools[0] too", "own name"},
		{"pool fail open", "pools:\n  - {name: web, targets: [a], fail_open: everything}\n", nil,
			"pools[0].fail_open", 2, 42, "everything", "not a fail-open mode", "not_down"},
		{"dns listen", "dns:\n  listen: nowhere\n", nil,
			"dns.listen", 2, 11, "nowhere", "is not host:port", "127.0.0.1:8053"},
		{"dns zone", "dns:\n  zone: \"bad_zone.\"\n", nil,
			"dns.zone", 2, 9, "bad_zone.", "not a DNS label", "heck."},
		{"haproxy listen", "haproxy_agent:\n  listen: \"127.0.0.1:0x\"\n", nil,
			"haproxy_agent.listen", 2, 11, "127.0.0.1:0x", "no valid port", "5555"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parse("heck.yaml", []byte(tc.doc), env(tc.env...))
			if err == nil {
				t.Fatalf("no error; config %+v", c)
			}
			if c != nil {
				t.Error("a config came back with the error")
			}
			ps := problemsOf(t, err)
			if len(ps) != 1 {
				t.Fatalf("want exactly one problem, got %d:\n%v", len(ps), err)
			}
			p := ps[0]
			if p.File != "heck.yaml" || p.Field != tc.field || p.Line != tc.line || p.Column != tc.col || p.Value != tc.value {
				t.Errorf("got %s:%d:%d field %q value %q, want heck.yaml:%d:%d field %q value %q",
					p.File, p.Line, p.Column, p.Field, p.Value, tc.line, tc.col, tc.field, tc.value)
			}
			if !strings.Contains(p.Problem, tc.problem) {
				t.Errorf("problem %q does not say %q", p.Problem, tc.problem)
			}
			if !strings.Contains(p.Fix, tc.fix) {
				t.Errorf("fix %q does not say %q", p.Fix, tc.fix)
			}
		})
	}
}

func TestProblemString(t *testing.T) {
	tests := []struct {
		p    Problem
		want string
	}{
		{Problem{File: "heck.yaml", Line: 12, Column: 5, Field: "targets[0].interval", Value: "50ms", Problem: "is too short", Fix: "set an interval from 100ms to 24h"},
			`heck.yaml:12:5: targets[0].interval: "50ms" is too short; set an interval from 100ms to 24h`},
		{Problem{File: "heck.yaml", Line: 3, Problem: "is not valid YAML: x", Fix: "check"}, "heck.yaml:3: is not valid YAML: x; check"},
		{Problem{Field: "--listen", Value: "x", Problem: "is not host:port", Fix: "write one"}, `--listen: "x" is not host:port; write one`},
		{Problem{File: "c.yaml", Field: "api.token", Problem: "is required"}, "c.yaml: api.token: is required"},
	}
	for _, tc := range tests {
		if got := tc.p.String(); got != tc.want {
			t.Errorf("got  %s\nwant %s", got, tc.want)
		}
	}
}

func TestEveryProblemAtOnce(t *testing.T) {
	doc := `listen: 0.0.0.0:7800
log:
  level: loud
store:
  recent: 0
cluster:
  keys: ["not-a-key"]
  replicas: 0
targets:
  - id: a
    kind: http
    url: http://127.0.0.1/
    interval: 50ms
  - id: a
    kind: tcp
    timout: 1s
`
	_, err := parse("heck.yaml", []byte(doc), env())
	ps := problemsOf(t, err)
	want := []struct {
		field string
		line  int
	}{
		{"api.token", 1},
		{"log.level", 3},
		{"store.recent", 5},
		{"cluster.keys[0]", 7},
		{"cluster.replicas", 8},
		{"targets[0].interval", 13},
		{"targets[1].address", 14},
		{"targets[1].id", 14},
		{"targets[1].timout", 16},
	}
	if len(ps) != len(want) {
		t.Fatalf("want %d problems, got %d:\n%v", len(want), len(ps), err)
	}
	for i, w := range want {
		if ps[i].Field != w.field || ps[i].Line != w.line {
			t.Errorf("problem %d: got %s at line %d, want %s at line %d", i, ps[i].Field, ps[i].Line, w.field, w.line)
		}
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(want) {
		t.Fatalf("Error() has %d lines, want one per problem:\n%s", len(lines), err)
	}
	if !strings.HasPrefix(lines[5], `heck.yaml:13:15: targets[0].interval: "50ms" is too short; set an interval from 100ms to 24h`) {
		t.Errorf("line 6 = %q", lines[5])
	}
	if strings.Contains(err.Error(), "not-a-key") {
		t.Error("a gossip key was echoed in an error")
	}
}

func TestDefaultsApplied(t *testing.T) {
	doc := `node:
  data_dir: /var/lib/heck
store:
  retention:
    results: 1d
defaults:
  interval: 30s
  rise: 5
targets:
  - id: a
    kind: tcp
    address: 127.0.0.1:1
  - id: b
    kind: tcp
    address: 127.0.0.1:2
    interval: 1s
    rise: 1
`
	c, err := parse("heck.yaml", []byte(doc), env())
	if err != nil {
		t.Fatal(err)
	}
	d := Default()
	if c.Listen != d.Listen || c.Log != d.Log || c.Store.Recent != d.Store.Recent || c.Probe.Concurrency != d.Probe.Concurrency ||
		!reflect.DeepEqual(c.Probe.DenyNetworks, d.Probe.DenyNetworks) || !reflect.DeepEqual(c.Cluster, d.Cluster) || c.Node.Name != d.Node.Name {
		t.Errorf("fields the file leaves out differ from Default():\n got %+v\nwant %+v", c, d)
	}
	if c.Store.Retention.Results.D() != 24*time.Hour || c.Store.Retention.Rollups.D() != DefaultRollupsRetention {
		t.Errorf("retention = %+v", c.Store.Retention)
	}
	if c.Store.Path != "/var/lib/heck/heck.db" {
		t.Errorf("store.path = %q, want it under the data dir", c.Store.Path)
	}
	a, b := c.Targets[0], c.Targets[1]
	wantA := target.Schedule{Interval: target.Duration(30 * time.Second), Timeout: target.Duration(target.DefaultTimeout), Rise: 5,
		Fall: target.DefaultFall, FastInterval: target.Duration(30 * time.Second), DownInterval: target.Duration(30 * time.Second)}
	if a.Schedule != wantA {
		t.Errorf("target a schedule = %+v, want interval and rise from defaults, the rest built in: %+v", a.Schedule, wantA)
	}
	if b.Interval.D() != time.Second || b.Rise != 1 {
		t.Errorf("target b schedule = %+v, want its own values", b.Schedule)
	}
	if a.Origin != TargetOrigin || b.Origin != TargetOrigin {
		t.Errorf("origins = %q, %q", a.Origin, b.Origin)
	}
	if w := a.WithDefaults(); w.Timeout.D() != target.DefaultTimeout || w.Fall != target.DefaultFall {
		t.Errorf("WithDefaults after the defaults block = %+v", w.Schedule)
	}
}

// Store drivers and their sections, with a second driver (fakedb) beside
// sqlite: every problem placed at its field.
func TestStoreDriverProblems(t *testing.T) {
	withFakeDB(t)
	tests := []struct {
		name      string
		doc       string
		field     string
		line, col int
		value     string
		problem   string // substring
		fix       string // substring
	}{
		{"unknown driver lists the known", "store:\n  driver: mysql\n",
			"store.driver", 2, 11, "mysql", "is not a known store driver", "use one of: fakedb, postgres, sqlite"},
		{"driver near miss", "store:\n  driver: sqlite3\n",
			"store.driver", 2, 11, "sqlite3", "is not a known store driver", `did you mean "sqlite"? (use one of: fakedb, postgres, sqlite)`},
		{"empty driver", "store:\n  driver: \"\"\n",
			"store.driver", 2, 11, "", "is not a known store driver", "use one of: fakedb, postgres, sqlite"},
		{"section of no driver", "store:\n  mysql:\n    dsn: x\n",
			"store.mysql", 3, 5, "", "is not a known setting or store driver", "or a store driver's section (fakedb, postgres, sqlite)"},
		{"section typo of a setting", "store:\n  retension:\n    results: 1d\n",
			"store.retension", 3, 5, "", "is not a known setting or store driver", `did you mean "retention"?`},
		{"section typo of a driver", "store:\n  fakdb:\n    dsn: x\n",
			"store.fakdb", 3, 5, "", "is not a known setting or store driver", `did you mean "fakedb"?`},
		{"scalar typo", "store:\n  recnt: 5\n",
			"store.recnt", 2, 3, "", "is not a known setting", `did you mean "recent"?`},
		{"section of another driver", "store:\n  driver: sqlite\n  fakedb:\n    dsn: x\n",
			"store.fakedb", 4, 5, "", `is the section of the fakedb store, but store.driver is "sqlite"`, "set store.driver to fakedb"},
		{"two sections, no driver", "store:\n  sqlite:\n    path: x.db\n  fakedb:\n    dsn: x\n",
			"store.fakedb", 5, 5, "", `but store.driver is "sqlite"`, "only the chosen driver's section"},
		{"driver's own check", "store:\n  fakedb:\n    pool: \"3\"\n    dsn: \"${DSN}\"\n",
			"store.fakedb.pool", 3, 11, "", "is not a setting of the fakedb store", "remove it"},
		{"driver's own check, nothing written", "store:\n  driver: fakedb\n",
			"store.fakedb.dsn", 2, 3, "", "is missing", "set the DSN"},
		{"store.path for another driver", "store:\n  path: x.db\n  fakedb: {dsn: x}\n",
			"store.path", 2, 9, "x.db", `is the SQLite file, but store.driver is "fakedb"`, "remove store.path"},
		{"sqlite path twice", "store:\n  path: x.db\n  sqlite:\n    path: y.db\n",
			"store.sqlite.path", 4, 11, "", "is set twice (store.path too)", "keep one"},
		{"sqlite section setting", "store:\n  sqlite:\n    path: y.db\n    cache: 5\n",
			"store.sqlite.cache", 4, 12, "", "is not a setting of the sqlite store", "takes only path"},
		{"sqlite section path", "store:\n  sqlite:\n    path: \"file:y.db\"\n",
			"store.sqlite.path", 3, 11, "file:y.db", "is not a plain file path", "without '?'"},
		{"store.path checked by sqlite", "store:\n  path: \"x.db?mode=ro\"\n",
			"store.path", 2, 9, "x.db?mode=ro", "is not a plain file path", "without '?'"},
		{"section not a mapping of values", "store:\n  fakedb:\n    dsn: [a, b]\n",
			"store.fakedb.dsn", 3, 10, "", "is a list, not a single value", "single value"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parse("heck.yaml", []byte(tc.doc), env("DSN", "postgres://u:secret@127.0.0.1/heck"))
			if err == nil {
				t.Fatalf("no error; config %+v", c)
			}
			ps := problemsOf(t, err)
			if len(ps) != 1 {
				t.Fatalf("want exactly one problem, got %d:\n%v", len(ps), err)
			}
			p := ps[0]
			if p.Field != tc.field || p.Line != tc.line || p.Column != tc.col || p.Value != tc.value {
				t.Errorf("got %d:%d field %q value %q, want %d:%d field %q value %q",
					p.Line, p.Column, p.Field, p.Value, tc.line, tc.col, tc.field, tc.value)
			}
			if !strings.Contains(p.Problem, tc.problem) {
				t.Errorf("problem %q does not say %q", p.Problem, tc.problem)
			}
			if !strings.Contains(p.Fix, tc.fix) {
				t.Errorf("fix %q does not say %q", p.Fix, tc.fix)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("a setting's secret is echoed: %v", err)
			}
		})
	}
}

// The driver is store.driver, or the one driver whose section is written;
// its settings are its section (${VAR} expanded), and for SQLite store.path
// unless store.sqlite.path is written.
func TestStoreDriverChosen(t *testing.T) {
	withFakeDB(t)
	tests := []struct {
		name   string
		doc    string
		driver string
		want   map[string]string
	}{
		{"default", "", "sqlite", map[string]string{"path": filepath.Join("data", "heck.db")}},
		{"store.path", "store: {path: /tmp/x.db}\n", "sqlite", map[string]string{"path": "/tmp/x.db"}},
		{"sqlite section", "store:\n  sqlite:\n    path: /tmp/y.db\n", "sqlite", map[string]string{"path": "/tmp/y.db"}},
		{"sqlite section, driver named", "store:\n  driver: sqlite\n  sqlite: {path: /tmp/y.db}\n", "sqlite", map[string]string{"path": "/tmp/y.db"}},
		{"section chooses", "store:\n  fakedb:\n    dsn: \"${DSN}\"\n", "fakedb", map[string]string{"dsn": "postgres://u:pw@127.0.0.1/heck"}},
		{"driver named", "store:\n  driver: fakedb\n  fakedb: {dsn: d}\n", "fakedb", map[string]string{"dsn": "d"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parse("heck.yaml", []byte(tc.doc), env("DSN", "postgres://u:pw@127.0.0.1/heck"))
			if err != nil {
				t.Fatal(err)
			}
			if c.Store.Driver != tc.driver || !maps.Equal(c.Store.DriverSettings(), store.Settings(tc.want)) {
				t.Errorf("driver %q settings %v, want %q %v", c.Store.Driver, c.Store.DriverSettings(), tc.driver, tc.want)
			}
		})
	}
	// --data-dir moves the derived SQLite file, not one written out.
	c, err := parse("heck.yaml", []byte("store:\n  sqlite: {path: /tmp/y.db}\n"), env())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Apply(Overrides{DataDir: "/srv/heck"}); err != nil {
		t.Fatal(err)
	}
	if got := c.Store.DriverSettings()["path"]; got != "/tmp/y.db" {
		t.Errorf("store.sqlite.path after --data-dir = %q", got)
	}
	// A config built in code chooses by store.driver alone.
	c = Default()
	c.Store.Driver = "fakedb"
	c.Store.Sections = map[string]map[string]string{"fakedb": {"dsn": "d"}}
	if err := c.Validate(); err != nil {
		t.Errorf("config built in code with fakedb: %v", err)
	}
}

// No driver may be named like a key of store:, or its section could not be
// written.
func TestDriverNamesAreNotStoreKeys(t *testing.T) {
	for _, name := range store.Drivers() {
		if _, clash := fieldsOf(storeType).byName[name]; clash {
			t.Errorf("store driver %q has the name of the setting store.%s", name, name)
		}
	}
	if !slices.Contains(store.Drivers(), DefaultStoreDriver) {
		t.Errorf("the default driver %q is not registered (drivers: %v)", DefaultStoreDriver, store.Drivers())
	}
	for path, secret := range map[string]bool{
		"store.fakedb.dsn": true, "store.sqlite.path": true, "store.postgres": true,
		"store.path": false, "store.retention.results": false, "store.driver": false, "api.token": true,
	} {
		if secretField(path) != secret {
			t.Errorf("secretField(%q) = %v, want %v", path, !secret, secret)
		}
	}
}

func TestStorePath(t *testing.T) {
	c, err := parse("heck.yaml", []byte("node: {data_dir: d}\nstore: {path: /tmp/x.db}\n"), env())
	if err != nil {
		t.Fatal(err)
	}
	if c.Store.Path != "/tmp/x.db" {
		t.Errorf("store.path = %q", c.Store.Path)
	}
	if err := c.Apply(Overrides{DataDir: "e"}); err != nil {
		t.Fatal(err)
	}
	if c.Store.Path != "/tmp/x.db" {
		t.Errorf("an explicit store.path moved with --data-dir: %q", c.Store.Path)
	}
}

func TestEnvExpansion(t *testing.T) {
	doc := `node:
  name: ${NODE}
  data_dir: ${DATA}/heck
api:
  token: "${TOKEN}"
listen: 0.0.0.0:7800
cluster:
  keys: ["${KEY}"]
  join: ["${PEER}:7946"]
targets:
  - id: a
    kind: http
    url: http://127.0.0.1:${PORT}/
    http:
      headers: {Authorization: "Bearer ${TOKEN}"}
`
	lookup := env("NODE", "n1", "DATA", "/srv", "TOKEN", "s3cret", "KEY", validKey, "PEER", "127.0.0.2", "PORT", "8080")
	c, err := parse("heck.yaml", []byte(doc), lookup)
	if err != nil {
		t.Fatal(err)
	}
	if c.Node.Name != "n1" || c.Node.DataDir != "/srv/heck" || c.API.Token != "s3cret" ||
		c.Cluster.Keys[0] != validKey || c.Cluster.Join[0] != "127.0.0.2:7946" {
		t.Errorf("config-level references not expanded: %+v", c)
	}
	s := c.Targets[0]
	if s.URL != "http://127.0.0.1:${PORT}/" || s.HTTP.Headers["Authorization"] != "Bearer ${TOKEN}" {
		t.Errorf("target references were expanded at load: %q %q", s.URL, s.HTTP.Headers["Authorization"])
	}
	x, err := s.Expand(lookup)
	if err != nil || x.URL != "http://127.0.0.1:8080/" {
		t.Errorf("Expand = %q, %v", x.URL, err)
	}
}

func TestAnchorsAndMerges(t *testing.T) {
	doc := `x-fast: &fast
  interval: 1s
  timeout: 500ms
targets:
  - <<: *fast
    id: a
    kind: tcp
    address: 127.0.0.1:1
  - <<: *fast
    id: b
    kind: tcp
    address: 127.0.0.1:2
    interval: 2s
`
	c, err := parse("heck.yaml", []byte(doc), env())
	if err != nil {
		t.Fatal(err)
	}
	if c.Targets[0].Interval.D() != time.Second || c.Targets[0].Timeout.D() != 500*time.Millisecond || c.Targets[1].Interval.D() != 2*time.Second {
		t.Errorf("merged schedules: %+v / %+v", c.Targets[0].Schedule, c.Targets[1].Schedule)
	}
	// Only top-level keys may be extensions.
	_, err = parse("heck.yaml", []byte("log:\n  x-note: hi\n"), env())
	if ps := problemsOf(t, err); len(ps) != 1 || ps[0].Field != "log.x-note" {
		t.Errorf("want log.x-note reported, got %v", err)
	}
	// A problem in a merged value is placed at the line that wrote it.
	bad := "defaults: &d\n  interval: 1s\n  timeout: 1s\ntargets:\n  - <<: *d\n    id: a\n    kind: tcp\n    address: 127.0.0.1:1\n"
	_, err = parse("heck.yaml", []byte(bad), env())
	ps := problemsOf(t, err)
	if len(ps) != 2 || ps[0].Field != "defaults.timeout" || ps[1].Field != "targets[0].timeout" || ps[0].Line != 3 || ps[1].Line != 3 {
		t.Errorf("want defaults.timeout and targets[0].timeout at line 3, got %v", err)
	}
}

// TestAliasBombs: documents that alias their way to billions of values
// fail fast instead of hanging the loader.
func TestAliasBombs(t *testing.T) {
	// Merges of merges: each level merges the one below twice.
	var merges strings.Builder
	merges.WriteString("x-m0: &m0 {id: a, kind: tcp, address: \"127.0.0.1:1\"}\n")
	for i := 1; i <= 40; i++ {
		fmt.Fprintf(&merges, "x-m%d: &m%d {<<: [*m%d, *m%d]}\n", i, i, i-1, i-1)
	}
	merges.WriteString("targets: [*m40]\n")

	// Fan-out: a mapping of 300 unknown keys named 300 times.
	var fan strings.Builder
	fan.WriteString("x-t: &t {")
	for i := range 300 {
		fmt.Fprintf(&fan, "k%d: 1, ", i)
	}
	fan.WriteString("}\ntargets: [")
	for range 300 {
		fan.WriteString("*t, ")
	}
	fan.WriteString("]\n")

	for name, doc := range map[string]string{"merges": merges.String(), "fan-out": fan.String()} {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			c, err := parse("bomb.yaml", []byte(doc), env())
			if took := time.Since(start); took > 10*time.Second {
				t.Errorf("took %v", took)
			}
			if name == "merges" {
				if err != nil || len(c.Targets) != 1 || c.Targets[0].ID != "a" {
					t.Errorf("merge chain: %v", err)
				}
				return
			}
			if !strings.Contains(err.Error(), "expands to too many values") {
				t.Errorf("the budget did not stop the fan-out; %d problems", len(problemsOf(t, err)))
			}
		})
	}
}

func TestApply(t *testing.T) {
	tests := []struct {
		name  string
		base  string
		o     Overrides
		check func(t *testing.T, c *Config)
		flag  string // the problem's field, "" when Apply succeeds
		fix   string
	}{
		{"listen", "", Overrides{Listen: "127.0.0.1:9000"}, func(t *testing.T, c *Config) {
			if c.Listen != "127.0.0.1:9000" {
				t.Errorf("listen = %q", c.Listen)
			}
		}, "", ""},
		{"listen not host:port", "", Overrides{Listen: "9000"}, nil, "--listen", `"127.0.0.1:7800"`},
		{"listen off loopback without token", "", Overrides{Listen: "0.0.0.0:7800"}, nil, "--listen", "api.token"},
		{"listen off loopback with token", "api: {token: t}\n", Overrides{Listen: "0.0.0.0:7800"}, nil, "", ""},
		{"data dir moves the derived store", "", Overrides{DataDir: "/srv/heck"}, func(t *testing.T, c *Config) {
			if c.Node.DataDir != "/srv/heck" || c.Store.Path != "/srv/heck/heck.db" {
				t.Errorf("data_dir %q store %q", c.Node.DataDir, c.Store.Path)
			}
		}, "", ""},
		{"node name", "", Overrides{NodeName: "n7"}, func(t *testing.T, c *Config) {
			if c.Node.Name != "n7" {
				t.Errorf("name = %q", c.Node.Name)
			}
		}, "", ""},
		{"blank node name", "", Overrides{NodeName: " "}, nil, "--node-name", "host name"},
		{"gossip concrete sets advertise", "", Overrides{Gossip: "127.0.0.1:7947"}, func(t *testing.T, c *Config) {
			if c.Cluster.Bind != "127.0.0.1:7947" || c.Cluster.Advertise != "127.0.0.1:7947" || !c.Cluster.Enabled() {
				t.Errorf("cluster = %+v", c.Cluster)
			}
		}, "", ""},
		{"gossip everywhere keeps advertise", "cluster: {advertise: \"127.0.0.2:7946\"}\n", Overrides{Gossip: "0.0.0.0:7946"}, func(t *testing.T, c *Config) {
			if c.Cluster.Bind != "0.0.0.0:7946" || c.Cluster.Advertise != "127.0.0.2:7946" {
				t.Errorf("cluster = %+v", c.Cluster)
			}
		}, "", ""},
		{"gossip bad", "", Overrides{Gossip: "127.0.0.1"}, nil, "--gossip", "127.0.0.1:7946"},
		{"join replaces", "cluster: {join: [\"127.0.0.1:7000\"]}\n", Overrides{Join: []string{"127.0.0.1:7946", "localhost"}}, func(t *testing.T, c *Config) {
			if !reflect.DeepEqual(c.Cluster.Join, []string{"127.0.0.1:7946", "localhost"}) {
				t.Errorf("join = %v", c.Cluster.Join)
			}
			if got := c.Cluster.JoinAddrs(); !reflect.DeepEqual(got, []string{"127.0.0.1:7946", "localhost:7946"}) {
				t.Errorf("JoinAddrs = %v", got)
			}
		}, "", ""},
		{"join bad", "", Overrides{Join: []string{"127.0.0.1:7946", "127.0.0.1:x"}}, nil, "--join", "1 to 65535"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parse("heck.yaml", []byte(tc.base), env())
			if err != nil {
				t.Fatal(err)
			}
			before := *c
			err = c.Apply(tc.o)
			if tc.flag == "" {
				if err != nil {
					t.Fatal(err)
				}
				if tc.check != nil {
					tc.check(t, c)
				}
				if err := c.Validate(); err != nil {
					t.Errorf("valid overrides left an invalid config: %v", err)
				}
				return
			}
			ps := problemsOf(t, err)
			if len(ps) != 1 || ps[0].Field != tc.flag || !strings.Contains(ps[0].Fix, tc.fix) {
				t.Errorf("want one problem with %s whose fix says %q, got %v", tc.flag, tc.fix, err)
			}
			if !reflect.DeepEqual(*c, before) {
				t.Errorf("a failed Apply changed the config:\n got %+v\nwant %+v", *c, before)
			}
		})
	}
}

func TestLogHandler(t *testing.T) {
	var buf bytes.Buffer
	c := Default()
	c.Log = Log{Level: "warn", Format: "json"}
	log := c.Logger(&buf)
	log.Info("hidden")
	log.Warn("shown", "k", 1)
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("not one JSON record: %q", buf.String())
	}
	if rec["msg"] != "shown" || rec["level"] != "WARN" {
		t.Errorf("record = %v", rec)
	}
	buf.Reset()
	c.Log = Log{Level: "debug", Format: "text"}
	c.Logger(&buf).Debug("dbg")
	if !strings.Contains(buf.String(), "level=DEBUG msg=dbg") {
		t.Errorf("text output = %q", buf.String())
	}
	for in, want := range map[string]slog.Level{"debug": slog.LevelDebug, "INFO": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError} {
		if got, err := ParseLevel(in); err != nil || got != want {
			t.Errorf("ParseLevel(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseLevel("loud"); err == nil {
		t.Error("ParseLevel accepted loud")
	}
}

// exampleEnv is what the examples refer to.
var exampleEnv = map[string]string{
	"HECK_API_TOKEN":  "example-token",
	"HECK_GOSSIP_KEY": validKey,
	"WEB_TOKEN":       "example-web-token",
	// examples/notify.yaml
	"HECK_WEBHOOK_SECRET": "example-webhook-secret",
	"HECK_SMTP_PASSWORD":  "example-smtp-password",
	// examples/full.yaml's postgres and redis targets
	"HECK_PG_PASSWORD":    "example-pg-password",
	"HECK_REDIS_PASSWORD": "example-redis-password",
}

func exampleFiles(t testing.TB) []string {
	var files []string
	err := filepath.WalkDir("../../examples", func(path string, d os.DirEntry, err error) error {
		// agent.yaml is a heck agent's config, loaded by internal/agent's tests.
		if err == nil && !d.IsDir() && (strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")) && d.Name() != "agent.yaml" {
			files = append(files, path)
		}
		return err
	})
	if err != nil || len(files) < 5 {
		t.Fatalf("examples: %v (%d files)", err, len(files))
	}
	return files
}

func TestExamplesLoad(t *testing.T) {
	for k, v := range exampleEnv {
		t.Setenv(k, v)
	}
	for _, f := range exampleFiles(t) {
		c, err := Load(f)
		if err != nil {
			t.Errorf("%s:\n%v", f, err)
			continue
		}
		for _, s := range c.Targets {
			if _, err := s.Expand(nil); err != nil {
				t.Errorf("%s: target %s: %v", f, s.ID, err)
			}
		}
	}
}

func TestQuickstart(t *testing.T) {
	c, err := Load("../../examples/quickstart.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != DefaultListen || c.Node.DataDir != "./data" || c.Cluster.Enabled() {
		t.Errorf("quickstart runs on %s with data in %s (cluster %v)", c.Listen, c.Node.DataDir, c.Cluster.Enabled())
	}
	want := map[string]string{
		"heck-livez":  "http://127.0.0.1:7800/livez",
		"heck-readyz": "http://127.0.0.1:7800/readyz",
		"heck-tcp":    "127.0.0.1:7800",
		"closed-port": "127.0.0.1:9",
	}
	for _, s := range c.Targets {
		w := s.WithDefaults()
		if w.Interval.D() > 10*time.Second {
			t.Errorf("%s: interval %v is not a few seconds", s.ID, w.Interval)
		}
		addr := s.URL + s.Address
		if want[s.ID] != addr {
			t.Errorf("%s checks %q, want %q", s.ID, addr, want[s.ID])
		}
		delete(want, s.ID)
	}
	if len(want) > 0 {
		t.Errorf("quickstart lacks %v", want)
	}
}

func TestClusterExamples(t *testing.T) {
	seen := map[string]bool{}
	for i := 1; i <= 3; i++ {
		c, err := Load(filepath.Join("../../examples/cluster", "node"+string(rune('0'+i))+".yaml"))
		if err != nil {
			t.Fatal(err)
		}
		n := string(rune('0' + i))
		if c.Listen != "127.0.0.1:780"+n || c.Cluster.Bind != "127.0.0.1:794"+string(rune('5'+i)) {
			t.Errorf("node%d: listen %s bind %s", i, c.Listen, c.Cluster.Bind)
		}
		if len(c.Cluster.Join) == 0 || c.Cluster.Join[0] != "127.0.0.1:7946" {
			t.Errorf("node%d joins %v", i, c.Cluster.Join)
		}
		for _, v := range []string{c.Node.Name, c.Node.DataDir, c.Store.Path} {
			if seen[v] {
				t.Errorf("node%d shares %q with another node", i, v)
			}
			seen[v] = true
		}
	}
}

// TestRoundTrip writes the full example back out as YAML and loads it
// again: every field of Config survives, so the loader knows every type in
// it.
func TestRoundTrip(t *testing.T) {
	c, err := parse("full.yaml", mustRead(t, "../../examples/full.yaml"), env("HECK_API_TOKEN", "t", "HECK_GOSSIP_KEY", validKey, "WEB_TOKEN", "w", "HECK_PG_PASSWORD", "p", "HECK_REDIS_PASSWORD", "r"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := parse("full.yaml", out, env("WEB_TOKEN", "w", "HECK_PG_PASSWORD", "p", "HECK_REDIS_PASSWORD", "r"))
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !reflect.DeepEqual(c, c2) {
		t.Errorf("round trip changed the config:\n got %+v\nwant %+v", c2, c)
	}
}

func mustRead(t testing.TB, path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	var le *LoadError
	if err == nil || errors.As(err, &le) || !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "nope.yaml") {
		t.Errorf("err = %v", err)
	}
}

func TestNearest(t *testing.T) {
	names := []string{"interval", "timeout", "expect_status", "body_contains", "id"}
	for in, want := range map[string]string{
		"intervall": "interval", "timout": "timeout", "tiemout": "timeout", "expectStatus": "expect_status",
		"expect-status": "expect_status", "bodycontain": "body_contains", "ID": "id", "xyz": "", "kind": "",
	} {
		if got := nearest(in, names); got != want {
			t.Errorf("nearest(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, file := range exampleFiles(f) {
		f.Add(mustRead(f, file))
	}
	testdata, _ := filepath.Glob("testdata/*.yaml")
	for _, file := range testdata {
		f.Add(mustRead(f, file))
	}
	f.Add([]byte("targets: [{id: a, kind: http, url: \"http://127.0.0.1/\", http: {expect_status: [200, 2xx]}}]"))
	f.Add([]byte("a: &a {<<: *a}"))
	f.Add([]byte("defaults: {interval: 1e300}"))
	f.Add([]byte("defaults: {interval: 0s, rise: 0}\ntargets: [{id: a, kind: tcp, address: \"127.0.0.1:1\", timeout: 0, replicas: 0, jitter: 0}]"))
	lookup := env("HECK_API_TOKEN", "t", "HECK_GOSSIP_KEY", validKey)
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := parse("fuzz.yaml", data, lookup)
		if err == nil {
			if c == nil {
				t.Fatal("no config and no error")
			}
			if verr := c.Validate(); verr != nil && !strings.Contains(verr.Error(), "environment variable") {
				t.Fatalf("loaded a config that does not validate: %v", verr)
			}
			return
		}
		var le *LoadError
		if !errors.As(err, &le) || c != nil || len(le.Problems) == 0 {
			t.Fatalf("want a *LoadError and no config, got %T %v (config %v)", err, err, c != nil)
		}
	})
}

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// TestGolden loads each testdata/*.yaml and compares what it says with the
// .golden file beside it: every problem, one per line, or "ok".
func TestGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.yaml")
	if len(files) == 0 {
		t.Fatal("no testdata")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			_, err := parse(f, mustRead(t, f), env())
			got := "ok\n"
			if err != nil {
				problemsOf(t, err)
				got = err.Error() + "\n"
			}
			golden := strings.TrimSuffix(f, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if want := string(mustRead(t, golden)); got != want {
				t.Errorf("%s says:\n%s\nwant (%s):\n%s", f, got, golden, want)
			}
		})
	}
}

func TestPortZeroPicksAFreePort(t *testing.T) {
	cfg, err := Parse("p.yaml", []byte("listen: 127.0.0.1:0\ncluster:\n  bind: 127.0.0.1:0\n"))
	if err != nil {
		t.Fatalf("port 0 for listen and cluster.bind should be accepted: %v", err)
	}
	if cfg.Listen != "127.0.0.1:0" || cfg.Cluster.Bind != "127.0.0.1:0" {
		t.Fatalf("got listen %q bind %q", cfg.Listen, cfg.Cluster.Bind)
	}
	if _, err := Parse("p.yaml", []byte("cluster:\n  advertise: 10.0.0.5:0\n")); err == nil {
		t.Fatal("an advertised port 0 cannot be reached and must be refused")
	}
}

// TestDefaultsYieldToATargetsOwnSchedule: a value of the defaults block
// that does not fit a target's own schedule is not taken; the built-in
// default applies, as it does for a target added through the API.
func TestDefaultsYieldToATargetsOwnSchedule(t *testing.T) {
	doc := "defaults:\n  timeout: 2500ms\n  jitter: 3s\n  fast_interval: 3s\ntargets:\n" +
		"  - {id: a, kind: tcp, address: 127.0.0.1:1, interval: 2s}\n" +
		"  - {id: b, kind: tcp, address: 127.0.0.1:1, interval: 1m, timeout: 4s}\n" +
		"  - {id: c, kind: tcp, address: 127.0.0.1:1, interval: 1m}\n"
	c, err := parse("heck.yaml", []byte(doc), env())
	if err != nil {
		t.Fatal(err)
	}
	sec := func(f float64) target.Duration { return target.Duration(f * float64(time.Second)) }
	want := []target.Schedule{
		// 2.5s timeout and 3s jitter are not below 2s: built in (80% of 2s,
		// no jitter); 3s fast_interval is above 1.6s, so it is taken.
		{Interval: sec(2), Timeout: sec(1.6), Rise: 2, Fall: 3, FastInterval: sec(3), DownInterval: sec(2)},
		// Its own 4s timeout: a 3s fast_interval is not above it.
		{Interval: sec(60), Timeout: sec(4), Rise: 2, Fall: 3, Jitter: sec(3), FastInterval: sec(60), DownInterval: sec(60)},
		{Interval: sec(60), Timeout: sec(2.5), Rise: 2, Fall: 3, Jitter: sec(3), FastInterval: sec(3), DownInterval: sec(60)},
	}
	for i, w := range want {
		if got := c.Targets[i].Schedule; got != w {
			t.Errorf("%s: schedule %+v, want %+v", c.Targets[i].ID, got, w)
		}
	}
}

// TestSyntaxErrorQuotesNoSecret: the quoted line of a syntax error never
// echoes what a secret-looking key holds.
func TestSyntaxErrorQuotesNoSecret(t *testing.T) {
	_, err := Parse("heck.yaml", []byte("api:\n  token: \"s3cr3t-value\nlisten: x\n"))
	if err == nil {
		t.Fatal("want a syntax error")
	}
	if msg := err.Error(); strings.Contains(msg, "s3cr3t") || !strings.Contains(msg, `heck.yaml:2:3: is not valid YAML`) || !strings.Contains(msg, `"  token: ..."`) {
		t.Errorf("got %s", msg)
	}
}
