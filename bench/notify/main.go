// Command notify benchmarks heck's push and notification paths on a cluster
// of three heck processes on 127.0.0.1:
//
//	go run ./bench/notify [-targets 3000] [-clients 32] [-duration 10s] [-flips 10] [-fold 5000]
//
// It prints heartbeat pings accepted per second across the three nodes
// (POST /ping/TOKEN, spread over the nodes, keep-alive clients) with their
// latency, and the time from a transition to a webhook's receipt of its
// notification (the message's "at" against the receipt, one clock), with
// any notification received twice. Then -fold targets that depend on one
// critical dependency fail at once with it, and it prints what the webhook
// received (the goal: one folded notification, not one per target). Only loopback is used; every wait has a
// deadline and the heck processes are killed on exit.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

type options struct {
	bin      string
	targets  int
	clients  int
	duration time.Duration
	flips    int
	fold     int
}

func main() {
	var o options
	flag.StringVar(&o.bin, "bin", "", "prebuilt heck binary (default: go build ./cmd/heck)")
	flag.IntVar(&o.targets, "targets", 3000, "heartbeat targets")
	flag.IntVar(&o.clients, "clients", 32, "concurrent keep-alive ping clients")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "ping load window")
	flag.IntVar(&o.flips, "flips", 4, "state changes of each of the 5 notified targets (a few: more in 30 min is flapping, held by design)")
	flag.IntVar(&o.fold, "fold", 5000, "targets failing at once behind one critical dependency (0: skip)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, o)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench/notify:", err)
		os.Exit(1)
	}
}

func logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, a...)...)
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// receiver is the webhook: it records each notification's delay and id.
type receiver struct {
	mu     sync.Mutex
	delays []time.Duration
	seen   map[string]int
	// byTarget counts the notifications of each target; impacted is the
	// most dependents one message named.
	byTarget map[string]int
	impacted int
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	now := time.Now()
	var m struct {
		ID     string    `json:"id"`
		Kind   string    `json:"kind"`
		At     time.Time `json:"at"`
		Target struct {
			ID string `json:"id"`
		} `json:"target"`
		Impacted []string `json:"impacted"`
	}
	b, _ := io.ReadAll(req.Body)
	if json.Unmarshal(b, &m) != nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen[m.ID]++
	if r.seen[m.ID] == 1 {
		r.byTarget[m.Target.ID]++
		r.impacted = max(r.impacted, len(m.Impacted))
	}
	if r.seen[m.ID] == 1 && (m.Kind == "firing" || m.Kind == "resolved") {
		r.delays = append(r.delays, now.Sub(m.At))
	}
}

func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

