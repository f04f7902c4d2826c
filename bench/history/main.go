// Command history measures what a history read from any node costs (issue
// 7, part 2): the bytes one member sends for 24 h of one target's 1-minute
// rollups, and the latency of cluster-scope history and uptime reads at
// several cluster sizes on loopback. Results and the commands are recorded
// in docs/cluster.md ("History from any node").
//
//	go run ./bench/history                      # 3 and 7 nodes, 500 reads each
//	go run ./bench/history -nodes 3 -reads 2000 -observers 2
//	go run ./bench/history -nodes 3 -days 30      # uptime over a full 30 days
//
// For each size in -nodes: -observers nodes get -days of 1-minute rollups of
// one target written to their stores before they start (60 checks a
// minute, loopback latencies, one failure in 500), then the nodes start in
// this process over real loopback memberlist transports and join. The
// target itself is probed once an hour, so the nodes add next to nothing.
// Reads go over one kept HTTP connection to the last node, which holds
// none of the records unless every node does, so every cluster read asks
// all the others over their APIs: -warmup reads first, then -reads timed
// ones, one at a time. Everything listens on 127.0.0.1 and is torn down on
// exit.
package main

import (
	"context"
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
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/heckhq/heck/internal/api"
	"github.com/heckhq/heck/internal/cluster"
	"github.com/heckhq/heck/internal/config"
	"github.com/heckhq/heck/internal/node"
	"github.com/heckhq/heck/internal/store"
	"github.com/heckhq/heck/internal/store/sqlite"
	"github.com/heckhq/heck/internal/target"
)

func main() {
	if err := run(os.Args[1:]); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "bench/history:", err)
		os.Exit(1)
	}
}

type options struct {
	sizes     []int
	observers int
	days      int
	reads     int
	warmup    int
	keep      bool
}

func run(args []string) error {
	fs := flag.NewFlagSet("history", flag.ContinueOnError)
	sizes := fs.String("nodes", "3,7", "cluster sizes, comma separated")
	o := options{}
	fs.IntVar(&o.observers, "observers", 1, "nodes holding 24 h of the target's rollups (2: replicas 2)")
	fs.IntVar(&o.days, "days", 1, "days of 1-minute rollups each holder gets (30: a full uptime window)")
	fs.IntVar(&o.reads, "reads", 500, "timed reads per scenario")
	fs.IntVar(&o.warmup, "warmup", 50, "untimed reads before each scenario")
	fs.BoolVar(&o.keep, "keep", false, "keep the data directories and the node log")
	timeout := fs.Duration("timeout", 10*time.Minute, "bound of the whole run")
	if err := fs.Parse(args); err != nil {
		return err
	}
	for _, f := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 2 {
			return fmt.Errorf("-nodes %q: %q is not a size of 2 or more; use e.g. -nodes 3,7", *sizes, f)
		}
		o.sizes = append(o.sizes, n)
	}
	if o.observers < 1 || o.reads < 1 || o.warmup < 0 || o.days < 1 || o.days > 30 {
		return errors.New("-observers and -reads must be 1 or more, -days 1 to 30, -warmup 0 or more")
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, *timeout)
	defer cancelT()

	dir, err := os.MkdirTemp("", "heck-bench-history-")
	if err != nil {
		return err
	}
	if o.keep {
		fmt.Println("data and node log kept in", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	logf, err := os.Create(filepath.Join(dir, "nodes.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	log := slog.New(slog.NewTextHandler(logf, &slog.HandlerOptions{Level: slog.LevelWarn}))

	tgt, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer tgt.Close()
	go func() {
		_ = http.Serve(tgt, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }))
	}()

	fmt.Printf("%s, %d CPUs, load %s\n", runtime.Version(), runtime.NumCPU(), loadavg())
	for _, size := range o.sizes {
		if err := runSize(ctx, o, size, filepath.Join(dir, fmt.Sprintf("n%d", size)), "http://"+tgt.Addr().String()+"/", log); err != nil {
			return fmt.Errorf("%d nodes: %w", size, err)
		}
	}
	fmt.Printf("load at the end %s\n", loadavg())
	return nil
}

const targetID = "bench"

// seed writes days of 1-minute rollups of the target ending at now into
// the store at path.
func seed(ctx context.Context, path string, now time.Time, days int, rng *rand.Rand) error {
	st, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		return err
	}
	end := now.Truncate(time.Minute)
	var rs []store.Rollup
	for m := end.Add(-time.Duration(days) * 24 * time.Hour); m.Before(end); m = m.Add(time.Minute) {
		r := store.Rollup{TargetID: targetID, Minute: m.UTC()}
		for range 60 {
			r.Add(rng.IntN(500) > 0, time.Duration(150+rng.IntN(1500))*time.Microsecond)
		}
		rs = append(rs, r)
	}
	if err := st.AddRollups(ctx, rs); err != nil {
		st.Close()
		return err
	}
	return st.Close()
}

