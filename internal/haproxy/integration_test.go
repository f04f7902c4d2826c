package haproxy

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

	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/testkit"
)

// haproxyBin finds the haproxy binary (see testkit.NeedBinary).
func haproxyBin(t *testing.T) string {
	t.Helper()
	return testkit.NeedBinary(t, "haproxy", "apt-get install haproxy", "/usr/sbin")
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestRealHAProxy runs HAProxy in front of four loopback backends, each
// server following heck's agent (no check of HAProxy's own), and drives the
// agent's source: a down member stops getting traffic within a few agent
// intervals; a pool in panic gets traffic on every member; an ejected one
// is drained; a server whose agent-send names no member keeps its state.
func TestRealHAProxy(t *testing.T) {
	bin := haproxyBin(t)
	const inter = 200 * time.Millisecond
	f := newFake("s0", "s1", "s2")
	agent := New(f, Options{})
	agentAddr := serve(t, agent)
	_, agentPort, _ := net.SplitHostPort(agentAddr)

	hits := make([]atomic.Int64, 4)
	var servers []string
	for i := range hits {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits[i].Add(1)
			_, _ = io.WriteString(w, "ok")
		}))
		t.Cleanup(srv.Close)
		send := fmt.Sprintf("web/s%d", i)
		if i == 3 {
			send = "web/zz" // not a member: the agent answers a comment only
		}
		servers = append(servers, fmt.Sprintf("  server s%d %s agent-check agent-addr 127.0.0.1 agent-port %s agent-inter %dms agent-send \"%s\\n\"",
			i, srv.Listener.Addr(), agentPort, inter.Milliseconds(), send))
	}
	fePort := freePort(t)
	cfg := fmt.Sprintf(`global
  maxconn 256
defaults
  mode http
  timeout connect 1s
  timeout client 5s
  timeout server 5s
frontend fe
  bind 127.0.0.1:%d
  default_backend be
backend be
  balance roundrobin
%s
`, fePort, strings.Join(servers, "\n"))
	dir := t.TempDir()
	path := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "-f", path, "-db")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("haproxy config:\n%s\nhaproxy output:\n%s", cfg, out.String())
		}
	})
	front := fmt.Sprintf("http://127.0.0.1:%d/", fePort)
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	// batch sends n requests through HAProxy and returns each backend's
	// share of them.
	batch := func(n int) [4]int64 {
		var before [4]int64
		for i := range hits {
			before[i] = hits[i].Load()
		}
		for range n {
			resp, err := client.Get(front)
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
		var d [4]int64
		for i := range hits {
			d[i] = hits[i].Load() - before[i]
		}
		return d
	}
	waitFor := func(what string, limit time.Duration, cond func(d [4]int64) bool) time.Duration {
		t.Helper()
		start := time.Now()
		var last [4]int64
		for time.Since(start) < limit {
			if last = batch(16); cond(last) {
				return time.Since(start)
			}
		}
		t.Fatalf("%s: not within %v; last batch of 16 reached the backends %v", what, limit, last)
		return 0
	}
	all := func(d [4]int64) bool { return d[0] > 0 && d[1] > 0 && d[2] > 0 && d[3] > 0 }
	waitFor("HAProxy up and balancing over every server", 10*time.Second, all)

	// keeps makes a change to a no-verdict reply and checks that HAProxy
	// keeps sending traffic as it was (ok) while it asks the agent three
	// times more.
	keeps := func(change func(), ok func(d [4]int64) bool) {
		t.Helper()
		before := agent.Stats()[ReplyNoVerdict]
		change()
		limit := 3*inter + 2*time.Second
		deadline := time.Now().Add(limit)
		for agent.Stats()[ReplyNoVerdict] < before+3 {
			if time.Now().After(deadline) {
				t.Fatalf("fewer than 3 no-verdict replies in %v", limit)
			}
			if d := batch(12); !ok(d) {
				t.Fatalf("traffic changed on a no-verdict reply: a batch of 12 reached %v", d)
			}
		}
	}
	// No verdict on a served member: it keeps its traffic.
	keeps(func() { f.set("s0", health.Unknown, false) }, all)
	f.set("s0", health.Up, false)

	// A down member: out within a few agent intervals plus a second.
	f.set("s1", health.Down, false)
	took := waitFor("s1 out", 3*inter+time.Second, func(d [4]int64) bool { return d[1] == 0 && d[0] > 0 })
	t.Logf("a down member stopped getting traffic after %v", took.Round(time.Millisecond))
	if d := batch(32); d[1] != 0 {
		t.Fatalf("s1 got %d of 32 requests after it went down", d[1])
	}

	// No verdict (heck restarted, say): HAProxy keeps s1 out as it was,
	// for as many agent checks as it takes to see three such replies.
	keeps(func() { f.set("s1", health.Unknown, false) }, func(d [4]int64) bool { return d[1] == 0 })
	f.set("s1", health.Down, false)

	// Panic: two of three members down fails open over all of them.
	f.set("s0", health.Down, false)
	waitFor("every member served in panic", 3*inter+time.Second, all)

	// Back up, then s2 ejected: drained.
	f.set("s0", health.Up, false)
	f.set("s1", health.Up, false)
	waitFor("every member back", 3*inter+time.Second, all)
	f.set("s2", health.Up, true)
	waitFor("s2 drained", 3*inter+time.Second, func(d [4]int64) bool { return d[2] == 0 && d[0] > 0 && d[1] > 0 })
	f.set("s2", health.Up, false)
	waitFor("s2 back after its ejection", 3*inter+time.Second, all)
	// Ejected and down: out too, and back when both end.
	f.set("s2", health.Down, true)
	waitFor("s2 down and ejected out", 3*inter+time.Second, func(d [4]int64) bool { return d[2] == 0 && d[0] > 0 && d[1] > 0 })
	f.set("s2", health.Up, false)
	waitFor("s2 back", 3*inter+time.Second, all)
	// s3 answered a comment the whole time and kept getting traffic.
	if st := agent.Stats(); st[ReplyUnknown] == 0 || st[ReplyDown] == 0 || st[ReplyPanic] == 0 || st[ReplyDrain] == 0 || st[ReplyNoVerdict] == 0 {
		t.Errorf("agent replies %v: want unknown, down, panic, drain and no_verdict among them", st)
	}
}
