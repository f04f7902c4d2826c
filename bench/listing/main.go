// Command listing measures GET /api/v1/targets of one node holding many
// targets (issue 11, Performance): the latency (median, p90, p99, max) and
// the bytes of a page of 100, of filtered pages, and of the unpaged list.
// Results and the commands are recorded in bench/RESULTS.md ("Target
// listing").
//
//	go run ./bench/listing                          # 10,000 targets
//	go run ./bench/listing -n 5000 -reads 500 -unpaged 20
//
// The node runs in this process (SQLite store in a temporary directory,
// API on 127.0.0.1:0) with -n tcp targets: half point at a loopback
// listener that accepts (up), half at a loopback port nobody listens on
// (down), one in ten labelled env=staging (else prod), each with a team
// label of seven. They are probed every -interval (default 5m, first runs
// spread over it), so the probes stay out of the figures and the states
// are a mix of unknown, up and down, as after a restart. After -warmup the
// reads go one at a time over one kept loopback connection: -reads per
// paged scenario, -unpaged of the whole list. The CPU column is this
// process's (node and reader) CPU time per read, from getrusage: on a
// machine shared with others it is steadier than the wall time.
package main

import (
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/heckhq/heck/internal/config"
	"github.com/heckhq/heck/internal/node"
	"github.com/heckhq/heck/internal/target"
)

func main() {
	if err := run(os.Args[1:]); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "bench/listing:", err)
		os.Exit(1)
	}
}

type options struct {
	n, reads, unpaged int
	interval, warmup  time.Duration
}

