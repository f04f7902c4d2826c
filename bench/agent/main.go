// Command agent benchmarks `heck agent`: one agent with 20 checks at 10 s
// (host checks and loopback dependencies) on 127.0.0.1,
//
//	go run ./bench/agent [-checks 20] [-interval 10s] [-idle 30s] [-rate 5000] [-duration 10s]
//
// It prints the agent's CPU use while it only runs its checks (goal < 1%
// of one core), and the latency of GET /healthz under an open-loop load of
// -rate requests per second over keep-alive connections (goal p99 < 2 ms),
// measured from each request's scheduled time, so a stall of the agent or
// of the load generator counts against it. The load generator runs on the
// same machine: its CPU competes with the agent's. Only loopback is used;
// every wait has a deadline and the agent is killed on exit.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/shirou/gopsutil/v4/load"
	"github.com/shirou/gopsutil/v4/process"
)

type options struct {
	bin      string
	checks   int
	interval time.Duration
	idle     time.Duration
	rate     int
	duration time.Duration
	conns    int
	keep     bool
}

func main() {
	var o options
	flag.StringVar(&o.bin, "bin", "", "prebuilt heck binary (default: go build ./cmd/heck)")
	flag.IntVar(&o.checks, "checks", 20, "checks of the agent (at least 10: the host checks, then loopback dependencies)")
	flag.DurationVar(&o.interval, "interval", 10*time.Second, "interval of every check")
	flag.DurationVar(&o.idle, "idle", 30*time.Second, "window over which the agent's CPU is measured with no requests")
	flag.IntVar(&o.rate, "rate", 5000, "GET /healthz per second during the load window")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "load window")
	flag.IntVar(&o.conns, "conns", 32, "keep-alive connections of the load generator")
	flag.BoolVar(&o.keep, "keep", false, "keep the temp dir (config, agent log)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, o)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench/agent:", err)
		os.Exit(1)
	}
}

func logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, a...)...)
}

// config writes the agent's config: the host checks of every kind, then
// loopback dependencies (the agent's own /livez over http, its port over
// tcp) up to n checks, all at interval.
func config(listen string, n int, interval time.Duration) string {
	port := listen[strings.LastIndex(listen, ":")+1:]
	host := []string{
		"{name: cpu, kind: cpu, critical: false, cpu: {max_percent: 100, window: 1m}}",
		"{name: memory, kind: memory, critical: false, memory: {max_used_percent: 100}}",
		"{name: swap, kind: swap, critical: false, swap: {max_used_percent: 100}}",
		"{name: disk-root, kind: disk, disk: {path: /, max_used_percent: 100, max_inodes_used_percent: 100}}",
		"{name: load, kind: load, critical: false, load: {max_load5: 1000, per_cpu: true}}",
		"{name: init, kind: process, process: {pid: 1}}",
		"{name: self-by-cmdline, kind: process, process: {cmdline: \" agent --config \"}}",
		"{name: hosts-file, kind: file, file: {path: /etc/hosts}}",
		"{name: listening, kind: port, port: {port: " + port + "}}",
		"{name: true, kind: command, command: {argv: [/bin/true]}}",
	}
	var b strings.Builder
	fmt.Fprintf(&b, "listen: %s\ndefaults: {interval: %s, timeout: 2s, rise: 1, fall: 2}\nchecks:\n", listen, interval)
	for i := range n {
		switch {
		case i < len(host):
			fmt.Fprintf(&b, "  - %s\n", host[i])
		case i%2 == 0:
			fmt.Fprintf(&b, "  - {name: http-%d, kind: http, url: \"http://%s/livez\"}\n", i, listen)
		default:
			fmt.Fprintf(&b, "  - {name: tcp-%d, kind: tcp, address: \"%s\"}\n", i, listen)
		}
	}
	return b.String()
}

