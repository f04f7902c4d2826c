// Package agent owns `heck agent`: a small assembly of heck's packages (no
// cluster, no store) that runs on a host next to a service. It loads an
// agent config (Load: every problem at once, each naming field, value and
// fix), runs each check on its own schedule in the background (Runner:
// host checks from internal/hostcheck, dependencies through the probe kinds
// of internal/probe/kinds, rise/fall by internal/judge) and serves the last
// results: /livez (the agent process only), /readyz (every critical check)
// and /healthz (everything, as wire.AgentHealth; docs/agent.md).
package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/heckhq/heck/internal/hostcheck"
	"github.com/heckhq/heck/internal/probe"
	"github.com/heckhq/heck/internal/target"
)

// Default is the config of an agent started without one: CPU, memory,
// swap and the root file system, none critical.
func Default() *Config {
	no := false
	c := &Config{Listen: DefaultListen, Checks: []Check{
		{Target: target.Spec{Name: "cpu", Kind: target.Kind(hostcheck.KindCPU)}, Critical: &no},
		{Target: target.Spec{Name: "memory", Kind: target.Kind(hostcheck.KindMemory)}, Critical: &no},
		{Target: target.Spec{Name: "swap", Kind: target.Kind(hostcheck.KindSwap)}, Critical: &no},
		{Target: target.Spec{Name: "disk-root", Kind: target.Kind(hostcheck.KindDisk)}, Critical: &no, Disk: &hostcheck.DiskOptions{Path: "/"}},
	}}
	for i := range c.Checks {
		c.Checks[i].Target.ID = c.Checks[i].Target.Name
		c.Checks[i].Target.Schedule = c.Checks[i].Target.Schedule.Resolve(target.Schedule{}, nil)
	}
	return c
}

// Main runs the agent of the config at path (Default when path is "")
// listening on listen (the config's listen when ""), until ctx ends. A
// config with problems is a *config.LoadError.
func Main(ctx context.Context, path, listen string, log *slog.Logger) error {
	cfg := Default()
	if path != "" {
		c, err := Load(path)
		if err != nil {
			return err
		}
		cfg = c
	}
	if listen != "" {
		cfg.Listen = listen
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w; set another address with --listen or in the config's listen", cfg.Listen, err)
	}
	return Serve(ctx, ln, cfg, log)
}

// Serve runs cfg's checks and serves their endpoints on ln until ctx
// ends, then stops serving (letting requests in flight finish, for up to
// 5 s) and waits for the checks running to end.
func Serve(ctx context.Context, ln net.Listener, cfg *Config, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r, err := NewRunner(cfg, probe.Options{}, log)
	if err != nil {
		ln.Close()
		return err
	}
	srv := &http.Server{
		Handler:           r.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	wg.Go(func() { r.Run(runCtx) })
	serveErr := make(chan error, 1)
	wg.Go(func() { serveErr <- srv.Serve(ln) })
	log.Info("agent listening", "addr", ln.Addr().String(), "checks", len(cfg.Checks), "config", cfg.Path)

	select {
	case <-ctx.Done():
		err = nil
	case err = <-serveErr:
		err = fmt.Errorf("serve %s: %w", ln.Addr(), err)
	}
	log.Info("agent stopping")
	stop()
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if e := srv.Shutdown(shutCtx); e != nil && err == nil && !errors.Is(e, context.DeadlineExceeded) {
		err = fmt.Errorf("shut down %s: %w", ln.Addr(), e)
	}
	wg.Wait()
	return err
}
