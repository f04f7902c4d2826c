package kinds

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/probe"
	"github.com/heckhq/heck/internal/probe/dnsprobe"
	"github.com/heckhq/heck/internal/probe/grpcprobe"
	"github.com/heckhq/heck/internal/probe/httpprobe"
	"github.com/heckhq/heck/internal/probe/icmpprobe"
	"github.com/heckhq/heck/internal/probe/internal/probetest"
	"github.com/heckhq/heck/internal/probe/pgprobe"
	"github.com/heckhq/heck/internal/probe/redisprobe"
	"github.com/heckhq/heck/internal/probe/tcpprobe"
	"github.com/heckhq/heck/internal/probe/tlsprobe"
	"github.com/heckhq/heck/internal/target"
)

func TestParseArg(t *testing.T) {
	tests := []struct {
		arg  string
		want target.Spec
		err  string
	}{
		{arg: "http://127.0.0.1:8080/healthz", want: target.Spec{Kind: target.KindHTTP, URL: "http://127.0.0.1:8080/healthz"}},
		{arg: " https://localhost/ ", want: target.Spec{Kind: target.KindHTTP, URL: "https://localhost/"}},
		{arg: "127.0.0.1:5432", want: target.Spec{Kind: target.KindTCP, Address: "127.0.0.1:5432"}},
		{arg: "[::1]:6379", want: target.Spec{Kind: target.KindTCP, Address: "[::1]:6379"}},
		{arg: "tcp://localhost:22", want: target.Spec{Kind: target.KindTCP, Address: "localhost:22"}},
		{arg: "tls://127.0.0.1:443", want: target.Spec{Kind: target.KindTLS, Address: "127.0.0.1:443"}},
		{arg: "grpc://127.0.0.1:50051", want: target.Spec{Kind: target.KindGRPC, Address: "127.0.0.1:50051"}},
		{arg: "grpc://127.0.0.1:50051/my.Service", want: target.Spec{Kind: target.KindGRPC, Address: "127.0.0.1:50051", GRPC: &target.GRPCOptions{Service: "my.Service"}}},
		{arg: "grpcs://127.0.0.1:50051", want: target.Spec{Kind: target.KindGRPC, Address: "127.0.0.1:50051", GRPC: &target.GRPCOptions{TLS: true}}},
		{arg: "dns://127.0.0.1:5353/example.org", want: target.Spec{Kind: target.KindDNS, Address: "127.0.0.1:5353", DNS: &target.DNSOptions{Name: "example.org"}}},
		{arg: "dns://127.0.0.1/example.org?type=aaaa&transport=tcp&rcode=nxdomain&expect=::1", want: target.Spec{Kind: target.KindDNS, Address: "127.0.0.1:53",
			DNS: &target.DNSOptions{Name: "example.org", Type: "AAAA", Transport: "tcp", Rcode: "NXDOMAIN", ExpectAnswers: []string{"::1"}}}},
		{arg: "icmp://127.0.0.1", want: target.Spec{Kind: target.KindICMP, Address: "127.0.0.1"}},
		{arg: "icmp://[::1]", want: target.Spec{Kind: target.KindICMP, Address: "::1"}},
		{arg: "", err: "no target given; write http://"},
		{arg: "127.0.0.1", err: `"127.0.0.1" is not a URL or host:port; write http://`},
		{arg: "ftp://127.0.0.1/", err: `"ftp://127.0.0.1/": unknown scheme "ftp"`},
		{arg: "tcp://127.0.0.1", err: `address: "127.0.0.1" is not host:port`},
		{arg: "tcp://127.0.0.1:99999", err: `has no valid port`},
		{arg: "tcp://127.0.0.1:80/path", err: "a tcp target takes no path or query"},
		{arg: "dns://127.0.0.1:53", err: "names nothing to query"},
		{arg: "dns://127.0.0.1/x.org?type=BOGUS", err: `dns.type: "BOGUS" is not a supported record type`},
		{arg: "dns://127.0.0.1/x.org?color=red", err: `unknown query parameter "color"`},
		{arg: "icmp://127.0.0.1:7", err: "an icmp target has no port"},
		{arg: "http://", err: "url"},
		{arg: "grpc://", err: "names no host"},
	}
	for _, tt := range tests {
		t.Run(tt.arg, func(t *testing.T) {
			got, err := ParseArg(tt.arg)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseArg(%q) error = %v, want %q", tt.arg, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseArg(%q): %v", tt.arg, err)
			}
			tt.want.ID = CheckID
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseArg(%q) = %+v, want %+v", tt.arg, got, tt.want)
			}
		})
	}
}

