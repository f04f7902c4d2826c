package tlsprobe

import (
	"context"
	"crypto/tls"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/probe"
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
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
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
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				_ = c.(*tls.Conn).Handshake()
				var b [1]byte
				_, _ = c.Read(b[:])
			}()
		}
	}()
	return ln.Addr().String(), snis
}

// silentServer accepts connections and never answers.
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
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
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

func TestProbe(t *testing.T) {
	pair := testcert.New(t, 3*24*time.Hour+time.Hour)
	addr, snis := tlsServer(t, pair)
	expired := testcert.New(t, -2*24*time.Hour-time.Hour)
	expiredAddr, _ := tlsServer(t, expired)
	silent := silentServer(t)
	trusted := probe.Options{RootCAs: pair.Pool}
	tests := []struct {
		name    string
		addr    string
		opts    *target.TLSOptions
		po      probe.Options
		ok      bool
		msg     string
		timeout time.Duration
	}{
		{name: "verified", addr: addr, po: trusted, ok: true, msg: "TLS 1.3, certificate expires in 3 days"},
		{name: "untrusted", addr: addr, msg: "TLS: certificate signed by unknown authority"},
		{name: "insecure", addr: addr, opts: &target.TLSOptions{InsecureSkipVerify: true}, ok: true, msg: "TLS 1.3, certificate expires in 3 days"},
		{name: "server name", addr: addr, opts: &target.TLSOptions{ServerName: "example.test"}, po: trusted, ok: true, msg: "TLS 1.3, certificate expires in 3 days"},
		{name: "wrong server name", addr: addr, opts: &target.TLSOptions{ServerName: "other.test"}, po: trusted, msg: "TLS: x509: certificate is valid for localhost, example.test, not other.test"},
		{name: "cert min days met", addr: addr, opts: &target.TLSOptions{CertMinDays: 3}, po: trusted, ok: true, msg: "TLS 1.3, certificate expires in 3 days"},
		{name: "cert min days", addr: addr, opts: &target.TLSOptions{CertMinDays: 14}, po: trusted, msg: "certificate expires in 3 days, minimum 14"},
		{name: "expired verified", addr: expiredAddr, po: probe.Options{RootCAs: expired.Pool}, msg: "TLS: x509: certificate has expired or is not yet valid*"},
		{name: "expired insecure", addr: expiredAddr, opts: &target.TLSOptions{InsecureSkipVerify: true}, msg: "certificate expired 2 days ago"},
		{name: "no handshake", addr: silent, po: trusted, msg: "timed out after 200ms", timeout: 200 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := target.Spec{ID: "t", Kind: target.KindTLS, Address: tt.addr, TLS: tt.opts}.WithDefaults()
			if errs := s.Validate(); len(errs) > 0 {
				t.Fatal(errs)
			}
			p, err := New(s, tt.po)
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
			if res.OK && (res.Details.TLSVersion != "TLS 1.3" || res.Details.CertDaysLeft != 3 ||
				!res.Details.CertExpiry.Equal(pair.Leaf.NotAfter) || res.Details.RemoteAddr != tt.addr) {
				t.Errorf("details = %+v", res.Details)
			}
		})
	}
	if _, ok := snis.Load("example.test"); !ok {
		t.Error("server_name was not sent as SNI")
	}
}

func TestGuard(t *testing.T) {
	g, _ := probe.NewGuard([]string{"127.0.0.1/32"})
	p, _ := New(target.Spec{ID: "t", Kind: target.KindTLS, Address: "127.0.0.1:443"}.WithDefaults(), probe.Options{Guard: g})
	res := p.Probe(context.Background())
	if res.OK || res.Message != "refused to connect to 127.0.0.1: in denied network 127.0.0.1/32 (probe.deny_networks)" {
		t.Fatalf("%+v", res)
	}
}
