// Command core benchmarks one heck node checking N loopback HTTP targets.
//
//	go run ./bench/core -n 1000,10000 -interval 1s -duration 60s
//
// It builds heck (or uses -bin), starts minimal HTTP target servers on many
// 127.0.x.y addresses in a separate process, runs `heck serve` with N http
// targets, lets it warm up, and reads over the sampling window: checks/s
// asked and achieved (heck's heck_checks_total, cross-checked by the hits
// counted at the target servers), CPU-µs per check of heck's process alone,
// resident bytes per target, schedule lateness p50/p99 (from
// heck_schedule_lateness_seconds), and store bytes written per target per
// hour. The same checks are then run by a bare net/http loop in its own
// process, and heck's CPU per check is printed as a ratio of the loop's.
// See bench/README.md for what each figure means.
//
// Only loopback addresses are ever used. Every wait has a deadline and every
// child process is killed on exit, Ctrl-C included.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := dispatch(ctx, os.Args[1:])
	stop()
	killAll()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "bench/core:", err)
		os.Exit(1)
	}
}

func dispatch(ctx context.Context, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "-serve", "--serve":
			return serveMain(ctx, args[1:])
		case "-baseline", "--baseline":
			return baselineMain(ctx, args[1:])
		}
	}
	opts, err := parseFlags(args)
	if err != nil {
		return err
	}
	return run(ctx, opts)
}

type options struct {
	ns           []int
	interval     time.Duration
	timeout      time.Duration
	duration     time.Duration
	warmup       time.Duration
	readyTimeout time.Duration
	bin          string
	keep         bool
	json         bool
	ips, ports   int
	concurrency  int
	noBaseline   bool
	baselineOnly bool
	noIdle       bool
	checksName   string
	latenessName string
	verbose      bool
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("core", flag.ContinueOnError)
	ns := fs.String("n", "1000", "target counts, comma separated: each is one run")
	fs.DurationVar(&o.interval, "interval", time.Second, "interval of every target")
	fs.DurationVar(&o.timeout, "timeout", 0, "timeout of every target (default min(interval/2, 2s))")
	fs.DurationVar(&o.duration, "duration", 60*time.Second, "length of the sampling window")
	fs.DurationVar(&o.warmup, "warmup", 0, "time between the first check and the window (default max(3 intervals, 5s))")
	fs.DurationVar(&o.readyTimeout, "ready-timeout", 3*time.Minute, "how long heck may take to answer /livez and run its first check")
	fs.StringVar(&o.bin, "bin", "", "prebuilt heck binary (default: go build ./cmd/heck)")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary directory (configs, logs, data)")
	fs.BoolVar(&o.json, "json", false, "print one JSON object per run instead of the table")
	fs.IntVar(&o.ips, "ips", 64, "loopback addresses the target servers listen on (127.0.1.1, ...)")
	fs.IntVar(&o.ports, "ports", 4, "listeners per address")
	fs.IntVar(&o.concurrency, "concurrency", 2048, "probe.concurrency of heck and checks in flight of the baseline")
	fs.BoolVar(&o.noBaseline, "no-baseline", false, "skip the bare net/http baseline")
	fs.BoolVar(&o.baselineOnly, "baseline-only", false, "run only the bare net/http baseline (no heck is built or started)")
	fs.BoolVar(&o.noIdle, "no-idle", false, "skip measuring heck's RSS with 0 targets")
	fs.StringVar(&o.checksName, "checks-metric", "heck_checks_total", "counter of checks run")
	fs.StringVar(&o.latenessName, "lateness-metric", "heck_schedule_lateness_seconds", "histogram of schedule lateness")
	fs.BoolVar(&o.verbose, "v", false, "log progress details")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q (flags only; see -h)", fs.Arg(0))
	}
	for _, f := range strings.Split(*ns, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return o, fmt.Errorf("-n %q: %q is not a positive integer; use e.g. -n 1000,10000", *ns, f)
		}
		o.ns = append(o.ns, n)
	}
	if o.interval < 100*time.Millisecond {
		return o, fmt.Errorf("-interval %v: heck's minimum interval is 100ms", o.interval)
	}
	if o.timeout == 0 {
		o.timeout = min(o.interval/2, 2*time.Second)
	}
	if o.timeout >= o.interval {
		return o, fmt.Errorf("-timeout %v must be below -interval %v", o.timeout, o.interval)
	}
	if o.duration < time.Second {
		return o, fmt.Errorf("-duration %v: use at least 1s", o.duration)
	}
	if o.warmup == 0 {
		o.warmup = max(3*o.interval, 5*time.Second)
	}
	if o.ips < 1 || o.ips > 250*250 || o.ports < 1 || o.ips*o.ports > 60000 {
		return o, fmt.Errorf("-ips %d -ports %d: want 1..62500 addresses and at most 60000 listeners", o.ips, o.ports)
	}
	if o.baselineOnly && o.noBaseline {
		return o, errors.New("-baseline-only and -no-baseline exclude each other")
	}
	if o.concurrency < 1 {
		return o, fmt.Errorf("-concurrency %d must be positive", o.concurrency)
	}
	return o, nil
}

