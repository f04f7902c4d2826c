package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/heckhq/heck/internal/config"
	"github.com/heckhq/heck/internal/probe"
	"github.com/heckhq/heck/internal/target"
)

// Hooks connect the command line to the packages that run a node and
// probe, so this package builds and tests without them. cmd/heck sets them
// (node.Run, kinds.ParseArg, kinds.New); tests set fakes.
var (
	// RunNode runs a node until ctx ends (heck serve).
	RunNode func(ctx context.Context, cfg *config.Config, log *slog.Logger) error
	// ParseCheckArg turns the argument of heck check (a URL or host:port)
	// into a target spec.
	ParseCheckArg func(arg string) (target.Spec, error)
	// NewProber builds the prober of a spec (heck check).
	NewProber func(spec target.Spec, opts probe.Options) (probe.Prober, error)
)

type serveOpts struct {
	config, listen, dataDir, nodeName, gossip string
	dns, haproxy                              string
	join                                      []string
	store                                     string
}

func serveCmd() *command {
	return &command{
		name:     "serve",
		synopsis: "run a node: probe targets, keep history, serve the API",
		usage:    "heck serve [--config FILE] [--listen ADDR] [--data-dir DIR] [--node-name N] [--gossip ADDR] [--join ADDR[,ADDR]] [--dns ADDR] [--haproxy-agent ADDR] [--store sqlite:PATH|postgres://...]",
		help: `
Runs a heck node until SIGINT or SIGTERM, then drains in-flight probes and
flushes the store. With no --config it runs on the embedded defaults: the API
on ` + config.DefaultListen + `, SQLite under ./data. Flags override the config file.

--store chooses the store, overriding the config's store section:
sqlite:PATH for a SQLite file, or a PostgreSQL URL such as
postgres://heck:${HECK_PG_PASSWORD}@127.0.0.1:5432/heck (postgresql:// too,
or postgres:"host=... dbname=..."); ${VAR} is read from the environment, so
the password need not be typed. The default is SQLite under the data
directory. Run 'heck store migrate' and 'heck store copy' to move an
existing installation.`,
		maxArgs: 0,
		flags: func(fs *flag.FlagSet) any {
			o := &serveOpts{}
			fs.StringVar(&o.config, "config", "", "config `FILE` (YAML); embedded defaults when absent")
			fs.StringVar(&o.listen, "listen", "", "`ADDR` (host:port) of the API, overriding listen")
			fs.StringVar(&o.dataDir, "data-dir", "", "`DIR` for the node's data, overriding node.data_dir")
			fs.StringVar(&o.nodeName, "node-name", "", "`NAME` of this node, overriding node.name")
			fs.StringVar(&o.gossip, "gossip", "", "gossip `ADDR` (host:port) to bind, overriding cluster.bind")
			fs.Var(listFlag{&o.join, true}, "join", "`ADDR[,ADDR]` of cluster members to join (repeatable)")
			fs.StringVar(&o.dns, "dns", "", "serve DNS for pools and targets (zone dns.zone, default heck.) on `ADDR` (UDP and TCP), overriding dns.listen")
			fs.StringVar(&o.store, "store", "", "the store `LOCATION`: sqlite:PATH or postgres://USER:PASS@HOST/DB, overriding store.driver and its section")
			fs.StringVar(&o.haproxy, "haproxy-agent", "", "answer HAProxy agent checks (agent-send \"POOL/MEMBER\\n\") on `ADDR`, overriding haproxy_agent.listen")
			return o
		},
		run: runServe,
	}
}

func runServe(ctx context.Context, e *env, opts any, _ []string) int {
	o := opts.(*serveOpts)
	var cfg *config.Config
	if o.config != "" {
		c, err := config.Load(o.config)
		if err != nil {
			return configError(e, err)
		}
		cfg = c
	} else {
		cfg = config.Default()
	}
	err := cfg.Apply(config.Overrides{Listen: o.listen, DataDir: o.dataDir, NodeName: o.nodeName,
		Gossip: o.gossip, Join: o.join, DNS: o.dns, HAProxy: o.haproxy, Store: o.store})
	if err != nil {
		return configError(e, err)
	}
	if RunNode == nil {
		return e.errorf("this build cannot run a node (cli.RunNode is not set)")
	}
	log := cfg.Logger(e.stderr)
	if err := RunNode(ctx, cfg, log); err != nil && !(errors.Is(err, context.Canceled) && ctx.Err() != nil) {
		return e.errorf("%v", err)
	}
	return ExitOK
}

// configError prints every problem of a config error.
func configError(e *env, err error) int {
	var le *config.LoadError
	if errors.As(err, &le) {
		printProblems(e.stderr, le)
		fmt.Fprintf(e.stderr, "heck %s: the configuration has %d problem(s)\n", e.name, len(le.Problems))
		return ExitError
	}
	return e.errorf("%v", err)
}

func printProblems(w io.Writer, le *config.LoadError) {
	for _, p := range le.Problems {
		fmt.Fprintln(w, p.String())
	}
}
