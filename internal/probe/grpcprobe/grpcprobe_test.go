package grpcprobe

import (
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/heckhq/heck/internal/probe"
	"github.com/heckhq/heck/internal/probe/internal/probetest"
	"github.com/heckhq/heck/internal/probe/internal/testcert"
	"github.com/heckhq/heck/internal/target"
)

// startServer serves the health service on lis (a new loopback port when
// nil) until the test ends, or until the returned stop is called.
func startServer(t *testing.T, lis net.Listener, withHealth bool, opts ...grpc.ServerOption) (string, func()) {
	t.Helper()
	if lis == nil {
		lis = probetest.Listen(t)
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

func spec(addr string, o *target.GRPCOptions) target.Spec {
	return target.Spec{ID: "t", Kind: target.KindGRPC, Address: addr, GRPC: o}
}

func TestProbe(t *testing.T) {
	plain, _ := startServer(t, nil, true)
	noHealth, _ := startServer(t, nil, false)
	pair := testcert.New(t, 30*24*time.Hour)
	secure, _ := startServer(t, nil, true, grpc.Creds(credentials.NewServerTLSFromCert(&pair.Cert)))
	serving := func(s string) probe.Details { return probe.Details{Serving: s} }
	trusted := probe.Options{RootCAs: pair.Pool}
	probetest.Run(t, New, []probetest.Case{
		{Name: "server serving", Spec: spec(plain, nil), OK: true, Msg: "SERVING", Details: serving("SERVING")},
		{Name: "service serving", Spec: spec(plain, &target.GRPCOptions{Service: "db"}), OK: true, Msg: "SERVING", Details: serving("SERVING")},
		{Name: "not serving", Spec: spec(plain, &target.GRPCOptions{Service: "cache"}), Msg: `service "cache" is NOT_SERVING`, Details: serving("NOT_SERVING")},
		{Name: "unknown status", Spec: spec(plain, &target.GRPCOptions{Service: "warming"}), Msg: `service "warming" is UNKNOWN`, Details: serving("UNKNOWN")},
		{Name: "service unknown", Spec: spec(plain, &target.GRPCOptions{Service: "nope"}), Msg: `service "nope" is SERVICE_UNKNOWN to the server`, Details: serving("SERVICE_UNKNOWN")},
		{Name: "no health service", Spec: spec(noHealth, nil), Msg: "server does not implement grpc.health.v1"},
		{Name: "refused", Spec: spec(probetest.ClosedAddr(t), nil), Msg: "connect: connection refused"},
		{Name: "silent", Spec: spec(probetest.Silent(t), nil), Msg: "timed out after 300ms", Timeout: 300 * time.Millisecond},
		{Name: "tls verified", Spec: spec(secure, &target.GRPCOptions{TLS: true}), Options: trusted, OK: true, Msg: "SERVING"},
		{Name: "tls server name", Spec: spec(secure, &target.GRPCOptions{TLS: true, ServerName: "example.test", Service: "db"}), Options: trusted, OK: true, Msg: "SERVING"},
		{Name: "tls insecure", Spec: spec(secure, &target.GRPCOptions{TLS: true, InsecureSkipVerify: true}), OK: true, Msg: "SERVING"},
		{Name: "tls untrusted", Spec: spec(secure, &target.GRPCOptions{TLS: true}), Msg: "unavailable: authentication handshake failed: tls: failed to verify certificate: x509: certificate signed by unknown authority"},
		{Name: "plaintext to tls", Spec: spec(secure, nil), Msg: "unavailable: *"},
	})
}

// TestRecovery stops the server, sees the probe fail, starts it again on
// the same port and expects the next probes to recover promptly, without
// waiting out a long reconnect backoff.
func TestRecovery(t *testing.T) {
	addr, stop := startServer(t, nil, true)
	p := probetest.New(t, New, spec(addr, nil), probe.Options{})
	if res := probetest.Probe(p, 5*time.Second); !res.OK {
		t.Fatalf("first probe: %+v", res)
	}
	stop()
	for i := 0; i < 3; i++ {
		if res := probetest.Probe(p, time.Second); res.OK {
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
		res := probetest.Probe(p, time.Second)
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
	p := probetest.New(t, New, spec(addr, nil), probe.Options{Guard: g})
	res := probetest.Probe(p, 2*time.Second)
	probetest.CheckResult(t, res, false, "refused to connect to 127.0.0.1: in denied network 127.0.0.1/32 (probe.deny_networks)")
}

func TestNewRejectsBadAddress(t *testing.T) {
	probetest.NewFails(t, New, spec("nohost", nil), `address: "nohost" is not host:port`)
}