// result is one row: one run of heck with N targets.
type result struct {
	N                int      `json:"n"`
	Interval         string   `json:"interval"`
	WindowSeconds    float64  `json:"window_s"`
	AskedPerSec      float64  `json:"checks_per_s_asked"`
	AchievedPerSec   float64  `json:"checks_per_s_achieved"` // heck_checks_total delta
	FailedPerSec     float64  `json:"checks_failed_per_s"`
	ChecksMetric     bool     `json:"checks_metric_found"`
	HitsPerSec       float64  `json:"target_hits_per_s"` // counted at the servers
	ServerErrors     int64    `json:"target_server_errors"`
	ServerCPUPct     float64  `json:"target_server_cpu_percent"`
	CPUPercent       float64  `json:"cpu_percent"` // of one core
	CPUusPerCheck    float64  `json:"cpu_us_per_check"`
	RSSBytes         int64    `json:"rss_bytes"`
	RSSPeakBytes     int64    `json:"rss_peak_bytes"`
	IdleRSSBytes     int64    `json:"idle_rss_bytes"`
	RSSPerTarget     float64  `json:"rss_bytes_per_target"`
	RSSAbovePerTgt   float64  `json:"rss_above_idle_bytes_per_target"`
	LatenessP50ms    float64  `json:"lateness_p50_ms"`
	LatenessP99ms    float64  `json:"lateness_p99_ms"`
	LatenessCount    float64  `json:"lateness_observations"`
	LatenessP50Over  bool     `json:"lateness_p50_beyond_buckets"` // p50 above the largest finite bucket: a lower bound
	LatenessP99Over  bool     `json:"lateness_p99_beyond_buckets"`
	StoreBytes       int64    `json:"store_bytes_end"`
	StorePerTgtHour  float64  `json:"store_bytes_per_target_hour"`
	IOWritePerTgtH   float64  `json:"io_write_bytes_per_target_hour"`
	BaseAchieved     float64  `json:"baseline_checks_per_s"`
	BaseOKPerSec     float64  `json:"baseline_ok_per_s"`
	BaseFailedPerSec float64  `json:"baseline_failed_per_s"`
	BaseCPUusCheck   float64  `json:"baseline_cpu_us_per_check"`
	Ratio            float64  `json:"cpu_ratio_to_baseline"`
	Load1Start       float64  `json:"load1_start"`
	Load1End         float64  `json:"load1_end"`
	Nofile           uint64   `json:"rlimit_nofile"`
	Nproc            int      `json:"nproc"`
	Notes            []string `json:"notes"`
}

