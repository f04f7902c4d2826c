package cli

import (
	"context"
	"errors"
	"flag"
	"log/slog"
)

// RunAgent runs a heck agent (heck agent) on the config at path (its
// built-in checks when ""), listening on listen (the config's when ""),
// until ctx ends. A config with problems is a *config.LoadError. cmd/heck
// sets it (agent.Main); tests set fakes.
var RunAgent func(ctx context.Context, path, listen string, log *slog.Logger) error

type agentOpts struct {
	config, listen, logLevel string
}

func agentCmd() *command {
	return &command{
		name:     "agent",
		synopsis: "run on a host: check it and its dependencies, serve /livez, /readyz, /healthz",
		usage:    "heck agent [--config FILE] [--listen ADDR]",
		help: `
Runs a heck agent until SIGINT or SIGTERM: the checks of --config (CPU,
memory, swap, disk, load, processes, files, ports, commands, and
dependencies of any target kind, such as http and tcp), each on its own
schedule in the background, and serves their last results on --listen
(default 127.0.0.1:7900):

  /livez              200 while the agent process runs (never a deep check)
  /readyz             200 when every critical check passes; 503 naming the
                      failing ones, or "starting" before the first round
  /healthz            every check as JSON (status ok, degraded or down);
                      ?check=NAME for one

With no --config it checks CPU, memory, swap and the root file system, none
critical. A heck node probes an agent as a target of kind agent. Example
config: examples/agent.yaml; reference: docs/agent.md.`,
		maxArgs: 0,
		flags: func(fs *flag.FlagSet) any {
			o := &agentOpts{}
			fs.StringVar(&o.config, "config", "", "agent config `FILE` (YAML); built-in host checks when absent")
			fs.StringVar(&o.listen, "listen", "", "`ADDR` (host:port) of /livez, /readyz and /healthz, overriding listen (default 127.0.0.1:7900)")
			fs.StringVar(&o.logLevel, "log-level", "info", "log `LEVEL`: debug, info, warn or error")
			return o
		},
		run: runAgent,
	}
}

func runAgent(ctx context.Context, e *env, opts any, _ []string) int {
	o := opts.(*agentOpts)
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(o.logLevel)); err != nil {
		return e.errorf("flag --log-level: %q is not a level; use debug, info, warn or error", o.logLevel)
	}
	if RunAgent == nil {
		return e.errorf("this build cannot run an agent (cli.RunAgent is not set)")
	}
	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: lvl}))
	if err := RunAgent(ctx, o.config, o.listen, log); err != nil && !(errors.Is(err, context.Canceled) && ctx.Err() != nil) {
		return configError(e, err)
	}
	return ExitOK
}
