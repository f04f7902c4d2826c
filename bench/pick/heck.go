package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

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

// hasDNSFlag reports whether `heck serve --help` mentions --dns.
func hasDNSFlag(ctx context.Context, bin string) bool {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, bin, "serve", "--help").CombinedOutput() // --help may exit non-zero
	return strings.Contains(string(out), "--dns")
}

// targetServer answers 200 "ok" on any path on 127.0.0.1, counting hits.
type targetServer struct {
	srv  *http.Server
	addr string
	hits atomic.Int64
	done chan struct{}
}

func startTargetServer() (*targetServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("target server: listen on 127.0.0.1: %w", err)
	}
	t := &targetServer{addr: ln.Addr().String(), done: make(chan struct{})}
	t.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			t.hits.Add(1)
			w.Header().Set("Content-Type", "text/plain")
			_, _ = io.WriteString(w, "ok\n")
		}),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          nil,
	}
	go func() {
		defer close(t.done)
		_ = t.srv.Serve(ln) // ends with http.ErrServerClosed on Close
	}()
	return t, nil
}

func (t *targetServer) close() {
	_ = t.srv.Close()
	select {
	case <-t.done:
	case <-time.After(5 * time.Second):
	}
}

// freePort returns a loopback port free for TCP and, when udp is set, for
// UDP too at the time of the call.
func freePort(udp bool) (int, error) {
	for range 20 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("find a free loopback port: %w", err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		if !udp {
			_ = ln.Close()
			return port, nil
		}
		pc, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		_ = ln.Close()
		if err == nil {
			_ = pc.Close()
			return port, nil
		}
	}
	return 0, errors.New("find a loopback port free for both TCP and UDP: 20 tries failed")
}

// poolName is the name of pool i of n: p00..p99 for 100 pools, wider when
// there are more.
func poolName(i, n int) string {
	return fmt.Sprintf("p%0*d", max(2, len(strconv.Itoa(n-1))), i)
}

// writeConfig writes heck's config: n http targets at base (the target
// server's host:port), target i labelled pool: poolName(i mod pools), and
// one pool per label value selecting them.
func writeConfig(path, listen, base string, o options) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# bench/pick: %d http targets in %d pools\n", o.n, o.pools)
	fmt.Fprintf(&b, "listen: %s\nlog:\n  level: warn\napi:\n  per_target_metrics: false\n", listen)
	fmt.Fprintf(&b, "defaults:\n  interval: %s\n  timeout: %s\n  rise: 1\n  fall: 3\n", o.interval, o.timeout)
	b.WriteString("targets:\n")
	idWidth := len(strconv.Itoa(o.n - 1))
	for i := range o.n {
		fmt.Fprintf(&b, "  - id: t%0*d\n    kind: http\n    url: http://%s/t/%d\n    labels: {pool: %s}\n",
			idWidth, i, base, i, poolName(i%o.pools, o.pools))
	}
	b.WriteString("pools:\n")
	for p := range o.pools {
		name := poolName(p, o.pools)
		fmt.Fprintf(&b, "  - name: %s\n    selector: {pool: %s}\n", name, name)
		if !o.outlier {
			// Loopback latency jitters (a 10 ms probe against a 0.5 ms
			// median under load) and outlier detection would eject such
			// members, so "all healthy" would never hold.
			b.WriteString("    outlier: {disabled: true}\n")
		}
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("write config %s: %w", path, err)
	}
	return nil
}

// heck is the running node.
type heck struct {
	*child
	api string // http://127.0.0.1:PORT
	hc  *http.Client
}

func startHeck(ctx context.Context, bin, dir string, o options, base, dnsAddr string) (*heck, error) {
	port, err := freePort(false)
	if err != nil {
		return nil, err
	}
	listen := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	cfg := filepath.Join(dir, "heck.yaml")
	if err := writeConfig(cfg, listen, base, o); err != nil {
		return nil, err
	}
	args := []string{"serve", "--config", cfg, "--data-dir", filepath.Join(dir, "data")}
	if dnsAddr != "" {
		args = append(args, "--dns", dnsAddr)
	}
	c, err := startChild("heck", filepath.Join(dir, "heck.log"), exec.Command(bin, args...))
	if err != nil {
		return nil, err
	}
	h := &heck{child: c, api: "http://" + listen,
		hc: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{Proxy: nil, DisableCompression: true}}}
	deadline := time.Now().Add(time.Minute)
	for {
		if err := h.get(ctx, "/livez", nil); err == nil {
			return h, nil
		} else if time.Now().After(deadline) {
			h.stop(5 * time.Second)
			return nil, fmt.Errorf("heck did not answer /livez within 1m: %w\n%s", err, c.logTail(3000))
		}
		if err := sleepCtx(ctx, 100*time.Millisecond, c); err != nil {
			return nil, fmt.Errorf("wait for heck's /livez: %w", err)
		}
	}
}

// get GETs path from heck's API and decodes JSON into out (unless nil).
func (h *heck) get(ctx context.Context, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.api+path, nil)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	resp, err := h.hc.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 500))
		return fmt.Errorf("GET %s: %s: %s", path, resp.Status, b)
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(bufio.NewReader(resp.Body)).Decode(out); err != nil {
		return fmt.Errorf("GET %s: decode: %w", path, err)
	}
	return nil
}

// poolState is what the harness reads of GET /api/v1/pools.
type poolState struct {
	Name    string     `json:"name"`
	Healthy int        `json:"healthy"`
	Members []struct{} `json:"members"`
}

// readiness summarises the pools: how many meet the fraction, and the
// healthy members over all.
type readiness struct {
	pools, ready, members, healthy int
}

func judgeReady(ps []poolState, wantPools, wantMembers int, fraction float64) readiness {
	r := readiness{pools: len(ps)}
	for _, p := range ps {
		r.members += len(p.Members)
		r.healthy += p.Healthy
		if len(p.Members) > 0 && float64(p.Healthy) >= fraction*float64(len(p.Members)) {
			r.ready++
		}
	}
	if r.pools != wantPools || r.members != wantMembers {
		r.ready = min(r.ready, r.pools-1) // not all there yet: never ready
	}
	return r
}

// waitHealthy polls GET /api/v1/pools until every pool has its members and
// at least fraction of them healthy.
func (h *heck) waitHealthy(ctx context.Context, o options) error {
	start := time.Now()
	deadline := start.Add(o.readyTimeout)
	var last readiness
	lastLog := start
	for {
		var ps []poolState
		err := h.get(ctx, "/api/v1/pools", &ps)
		if err == nil {
			last = judgeReady(ps, o.pools, o.n, o.readyFraction)
			if last.ready == o.pools {
				logf("pools ready after %v: %d/%d members healthy", time.Since(start).Round(100*time.Millisecond), last.healthy, last.members)
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pools not healthy within %v (-ready-timeout): %d of %d pools listed, %d ready, %d of %d members healthy (last error: %v)\n%s",
				o.readyTimeout, last.pools, o.pools, last.ready, last.healthy, o.n, err, h.logTail(3000))
		}
		if time.Since(lastLog) >= 5*time.Second {
			logf("waiting for the pools: %d/%d members healthy, %d/%d pools ready", last.healthy, o.n, last.ready, o.pools)
			lastLog = time.Now()
		}
		if err := sleepCtx(ctx, 500*time.Millisecond, h.child); err != nil {
			return fmt.Errorf("wait for the pools: %w", err)
		}
	}
}