func run(ctx context.Context, o options) error {
	nofile, note := raiseNofile(1 << 20)
	if note != "" {
		logf("note: %s", note)
	}
	dir, err := os.MkdirTemp("", "heck-bench-")
	if err != nil {
		return fmt.Errorf("temp dir: %w", err)
	}
	if o.keep {
		logf("keeping %s", dir)
	} else {
		defer func() { _ = os.RemoveAll(dir) }()
	}

	bin := o.bin
	if o.baselineOnly {
		o.noIdle = true
	} else if bin == "" {
		if bin, err = buildHeck(ctx, dir); err != nil {
			return err
		}
	} else if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("-bin %s: %w", bin, err)
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own executable to re-exec: %w", err)
	}

	srv, ready, err := startServers(ctx, self, dir, o)
	if err != nil {
		return err
	}
	defer srv.stop(5 * time.Second)
	sc := newServerClient(ready.Ctl)
	sc.pid = srv.pid()
	logf("target servers: %d listeners on %d loopback addresses (pid %d)", len(ready.Addrs), o.ips, srv.pid())

	var idleRSS int64
	if !o.noIdle {
		if idleRSS, err = idleHeckRSS(ctx, bin, dir, o); err != nil {
			return err
		}
		logf("heck with 0 targets: RSS %s", human(float64(idleRSS)))
	}

	for i, n := range o.ns {
		r := result{N: n, Interval: o.interval.String(), Nofile: nofile, Nproc: runtime.NumCPU(), IdleRSSBytes: idleRSS}
		urls := targetURLs(ready.Addrs, n)
		if !o.noBaseline {
			if err := runBaseline(ctx, self, dir, o, urls, sc, &r); err != nil {
				return err
			}
		}
		if !o.baselineOnly {
			if err := runHeck(ctx, bin, dir, o, urls, sc, &r); err != nil {
				return err
			}
		}
		if r.BaseCPUusCheck > 0 {
			r.Ratio = r.CPUusPerCheck / r.BaseCPUusCheck
		}
		printResult(os.Stdout, o.json, i == 0, r)
	}
	return nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// buildHeck builds ./cmd/heck of the module the harness runs in.
func buildHeck(ctx context.Context, dir string) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the heck module: run from the repository or pass -bin")
	}
	bin := filepath.Join(dir, "heck")
	logf("building heck")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/heck")
	cmd.Dir = filepath.Dir(gomod)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/heck: %w\n%s", err, out)
	}
	return bin, nil
}