func TestNewDispatches(t *testing.T) {
	tests := []struct {
		arg  string
		want any
	}{
		{"http://127.0.0.1:1/", &httpprobe.Prober{}},
		{"127.0.0.1:1", &tcpprobe.Prober{}},
		{"tls://127.0.0.1:1", &tlsprobe.Prober{}},
		{"grpc://127.0.0.1:1", &grpcprobe.Prober{}},
		{"dns://127.0.0.1:1/x.test", &dnsprobe.Prober{}},
		{"icmp://127.0.0.1", &icmpprobe.Prober{}},
	}
	for _, tt := range tests {
		spec, err := ParseArg(tt.arg)
		if err != nil {
			t.Fatal(err)
		}
		p, err := New(spec.WithDefaults(), probe.Options{})
		if err != nil {
			t.Fatalf("New(%s): %v", tt.arg, err)
		}
		if reflect.TypeOf(p) != reflect.TypeOf(tt.want) {
			t.Errorf("New(%s) = %T, want %T", tt.arg, p, tt.want)
		}
		if c, ok := p.(probe.Closer); ok {
			if err := c.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		}
	}
}

// TestNewDatastores: the kinds without a heck check URL, from their specs,
// credentials expanded from the environment first (as the node does).
func TestNewDatastores(t *testing.T) {
	t.Setenv("HECK_KINDS_TEST_PW", "hunter2")
	deny, _ := probe.NewGuard([]string{"127.0.0.0/8"})
	tests := []struct {
		spec target.Spec
		want any
		msg  string
	}{
		{target.Spec{ID: "db", Kind: target.KindPostgres, Address: "127.0.0.1:1",
			Postgres: &target.PostgresOptions{Password: "${HECK_KINDS_TEST_PW}"}}, &pgprobe.Prober{}, "connect: refused to connect to 127.0.0.1"},
		{target.Spec{ID: "cache", Kind: target.KindRedis, Address: "127.0.0.1:1",
			Redis: &target.RedisOptions{Password: "${HECK_KINDS_TEST_PW}", Key: "heck:health"}}, &redisprobe.Prober{}, "PING: refused to connect to 127.0.0.1"},
	}
	for _, tt := range tests {
		if errs := tt.spec.Validate(); len(errs) > 0 {
			t.Fatal(errs)
		}
		spec, err := tt.spec.WithDefaults().Expand(nil)
		if err != nil {
			t.Fatal(err)
		}
		p, err := New(spec, probe.Options{Guard: deny})
		if err != nil {
			t.Fatalf("New(%s): %v", tt.spec.Kind, err)
		}
		if reflect.TypeOf(p) != reflect.TypeOf(tt.want) {
			t.Errorf("New(%s) = %T, want %T", tt.spec.Kind, p, tt.want)
		}
		// The guard applies: nothing is dialed.
		if res := probetest.Probe(p, time.Second); res.OK || !strings.HasPrefix(res.Message, tt.msg) {
			t.Errorf("%s: %+v, want a refusal by the guard", tt.spec.Kind, res)
		}
	}
	if _, err := New(target.Spec{ID: "db", Kind: target.KindPostgres, Address: "nope"}, probe.Options{}); err == nil ||
		!strings.Contains(err.Error(), `target db: address: "nope" is not host:port`) {
		t.Errorf("bad postgres address: %v", err)
	}
}

func TestNewErrors(t *testing.T) {
	_, err := New(target.Spec{ID: "x", Kind: "smtp"}, probe.Options{})
	if err == nil || !strings.Contains(err.Error(), `target x: kind "smtp" is not a known kind; set kind to one of http, tcp`) {
		t.Fatalf("err = %v", err)
	}
	p, err := New(target.Spec{ID: "y", Kind: target.KindDNS, Address: "127.0.0.1:53"}, probe.Options{})
	if err == nil || p != nil || !strings.Contains(err.Error(), "target y: dns.name: is missing") {
		t.Fatalf("p, err = %v, %v; want a nil prober and the missing name", p, err)
	}
}

// TestCheckEndToEnd runs what `heck check` runs against loopback servers.
func TestCheckEndToEnd(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer srv.Close()
	addr := probetest.Serve(t, func(net.Conn) {})
	for _, arg := range []string{srv.URL + "/", addr, "tcp://" + addr} {
		spec, err := ParseArg(arg)
		if err != nil {
			t.Fatal(err)
		}
		g, _ := probe.NewGuard(probe.DefaultDenyNetworks)
		p, err := New(spec.WithDefaults(), probe.Options{Guard: g})
		if err != nil {
			t.Fatal(err)
		}
		if res := probetest.Probe(p, 5*time.Second); !res.OK {
			t.Errorf("%s: %+v", arg, res)
		}
	}
}
