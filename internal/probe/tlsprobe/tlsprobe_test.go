package tlsprobe

import (
	"context"
	"crypto/tls"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/probe"
	"github.com/heckhq/heck/internal/probe/internal/probetest"
	"github.com/heckhq/heck/internal/probe/internal/testcert"
	"github.com/heckhq/heck/internal/target"
)

// tlsServer accepts TLS connections with cert and completes handshakes
// until the test ends; it records the server names asked for.
func tlsServer(t *testing.T, pair *testcert.Pair) (string, *sync.Map) {
	t.Helper()
	snis := &sync.Map{}
	cfg := &tls.Config{Certificates: []tls.Certificate{pair.Cert}, GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		snis.Store(h.ServerName, true)
		return nil, nil
	}}
	addr := probetest.Serve(t, func(c net.Conn) {
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		tc := tls.Server(c, cfg)
		_ = tc.Handshake()
		var b [1]byte
		_, _ = tc.Read(b[:])
	})
	return addr, snis
}

func spec(addr string, o *target.TLSOptions) target.Spec {
	return target.Spec{ID: "t", Kind: target.KindTLS, Address: addr, TLS: o}
}

func TestProbe(t *testing.T) {
	pair := testcert.New(t, 3*24*time.Hour+time.Hour)
	addr, snis := tlsServer(t, pair)
	expired := testcert.New(t, -2*24*time.Hour-time.Hour)
	expiredAddr, _ := tlsServer(t, expired)
	silent := probetest.Silent(t)
	trusted := probe.Options{RootCAs: pair.Pool}
	probetest.Run(t, New, []probetest.Case{
		{Name: "verified", Spec: spec(addr, nil), Options: trusted, OK: true, Msg: "TLS 1.3, certificate expires in 3 days"},
		{Name: "untrusted", Spec: spec(addr, nil), Msg: "TLS: certificate signed by unknown authority"},
		{Name: "insecure", Spec: spec(addr, &target.TLSOptions{InsecureSkipVerify: true}), OK: true, Msg: "TLS 1.3, certificate expires in 3 days"},
		{Name: "server name", Spec: spec(addr, &target.TLSOptions{ServerName: "example.test"}), Options: trusted, OK: true, Msg: "TLS 1.3, certificate expires in 3 days"},
		{Name: "wrong server name", Spec: spec(addr, &target.TLSOptions{ServerName: "other.test"}), Options: trusted, Msg: "TLS: x509: certificate is valid for localhost, example.test, not other.test"},
		{Name: "cert min days met", Spec: spec(addr, &target.TLSOptions{CertMinDays: 3}), Options: trusted, OK: true, Msg: "TLS 1.3, certificate expires in 3 days"},
		{Name: "cert min days", Spec: spec(addr, &target.TLSOptions{CertMinDays: 14}), Options: trusted, Msg: "certificate expires in 3 days, minimum 14"},
		{Name: "expired verified", Spec: spec(expiredAddr, nil), Options: probe.Options{RootCAs: expired.Pool}, Msg: "TLS: x509: certificate has expired or is not yet valid*"},
		{Name: "expired insecure", Spec: spec(expiredAddr, &target.TLSOptions{InsecureSkipVerify: true}), Msg: "certificate expired 2 days ago"},
		{Name: "no handshake", Spec: spec(silent, nil), Options: trusted, Msg: "timed out after 200ms", Timeout: 200 * time.Millisecond},
	}, func(t *testing.T, c probetest.Case, res probe.Result) {
		if res.OK {
			probetest.CheckDetails(t, res.Details, probe.Details{TLSVersion: "TLS 1.3", CertDaysLeft: 3, CertExpiry: pair.Leaf.NotAfter, RemoteAddr: c.Spec.Address})
		}
	})
	if _, ok := snis.Load("example.test"); !ok {
		t.Error("server_name was not sent as SNI")
	}
}

func TestGuard(t *testing.T) {
	g, _ := probe.NewGuard([]string{"127.0.0.1/32"})
	p := probetest.New(t, New, spec("127.0.0.1:443", nil), probe.Options{Guard: g})
	res := p.Probe(context.Background())
	probetest.CheckResult(t, res, false, "refused to connect to 127.0.0.1: in denied network 127.0.0.1/32 (probe.deny_networks)")
}