func startServers(ctx context.Context, self, dir string, o options) (*child, serverReady, error) {
	var ready serverReady
	cmd := exec.Command(self, "-serve", "-ips", strconv.Itoa(o.ips), "-ports", strconv.Itoa(o.ports))
	pr, pw := io.Pipe()
	cmd.Stdout = pw
	c, err := startChild("target servers", filepath.Join(dir, "servers.log"), cmd, true)
	if err != nil {
		return nil, ready, err
	}
	lines := make(chan string, 1)
	go func() {
		br := bufio.NewReader(pr)
		line, _ := br.ReadString('\n')
		lines <- line
		_, _ = io.Copy(io.Discard, br)
	}()
	go func() { <-c.done; _ = pw.Close() }()
	select {
	case line := <-lines:
		if err := json.Unmarshal([]byte(line), &ready); err != nil || len(ready.Addrs) == 0 {
			c.stop(time.Second)
			return nil, ready, fmt.Errorf("target servers did not start: %q\n%s", line, c.logTail(2000))
		}
	case <-time.After(30 * time.Second):
		c.stop(time.Second)
		return nil, ready, fmt.Errorf("target servers not ready within 30s\n%s", c.logTail(2000))
	case <-ctx.Done():
		return nil, ready, ctx.Err()
	}
	return c, ready, nil
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

// waitFor polls cond every step until it holds, ctx ends, the child exits
// or the deadline passes.
func waitFor(ctx context.Context, what string, deadline time.Duration, c *child, cond func() bool) error {
	end := time.Now().Add(deadline)
	for !cond() {
		if time.Now().After(end) {
			return fmt.Errorf("%s: not within %v\n%s", what, deadline, c.logTail(3000))
		}
		if err := sleepCtx(ctx, 200*time.Millisecond, c); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	return nil
}

func loadavg1() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return math.NaN()
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return math.NaN()
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// ---- baseline ----

func runBaseline(ctx context.Context, self, dir string, o options, urls []string, sc *serverClient, r *result) error {
	path := filepath.Join(dir, fmt.Sprintf("urls-%d.txt", len(urls)))
	if err := os.WriteFile(path, []byte(strings.Join(urls, "\n")+"\n"), 0o600); err != nil {
		return fmt.Errorf("write URL list: %w", err)
	}
	maxRun := o.warmup + o.duration + o.readyTimeout
	cmd := exec.Command(self, "-baseline", "-urls", path, "-interval", o.interval.String(),
		"-timeout", o.timeout.String(), "-concurrency", strconv.Itoa(o.concurrency), "-max", maxRun.String())
	logf("N=%d: baseline (bare net/http loop) warming up %v", len(urls), o.warmup)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("baseline stdout: %w", err)
	}
	c, err := startChild("baseline", filepath.Join(dir, fmt.Sprintf("baseline-%d.log", len(urls))), cmd, true)
	if err != nil {
		return err
	}
	defer c.stop(5 * time.Second)
	answers := make(chan string)
	go func() {
		br := bufio.NewScanner(out)
		for br.Scan() {
			answers <- br.Text()
		}
		close(answers)
	}()
	// counts asks the baseline for its succeeded and failed checks.
	counts := func() (okN, failN int64, err error) {
		if _, err := io.WriteString(c.stdin, "count\n"); err != nil {
			return 0, 0, fmt.Errorf("ask baseline for counts: %w", err)
		}
		select {
		case line, open := <-answers:
			if !open {
				return 0, 0, fmt.Errorf("baseline exited\n%s", c.logTail(2000))
			}
			if _, err := fmt.Sscanf(line, "%d %d", &okN, &failN); err != nil {
				return 0, 0, fmt.Errorf("baseline counts %q: %w", line, err)
			}
			return okN, failN, nil
		case <-time.After(10 * time.Second):
			return 0, 0, errors.New("baseline did not answer for its counts within 10s")
		}
	}
	if err := sleepCtx(ctx, o.warmup, c); err != nil {
		return fmt.Errorf("baseline warm-up: %w", err)
	}
	h0, _, err := sc.count(ctx)
	if err != nil {
		return err
	}
	p0, err := readProc(c.pid())
	if err != nil {
		return err
	}
	ok0, fail0, err := counts()
	if err != nil {
		return err
	}
	t0 := time.Now()
	if err := sleepCtx(ctx, o.duration, c); err != nil {
		return fmt.Errorf("baseline window: %w", err)
	}
	h1, _, err := sc.count(ctx)
	if err != nil {
		return err
	}
	p1, err := readProc(c.pid())
	if err != nil {
		return err
	}
	ok1, fail1, err := counts()
	if err != nil {
		return err
	}
	win := time.Since(t0).Seconds()
	r.BaseOKPerSec = float64(ok1-ok0) / win
	r.BaseFailedPerSec = float64(fail1-fail0) / win
	checks := float64(h1 - h0)
	r.BaseAchieved = checks / win
	if checks > 0 {
		r.BaseCPUusCheck = float64((p1.cpu - p0.cpu).Microseconds()) / checks
	}
	logf("N=%d: baseline %.0f checks/s, %.1f us CPU per check", len(urls), r.BaseAchieved, r.BaseCPUusCheck)
	return nil
}

// ---- heck ----

// heckConfig writes heck's YAML config: n http targets at the interval.
func heckConfig(path, listen, dataDir string, urls []string, o options) error {
	var b strings.Builder
	fmt.Fprintf(&b, "listen: %q\nnode:\n  name: bench\n  data_dir: %q\n", listen, dataDir)
	fmt.Fprintf(&b, "log:\n  level: warn\napi:\n  per_target_metrics: %t\n", len(urls) <= 1000)
	fmt.Fprintf(&b, "probe:\n  concurrency: %d\n", o.concurrency)
	if len(urls) == 0 {
		b.WriteString("targets: []\n")
	} else {
		b.WriteString("targets:\n")
	}
	for i, u := range urls {
		fmt.Fprintf(&b, "  - {id: t%d, kind: http, url: %q, interval: %s, timeout: %s}\n", i, u, o.interval, o.timeout)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("write heck config: %w", err)
	}
	return nil
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free loopback port: %w", err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr, nil
}

// heckProc is one running `heck serve`.
type heckProc struct {
	*child
	listen  string
	dataDir string
	http    *http.Client
}

func startHeck(ctx context.Context, bin, dir string, o options, urls []string, tag string) (*heckProc, error) {
	work := filepath.Join(dir, "heck-"+tag)
	if err := os.MkdirAll(work, 0o700); err != nil {
		return nil, fmt.Errorf("heck work dir: %w", err)
	}
	listen, err := freePort()
	if err != nil {
		return nil, err
	}
	cfg := filepath.Join(work, "heck.yaml")
	dataDir := filepath.Join(work, "data")
	if err := heckConfig(cfg, listen, dataDir, urls, o); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve", "--config", cfg)
	cmd.Dir = work
	c, err := startChild("heck", filepath.Join(work, "heck.log"), cmd, false)
	if err != nil {
		return nil, err
	}
	h := &heckProc{child: c, listen: listen, dataDir: dataDir, http: &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 1},
	}}
	err = waitFor(ctx, "heck /livez", o.readyTimeout, c, func() bool {
		code, _ := h.get(ctx, "/livez", io.Discard)
		return code == http.StatusOK
	})
	if err != nil {
		c.stop(5 * time.Second)
		return nil, err
	}
	return h, nil
}