type member struct {
	name   string
	n      *node.Node
	api    string
	cancel context.CancelFunc
	done   chan error
}

func runSize(ctx context.Context, o options, size int, dir, url string, log *slog.Logger) error {
	now := time.Now()
	rng := rand.New(rand.NewPCG(uint64(size), 1))
	part := cluster.NewPartitioner()
	spec := target.Spec{ID: targetID, Kind: target.KindHTTP, URL: url,
		Schedule: target.Schedule{Interval: target.Duration(time.Hour)}, Replicas: min(o.observers, size)}
	var members []*member
	var wg sync.WaitGroup
	defer func() {
		for _, m := range members {
			m.cancel()
		}
		wg.Wait()
	}()
	var join []string
	for i := range size {
		name := fmt.Sprintf("n%d", i)
		cfg := config.Default()
		cfg.Node.Name = name
		cfg.Node.DataDir = filepath.Join(dir, name)
		cfg.Store.Path = filepath.Join(cfg.Node.DataDir, "heck.db")
		if err := os.MkdirAll(cfg.Node.DataDir, 0o755); err != nil {
			return err
		}
		if i < o.observers {
			if err := seed(ctx, cfg.Store.Path, now, o.days, rng); err != nil {
				return fmt.Errorf("seed %s: %w", name, err)
			}
		}
		cfg.Listen = "127.0.0.1:0"
		cfg.Cluster.Bind = "127.0.0.1:0"
		cfg.Cluster.Join = join
		cfg.Targets = []target.Spec{spec}
		pt, err := part.Loopback(name, log)
		if err != nil {
			return err
		}
		ip, port, err := pt.FinalAdvertiseAddr("", 0)
		if err != nil {
			return err
		}
		n, err := node.New(ctx, cfg, log.With("node", name), node.WithClusterTransport(pt))
		if err != nil {
			return err
		}
		nctx, cancel := context.WithCancel(ctx)
		m := &member{name: name, n: n, cancel: cancel, done: make(chan error, 1)}
		wg.Go(func() { m.done <- n.Run(nctx) })
		members = append(members, m)
		actx, acancel := context.WithTimeout(ctx, 30*time.Second)
		a := n.Addr(actx)
		acancel()
		if a == nil {
			return fmt.Errorf("%s: API not listening within 30s", name)
		}
		m.api = a.String()
		if len(join) == 0 {
			join = []string{net.JoinHostPort(ip.String(), strconv.Itoa(port))}
		}
	}
	if err := waitAlive(ctx, members, size); err != nil {
		return err
	}

	reader := members[size-1]
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2}, Timeout: 30 * time.Second}
	base := "http://" + reader.api + "/api/v1/targets/" + targetID
	fmt.Printf("\n%d nodes, %d holding %d day(s) of 1-minute rollups; reads from %s (holds %s)\n", size, o.observers, o.days, reader.name,
		map[bool]string{true: "some", false: "none"}[size-1 < o.observers])

	// Bytes one member sends: its rollups of 24 h in minutes, plain and
	// gzipped as a peer's HTTP client asks for them.
	obs := members[0]
	from, to := now.Add(-24*time.Hour).Unix(), now.Unix()+1
	for _, step := range []string{"1m", "5m"} {
		path := fmt.Sprintf("http://%s/api/v1/targets/%s/rollups?scope=local&from=%d&to=%d&step=%s", obs.api, targetID, from, to, step)
		plain, err := bodySize(ctx, path, "")
		if err != nil {
			return err
		}
		gz, err := bodySize(ctx, path, "gzip")
		if err != nil {
			return err
		}
		fmt.Printf("  bytes per member, 24 h in %s groups: %d JSON, %d gzipped (on the wire)\n", step, plain, gz)
	}

	scenarios := []struct{ name, path string }{
		{"history 24h step 1m, cluster", fmt.Sprintf("%s/history?from=-24h&step=1m", base)},
		{"history 24h step 5m, cluster", fmt.Sprintf("%s/history?from=-24h&step=5m", base)},
		{"uptime (24h, 7d, 30d), cluster", base + "/uptime"},
		{"history 24h step 1m, local on " + obs.name, fmt.Sprintf("http://%s/api/v1/targets/%s/history?from=-24h&step=1m&scope=local", obs.api, targetID)},
		{"rollups 24h 1m from " + obs.name + " (one peer's part)", fmt.Sprintf("http://%s/api/v1/targets/%s/rollups?scope=local&from=-24h", obs.api, targetID)},
	}
	fmt.Printf("  %-44s %8s %8s %8s %8s\n", "read", "p50 ms", "p90 ms", "p99 ms", "max ms")
	for _, sc := range scenarios {
		lat, err := measure(ctx, hc, sc.path, o.warmup, o.reads)
		if err != nil {
			return fmt.Errorf("%s: %w", sc.name, err)
		}
		fmt.Printf("  %-44s %8.2f %8.2f %8.2f %8.2f\n", sc.name, ms(q(lat, 0.5)), ms(q(lat, 0.9)), ms(q(lat, 0.99)), ms(lat[len(lat)-1]))
	}
	return nil
}

