package agent

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/config"
	"github.com/heckhq/heck/internal/testkit"
)

func problems(t *testing.T, err error) []config.Problem {
	t.Helper()
	var le *config.LoadError
	if !errors.As(err, &le) {
		t.Fatalf("error %v is not a *config.LoadError", err)
	}
	return le.Problems
}

func TestParseValid(t *testing.T) {
	c, err := Parse("a.yaml", []byte(`
listen: 127.0.0.1:7901
defaults: {interval: 5s, fall: 4}
checks:
  - {name: cpu, kind: cpu, critical: false}
  - {name: root, kind: disk, disk: {path: /}, interval: 30s, timeout: 3s}
  - name: db
    kind: tcp
    address: 127.0.0.1:5432
    rise: 1
  - name: api
    kind: http
    url: http://127.0.0.1:8080/healthz
    http: {expect_status: ["2xx"]}
`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:7901" || len(c.Checks) != 4 {
		t.Fatalf("config = %+v", c)
	}
	tests := []struct {
		i                  int
		interval, timeout  time.Duration
		rise, fall         int
		critical, hostKind bool
	}{
		{0, 5 * time.Second, 2 * time.Second, 2, 4, false, true},
		{1, 30 * time.Second, 3 * time.Second, 2, 4, true, true},
		{2, 5 * time.Second, 2 * time.Second, 1, 4, true, false},
		{3, 5 * time.Second, 2 * time.Second, 2, 4, true, false},
	}
	for _, tt := range tests {
		ch := c.Checks[tt.i]
		s := ch.Target.Schedule
		if s.Interval.D() != tt.interval || s.Timeout.D() != tt.timeout || s.Rise != tt.rise || s.Fall != tt.fall {
			t.Errorf("checks[%d] schedule = %+v", tt.i, s)
		}
		if ch.IsCritical() != tt.critical || ch.IsHost() != tt.hostKind {
			t.Errorf("checks[%d] critical %v host %v", tt.i, ch.IsCritical(), ch.IsHost())
		}
	}
}

// TestParseProblems feeds one config with a mistake in every field it can
// hold and wants each reported, at its line, naming the field, the value
// and a fix.
func TestParseProblems(t *testing.T) {
	t.Setenv("HECK_AGENT_TEST_SET", "x")
	data := `listen: nowhere
defaults: {interval: 10ms}
checks:
  - {kind: cpu}
  - {name: "bad name", kind: cpu, cpu: {max_percent: 150, window: 10ms}}
  - {name: dup, kind: memory, memory: {max_used_percent: -3}}
  - {name: dup, kind: swap}
  - {name: d, kind: disk}
  - {name: d2, kind: disk, disk: {path: rel, max_inodes_used_percent: 101}}
  - {name: l, kind: load, load: {max_load1: -1}}
  - {name: p, kind: process, process: {name: a, pid: 2}}
  - {name: f, kind: file, file: {path: /x, max_age: -1s}}
  - {name: po, kind: port, port: {port: 0}}
  - {name: c, kind: command, command: {argv: []}}
  - {name: k, kind: nosuch}
  - {name: hb, kind: heartbeat}
  - {name: h, kind: http, url: "ftp://x", cpu: {}}
  - {name: t, kind: tcp, address: "127.0.0.1", timeout: 20s}
  - {name: t2, kind: tcp, address: "127.0.0.1:1", replicas: 2, labels: {a: b}, id: t2}
  - {name: host-url, kind: memory, url: "http://127.0.0.1/", http: {}}
  - {name: zero, kind: cpu, interval: 0s}
  - {name: env, kind: http, url: "http://127.0.0.1:1/${HECK_AGENT_TEST_UNSET}"}
  - {name: wrongblock, kind: cpu, disk: {path: /}}
`
	_, err := Parse("agent.yaml", []byte(data))
	if err == nil {
		t.Fatal("no error")
	}
	ps := problems(t, err)
	want := []struct {
		line  int
		field string
		value string
	}{
		{1, "listen", "nowhere"},
		{2, "defaults.interval", "10ms"},
		{4, "checks[0].name", ""},
		{5, "checks[1].name", "bad name"},
		{5, "checks[1].cpu.max_percent", "150"},
		{5, "checks[1].cpu.window", "10ms"},
		{6, "checks[2].memory.max_used_percent", "-3"},
		{7, "checks[3].name", "dup"},
		{8, "checks[4].disk", ""},
		{9, "checks[5].disk.path", "rel"},
		{9, "checks[5].disk.max_inodes_used_percent", "101"},
		{10, "checks[6].load.max_load1", "-1"},
		{11, "checks[7].process.name", "a"},
		{12, "checks[8].file.max_age", "-1s"},
		{13, "checks[9].port.port", "0"},
		{14, "checks[10].command.argv", ""},
		{15, "checks[11].kind", "nosuch"},
		{16, "checks[12].kind", "heartbeat"},
		{17, "checks[13].cpu", ""},
		{17, "checks[13].url", "ftp://x"},
		{18, "checks[14].address", "127.0.0.1"},
		{18, "checks[14].timeout", "20s"},
		{19, "checks[15].id", "t2"},
		{19, "checks[15].labels", ""},
		{19, "checks[15].replicas", "2"},
		{20, "checks[16].url", "http://127.0.0.1/"},
		{20, "checks[16].http", ""},
		{21, "checks[17].interval", "0s"},
		{22, "checks[18].url", ""},
		{23, "checks[19].disk", ""},
	}
	got := map[string]config.Problem{}
	for _, p := range ps {
		if p.Problem == "" || p.Fix == "" {
			t.Errorf("%s: no problem or no fix: %+v", p.Field, p)
		}
		if p.File != "agent.yaml" {
			t.Errorf("%s: file %q", p.Field, p.File)
		}
		got[p.Field] = p
	}
	for _, w := range want {
		p, ok := got[w.field]
		if !ok {
			t.Errorf("no problem with %s; got:\n%v", w.field, err)
			continue
		}
		if p.Line != w.line {
			t.Errorf("%s: line %d, want %d", w.field, p.Line, w.line)
		}
		if w.value != "" && p.Value != w.value {
			t.Errorf("%s: value %q, want %q", w.field, p.Value, w.value)
		}
	}
	if len(ps) != len(want) {
		t.Errorf("%d problems, want %d:\n%v", len(ps), len(want), err)
	}
}

func TestParseDecodeProblems(t *testing.T) {
	tests := []struct {
		name, data, want string
		line             int
	}{
		{"unknown key", "listen: 127.0.0.1:1\nchecks:\n  - {name: a, kind: cpu, colour: red}\n", "colour", 3},
		{"wrong type", "checks:\n  - name: a\n    kind: cpu\n    cpu: {max_percent: lots}\n", "cannot be read as a number", 4},
		{"syntax", "checks:\n  - name: a\n   kind: cpu\n", "is not valid YAML", 3},
		{"empty", "", "is empty", 0},
		{"no checks", "listen: 127.0.0.1:1\n", "lists no check", 0},
		{"not a mapping", "- a\n", "is not a mapping", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("a.yaml", []byte(tt.data))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
			ps := problems(t, err)
			if tt.line != 0 && ps[0].Line != tt.line {
				t.Errorf("line %d, want %d (%v)", ps[0].Line, tt.line, err)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	if _, err := Load(filepath.Join(t.TempDir(), "none.yaml")); err == nil || !strings.Contains(err.Error(), "none.yaml") {
		t.Errorf("Load of a missing file: %v", err)
	}
	root, err := testkit.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	c, err := Load(filepath.Join(root, "examples", "agent.yaml"))
	if err != nil {
		t.Fatalf("examples/agent.yaml: %v", err)
	}
	kinds := map[string]bool{}
	for _, ch := range c.Checks {
		kinds[ch.Kind()] = true
	}
	for _, k := range []string{"cpu", "memory", "disk", "process", "http"} {
		if !kinds[k] {
			t.Errorf("examples/agent.yaml has no %s check", k)
		}
	}
	if _, err := os.Stat("/proc/1"); err != nil {
		t.Logf("no /proc/1 here: the example's init check will fail")
	}
}

func TestValidateFile(t *testing.T) {
	tests := []struct {
		name, data string
		checks     int
		isAgent    bool
		err        bool
	}{
		{"agent", "checks:\n  - {name: cpu, kind: cpu}\n", 1, true, false},
		{"bad agent", "checks:\n  - {kind: cpu}\n", 0, true, true},
		{"heck config", "listen: 127.0.0.1:7800\ntargets: []\n", 0, false, false},
		{"both keys", "checks: []\ntargets: []\n", 0, false, false},
		{"not yaml", "::: [", 0, false, false},
	}
	for _, tt := range tests {
		n, isAgent, err := ValidateFile("x.yaml", []byte(tt.data))
		if n != tt.checks || isAgent != tt.isAgent || (err != nil) != tt.err {
			t.Errorf("%s: %d %v %v", tt.name, n, isAgent, err)
		}
	}
}