func (h *heckProc) get(ctx context.Context, path string, w io.Writer) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+h.listen+path, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := h.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	_, err = io.Copy(w, resp.Body)
	return resp.StatusCode, err
}

func (h *heckProc) metrics(ctx context.Context) ([]sample, error) {
	var b strings.Builder
	code, err := h.get(ctx, "/metrics", &b)
	if err != nil {
		return nil, fmt.Errorf("GET /metrics: %w", err)
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: HTTP %d", code)
	}
	return parseText(strings.NewReader(b.String()))
}

func idleHeckRSS(ctx context.Context, bin, dir string, o options) (int64, error) {
	logf("heck with 0 targets (idle RSS)")
	h, err := startHeck(ctx, bin, dir, o, nil, "idle")
	if err != nil {
		return 0, fmt.Errorf("idle heck: %w", err)
	}
	defer h.stop(10 * time.Second)
	if err := sleepCtx(ctx, 3*time.Second, h.child); err != nil {
		return 0, fmt.Errorf("idle heck: %w", err)
	}
	p, err := readProc(h.pid())
	if err != nil {
		return 0, err
	}
	return p.rss, nil
}

// snapshot is everything read at one edge of the sampling window.
type snapshot struct {
	t        time.Time
	proc     procStat
	checks   float64
	failed   float64 // checks with result="fail"
	found    bool
	lateness []bucket
	hits     int64
	srvErrs  int64
	srvCPU   time.Duration
	store    int64
}

func (h *heckProc) snapshot(ctx context.Context, sc *serverClient, o options) (snapshot, error) {
	var s snapshot
	ms, err := h.metrics(ctx)
	if err != nil {
		return s, err
	}
	s.t = time.Now()
	if s.proc, err = readProc(h.pid()); err != nil {
		return s, err
	}
	if s.hits, s.srvErrs, err = sc.count(ctx); err != nil {
		return s, err
	}
	if cpu, err := readCPU(sc.pid); err == nil {
		s.srvCPU = cpu
	}
	s.checks, s.found = sumSeries(ms, o.checksName)
	for _, x := range ms {
		if v, _ := x.label("result"); x.name == o.checksName && v == "fail" {
			s.failed += x.value
		}
	}
	s.lateness = histogramBuckets(ms, o.latenessName)
	s.store = storeBytes(h.dataDir)
	return s, nil
}

