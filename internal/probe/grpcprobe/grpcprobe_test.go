package grpcprobe

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/heckhq/heck/internal/probe"
	"github.com/heckhq/heck/internal/probe/internal/testcert"
	"github.com/heckhq/heck/internal/target"
)

// startServer serves the health service on lis (a new loopback port when
// nil) until the test ends, or until the returned stop is called.
func startServer(t *testing.T, lis net.Listener, withHealth bool, opts ...grpc.ServerOption) (string, func()) {
	t.Helper()
	if lis == nil {
		var err error
		if lis, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
	}
	srv := grpc.NewServer(opts...)
	if withHealth {
		h := health.NewServer()
		h.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
		h.SetServingStatus("db", healthpb.HealthCheckResponse_SERVING)
		h.SetServingStatus("cache", healthpb.HealthCheckResponse_NOT_SERVING)
		h.SetServingStatus("warming", healthpb.HealthCheckResponse_UNKNOWN)
		healthpb.RegisterHealthServer(srv, h)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(lis) }()
	var once sync.Once
	stop := func() { once.Do(func() { srv.Stop(); <-done }) }
	t.Cleanup(stop)
	return lis.Addr().String(), stop
}

func silentServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	return ln.Addr().String()
}

func newProber(t *testing.T, addr string, o *target.GRPCOptions, po probe.Options) *Prober {
	t.Helper()
	s := target.Spec{ID: "t", Kind: target.KindGRPC, Address: addr, GRPC: o}.WithDefaults()
	if errs := s.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	p, err := New(s, po)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func probeOnce(p *Prober, timeout time.Duration) probe.Result {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return p.Probe(ctx)
}

func TestProbe(t *testing.T) {
	plain, _ := startServer(t, nil, true)
	noHealth, _ := startServer(t, nil, false)
	pair := testcert.New(t, 30*24*time.Hour)
	secure, _ := startServer(t, nil, true, grpc.Creds(credentials.NewServerTLSFromCert(&pair.Cert)))
	silent := silentServer(t)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := ln.Addr().String()
	ln.Close()

	tests := []struct {
		name    string
		addr    string
		opts    *target.GRPCOptions
		po      probe.Options
		ok      bool
		msg     string
		serving string
		timeout time.Duration
	}{
		{name: "server serving", addr: plain, ok: true, msg: "SERVING", serving: "SERVING"},
		{name: "service serving", addr: plain, opts: &target.GRPCOptions{Service: "db"}, ok: true, msg: "SERVING", serving: "SERVING"},
		{name: "not serving", addr: plain, opts: &target.GRPCOptions{Service: "cache"}, msg: `service "cache" is NOT_SERVING`, serving: "NOT_SERVING"},
		{name: "unknown status", addr: plain, opts: &target.GRPCOptions{Service: "warming"}, msg: `service "warming" is UNKNOWN`, serving: "UNKNOWN"},
		{name: "service unknown", addr: plain, opts: &target.GRPCOptions{Service: "nope"}, msg: `service "nope" is SERVICE_UNKNOWN to the server`, serving: "SERVICE_UNKNOWN"},
		{name: "no health service", addr: noHealth, msg: "server does not implement grpc.health.v1"},
		{name: "refused", addr: closed, msg: "connect: connection refused"},
		{name: "silent", addr: silent, msg: "timed out after 300ms", timeout: 300 * time.Millisecond},
		{name: "tls verified", addr: secure, opts: &target.GRPCOptions{TLS: true}, po: probe.Options{RootCAs: pair.Pool}, ok: true, msg: "SERVING"},
		{name: "tls server name", addr: secure, opts: &target.GRPCOptions{TLS: true, ServerName: "example.test", Service: "db"}, po: probe.Options{RootCAs: pair.Pool}, ok: true, msg: "SERVING"},
		{name: "tls insecure", addr: secure, opts: &target.GRPCOptions{TLS: true, InsecureSkipVerify: true}, ok: true, msg: "SERVING"},
		{name: "tls untrusted", addr: secure, opts: &target.GRPCOptions{TLS: true}, msg: "unavailable: authentication handshake failed: tls: failed to verify certificate: x509: certificate signed by unknown authority"},
		{name: "plaintext to tls", addr: secure, msg: "unavailable: *"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProber(t, tt.addr, tt.opts, tt.po)
			timeout := tt.timeout
			if timeout == 0 {
				timeout = 5 * time.Second
			}
			res := probeOnce(p, timeout)
			t.Logf("%v %q", res.OK, res.Message)
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
			if tt.serving != "" && res.Details.Serving != tt.serving {
				t.Errorf("serving = %q, want %q", res.Details.Serving, tt.serving)
			}
		})
	}
}

// TestRecovery stops the server, sees the probe fail, starts it again on
// the same port and expects the next probes to recover promptly, without
// waiting out a long reconnect backoff.
func TestRecovery(t *testing.T) {
	addr, stop := startServer(t, nil, true)
	p := newProber(t, addr, nil, probe.Options{})
	if res := probeOnce(p, 5*time.Second); !res.OK {
		t.Fatalf("first probe: %+v", res)
	}
	stop()
	for i := 0; i < 3; i++ {
		if res := probeOnce(p, time.Second); res.OK {
			t.Fatalf("probe %d with the server stopped succeeded", i)
		}
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s again: %v", addr, err)
	}
	startServer(t, lis, true)
	deadline := time.Now().Add(5 * time.Second)
	for {
		res := probeOnce(p, time.Second)
		if res.OK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no recovery within 5s: %+v", res)
		}
	}
}

func TestGuard(t *testing.T) {
	addr, _ := startServer(t, nil, true)
	g, _ := probe.NewGuard([]string{"127.0.0.1/32"})
	p := newProber(t, addr, nil, probe.Options{Guard: g})
	res := probeOnce(p, 2*time.Second)
	if res.OK || res.Message != "refused to connect to 127.0.0.1: in denied network 127.0.0.1/32 (probe.deny_networks)" {
		t.Fatalf("%+v", res)
	}
}

func TestNewRejectsBadAddress(t *testing.T) {
	_, err := New(target.Spec{ID: "t", Kind: target.KindGRPC, Address: "nohost"}, probe.Options{})
	if err == nil || !strings.Contains(err.Error(), `address: "nohost" is not host:port`) {
		t.Fatalf("err = %v", err)
	}
}
