// Command heck is a distributed health checker: run a node with
// `heck serve`, check a config with `heck validate`, probe once with
// `heck check`, manage a node's targets with `heck targets` and
// `heck status`, and its cluster with `heck members`, `heck join` and
// `heck leave`; run a host's own checks with `heck agent`. See
// `heck --help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/heckhq/heck/internal/agent"
	"github.com/heckhq/heck/internal/cli"
	"github.com/heckhq/heck/internal/node"
	"github.com/heckhq/heck/internal/probe/kinds"
	// Every built-in store driver, for store.driver (and heck validate).
	_ "github.com/heckhq/heck/internal/store/drivers"
)

func main() {
	cli.RunNode, cli.ParseCheckArg, cli.NewProber = node.Run, kinds.ParseArg, kinds.New
	cli.RunAgent, cli.ValidateAgent = agent.Main, agent.ValidateFile
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
