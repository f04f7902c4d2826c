// Command pick benchmarks heck's healthy-host picking over loopback.
//
//	go run ./bench/pick -n 10000 -pools 100 -clients 32 -duration 10s
//
// It builds heck (or uses -bin), starts one HTTP server inside the harness
// on 127.0.0.1 that answers 200 on any path, and runs `heck serve` with N
// http targets at that server (http://127.0.0.1:PORT/t/N) in P pools
// (p00, p01, ... by the label selector pool: pNN), probed at a long
// interval so probing stays light. Once GET /api/v1/pools shows the pools'
// members healthy it runs C keep-alive clients issuing
// GET /api/v1/pools/{random pool}/pick?strategy=S back to back, one window
// per strategy after a warm-up, and prints picks/s, latency p50/p99/p99.9,
// errors, heck's CPU-µs per pick (utime+stime of its process over the
// window) and its resident memory. When `heck serve --help` offers --dns,
// heck also serves DNS on a loopback port and C UDP clients ask A queries
// for pNN.heck. the same way. See bench/README.md for the figures.
//
// Only loopback addresses are ever used. Every wait has a deadline and heck
// is killed on exit, Ctrl-C included.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := parseAndRun(ctx, os.Args[1:])
	stop()
	killAll()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "bench/pick:", err)
		os.Exit(1)
	}
}

func parseAndRun(ctx context.Context, args []string) error {
	o, err := parseFlags(args)
	if err != nil {
		return err
	}
	return run(ctx, o)
}

// allStrategies are heck's picking strategies (internal/pool), in the
// order the windows run.
var allStrategies = []string{"round_robin", "weighted", "least_latency", "random"}

type options struct {
	n, pools      int
	clients       int
	dnsClients    int
	strategies    []string
	duration      time.Duration
	warmup        time.Duration
	idle          time.Duration
	interval      time.Duration
	timeout       time.Duration
	reqTimeout    time.Duration
	readyTimeout  time.Duration
	readyFraction float64
	bin           string
	keep          bool
	noDNS         bool
	perf          bool
	outlier       bool
	verbose       bool
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("pick", flag.ContinueOnError)
	fs.IntVar(&o.n, "n", 10000, "targets")
	fs.IntVar(&o.pools, "pools", 100, "pools; target i is in pool i mod pools")
	fs.IntVar(&o.clients, "clients", 32, "concurrent keep-alive HTTP clients")
	fs.IntVar(&o.dnsClients, "dns-clients", 0, "concurrent UDP DNS clients (default: -clients)")
	strategies := fs.String("strategies", strings.Join(allStrategies, ","), "strategies, comma separated: one window each")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "measured window per strategy (and for DNS)")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "load before each window, not measured")
	fs.DurationVar(&o.idle, "idle", 3*time.Second, "window without load to measure heck's background CPU (probing); 0 skips it")
	fs.DurationVar(&o.interval, "interval", 30*time.Second, "probe interval of every target (long, so probing stays light)")
	fs.DurationVar(&o.timeout, "timeout", 2*time.Second, "probe timeout of every target")
	fs.DurationVar(&o.reqTimeout, "request-timeout", 5*time.Second, "timeout of one pick request or DNS query (counted as an error)")
	fs.DurationVar(&o.readyTimeout, "ready-timeout", 0, "how long heck may take until the pools are healthy (default interval + 60s)")
	fs.Float64Var(&o.readyFraction, "ready-fraction", 1, "fraction of every pool's members that must be healthy before the load starts")
	fs.StringVar(&o.bin, "bin", "", "prebuilt heck binary (default: go build ./cmd/heck)")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary directory (config, heck's log, data, perf output)")
	fs.BoolVar(&o.noDNS, "no-dns", false, "skip the DNS part even if heck has --dns")
	fs.BoolVar(&o.perf, "perf", false, "after the windows, record heck with `perf record -g` over one extra window of the first of -strategies and print its top functions")
	fs.BoolVar(&o.outlier, "outlier", false, "keep heck's default outlier detection in the pools (off by default: it ejects members on loopback latency jitter; use with -ready-fraction 0.9)")
	fs.BoolVar(&o.verbose, "v", false, "log progress details")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q (flags only; see -h)", fs.Arg(0))
	}
	if o.n < 1 || o.pools < 1 || o.pools > o.n {
		return o, fmt.Errorf("-n %d -pools %d: want 1 <= pools <= n", o.n, o.pools)
	}
	if o.clients < 1 {
		return o, fmt.Errorf("-clients %d: want at least 1", o.clients)
	}
	if o.dnsClients == 0 {
		o.dnsClients = o.clients
	}
	if o.dnsClients < 1 {
		return o, fmt.Errorf("-dns-clients %d: want at least 1", o.dnsClients)
	}
	for _, s := range strings.Split(*strategies, ",") {
		s = strings.TrimSpace(s)
		ok := false
		for _, a := range allStrategies {
			ok = ok || a == s
		}
		if !ok {
			return o, fmt.Errorf("-strategies %q: %q is not a strategy; use any of %s", *strategies, s, strings.Join(allStrategies, ","))
		}
		o.strategies = append(o.strategies, s)
	}
	if o.duration < time.Second {
		return o, fmt.Errorf("-duration %v: use at least 1s", o.duration)
	}
	if o.warmup < 0 || o.idle < 0 {
		return o, fmt.Errorf("-warmup %v -idle %v: must not be negative", o.warmup, o.idle)
	}
	if o.interval < 100*time.Millisecond || o.timeout <= 0 || o.timeout >= o.interval {
		return o, fmt.Errorf("-interval %v -timeout %v: want interval >= 100ms and 0 < timeout < interval", o.interval, o.timeout)
	}
	if o.reqTimeout <= 0 {
		return o, fmt.Errorf("-request-timeout %v: must be positive", o.reqTimeout)
	}
	if o.readyTimeout == 0 {
		o.readyTimeout = o.interval + time.Minute
	}
	if o.readyFraction <= 0 || o.readyFraction > 1 {
		return o, fmt.Errorf("-ready-fraction %v: want a fraction in (0, 1]", o.readyFraction)
	}
	return o, nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// sleepCtx waits d unless ctx ends or the child exits first.
func sleepCtx(ctx context.Context, d time.Duration, c *child) error {
	t := time.NewTimer(d)
	defer t.Stop()
	var done <-chan struct{}
	if c != nil {
		done = c.done
	}
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-done:
		return fmt.Errorf("%s exited early (%v)\n%s", c.name, c.err, c.logTail(3000))
	}
}