// measure reads url warmup+reads times, one at a time, and returns the
// timed reads' latencies (to the last byte of the body), sorted. The first
// answer must not be partial.
func measure(ctx context.Context, hc *http.Client, url string, warmup, reads int) ([]time.Duration, error) {
	lat := make([]time.Duration, 0, reads)
	for i := range warmup + reads {
		start := time.Now()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := hc.Do(req)
		if err != nil {
			return nil, err
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		took := time.Since(start)
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("GET %s: %s: %s", url, resp.Status, b)
		}
		if i == 0 && strings.Contains(string(b), `"partial":true`) {
			return nil, fmt.Errorf("GET %s: partial answer: %s", url, b[max(0, len(b)-200):])
		}
		if i >= warmup {
			lat = append(lat, took)
		}
	}
	slices.Sort(lat)
	return lat, nil
}

// bodySize is the size of url's body on the wire, asking for enc.
func bodySize(ctx context.Context, url, enc string) (int, error) {
	hc := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	defer hc.CloseIdleConnections()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if enc != "" {
		req.Header.Set("Accept-Encoding", enc)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %s: %s", url, resp.Status, b)
	}
	if enc != "" && resp.Header.Get("Content-Encoding") != enc {
		return 0, fmt.Errorf("GET %s: asked for %s, got %q", url, enc, resp.Header.Get("Content-Encoding"))
	}
	return len(b), nil
}

func waitAlive(ctx context.Context, members []*member, want int) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		ok := true
		for _, m := range members {
			alive := 0
			for _, mm := range m.n.Members(ctx) {
				if mm.State == api.MemberAlive {
					alive++
				}
			}
			ok = ok && alive == want
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("members did not all see %d alive members within 60s", want)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func q(sorted []time.Duration, p float64) time.Duration {
	i := int(p*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

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
