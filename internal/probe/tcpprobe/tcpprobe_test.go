package tcpprobe

import (
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/probe"
	"github.com/heckhq/heck/internal/probe/internal/probetest"
	"github.com/heckhq/heck/internal/target"
)

func spec(addr string, o *target.TCPOptions) target.Spec {
	return target.Spec{ID: "t", Kind: target.KindTCP, Address: addr, TCP: o}
}

func TestProbe(t *testing.T) {
	closeAtOnce := probetest.Serve(t, func(net.Conn) {})
	echo := probetest.Serve(t, func(c net.Conn) { _, _ = io.Copy(c, c) })
	banner := probetest.Serve(t, func(c net.Conn) {
		_, _ = io.WriteString(c, "SSH-2.0-")
		_, _ = io.WriteString(c, "heck-test\r\n")
		_, _ = io.Copy(io.Discard, c)
	})
	chatty := probetest.Serve(t, func(c net.Conn) {
		_, _ = io.WriteString(c, "hello there")
	})
	silent := probetest.Silent(t)
	flood := probetest.Serve(t, func(c net.Conn) {
		chunk := []byte(strings.Repeat("x", 4096))
		for {
			if _, err := c.Write(chunk); err != nil {
				return
			}
		}
	})
	probetest.Run(t, New, []probetest.Case{
		{Name: "connect", Spec: spec(closeAtOnce, nil), OK: true, Msg: "connected"},
		{Name: "refused", Spec: spec(probetest.ClosedAddr(t), nil), Msg: "connect: connection refused"},
		{Name: "send and expect", Spec: spec(echo, &target.TCPOptions{Send: "PING\r\n", Expect: "PING"}), OK: true, Msg: `connected, received "PING"`},
		{Name: "send only", Spec: spec(silent, &target.TCPOptions{Send: "QUIT\r\n"}), OK: true, Msg: "connected"},
		{Name: "banner split over writes", Spec: spec(banner, &target.TCPOptions{Expect: "SSH-2.0-heck"}), OK: true, Msg: `connected, received "SSH-2.0-heck"`},
		{Name: "wrong answer then close", Spec: spec(chatty, &target.TCPOptions{Expect: "+PONG"}), Msg: `did not receive "+PONG" (connection closed by peer); got 11 bytes: "hello there"`},
		{Name: "silence", Spec: spec(silent, &target.TCPOptions{Expect: "220 "}), Msg: `did not receive "220 " (timed out after 200ms); got nothing`, Timeout: 200 * time.Millisecond},
		{Name: "endless answer", Spec: spec(flood, &target.TCPOptions{Expect: "y"}), Msg: `did not receive "y" in the first 65536 bytes; got 65536 bytes: *`},
	}, probetest.RemoteIsTarget)
}

func TestGuard(t *testing.T) {
	addr := probetest.Serve(t, func(net.Conn) { t.Error("a refused probe reached the server") })
	g, _ := probe.NewGuard([]string{"127.0.0.0/8"})
	for _, a := range []string{addr, strings.Replace(addr, "127.0.0.1", "localhost", 1)} {
		p := probetest.New(t, New, spec(a, nil), probe.Options{Guard: g})
		res := probetest.Probe(p, 2*time.Second)
		if res.OK || !strings.Contains(res.Message, "in denied network 127.0.0.0/8 (probe.deny_networks)") {
			// localhost may also resolve to ::1, which the guard allows but
			// nothing listens on: then the refusal is reported for 127.0.0.1
			// or the dial to ::1 is refused by the kernel.
			if !(strings.HasPrefix(a, "localhost") && res.Message == "connect: connection refused") {
				t.Fatalf("%s: %+v", a, res)
			}
		}
	}
}

func TestCancel(t *testing.T) {
	p := probetest.New(t, New, spec(probetest.Silent(t), &target.TCPOptions{Expect: "x"}), probe.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	done := make(chan probe.Result)
	go func() { done <- p.Probe(ctx) }()
	cancel()
	select {
	case res := <-done:
		if res.OK {
			t.Fatalf("cancelled probe succeeded: %+v", res)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("probe ignored cancellation")
	}
}

func TestNewRejectsBadAddress(t *testing.T) {
	probetest.NewFails(t, New, spec("no-port", nil), `address: "no-port" is not host:port`)
}
