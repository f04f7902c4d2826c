package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Goal figures of the pools issue.
const (
	goalPicksPerSec = 50000
	goalP99         = 2 * time.Millisecond
)

func run(ctx context.Context, o options) error {
	dir, err := os.MkdirTemp("", "heck-bench-pick-")
	if err != nil {
		return fmt.Errorf("temp dir: %w", err)
	}
	if o.keep {
		logf("keeping %s", dir)
	} else {
		defer func() { _ = os.RemoveAll(dir) }()
	}
	bin := o.bin
	if bin == "" {
		if bin, err = buildHeck(ctx, dir); err != nil {
			return err
		}
	} else if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("-bin %s: %w", bin, err)
	}

	ts, err := startTargetServer()
	if err != nil {
		return err
	}
	defer ts.close()

	var dnsAddr string
	var notes []string
	switch {
	case o.noDNS:
		notes = append(notes, "DNS skipped (-no-dns)")
	case !hasDNSFlag(ctx, bin):
		notes = append(notes, "DNS skipped: `heck serve --help` does not mention --dns (this heck has no DNS server)")
	default:
		port, err := freePort(true)
		if err != nil {
			return err
		}
		dnsAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	}

	logf("starting heck: %d targets at http://%s/t/N in %d pools, interval %v", o.n, ts.addr, o.pools, o.interval)
	h, err := startHeck(ctx, bin, dir, o, ts.addr, dnsAddr)
	if err != nil {
		return err
	}
	defer h.stop(15 * time.Second)
	if err := h.waitHealthy(ctx, o); err != nil {
		return err
	}

	// Background: what heck spends without load (probing, rollups).
	var idleCPUPerSec float64 // seconds of CPU per second
	if o.idle > 0 {
		c0, err := readCPU(h.pid())
		if err != nil {
			return err
		}
		t0 := time.Now()
		if err := sleepCtx(ctx, o.idle, h.child); err != nil {
			return fmt.Errorf("idle window: %w", err)
		}
		c1, err := readCPU(h.pid())
		if err != nil {
			return err
		}
		idleCPUPerSec = (c1 - c0).Seconds() / time.Since(t0).Seconds()
		logf("heck without load: %.1f%% of one core (probing %d targets at %v)", 100*idleCPUPerSec, o.n, o.interval)
	}
	if o.idle < time.Second {
		notes = append(notes, "no idle window: net-us/pick unknown")
	}

	hc := newPickClient(o.clients, o.reqTimeout)
	defer hc.CloseIdleConnections()
	var rows []window
	for _, s := range o.strategies {
		logf("%s: %d clients, warm-up %v, window %v", s, o.clients, o.warmup, o.duration)
		w, err := runLoad(ctx, s, o.clients, o.warmup, o.duration, h, pickOp(hc, h.api, s, o))
		if err != nil {
			return err
		}
		rows = append(rows, w)
	}
	if dnsAddr != "" {
		logf("dns: %d UDP clients, A for pNN.heck. on %s", o.dnsClients, dnsAddr)
		op, closeConns := dnsOp(dnsAddr, o.dnsClients, o)
		w, err := runLoad(ctx, "dns A", o.dnsClients, o.warmup, o.duration, h, op)
		closeConns()
		if err != nil {
			return err
		}
		rows = append(rows, w)
	}
	hits := ts.hits.Load()

	printReport(os.Stdout, o, rows, idleCPUPerSec, hits, notes)

	if o.perf {
		if err := perfProfile(ctx, dir, o, h); err != nil {
			return err
		}
	}
	return nil
}

func ms(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 3, 64) }

