package dnsserver

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/heckhq/heck/internal/testkit"
)

// needDig returns the path of dig (see testkit.NeedBinary).
func needDig(t *testing.T) string {
	t.Helper()
	return testkit.NeedBinary(t, "dig", "apt-get install dnsutils")
}

func TestDig(t *testing.T) {
	dig := needDig(t)
	addr := start(t, newServer(t, Options{}))
	bigAddr := start(t, newServer(t, Options{MaxAnswers: 100}))
	run := func(t *testing.T, addr string, args ...string) []string {
		t.Helper()
		host, port, _ := net.SplitHostPort(addr)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		args = append([]string{"@" + host, "-p", port, "+time=2", "+tries=1"}, args...)
		out, err := exec.CommandContext(ctx, dig, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("dig %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		slices.Sort(lines)
		return lines
	}
	for _, tc := range []struct {
		name     string
		addr     string
		args     []string
		want     []string // sorted output lines; with contains, a substring of the output
		contains bool
	}{
		{"pool A", addr, []string{"web.heck.", "A", "+short"}, []string{"127.0.0.11", "127.0.0.12", "127.0.0.14"}, false},
		{"pool A over TCP", addr, []string{"web.heck.", "A", "+short", "+tcp"}, []string{"127.0.0.11", "127.0.0.12", "127.0.0.14"}, false},
		{"pool SRV", addr, []string{"web.heck.", "SRV", "+short"},
			[]string{"1 1 8080 db.1.web.heck.", "1 1 8080 w1.web.heck.", "1 3 8080 w2.web.heck."}, false},
		{"service SRV", addr, []string{"_http._tcp.web.heck.", "SRV", "+short"},
			[]string{"1 1 8080 db.1.web.heck.", "1 1 8080 w1.web.heck.", "1 3 8080 w2.web.heck."}, false},
		{"SRV additional section", addr, []string{"web.heck.", "SRV", "+noall", "+additional"},
			[]string{"db.1.web.heck.\t\t5\tIN\tA\t127.0.0.14", "w1.web.heck.\t\t5\tIN\tA\t127.0.0.11", "w2.web.heck.\t\t5\tIN\tA\t127.0.0.12"}, false},
		{"pool AAAA", addr, []string{"v6.heck.", "AAAA", "+short"}, []string{"2001:db8::2", "::1"}, false},
		{"target", addr, []string{"solo.heck.", "A", "+short"}, []string{"127.0.3.1"}, false},
		{"NXDOMAIN", addr, []string{"nosuch.heck.", "A"}, []string{"status: NXDOMAIN"}, true},
		{"REFUSED", addr, []string{"example.com.", "A"}, []string{"status: REFUSED"}, true},
		{"NODATA with SOA", addr, []string{"dead.heck.", "A", "+noall", "+comments", "+authority"},
			[]string{"status: NOERROR", "ANSWER: 0", "heck.\t\t\t5\tIN\tSOA\tns.heck. hostmaster.heck."}, true},
		{"truncated UDP retried over TCP", bigAddr, []string{"big.heck.", "A", "+noedns"}, []string{"Truncated, retrying in TCP mode", "ANSWER: 100"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := run(t, tc.addr, tc.args...)
			if tc.contains {
				all := strings.Join(got, "\n")
				for _, w := range tc.want {
					if !strings.Contains(all, w) {
						t.Errorf("dig output lacks %q:\n%s", w, all)
					}
				}
				return
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("dig output\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestGoResolver(t *testing.T) {
	addr := start(t, newServer(t, Options{}))
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	hosts, err := r.LookupHost(ctx, "web.heck.")
	slices.Sort(hosts)
	if want := []string{"127.0.0.11", "127.0.0.12", "127.0.0.14"}; err != nil || !slices.Equal(hosts, want) {
		t.Errorf("LookupHost(web.heck.) = %v, %v; want %v", hosts, err, want)
	}
	hosts, err = r.LookupHost(ctx, "v6.heck.")
	slices.Sort(hosts)
	if want := []string{"127.0.0.20", "2001:db8::2", "::1"}; err != nil || !slices.Equal(hosts, want) {
		t.Errorf("LookupHost(v6.heck.) = %v, %v; want %v", hosts, err, want)
	}

	cname, srvs, err := r.LookupSRV(ctx, "http", "tcp", "web.heck.")
	if err != nil {
		t.Fatalf("LookupSRV: %v", err)
	}
	var got []string
	for _, s := range srvs {
		got = append(got, s.Target+" "+strconv.Itoa(int(s.Port))+" "+strconv.Itoa(int(s.Weight)))
	}
	slices.Sort(got)
	if want := []string{"db.1.web.heck. 8080 1", "w1.web.heck. 8080 1", "w2.web.heck. 8080 3"}; cname != "_http._tcp.web.heck." || !slices.Equal(got, want) {
		t.Errorf("LookupSRV = %q %v; want _http._tcp.web.heck. %v", cname, got, want)
	}
	// The SRV targets resolve.
	if hosts, err := r.LookupHost(ctx, srvs[0].Target); err != nil || len(hosts) != 1 {
		t.Errorf("LookupHost(%s) = %v, %v; want one address", srvs[0].Target, hosts, err)
	}

	for _, name := range []string{"nosuch.heck.", "dead.heck.", "sleepy.heck."} {
		_, err := r.LookupHost(ctx, name)
		var de *net.DNSError
		if !errors.As(err, &de) || !de.IsNotFound {
			t.Errorf("LookupHost(%s) error %v, want not found", name, err)
		}
	}
}

var netipLoopback = netip.MustParseAddr("127.0.0.1")

// BenchmarkQuery measures queries answered per second over loopback UDP
// for a pool of 100 members (capped at the default 8 answers), with one
// client connection per parallel goroutine.
func BenchmarkQuery(b *testing.B) {
	addr := start(b, newServer(b, Options{}))
	q := query("big.heck.", dns.TypeA)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c := &dns.Client{Timeout: 2 * time.Second}
		conn, err := c.Dial(addr)
		if err != nil {
			b.Error(err)
			return
		}
		defer conn.Close()
		for pb.Next() {
			r, _, err := c.ExchangeWithConn(q, conn)
			if err != nil || len(r.Answer) != DefaultMaxAnswers {
				b.Errorf("exchange: %v, %v", r, err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "queries/s")
}

// BenchmarkAnswer measures building one answer in process, without the
// network.
func BenchmarkAnswer(b *testing.B) {
	s := newServer(b, Options{})
	q := query("big.heck.", dns.TypeSRV)
	b.ReportAllocs()
	for b.Loop() {
		s.Answer(q, netipLoopback, false)
	}
}
