package cli_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/heckhq/heck/internal/api"
	"github.com/heckhq/heck/internal/cli"
	"github.com/heckhq/heck/internal/config"
	"github.com/heckhq/heck/internal/target"
)

func stubRunAgent(t *testing.T, run func(ctx context.Context, path, listen string, log *slog.Logger) error) {
	t.Helper()
	old := cli.RunAgent
	t.Cleanup(func() { cli.RunAgent = old })
	cli.RunAgent = run
}

func TestAgentCommand(t *testing.T) {
	var gotPath, gotListen string
	stubRunAgent(t, func(_ context.Context, path, listen string, log *slog.Logger) error {
		gotPath, gotListen = path, listen
		log.Info("running")
		return nil
	})
	r := heck(t, "agent", "--config", "examples/agent.yaml", "--listen", "127.0.0.1:7999")
	if r.code != 0 || gotPath != "examples/agent.yaml" || gotListen != "127.0.0.1:7999" || !strings.Contains(r.stderr, "running") {
		t.Fatalf("heck agent: %+v, path %q listen %q", r, gotPath, gotListen)
	}
	usageError(t, heck(t, "agent", "extra"), "too many arguments")
	usageError(t, heck(t, "agent", "--log-level", "loud"), `"loud" is not a level`)

	stubRunAgent(t, func(context.Context, string, string, *slog.Logger) error {
		return &config.LoadError{Problems: []config.Problem{
			{File: "a.yaml", Line: 3, Field: "checks[0].kind", Value: "cpux", Problem: "is not a known kind", Fix: "set kind to one of cpu, ..."},
			{File: "a.yaml", Line: 5, Field: "checks[1].name", Problem: "is missing", Fix: "give the check a unique name"},
		}}
	})
	r = heck(t, "agent", "--config", "a.yaml")
	if r.code != 2 || !strings.Contains(r.stderr, `a.yaml:3: checks[0].kind: "cpux" is not a known kind`) ||
		!strings.Contains(r.stderr, "a.yaml:5: checks[1].name: is missing") || !strings.Contains(r.stderr, "2 problem(s)") {
		t.Errorf("config problems: %+v", r)
	}
	stubRunAgent(t, func(context.Context, string, string, *slog.Logger) error { return errors.New("listen on x: in use") })
	if r := heck(t, "agent"); r.code != 2 || !strings.Contains(r.stderr, "heck agent: listen on x: in use") {
		t.Errorf("run error: %+v", r)
	}
	if r := heck(t, "agent", "--help"); r.code != 0 || !strings.Contains(r.stdout, "/readyz") {
		t.Errorf("help: %+v", r)
	}
}

func TestTargetsAddAgent(t *testing.T) {
	b := server(t, api.Options{LoopbackOnly: true})
	r := heck(t, "targets", "add", "--id", "host1", "--kind", "agent", "--url", "http://127.0.0.1:7900/healthz", "--agent-check", "db")
	if r.code != 0 || !strings.Contains(r.stdout, "added host1 (agent http://127.0.0.1:7900/healthz)") {
		t.Fatalf("add: %+v", r)
	}
	sp, _ := b.Spec("host1")
	if sp.Kind != target.KindAgent || sp.Agent == nil || sp.Agent.Check != "db" {
		t.Errorf("stored spec %+v %+v", sp, sp.Agent)
	}
	usageError(t, heck(t, "targets", "add", "--id", "x", "--kind", "http", "--url", "http://127.0.0.1/", "--agent-check", "db"),
		"flag --agent-check does not apply to a http target")
	usageError(t, heck(t, "targets", "add", "--id", "x", "--kind", "agent", "--address", "127.0.0.1:1"),
		"flag --address does not apply to a agent target")
}

func TestValidateAgentConfig(t *testing.T) {
	old := cli.ValidateAgent
	t.Cleanup(func() { cli.ValidateAgent = old })
	dir := t.TempDir()
	good, bad, serve := dir+"/good.yaml", dir+"/bad.yaml", dir+"/serve.yaml"
	for p, s := range map[string]string{good: "checks: []\n", bad: "checks: [x]\n", serve: "listen: 127.0.0.1:7800\n"} {
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cli.ValidateAgent = func(path string, data []byte) (int, bool, error) {
		switch path {
		case good:
			return 3, true, nil
		case bad:
			return 0, true, &config.LoadError{Problems: []config.Problem{{File: path, Line: 1, Field: "checks[0]", Problem: "is not a check", Fix: "write a mapping"}}}
		}
		return 0, false, nil
	}
	if r := heck(t, "validate", good); r.code != 0 || !strings.Contains(r.stdout, "ok (agent config, 3 checks)") {
		t.Errorf("validate good agent config: %+v", r)
	}
	if r := heck(t, "validate", bad); r.code != 1 || !strings.Contains(r.stdout, "bad.yaml:1: checks[0]: is not a check") {
		t.Errorf("validate bad agent config: %+v", r)
	}
	if r := heck(t, "validate", good, "-o", "json"); r.code != 0 || !strings.Contains(r.stdout, `"checks": 3`) {
		t.Errorf("validate -o json: %+v", r)
	}
	if r := heck(t, "validate", serve); r.code != 0 || !strings.Contains(r.stdout, "ok (0 targets)") {
		t.Errorf("validate a heck config: %+v", r)
	}
}
