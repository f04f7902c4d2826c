package tcpprobe

import (
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/probe"
	"github.com/heckhq/heck/internal/target"
)

// serve runs handle for each connection to a new loopback listener until
// the test ends.
func serve(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	done := make(chan struct{})
	t.Cleanup(func() { close(done); ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				go func() { <-done; c.Close() }()
				handle(c)
			}()
		}
	}()
	return ln.Addr().String()
}

func TestProbe(t *testing.T) {
	closeAtOnce := serve(t, func(net.Conn) {})
	echo := serve(t, func(c net.Conn) { _, _ = io.Copy(c, c) })
	banner := serve(t, func(c net.Conn) {
		_, _ = io.WriteString(c, "SSH-2.0-")
		_, _ = io.WriteString(c, "heck-test\r\n")
		_, _ = io.Copy(io.Discard, c)
	})
	chatty := serve(t, func(c net.Conn) {
		_, _ = io.WriteString(c, "hello there")
	})
	silent := serve(t, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
	flood := serve(t, func(c net.Conn) {
		chunk := []byte(strings.Repeat("x", 4096))
		for {
			if _, err := c.Write(chunk); err != nil {
				return
			}
		}
	})
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closedPort := ln.Addr().String()
	ln.Close()

	tests := []struct {
		name    string
		addr    string
		opts    *target.TCPOptions
		ok      bool
		msg     string
		timeout time.Duration
	}{
		{name: "connect", addr: closeAtOnce, ok: true, msg: "connected"},
		{name: "refused", addr: closedPort, msg: "connect: connection refused"},
		{name: "send and expect", addr: echo, opts: &target.TCPOptions{Send: "PING\r\n", Expect: "PING"}, ok: true, msg: `connected, received "PING"`},
		{name: "send only", addr: silent, opts: &target.TCPOptions{Send: "QUIT\r\n"}, ok: true, msg: "connected"},
		{name: "banner split over writes", addr: banner, opts: &target.TCPOptions{Expect: "SSH-2.0-heck"}, ok: true, msg: `connected, received "SSH-2.0-heck"`},
		{name: "wrong answer then close", addr: chatty, opts: &target.TCPOptions{Expect: "+PONG"}, msg: `did not receive "+PONG" (connection closed by peer); got 11 bytes: "hello there"`},
		{name: "silence", addr: silent, opts: &target.TCPOptions{Expect: "220 "}, msg: `did not receive "220 " (timed out after 200ms); got nothing`, timeout: 200 * time.Millisecond},
		{name: "endless answer", addr: flood, opts: &target.TCPOptions{Expect: "y"}, msg: `did not receive "y" in the first 65536 bytes; got 65536 bytes: *`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := target.Spec{ID: "t", Kind: target.KindTCP, Address: tt.addr, TCP: tt.opts}.WithDefaults()
			if errs := s.Validate(); len(errs) > 0 {
				t.Fatal(errs)
			}
			p, err := New(s, probe.Options{})
			if err != nil {
				t.Fatal(err)
			}
			timeout := tt.timeout
			if timeout == 0 {
				timeout = 5 * time.Second
			}
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			res := p.Probe(ctx)
			if res.OK != tt.ok {
				t.Errorf("OK = %v, want %v (%q)", res.OK, tt.ok, res.Message)
			}
			if prefix, ok := strings.CutSuffix(tt.msg, "*"); ok {
				if !strings.HasPrefix(res.Message, prefix) {
					t.Errorf("message = %q, want prefix %q", res.Message, prefix)
				}
			} else if res.Message != tt.msg {
				t.Errorf("message = %q, want %q", res.Message, tt.msg)
			}
			if res.OK && res.Details.RemoteAddr != tt.addr {
				t.Errorf("remote addr = %q, want %q", res.Details.RemoteAddr, tt.addr)
			}
		})
	}
}

func TestGuard(t *testing.T) {
	addr := serve(t, func(net.Conn) { t.Error("a refused probe reached the server") })
	g, _ := probe.NewGuard([]string{"127.0.0.0/8"})
	for _, a := range []string{addr, strings.Replace(addr, "127.0.0.1", "localhost", 1)} {
		p, err := New(target.Spec{ID: "t", Kind: target.KindTCP, Address: a}.WithDefaults(), probe.Options{Guard: g})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		res := p.Probe(ctx)
		cancel()
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
	addr := serve(t, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
	p, _ := New(target.Spec{ID: "t", Kind: target.KindTCP, Address: addr, TCP: &target.TCPOptions{Expect: "x"}}.WithDefaults(), probe.Options{})
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
	_, err := New(target.Spec{ID: "t", Kind: target.KindTCP, Address: "no-port"}, probe.Options{})
	if err == nil || !strings.Contains(err.Error(), `address: "no-port" is not host:port`) {
		t.Fatalf("err = %v", err)
	}
}