func run(args []string) error {
	fs := flag.NewFlagSet("listing", flag.ContinueOnError)
	var o options
	fs.IntVar(&o.n, "n", 10000, "targets")
	fs.IntVar(&o.reads, "reads", 1000, "timed reads per paged scenario")
	fs.IntVar(&o.unpaged, "unpaged", 30, "timed reads of the unpaged list")
	fs.DurationVar(&o.interval, "interval", 5*time.Minute, "probe interval of every target")
	fs.DurationVar(&o.warmup, "warmup", 10*time.Second, "wait after the node listens, before reading")
	only := fs.String("only", "", "run only the scenarios whose name contains this (e.g. unpaged, for a build without paging)")
	keep := fs.Bool("keep", false, "keep the data directory and the node log")
	timeout := fs.Duration("timeout", 10*time.Minute, "bound of the whole run")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.n < 1 || o.reads < 1 || o.unpaged < 0 || o.interval < time.Second {
		return errors.New("-n and -reads must be 1 or more, -unpaged 0 or more, -interval 1s or more")
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, *timeout)
	defer cancelT()

	dir, err := os.MkdirTemp("", "heck-bench-listing-")
	if err != nil {
		return err
	}
	if *keep {
		fmt.Println("data and node log kept in", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	logf, err := os.Create(filepath.Join(dir, "node.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	log := slog.New(slog.NewTextHandler(logf, &slog.HandlerOptions{Level: slog.LevelWarn}))

	up, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listening for the up targets: %w", err)
	}
	defer up.Close()
	go func() {
		for {
			c, err := up.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	down, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("finding a port for the down targets: %w", err)
	}
	downAddr := down.Addr().String()
	down.Close() // refused from now on (a port closed this way is rarely reused at once)

	cfg := config.Default()
	cfg.Node.Name = "bench"
	cfg.Node.DataDir = dir
	cfg.Store.Path = filepath.Join(dir, config.DefaultStoreFile)
	cfg.Listen = "127.0.0.1:0"
	off := false
	cfg.API.PerTargetMetrics = &off
	cfg.Defaults = target.Schedule{Interval: target.Duration(o.interval), Timeout: target.Duration(time.Second), Rise: 1, Fall: 1}
	for i := range o.n {
		env, addr := "prod", up.Addr().String()
		if i%10 == 0 {
			env = "staging"
		}
		if i%2 == 1 {
			addr = downAddr
		}
		cfg.Targets = append(cfg.Targets, target.Spec{ID: fmt.Sprintf("t%05d", i), Name: fmt.Sprintf("Service %d", i),
			Kind: target.KindTCP, Address: addr, Labels: map[string]string{"env": env, "team": fmt.Sprintf("team%d", i%7)}})
	}
	started := time.Now()
	nctx, stop := context.WithCancel(ctx)
	n, err := node.New(nctx, cfg, log)
	if err != nil {
		stop()
		return fmt.Errorf("starting the node: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- n.Run(nctx) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			fmt.Fprintln(os.Stderr, "bench/listing: node:", err)
		}
	}()
	actx, acancel := context.WithTimeout(ctx, time.Minute)
	addr := n.Addr(actx)
	acancel()
	if addr == nil {
		return errors.New("the node did not listen within a minute")
	}
	fmt.Printf("%s, %d CPUs, load %s; %d targets, node up in %s\n", runtime.Version(), runtime.NumCPU(), loadavg(),
		o.n, time.Since(started).Round(time.Millisecond))
	select {
	case <-time.After(o.warmup):
	case <-ctx.Done():
		return ctx.Err()
	}

	base := "http://" + addr.String() + "/api/v1/targets"
	hc := &http.Client{Timeout: time.Minute}
	rng := rand.New(rand.NewPCG(1, 2))
	randomCursor := func() string {
		return "&cursor=" + base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "t%05d", rng.IntN(o.n)))
	}
	scenarios := []struct {
		name, query string
		vary        func() string
		reads       int
	}{
		{"page of 100, first", "?limit=100", nil, o.reads},
		{"page of 100, random cursor", "?limit=100", randomCursor, o.reads},
		{"label=env=staging, page of 100", "?limit=100&label=env=staging", randomCursor, o.reads},
		{"state=down, page of 100", "?limit=100&state=down", randomCursor, o.reads},
		{"state=up&label=team=team3, page of 100", "?limit=100&state=up&label=team=team3", nil, o.reads},
		{"q=service 99, page of 100", "?limit=100&q=service%2099", nil, o.reads},
		{"unpaged", "", nil, o.unpaged},
	}
	fmt.Printf("%-42s %6s %9s %8s %8s %8s %8s %9s\n", "scenario", "reads", "bytes", "p50 ms", "p90 ms", "p99 ms", "max ms", "cpu ms")
	for _, sc := range scenarios {
		if sc.reads == 0 || !strings.Contains(sc.name, *only) {
			continue
		}
		for range min(20, sc.reads) { // warm the connection and the id index
			if _, err := get(ctx, hc, base+sc.query); err != nil {
				return err
			}
		}
		lat := make([]time.Duration, 0, sc.reads)
		var bytes int64
		cpu0 := cpuTime()
		for range sc.reads {
			u := base + sc.query
			if sc.vary != nil {
				u += sc.vary()
			}
			t := time.Now()
			b, err := get(ctx, hc, u)
			if err != nil {
				return err
			}
			lat = append(lat, time.Since(t))
			bytes = max(bytes, b)
		}
		cpu := (cpuTime() - cpu0) / time.Duration(sc.reads)
		slices.Sort(lat)
		fmt.Printf("%-42s %6d %9d %8.2f %8.2f %8.2f %8.2f %9.2f\n", sc.name, sc.reads, bytes, ms(q(lat, 0.5)), ms(q(lat, 0.9)),
			ms(q(lat, 0.99)), ms(lat[len(lat)-1]), ms(cpu))
	}
	fmt.Printf("load at the end %s (bytes: the largest response)\n", loadavg())
	return nil
}

func get(ctx context.Context, hc *http.Client, url string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		return n, fmt.Errorf("GET %s: reading: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return n, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return n, nil
}

func q(sorted []time.Duration, p float64) time.Duration {
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
