package icmpprobe

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"

	"github.com/heckhq/heck/internal/probe"
	"github.com/heckhq/heck/internal/probe/internal/probetest"
	"github.com/heckhq/heck/internal/target"
)

// needSocket skips when the kernel allows neither kind of ICMP socket,
// unless HECK_INTEGRATION=1 demands the test.
func needSocket(t *testing.T, v4 bool) {
	t.Helper()
	c, _, err := listen(v4)
	if err == nil {
		c.Close()
		return
	}
	if os.Getenv("HECK_INTEGRATION") == "1" {
		t.Fatalf("HECK_INTEGRATION=1 but no ICMP socket: %v", err)
	}
	t.Skipf("skipping: %v", err)
}

func newProber(t *testing.T, addr string, size int, po probe.Options) *Prober {
	t.Helper()
	s := target.Spec{ID: "t", Kind: target.KindICMP, Address: addr}
	if size != 0 {
		s.ICMP = &target.ICMPOptions{PayloadSize: size}
	}
	return probetest.New(t, New, s, po)
}

func TestPingLoopback(t *testing.T) {
	tests := []struct {
		addr string
		size int
		v4   bool
		want string
	}{
		{"127.0.0.1", 0, true, "echo reply from 127.0.0.1"},
		{"127.0.0.1", 1400, true, "echo reply from 127.0.0.1"},
		{"127.0.0.1", 4, true, "echo reply from 127.0.0.1"},
		{"localhost", 0, true, "echo reply from 127.0.0.1"},
		{"::1", 0, false, "echo reply from ::1"},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			needSocket(t, tt.v4)
			p := newProber(t, tt.addr, tt.size, probe.Options{})
			res := probetest.Probe(p, 3*time.Second)
			if !tt.v4 && !res.OK && strings.Contains(res.Message, "send echo request") {
				t.Skipf("no IPv6 loopback here: %s", res.Message)
			}
			probetest.CheckResult(t, res, true, tt.want)
			if res.Latency <= 0 {
				t.Errorf("latency = %v, want > 0", res.Latency)
			}
		})
	}
}

// TestConcurrentPings runs probes side by side: each must match its own
// reply (raw sockets see every reply on the host).
func TestConcurrentPings(t *testing.T) {
	needSocket(t, true)
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := newProber(t, "127.0.0.1", 0, probe.Options{})
			for range 5 {
				if res := probetest.Probe(p, 3*time.Second); !res.OK {
					errs <- res.Message
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestGuard(t *testing.T) {
	g, _ := probe.NewGuard([]string{"127.0.0.0/8"})
	p := newProber(t, "127.0.0.1", 0, probe.Options{Guard: g})
	res := p.Probe(context.Background())
	probetest.CheckResult(t, res, false, "refused to connect to 127.0.0.1: in denied network 127.0.0.0/8 (probe.deny_networks)")
}

func TestExpiredContext(t *testing.T) {
	needSocket(t, true)
	p := newProber(t, "127.0.0.1", 0, probe.Options{})
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	res := p.Probe(ctx)
	if res.OK || !strings.Contains(res.Message, "timed out") {
		t.Fatalf("%+v", res)
	}
}

func TestIsReply(t *testing.T) {
	echo := &icmp.Echo{ID: 7, Seq: 42, Data: []byte("nonce-and-payload")}
	build := func(typ icmp.Type, id, seq int, data string) []byte {
		b, err := (&icmp.Message{Type: typ, Body: &icmp.Echo{ID: id, Seq: seq, Data: []byte(data)}}).Marshal(nil)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name string
		b    []byte
		raw  bool
		want bool
	}{
		{"reply", build(ipv4.ICMPTypeEchoReply, 7, 42, "nonce-and-payload"), true, true},
		{"our own request", build(ipv4.ICMPTypeEcho, 7, 42, "nonce-and-payload"), true, false},
		{"other seq", build(ipv4.ICMPTypeEchoReply, 7, 43, "nonce-and-payload"), true, false},
		{"other id on raw socket", build(ipv4.ICMPTypeEchoReply, 8, 42, "nonce-and-payload"), true, false},
		{"kernel id on ping socket", build(ipv4.ICMPTypeEchoReply, 31337, 42, "nonce-and-payload"), false, true},
		{"other payload", build(ipv4.ICMPTypeEchoReply, 7, 42, "someone-elses-ping"), true, false},
		{"garbage", []byte{1, 2}, true, false},
	}
	for _, tt := range tests {
		if got := isReply(tt.b, 1, echo, tt.raw); got != tt.want {
			t.Errorf("%s: isReply = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestSocketErrorSaysHowToFix(t *testing.T) {
	e := &SocketError{
		Unprivileged:   os.NewSyscallError("socket", syscall.EACCES),
		Raw:            os.NewSyscallError("socket", syscall.EPERM),
		GID:            1000,
		PingGroupRange: "1 0",
	}
	msg := e.Error()
	for _, want := range []string{
		"unprivileged ping is not allowed for group 1000",
		`net.ipv4.ping_group_range is "1 0": permission denied`,
		"raw socket needs root or CAP_NET_RAW (operation not permitted)",
		`sysctl -w net.ipv4.ping_group_range="0 2147483647"`,
		"setcap cap_net_raw+ep",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	var se *SocketError
	if !errors.As(error(e), &se) {
		t.Fatal("not a SocketError")
	}
}
