package cli_test

import (
	"context"
	"errors"
	"log/slog"
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