func runHeck(ctx context.Context, bin, dir string, o options, urls []string, sc *serverClient, r *result) error {
	n := len(urls)
	logf("N=%d: starting heck", n)
	h, err := startHeck(ctx, bin, dir, o, urls, strconv.Itoa(n))
	if err != nil {
		return fmt.Errorf("run with %d targets: %w", n, err)
	}
	defer h.stop(15 * time.Second)

	// The first check shows the node is probing; only then warm up.
	h0, _, err := sc.count(ctx)
	if err != nil {
		return err
	}
	err = waitFor(ctx, "heck's first check", o.readyTimeout, h.child, func() bool {
		hits, _, _ := sc.count(ctx)
		return hits > h0
	})
	if err != nil {
		return fmt.Errorf("run with %d targets: %w", n, err)
	}
	logf("N=%d: heck is probing; warming up %v", n, o.warmup)
	if err := sleepCtx(ctx, o.warmup, h.child); err != nil {
		return fmt.Errorf("run with %d targets, warm-up: %w", n, err)
	}
	r.Load1Start = loadavg1()
	s0, err := h.snapshot(ctx, sc, o)
	if err != nil {
		return fmt.Errorf("run with %d targets: %w", n, err)
	}
	logf("N=%d: sampling %v", n, o.duration)
	if err := sleepCtx(ctx, o.duration, h.child); err != nil {
		return fmt.Errorf("run with %d targets, window: %w", n, err)
	}
	s1, err := h.snapshot(ctx, sc, o)
	if err != nil {
		return fmt.Errorf("run with %d targets: %w", n, err)
	}
	r.Load1End = loadavg1()
	fill(r, o, n, s0, s1)
	if !s1.found {
		r.Notes = append(r.Notes, fmt.Sprintf("%s not on /metrics: achieved and CPU/check use target hits", o.checksName))
	}
	if len(s1.lateness) == 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%s not on /metrics: no lateness", o.latenessName))
	}
	if o.verbose {
		ms, _ := h.metrics(ctx)
		for _, s := range ms {
			if s.name == o.checksName && s.value != 0 {
				logf("  %s%v = %v", s.name, s.labels, s.value)
			}
		}
	}
	return nil
}

// fill computes the row's figures from the two edges of the window.
func fill(r *result, o options, n int, s0, s1 snapshot) {
	win := s1.t.Sub(s0.t).Seconds()
	r.WindowSeconds = win
	r.AskedPerSec = float64(n) / o.interval.Seconds()
	hits := float64(s1.hits - s0.hits)
	r.HitsPerSec = hits / win
	r.ServerErrors = s1.srvErrs - s0.srvErrs
	r.ServerCPUPct = 100 * (s1.srvCPU - s0.srvCPU).Seconds() / win
	checks := hits
	r.ChecksMetric = s0.found && s1.found
	if r.ChecksMetric {
		checks = s1.checks - s0.checks
	}
	r.AchievedPerSec = checks / win
	r.FailedPerSec = (s1.failed - s0.failed) / win
	cpu := s1.proc.cpu - s0.proc.cpu
	r.CPUPercent = 100 * cpu.Seconds() / win
	if checks > 0 {
		r.CPUusPerCheck = float64(cpu.Microseconds()) / checks
	}
	r.RSSBytes = s1.proc.rss
	r.RSSPeakBytes = s1.proc.hwm
	r.RSSPerTarget = float64(s1.proc.rss) / float64(n)
	r.RSSAbovePerTgt = math.NaN() // unknown without the idle run
	if r.IdleRSSBytes > 0 {
		r.RSSAbovePerTgt = float64(s1.proc.rss-r.IdleRSSBytes) / float64(n)
	}
	d := deltaBuckets(s0.lateness, s1.lateness)
	r.LatenessP50ms = 1000 * quantile(0.50, d)
	r.LatenessP99ms = 1000 * quantile(0.99, d)
	r.LatenessP50Over = beyondBuckets(0.50, d)
	r.LatenessP99Over = beyondBuckets(0.99, d)
	if len(d) > 0 {
		r.LatenessCount = d[len(d)-1].count
	}
	r.StoreBytes = s1.store
	perHour := 3600 / win / float64(n)
	r.StorePerTgtHour = float64(s1.store-s0.store) * perHour
	if s0.proc.writeBytes >= 0 && s1.proc.writeBytes >= 0 {
		r.IOWritePerTgtH = float64(s1.proc.writeBytes-s0.proc.writeBytes) * perHour
	} else {
		r.IOWritePerTgtH = math.NaN()
	}
}

// ---- output ----

func (r result) intervalSeconds() float64 {
	d, err := time.ParseDuration(r.Interval)
	if err != nil || d <= 0 {
		return math.NaN()
	}
	return d.Seconds()
}