func run(ctx context.Context, o options) error {
	if o.checks < 10 {
		return errors.New("-checks: want at least 10")
	}
	dir, err := os.MkdirTemp("", "bench-agent-")
	if err != nil {
		return err
	}
	if o.keep {
		logf("keeping %s", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	bin := o.bin
	if bin == "" {
		bin = filepath.Join(dir, "heck")
		logf("building heck")
		if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/heck").CombinedOutput(); err != nil {
			return fmt.Errorf("go build: %w\n%s", err, out)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	listen := ln.Addr().String()
	ln.Close()
	path := filepath.Join(dir, "agent.yaml")
	if err := os.WriteFile(path, []byte(config(listen, o.checks, o.interval)), 0o600); err != nil {
		return err
	}
	logFile, err := os.Create(filepath.Join(dir, "agent.log"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd := exec.Command(bin, "agent", "--config", path, "--log-level", "warn")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	}()
	base := "http://" + listen
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: o.conns + 4, MaxIdleConns: o.conns + 4}}
	if err := waitReady(ctx, client, base, 30*time.Second); err != nil {
		return err
	}
	logf("agent ready on %s with %d checks at %v", listen, o.checks, o.interval)
	proc, err := process.NewProcessWithContext(ctx, int32(cmd.Process.Pid))
	if err != nil {
		return err
	}

	// Idle: the agent runs its checks, nobody asks.
	cpu0, err := proc.TimesWithContext(ctx)
	if err != nil {
		return err
	}
	t0 := time.Now()
	logf("measuring idle CPU over %v", o.idle)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(o.idle):
	}
	cpu1, err := proc.TimesWithContext(ctx)
	if err != nil {
		return err
	}
	idlePct := (cpu1.User + cpu1.System - cpu0.User - cpu0.System) / time.Since(t0).Seconds() * 100

	// Load: -rate GET /healthz per second, open loop.
	logf("GET /healthz at %d/s for %v over %d connections", o.rate, o.duration, o.conns)
	t0 = time.Now()
	lats, errs, sent := loadHealthz(ctx, client, base+"/healthz", o.rate, o.duration, o.conns)
	window := time.Since(t0)
	cpu2, err := proc.TimesWithContext(ctx)
	if err != nil {
		return err
	}
	loadPct := (cpu2.User + cpu2.System - cpu1.User - cpu1.System) / window.Seconds() * 100
	mem, _ := proc.MemoryInfoWithContext(ctx)
	avg, _ := load.AvgWithContext(ctx)

	slices.Sort(lats)
	rss := "?"
	if mem != nil {
		rss = fmt.Sprintf("%.1fMiB", float64(mem.RSS)/(1<<20))
	}
	load1 := 0.0
	if avg != nil {
		load1 = avg.Load1
	}
	fmt.Printf("agent, %d checks at %v, idle %v: CPU %.3f%% of one core (RSS %s)\n", o.checks, o.interval, o.idle, idlePct, rss)
	fmt.Printf("GET /healthz, %d/s asked for %v: %.0f/s answered, p50 %v p99 %v p99.9 %v max %v, %d errors, agent CPU %.1f%% of one core, load1 %.2f on %d CPUs\n",
		o.rate, o.duration, float64(len(lats))/window.Seconds(), q(lats, 0.50), q(lats, 0.99), q(lats, 0.999), q(lats, 1), errs, loadPct, load1, runtime.NumCPU())
	if sent > len(lats)+errs {
		fmt.Printf("  %d requests not sent in time (the generator fell behind)\n", sent-len(lats)-errs)
	}
	verdict := func(ok bool) string {
		if ok {
			return "MET"
		}
		return "MISSED"
	}
	fmt.Printf("  goal idle CPU < 1%% of one core: %s (%.3f%%)\n", verdict(idlePct < 1), idlePct)
	fmt.Printf("  goal /healthz p99 < 2ms at %d/s: %s (p99 %v, %d errors)\n", o.rate, verdict(q(lats, 0.99) < 2*time.Millisecond && errs == 0), q(lats, 0.99), errs)
	return nil
}

func waitReady(ctx context.Context, c *http.Client, base string, within time.Duration) error {
	deadline := time.Now().Add(within)
	last := ""
	for time.Now().Before(deadline) {
		resp, err := c.Get(base + "/readyz")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
			last = fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(b)))
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("agent not ready within %v: %s", within, last)
}

// loadHealthz sends rate GETs per second for d, spread over conns workers
// each on its own schedule; a request's latency runs from when it was due.
func loadHealthz(ctx context.Context, c *http.Client, url string, rate int, d time.Duration, conns int) (lats []time.Duration, errs, sent int) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	every := time.Duration(float64(time.Second) * float64(conns) / float64(rate))
	start := time.Now()
	end := start.Add(d)
	for w := range conns {
		wg.Go(func() {
			var mine []time.Duration
			bad, n := 0, 0
			due := start.Add(every * time.Duration(w) / time.Duration(conns))
			for due.Before(end) && ctx.Err() == nil {
				if wait := time.Until(due); wait > 0 {
					time.Sleep(wait)
				}
				n++
				resp, err := c.Get(url)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err == nil && resp.StatusCode != 200 {
						err = fmt.Errorf("HTTP %d", resp.StatusCode)
					}
				}
				if err != nil {
					bad++
				} else {
					mine = append(mine, time.Since(due))
				}
				due = due.Add(every)
			}
			mu.Lock()
			lats, errs, sent = append(lats, mine...), errs+bad, sent+n
			mu.Unlock()
		})
	}
	wg.Wait()
	return lats, errs, sent
}

func q(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	i := int(p * float64(len(ds)-1))
	return ds[i].Round(time.Microsecond)
}
