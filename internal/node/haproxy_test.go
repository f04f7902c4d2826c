package node

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/pool"
	"github.com/heckhq/heck/internal/target"
	"github.com/heckhq/heck/internal/testkit"
)

// lbBackend is a loopback web server: /health answers the status the test
// sets (heck probes it), every other path counts a hit (HAProxy's traffic).
type lbBackend struct {
	srv    *httptest.Server
	health atomic.Int32
	hits   atomic.Int64
}

func newLBBackend(t *testing.T) *lbBackend {
	b := &lbBackend{}
	b.health.Store(200)
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			w.WriteHeader(int(b.health.Load()))
			return
		}
		b.hits.Add(1)
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(b.srv.Close)
	return b
}

// TestHAProxyFollowsHeck: a real HAProxy balancing over three loopback
// backends, each server following this node's agent only. A backend that
// fails its health check stops getting traffic within interval x fall
// plus a second (and an agent interval); a pool driven into panic keeps
// traffic on every member.
func TestHAProxyFollowsHeck(t *testing.T) {
	bin := testkit.NeedBinary(t, "haproxy", "apt-get install haproxy", "/usr/sbin")
	const fall = 2
	const agentInter = 200 * time.Millisecond
	var backs []*lbBackend
	var specs []target.Spec
	for i := range 3 {
		b := newLBBackend(t)
		backs = append(backs, b)
		spec := ntHTTP(fmt.Sprintf("w%d", i), b.srv.URL+"/health")
		spec.Labels = map[string]string{"app": "web"}
		spec.Schedule.Fall = fall
		specs = append(specs, spec)
	}
	cfg := ntConfig(t.TempDir(), specs...)
	cfg.Pools = []pool.Spec{{Name: "web", Selector: map[string]string{"app": "web"}}}
	cfg.HAProxy.Listen = "127.0.0.1:0"
	nn := ntStart(t, cfg)
	agent := nn.n.AgentAddr(t.Context())
	if agent == nil {
		t.Fatal("no agent address")
	}
	_, agentPort, _ := net.SplitHostPort(agent.String())

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fePort := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	var servers []string
	for i, b := range backs {
		servers = append(servers, fmt.Sprintf("  server w%d %s agent-check agent-addr 127.0.0.1 agent-port %s agent-inter %dms agent-send \"web/w%d\\n\"",
			i, b.srv.Listener.Addr(), agentPort, agentInter.Milliseconds(), i))
	}
	hcfg := fmt.Sprintf("defaults\n  mode http\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\nfrontend fe\n  bind 127.0.0.1:%d\n  default_backend be\nbackend be\n  balance roundrobin\n%s\n",
		fePort, strings.Join(servers, "\n"))
	path := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(path, []byte(hcfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "-f", path, "-db")
	var out testkit.SyncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("haproxy output:\n%s", out.String())
		}
	})
	front := fmt.Sprintf("http://127.0.0.1:%d/", fePort)
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	batch := func() [3]int64 {
		var before [3]int64
		for i, b := range backs {
			before[i] = b.hits.Load()
		}
		for range 12 {
			if resp, err := client.Get(front); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
		var d [3]int64
		for i, b := range backs {
			d[i] = b.hits.Load() - before[i]
		}
		return d
	}
	waitFor := func(what string, limit time.Duration, cond func(d [3]int64) bool) time.Duration {
		t.Helper()
		start := time.Now()
		var last [3]int64
		for time.Since(start) < limit {
			if last = batch(); cond(last) {
				return time.Since(start)
			}
		}
		t.Fatalf("%s: not within %v; the last 12 requests reached the backends %v", what, limit, last)
		return 0
	}
	all := func(d [3]int64) bool { return d[0] > 0 && d[1] > 0 && d[2] > 0 }
	nn.waitPool(t, "every member healthy", func(v pool.View) error {
		if v.Healthy != 3 {
			return fmt.Errorf("healthy %d", v.Healthy)
		}
		return nil
	})
	waitFor("HAProxy balancing over every backend", ntPatience, all)

	backs[1].health.Store(500)
	limit := ntInterval*fall + agentInter + time.Second
	took := waitFor("w1 out of HAProxy", limit, func(d [3]int64) bool { return d[1] == 0 && d[0] > 0 && d[2] > 0 })
	t.Logf("HAProxy stopped sending to a failing backend %v after it failed (interval %v x fall %d = %v)",
		took.Round(time.Millisecond), ntInterval, fall, ntInterval*fall)

	backs[0].health.Store(500) // two of three down: panic, fail open over all
	waitFor("every backend served in panic", limit, all)
	v, _ := nn.n.PoolView("web")
	if !v.Panic {
		t.Fatalf("pool not in panic with two of three members down: %+v", v)
	}
}