func human(b float64) string {
	switch {
	case math.IsNaN(b):
		return "-"
	case math.Abs(b) >= 1<<30:
		return fmt.Sprintf("%.1fGiB", b/(1<<30))
	case math.Abs(b) >= 1<<20:
		return fmt.Sprintf("%.1fMiB", b/(1<<20))
	case math.Abs(b) >= 1<<10:
		return fmt.Sprintf("%.1fKiB", b/(1<<10))
	default:
		return fmt.Sprintf("%.0fB", b)
	}
}

func num(v float64, prec int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "-"
	}
	return strconv.FormatFloat(v, 'f', prec, 64)
}

// lateness formats a lateness quantile in ms; ">" marks a quantile beyond
// the histogram's largest finite bucket (a lower bound).
func lateness(ms float64, over bool) string {
	if over {
		return ">" + num(ms, 0) + "ms"
	}
	return num(ms, 1) + "ms"
}

const tableHeader = "%7s %8s %8s %8s %6s %8s %8s %6s %9s %10s %8s %8s %10s %10s %6s\n"

func printResult(w io.Writer, asJSON, first bool, r result) {
	if asJSON {
		// NaN is not JSON: report unknown figures as null.
		b, err := json.Marshal(jsonSafe(r))
		if err != nil {
			fmt.Fprintf(os.Stderr, "encode result: %v\n", err)
			return
		}
		fmt.Fprintf(w, "%s\n", b)
		return
	}
	if r.WindowSeconds == 0 { // baseline only
		fmt.Fprintf(w, "N=%d asked %.0f/s: baseline achieved %.0f checks/s, %.1f us CPU per check\n",
			r.N, float64(r.N)/r.intervalSeconds(), r.BaseAchieved, r.BaseCPUusCheck)
		return
	}
	if first {
		fmt.Fprintf(w, tableHeader, "N", "asked/s", "heck/s", "hits/s", "cpu%", "us/check",
			"base-us", "ratio", "RSS/N", "(RSS-0)/N", "late-p50", "late-p99", "store/N/h", "iowr/N/h", "load1")
	}
	base := "-"
	if r.BaseCPUusCheck > 0 {
		base = num(r.BaseCPUusCheck, 1)
	}
	ratio := "-"
	if r.Ratio > 0 {
		ratio = num(r.Ratio, 2) + "x"
	}
	ach := num(r.AchievedPerSec, 0)
	if !r.ChecksMetric {
		ach += "*"
	}
	fmt.Fprintf(w, tableHeader, strconv.Itoa(r.N), num(r.AskedPerSec, 0), ach, num(r.HitsPerSec, 0),
		num(r.CPUPercent, 0), num(r.CPUusPerCheck, 1), base, ratio, human(r.RSSPerTarget),
		human(r.RSSAbovePerTgt), lateness(r.LatenessP50ms, r.LatenessP50Over), lateness(r.LatenessP99ms, r.LatenessP99Over),
		human(r.StorePerTgtHour), human(r.IOWritePerTgtH), num(r.Load1End, 2))
	for _, n := range r.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
	if r.BaseAchieved > 0 {
		fmt.Fprintf(w, "  baseline answered %.0f checks/s (%.0f/s ok, %.1f/s failed in the client). ",
			r.BaseAchieved, r.BaseOKPerSec, r.BaseFailedPerSec)
	} else {
		fmt.Fprintf(w, "  ")
	}
	fmt.Fprintf(w, "heck failed checks %.1f/s; heck RSS %s (peak %s, idle %s); target servers: %.0f%% CPU, %d dropped connections\n",
		r.FailedPerSec, human(float64(r.RSSBytes)), human(float64(r.RSSPeakBytes)), human(float64(r.IdleRSSBytes)), r.ServerCPUPct, r.ServerErrors)
}

// jsonSafe turns the row into a map keyed by the JSON names, with NaN and
// Inf figures (unknown) as null, which encoding/json cannot write itself.
func jsonSafe(r result) map[string]any {
	v := reflect.ValueOf(r)
	t := v.Type()
	out := make(map[string]any, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name == "" {
			name = t.Field(i).Name
		}
		f := v.Field(i).Interface()
		if x, ok := f.(float64); ok && (math.IsNaN(x) || math.IsInf(x, 0)) {
			f = nil
		}
		out[name] = f
	}
	return out
}
