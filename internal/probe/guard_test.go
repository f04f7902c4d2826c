package probe

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

func TestNewGuard(t *testing.T) {
	tests := []struct {
		name    string
		deny    []string
		wantErr string
	}{
		{"defaults", DefaultDenyNetworks, ""},
		{"single address", []string{"10.1.2.3"}, ""},
		{"ipv6 single", []string{"fd00::1"}, ""},
		{"empty list", nil, ""},
		{"bad cidr", []string{"169.254.0.0/16", "169.254.0.0/40"}, `probe.deny_networks[1]: "169.254.0.0/40" is not a network; write a CIDR`},
		{"hostname", []string{"metadata.google.internal"}, `probe.deny_networks[0]: "metadata.google.internal" is not a network`},
		{"empty entry", []string{""}, `probe.deny_networks[0]: "" is not a network`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := NewGuard(tt.deny)
			if tt.wantErr == "" {
				if err != nil || g == nil {
					t.Fatalf("NewGuard(%q) = %v, %v; want a guard", tt.deny, g, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("NewGuard(%q) error = %v; want %q", tt.deny, err, tt.wantErr)
			}
		})
	}
}

func TestGuardAllowed(t *testing.T) {
	g, err := NewGuard(append([]string{"10.0.0.0/8", "127.0.0.2"}, DefaultDenyNetworks...))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		ip      string
		network string // "" when allowed
	}{
		{"127.0.0.1", ""},
		{"::1", ""},
		{"127.0.0.2", "127.0.0.2/32"},
		{"169.254.169.254", "169.254.0.0/16"},
		{"::ffff:169.254.169.254", "169.254.0.0/16"},
		{"fe80::1%eth0", "fe80::/10"},
		{"fe80::abcd", "fe80::/10"},
		{"fd00:ec2::254", "fd00:ec2::254/128"},
		{"fd00:ec2::253", ""},
		{"100.100.100.200", "100.100.100.200/32"},
		{"100.100.100.201", ""},
		{"10.200.3.4", "10.0.0.0/8"},
		{"11.0.0.1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.ip, func(t *testing.T) {
			err := g.Allowed(netip.MustParseAddr(tt.ip))
			if tt.network == "" {
				if err != nil {
					t.Fatalf("Allowed(%s) = %v, want nil", tt.ip, err)
				}
				return
			}
			de, ok := IsDenied(err)
			if !ok || de.Network.String() != tt.network {
				t.Fatalf("Allowed(%s) = %v, want refusal in %s", tt.ip, err, tt.network)
			}
			if !strings.Contains(err.Error(), "in denied network "+tt.network+" (probe.deny_networks)") {
				t.Fatalf("message %q does not name the network", err)
			}
		})
	}
	var nilGuard *Guard
	if err := nilGuard.Allowed(netip.MustParseAddr("169.254.169.254")); err != nil {
		t.Fatalf("nil guard refused: %v", err)
	}
	if nilGuard.ControlFunc() != nil {
		t.Fatal("nil guard has a control func")
	}
	if err := nilGuard.Control("tcp", "169.254.169.254:80", nil); err != nil {
		t.Fatalf("nil guard Control refused: %v", err)
	}
}

func TestGuardControlUnreadableAddress(t *testing.T) {
	g, _ := NewGuard(DefaultDenyNetworks)
	if err := g.Control("tcp", "not-an-ip:80", nil); err == nil {
		t.Fatal("Control accepted an address it cannot read")
	}
	if err := g.Control("unix", "/run/x.sock", nil); err != nil {
		t.Fatalf("Control refused a unix socket: %v", err)
	}
}

// lineListener starts a listener on addr and returns it with a channel that
// receives the first line each accepted connection sends.
func lineListener(t *testing.T, addr string) (net.Listener, <-chan string) {
	t.Helper()
	ln, err := net.Listen("tcp4", addr)
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	t.Cleanup(func() { ln.Close() })
	lines := make(chan string, 8)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b, _ := io.ReadAll(io.LimitReader(c, 64))
			c.Close()
			lines <- string(b)
		}
	}()
	return ln, lines
}

// startResolver serves A records for names under .test. from answers.
func startResolver(t *testing.T, answers map[string]string) string {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		q := r.Question[0]
		if ip, ok := answers[strings.ToLower(q.Name)]; ok && q.Qtype == dns.TypeA {
			m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.ParseIP(ip)})
		} else if !ok {
			m.Rcode = dns.RcodeNameError
		}
		_ = w.WriteMsg(m)
	})}
	go func() { _ = srv.ActivateAndServe() }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return pc.LocalAddr().String()
}

// TestGuardRefusesBeforeConnect dials a denied loopback address, directly
// and through a host name resolving to it, then an allowed one to the same
// listener: the first connection the listener sees must be the allowed one,
// which proves the refused dials never reached it.
func TestGuardRefusesBeforeConnect(t *testing.T) {
	ln, lines := lineListener(t, "127.0.0.2:0")
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	resolver := startResolver(t, map[string]string{"denied.test.": "127.0.0.2"})

	g, err := NewGuard([]string{"127.0.0.2/32"})
	if err != nil {
		t.Fatal(err)
	}
	d := g.Dialer(2 * time.Second)
	d.Resolver = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var nd net.Dialer
		return nd.DialContext(ctx, "udp4", resolver)
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	for _, addr := range []string{"127.0.0.2:" + port, "denied.test:" + port} {
		c, err := d.DialContext(ctx, "tcp4", addr)
		if err == nil {
			c.Close()
			t.Fatalf("dial %s succeeded through a guard denying 127.0.0.2/32", addr)
		}
		de, ok := IsDenied(err)
		if !ok {
			t.Fatalf("dial %s: %v; want a refusal", addr, err)
		}
		want := "refused to connect to 127.0.0.2: in denied network 127.0.0.2/32 (probe.deny_networks)"
		if de.Error() != want {
			t.Fatalf("refusal = %q, want %q", de.Error(), want)
		}
	}

	var open net.Dialer
	c, err := open.DialContext(ctx, "tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	_, _ = c.Write([]byte("allowed"))
	c.Close()
	select {
	case got := <-lines:
		if got != "allowed" {
			t.Fatalf("first connection the listener saw sent %q; a refused dial reached it", got)
		}
	case <-ctx.Done():
		t.Fatal("listener saw no connection")
	}
}

// TestGuardRefusesRedirect follows a redirect from an allowed loopback
// server to the metadata address with a plain http.Client dialing through
// the guard: the redirect's connection is refused before it is made.
func TestGuardRefusesRedirect(t *testing.T) {
	srv := httptest.NewServer(http.RedirectHandler("http://169.254.169.254/latest/meta-data/", http.StatusFound))
	defer srv.Close()
	g, _ := NewGuard(DefaultDenyNetworks)
	client := &http.Client{Transport: &http.Transport{DialContext: g.Dialer(time.Second).DialContext, Proxy: nil}}
	resp, err := client.Get(srv.URL)
	if err == nil {
		resp.Body.Close()
		t.Fatal("redirect to 169.254.169.254 was followed")
	}
	if !errors.As(err, new(*DeniedError)) {
		t.Fatalf("error %v is not a refusal", err)
	}
	msg := DescribeError(err, time.Second)
	if msg != "refused to connect to 169.254.169.254: in denied network 169.254.0.0/16 (probe.deny_networks)" {
		t.Fatalf("message = %q", msg)
	}
}