func run(ctx context.Context, o options) error {
	dir, err := os.MkdirTemp("", "bench-notify-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := o.bin
	if bin == "" {
		bin = filepath.Join(dir, "heck")
		logf("building heck")
		if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/heck").CombinedOutput(); err != nil {
			return fmt.Errorf("go build: %w\n%s", err, out)
		}
	}
	// The notified target and the webhook live here.
	var status atomic.Int32
	status.Store(200)
	rec := &receiver{seen: map[string]int{}, byTarget: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/flip", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(int(status.Load())) })
	var foldStatus atomic.Int32
	foldStatus.Store(200)
	mux.HandleFunc("/fold", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(int(foldStatus.Load())) })
	mux.Handle("/hook", rec)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	base := "http://" + ln.Addr().String()

	var apis, gossips []int
	for range 3 {
		a, err := freePort()
		if err != nil {
			return err
		}
		g, err := freePort()
		if err != nil {
			return err
		}
		apis, gossips = append(apis, a), append(gossips, g)
	}
	var procs []*exec.Cmd
	defer func() {
		for _, p := range procs {
			_ = p.Process.Kill()
			_ = p.Wait()
		}
	}()
	for i := range 3 {
		var b strings.Builder
		fmt.Fprintf(&b, "listen: 127.0.0.1:%d\nnode:\n  name: n%d\n  data_dir: %s\n", apis[i], i, filepath.Join(dir, fmt.Sprint("n", i)))
		fmt.Fprintf(&b, "log:\n  level: warn\ncluster:\n  bind: 127.0.0.1:%d\n  join: [127.0.0.1:%d]\n", gossips[i], gossips[0])
		fmt.Fprintf(&b, "notifiers:\n  - {id: hook, kind: webhook, webhook: {url: %q}}\n", base+"/hook")
		b.WriteString("targets:\n")
		for f := range 5 {
			fmt.Fprintf(&b, "  - {id: flip-%d, kind: http, url: %q, interval: 1s, timeout: 500ms, rise: 1, fall: 1}\n", f, base+"/flip")
		}
		if o.fold > 0 {
			fmt.Fprintf(&b, "  - {id: db-primary, kind: http, url: %q, interval: 1s, timeout: 500ms, rise: 1, fall: 2}\n", base+"/fold")
		}
		for t := range o.fold {
			fmt.Fprintf(&b, "  - {id: app-%05d, kind: http, url: %q, interval: 5s, timeout: 1s, rise: 1, fall: 2, depends_on: [{target: db-primary}]}\n", t, base+"/fold")
		}
		for t := range o.targets {
			fmt.Fprintf(&b, "  - {id: hb-%05d, kind: heartbeat, heartbeat: {period: 1h, token: bench-token-%08d}}\n", t, t)
		}
		path := filepath.Join(dir, fmt.Sprintf("n%d.yaml", i))
		if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
			return err
		}
		cmd := exec.Command(bin, "serve", "--config", path)
		logFile, err := os.Create(filepath.Join(dir, fmt.Sprintf("n%d.log", i)))
		if err != nil {
			return err
		}
		cmd.Stdout, cmd.Stderr = logFile, logFile
		if err := cmd.Start(); err != nil {
			return err
		}
		procs = append(procs, cmd)
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: o.clients + 4}}
	deadline := time.Now().Add(60 * time.Second)
	for i := range 3 {
		for {
			resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/api/v1/members", apis[i]))
			n := 0
			if err == nil {
				var ml struct {
					Members []struct {
						State string `json:"state"`
					} `json:"members"`
				}
				_ = json.NewDecoder(resp.Body).Decode(&ml)
				resp.Body.Close()
				for _, m := range ml.Members {
					if m.State == "alive" {
						n++
					}
				}
			}
			if n == 3 {
				break
			}
			if time.Now().After(deadline) {
				return errors.New("the three nodes did not form a cluster within 60s")
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	logf("cluster of 3 up with %d heartbeat targets", o.targets)

	// Pings.
	var ok, bad atomic.Int64
	lat := make([][]time.Duration, o.clients)
	lctx, cancel := context.WithTimeout(ctx, o.duration)
	var wg sync.WaitGroup
	for c := range o.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; lctx.Err() == nil; i++ {
				url := fmt.Sprintf("http://127.0.0.1:%d/ping/bench-token-%08d", apis[(c+i)%3], rand.IntN(o.targets))
				start := time.Now()
				resp, err := client.Post(url, "text/plain", bytes.NewReader(nil))
				if err != nil {
					if lctx.Err() == nil {
						bad.Add(1)
					}
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					ok.Add(1)
					lat[c] = append(lat[c], time.Since(start))
				} else {
					bad.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	cancel()
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	fmt.Printf("heartbeat pings, 3 nodes, %d targets, %d clients, %v: %.0f pings/s accepted, p50 %v p99 %v, %d errors\n",
		o.targets, o.clients, o.duration, float64(ok.Load())/o.duration.Seconds(),
		quantile(all, 0.5).Round(10*time.Microsecond), quantile(all, 0.99).Round(10*time.Microsecond), bad.Load())

	// Notifications.
	for i := range o.flips {
		if i%2 == 0 {
			status.Store(503)
		} else {
			status.Store(200)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(3 * time.Second):
		}
	}
	time.Sleep(2 * time.Second)
	rec.mu.Lock()
	dups := 0
	for _, n := range rec.seen {
		if n > 1 {
			dups++
		}
	}
	ds := slices.Clone(rec.delays)
	rec.mu.Unlock()
	fmt.Printf("notifications: 5 targets x %d flips, %d received, transition to webhook p50 %v p99 %v max %v, %d received twice\n",
		o.flips, len(ds), quantile(ds, 0.5).Round(time.Millisecond), quantile(ds, 0.99).Round(time.Millisecond),
		quantile(ds, 1).Round(time.Millisecond), dups)
	if o.fold > 0 {
		return fold(ctx, o, rec, &foldStatus, client, apis[0])
	}
	return nil
}

// fold fails db-primary and its o.fold dependents at once, waits until
// every dependent is judged and its notification decided, and prints
// what the webhook received; then the same for the recovery.
func fold(ctx context.Context, o options, rec *receiver, status *atomic.Int32, client *http.Client, api int) error {
	counts := func() (root, deps int) {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		for id, n := range rec.byTarget {
			switch {
			case id == "db-primary":
				root += n
			case strings.HasPrefix(id, "app-"):
				deps += n
			}
		}
		return root, deps
	}
	// inState counts the dependents in a state.
	inState := func(state string) (int, error) {
		resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/api/v1/targets?state=%s", api, state))
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		var l struct {
			Targets []struct {
				ID string `json:"id"`
			} `json:"targets"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&l); err != nil {
			return 0, err
		}
		n := 0
		for _, t := range l.Targets {
			if strings.HasPrefix(t.ID, "app-") {
				n++
			}
		}
		return n, nil
	}
	phase := func(name, state string, code int32) error {
		root0, deps0 := counts()
		start := time.Now()
		status.Store(code)
		deadline := start.Add(3 * time.Minute)
		for {
			n, err := inState(state)
			if err == nil && n >= o.fold {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s: only %d of %d dependents %s within 3m (%v)", name, n, o.fold, state, err)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Second):
			}
		}
		judged := time.Since(start)
		// Let every notification be decided: a dependent's down waits for
		// its dependency (4s here), and a sweep runs every 5s.
		time.Sleep(15 * time.Second)
		root, deps := counts()
		rec.mu.Lock()
		imp := rec.impacted
		rec.mu.Unlock()
		fmt.Printf("fold, %s: %d targets behind one critical dependency, all %s after %v: %d notifications of the dependency (naming %d dependents), %d of dependents\n",
			name, o.fold, state, judged.Round(100*time.Millisecond), root-root0, imp, deps-deps0)
		return nil
	}
	logf("fold: %d dependents of db-primary", o.fold)
	if err := phase("failing", "impacted", 503); err != nil {
		return err
	}
	return phase("recovering", "up", 200)
}