func printReport(w io.Writer, o options, rows []window, idle float64, hits int64, notes []string) {
	fmt.Fprintf(w, "heck pick: %d targets in %d pools, %d HTTP clients (keep-alive), %d DNS clients, window %v after %v warm-up; GOMAXPROCS %d, nproc %d, load1 %s\n",
		o.n, o.pools, o.clients, o.dnsClients, o.duration, o.warmup, runtime.GOMAXPROCS(0), runtime.NumCPU(), loadavg1())
	fmt.Fprintf(w, "heck background (no load, probing at %v): %.1f%% of one core; target server answered %d probes in all\n",
		o.interval, 100*idle, hits)
	const f = "%-14s %10s %8s %8s %8s %8s %8s %7s %8s %9s %10s %8s\n"
	fmt.Fprintf(w, f, "strategy", "ops/s", "p50ms", "p99ms", "p99.9ms", "maxms", "errors", "heck%", "us/op", "net-us/op", "client%", "RSS")
	for _, r := range rows {
		rate := float64(r.ops) / r.secs
		heckPct := 100 * r.heckCPU.Seconds() / r.secs
		us, net := "-", "-"
		if r.ops > 0 {
			us = strconv.FormatFloat(float64(r.heckCPU.Microseconds())/float64(r.ops), 'f', 1, 64)
			if idle > 0 || o.idle > 0 {
				netCPU := r.heckCPU.Seconds() - idle*r.secs
				net = strconv.FormatFloat(1e6*netCPU/float64(r.ops), 'f', 1, 64)
			}
		}
		fmt.Fprintf(w, f, r.name, strconv.FormatFloat(rate, 'f', 0, 64), ms(r.lat.quantile(0.5)), ms(r.lat.quantile(0.99)),
			ms(r.lat.quantile(0.999)), ms(r.lat.quantile(1)), strconv.FormatUint(r.errs, 10),
			strconv.FormatFloat(heckPct, 'f', 0, 64), us, net,
			strconv.FormatFloat(100*r.selfCPU.Seconds()/r.secs, 'f', 0, 64), fmt.Sprintf("%.1fMiB", float64(r.rss)/(1<<20)))
	}
	for _, r := range rows {
		if r.firstErr != "" {
			fmt.Fprintf(w, "  %s: first error: %s\n", r.name, r.firstErr)
		}
	}
	for _, r := range rows {
		if r.name == "dns A" {
			continue
		}
		rate, p99 := float64(r.ops)/r.secs, r.lat.quantile(0.99)
		verdict := "met"
		if rate <= goalPicksPerSec || p99 >= goalP99 || r.errs > 0 {
			verdict = "MISSED"
		}
		fmt.Fprintf(w, "  goal %s: > %d picks/s with p99 < %v and no errors: %s (%.0f/s, p99 %sms)\n",
			r.name, goalPicksPerSec, goalP99, verdict, rate, ms(p99))
	}
	for _, n := range notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
}

// perfProfile records heck with `perf record -g` over one extra window
// of the first strategy of -strategies (not part of the table) and prints
// the top of `perf report`.
func perfProfile(ctx context.Context, dir string, o options, h *heck) error {
	perf, err := exec.LookPath("perf")
	if err != nil {
		fmt.Println("  note: -perf: no perf binary on PATH; no profile")
		return nil
	}
	data := filepath.Join(dir, "perf.data")
	secs := strconv.Itoa(int(max(o.duration.Seconds(), 1)))
	cmd := exec.Command(perf, "record", "-F", "999", "-g", "-p", strconv.Itoa(h.pid()), "-o", data, "--", "sleep", secs)
	pc, err := startChild("perf record", filepath.Join(dir, "perf-record.log"), cmd)
	if err != nil {
		return err
	}
	defer pc.stop(5 * time.Second)
	strategy := o.strategies[0]
	logf("perf: recording heck over a %s window of %ss", strategy, secs)
	client := newPickClient(o.clients, o.reqTimeout)
	defer client.CloseIdleConnections()
	done := make(chan error, 1)
	go func() {
		_, err := runLoad(ctx, "perf", o.clients, 0, o.duration+time.Second, h, pickOp(client, h.api, strategy, o))
		done <- err
	}()
	select {
	case <-pc.done:
	case <-time.After(o.duration + 30*time.Second):
		return fmt.Errorf("perf record did not end within %v", o.duration+30*time.Second)
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := <-done; err != nil {
		return err
	}
	if pc.err != nil {
		fmt.Printf("  note: -perf: perf record failed (%v): %s\n", pc.err, strings.TrimSpace(pc.logTail(500)))
		return nil
	}
	rctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(rctx, perf, "report", "-i", data, "--stdio", "--no-children",
		"--sort", "symbol", "--percent-limit", "1", "-g", "none").Output()
	if err != nil {
		return fmt.Errorf("perf report: %w", err)
	}
	_ = os.WriteFile(filepath.Join(dir, "perf-report.txt"), out, 0o600)
	fmt.Printf("perf: heck's functions over 1%% of its samples (self time), %s load:\n", strategy)
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fmt.Println("  " + line)
	}
	return nil
}
