package dnsserver

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/pool"
	"github.com/heckhq/heck/internal/target"
)

// fakeSource serves fixed pools and targets.
type fakeSource struct {
	pools   map[string]pool.View
	targets map[string]pool.Member
}

func (f *fakeSource) PoolView(name string) (pool.View, bool) { v, ok := f.pools[name]; return v, ok }
func (f *fakeSource) TargetMember(id string) (pool.Member, bool) {
	m, ok := f.targets[id]
	return m, ok
}

type mem struct {
	id, addr string
	port     int
	weight   int
	state    health.State
}

// view evaluates a pool the way the node does, so that Serving and panic
// are pool's own verdict. threshold < 0 leaves the default (50).
func view(name string, threshold int, ms ...mem) pool.View {
	spec := &pool.Spec{Name: name, Members: map[string]pool.MemberOptions{}}
	if threshold >= 0 {
		spec.PanicThreshold = &threshold
	}
	var in []pool.Input
	for _, m := range ms {
		spec.Targets = append(spec.Targets, m.id)
		spec.Members[m.id] = pool.MemberOptions{Address: m.addr, Port: m.port, Weight: m.weight}
		in = append(in, pool.Input{Spec: &target.Spec{ID: m.id}, State: m.state, ErrorRate: -1})
	}
	return pool.Evaluate(spec, in)
}

func lone(id, addr string, st health.State) pool.Member {
	return pool.Member{ID: id, Address: addr, State: st, Weight: 1, Healthy: pool.Healthy(st)}
}

func testSource() *fakeSource {
	up, down := health.Up, health.Down
	big := make([]mem, 100)
	for i := range big {
		big[i] = mem{id: fmt.Sprintf("b%03d", i), addr: fmt.Sprintf("127.1.%d.%d", i/250, i%250+1), port: 9000, state: up}
	}
	pools := []pool.View{
		view("web", -1,
			mem{"w1", "127.0.0.11", 8080, 1, up}, mem{"w2", "127.0.0.12", 8080, 3, up},
			mem{"w3", "127.0.0.13", 8080, 1, down}, mem{"db.1", "127.0.0.14", 8080, 1, up}),
		view("v6", -1, mem{"a", "::1", 80, 1, up}, mem{"b", "2001:db8::2", 80, 1, up}, mem{"c", "127.0.0.20", 80, 1, up}),
		view("panicky", -1, mem{"p1", "127.0.1.1", 80, 1, up}, mem{"p2", "127.0.1.2", 80, 1, down}, mem{"p3", "127.0.1.3", 80, 1, down}),
		view("dead", 0, mem{"d1", "127.0.1.11", 80, 1, down}, mem{"d2", "127.0.1.12", 80, 1, down}),
		view("empty", -1),
		view("named", -1, mem{"h1", "backend.example.com", 443, 1, up}, mem{"h2", "127.0.2.2", 443, 1, up}),
		view("big", -1, big...),
		view("odd", -1, mem{strings.Repeat("x", 70), "127.0.5.1", 80, 1, up}, mem{"ok", "127.0.5.2", 80, 1, up},
			mem{"noport", "127.0.5.3", 0, 1, up}, mem{"noaddr", "", 80, 1, up}),
		view("weighted", -1, mem{"heavy", "127.0.4.1", 80, 256, up}, mem{"light", "127.0.4.2", 80, 1, up}),
	}
	f := &fakeSource{pools: map[string]pool.View{}, targets: map[string]pool.Member{}}
	for _, v := range pools {
		f.pools[v.Name] = v
	}
	for _, m := range []pool.Member{
		lone("solo", "127.0.3.1", up), lone("sleepy", "127.0.3.2", down),
		lone("deg", "127.0.3.3", health.Degraded), lone("db.main", "127.0.3.4", up),
		lone("ext", "svc.example.net", up), lone("Mixed", "127.0.3.5", up),
	} {
		f.targets[m.ID] = m
	}
	return f
}

// start serves s on a loopback UDP and TCP port until the test ends and
// returns the address.
func start(t testing.TB, s *Server) string {
	t.Helper()
	var pc net.PacketConn
	var ln net.Listener
	for attempt := 0; ; attempt++ {
		var err error
		pc, err = net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ln, err = net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			break
		}
		pc.Close()
		if attempt == 10 {
			t.Fatalf("no port free for both udp and tcp: %v", err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, pc, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve returned %v after cancel, want nil", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return after cancel")
		}
	})
	addr := pc.LocalAddr().String()
	waitReady(t, addr, "udp")
	waitReady(t, addr, "tcp")
	return addr
}

func waitReady(t testing.TB, addr, network string) {
	t.Helper()
	c := &dns.Client{Net: network, Timeout: 200 * time.Millisecond}
	q := new(dns.Msg).SetQuestion("heck.", dns.TypeSOA)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, _, err := c.Exchange(q, addr); err == nil {
			return
		} else if time.Now().After(deadline) {
			t.Fatalf("server on %s %s not answering: %v", network, addr, err)
		}
	}
}

func newServer(t testing.TB, opts Options) *Server {
	t.Helper()
	s, err := New(testSource(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// rrs renders records as "TYPE rdata" (or "name TYPE rdata" withName),
// sorted.
func rrs(list []dns.RR, withName bool) []string {
	var out []string
	for _, rr := range list {
		if rr.Header().Rrtype == dns.TypeOPT {
			continue
		}
		f := strings.SplitN(rr.String(), "\t", 5)
		s := f[3] + " " + f[4]
		if withName {
			s = f[0] + " " + s
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

func exchange(t *testing.T, addr, network, name string, qtype uint16, edns uint16) *dns.Msg {
	t.Helper()
	q := new(dns.Msg).SetQuestion(name, qtype)
	if edns > 0 {
		q.SetEdns0(edns, false)
	}
	c := &dns.Client{Net: network, Timeout: 2 * time.Second}
	r, _, err := c.Exchange(q, addr)
	if err != nil {
		t.Fatalf("%s %s over %s: %v", name, dns.TypeToString[qtype], network, err)
	}
	return r
}

func TestQueries(t *testing.T) {
	s := newServer(t, Options{})
	addr := start(t, s)
	const (
		noerr = dns.RcodeSuccess
		nx    = dns.RcodeNameError
	)
	cases := []struct {
		name   string
		qname  string
		qtype  uint16
		rcode  int
		answer []string
		extra  []string // names and records, sorted
		soa    bool     // SOA expected in authority
	}{
		{"pool A", "web.heck.", dns.TypeA, noerr, []string{"A 127.0.0.11", "A 127.0.0.12", "A 127.0.0.14"}, nil, false},
		{"pool A case-insensitive", "WeB.HECK.", dns.TypeA, noerr, []string{"A 127.0.0.11", "A 127.0.0.12", "A 127.0.0.14"}, nil, false},
		{"pool AAAA", "v6.heck.", dns.TypeAAAA, noerr, []string{"AAAA 2001:db8::2", "AAAA ::1"}, nil, false},
		{"pool A of mixed families", "v6.heck.", dns.TypeA, noerr, []string{"A 127.0.0.20"}, nil, false},
		{"pool SRV with additional", "web.heck.", dns.TypeSRV, noerr,
			[]string{"SRV 1 1 8080 db.1.web.heck.", "SRV 1 1 8080 w1.web.heck.", "SRV 1 3 8080 w2.web.heck."},
			[]string{"db.1.web.heck. A 127.0.0.14", "w1.web.heck. A 127.0.0.11", "w2.web.heck. A 127.0.0.12"}, false},
		{"service SRV", "_http._tcp.web.heck.", dns.TypeSRV, noerr,
			[]string{"SRV 1 1 8080 db.1.web.heck.", "SRV 1 1 8080 w1.web.heck.", "SRV 1 3 8080 w2.web.heck."},
			[]string{"db.1.web.heck. A 127.0.0.14", "w1.web.heck. A 127.0.0.11", "w2.web.heck. A 127.0.0.12"}, false},
		{"SRV of IPv6 members", "v6.heck.", dns.TypeSRV, noerr,
			[]string{"SRV 1 1 80 a.v6.heck.", "SRV 1 1 80 b.v6.heck.", "SRV 1 1 80 c.v6.heck."},
			[]string{"a.v6.heck. AAAA ::1", "b.v6.heck. AAAA 2001:db8::2", "c.v6.heck. A 127.0.0.20"}, false},
		{"service A is NODATA", "_http._tcp.web.heck.", dns.TypeA, noerr, nil, nil, true},
		{"_tcp under a pool is NODATA", "_tcp.web.heck.", dns.TypeSRV, noerr, nil, nil, true},
		{"udp service is unknown", "_dns._udp.web.heck.", dns.TypeSRV, nx, nil, nil, true},
		{"member A", "w1.web.heck.", dns.TypeA, noerr, []string{"A 127.0.0.11"}, nil, false},
		{"member A case-insensitive", "W1.Web.heck.", dns.TypeA, noerr, []string{"A 127.0.0.11"}, nil, false},
		{"dotted member A", "db.1.web.heck.", dns.TypeA, noerr, []string{"A 127.0.0.14"}, nil, false},
		{"member not serving is NODATA", "w3.web.heck.", dns.TypeA, noerr, nil, nil, true},
		{"member AAAA of an IPv4 member is NODATA", "w1.web.heck.", dns.TypeAAAA, noerr, nil, nil, true},
		{"unknown member is NXDOMAIN", "w9.web.heck.", dns.TypeA, nx, nil, nil, true},
		{"target up", "solo.heck.", dns.TypeA, noerr, []string{"A 127.0.3.1"}, nil, false},
		{"target degraded", "deg.heck.", dns.TypeA, noerr, []string{"A 127.0.3.3"}, nil, false},
		{"target down is NODATA", "sleepy.heck.", dns.TypeA, noerr, nil, nil, true},
		{"dotted target", "db.main.heck.", dns.TypeA, noerr, []string{"A 127.0.3.4"}, nil, false},
		{"target case-insensitive", "SOLO.heck.", dns.TypeA, noerr, []string{"A 127.0.3.1"}, nil, false},
		{"upper-case target id asked exactly", "Mixed.heck.", dns.TypeA, noerr, []string{"A 127.0.3.5"}, nil, false},
		{"target with host name is a CNAME", "ext.heck.", dns.TypeA, noerr, []string{"CNAME svc.example.net."}, nil, false},
		{"unknown name is NXDOMAIN", "nosuch.heck.", dns.TypeA, nx, nil, nil, true},
		{"unknown deep name is NXDOMAIN", "a.b.c.heck.", dns.TypeA, nx, nil, nil, true},
		{"panic fails open", "panicky.heck.", dns.TypeA, noerr, []string{"A 127.0.1.1", "A 127.0.1.2", "A 127.0.1.3"}, nil, false},
		{"all down, panic off: NODATA", "dead.heck.", dns.TypeA, noerr, nil, nil, true},
		{"all down SRV: NODATA", "dead.heck.", dns.TypeSRV, noerr, nil, nil, true},
		{"empty pool: NODATA", "empty.heck.", dns.TypeA, noerr, nil, nil, true},
		{"other type: NODATA", "web.heck.", dns.TypeTXT, noerr, nil, nil, true},
		{"host-name member left out of A", "named.heck.", dns.TypeA, noerr, []string{"A 127.0.2.2"}, nil, false},
		{"host-name member SRV names the host", "named.heck.", dns.TypeSRV, noerr,
			[]string{"SRV 1 1 443 backend.example.com.", "SRV 1 1 443 h2.named.heck."},
			[]string{"h2.named.heck. A 127.0.2.2"}, false},
		{"host-name member is a CNAME", "h1.named.heck.", dns.TypeA, noerr, []string{"CNAME backend.example.com."}, nil, false},
		{"odd members all in A", "odd.heck.", dns.TypeA, noerr, []string{"A 127.0.5.1", "A 127.0.5.2", "A 127.0.5.3"}, nil, false},
		{"SRV leaves out bad names, no port, no address", "odd.heck.", dns.TypeSRV, noerr,
			[]string{"SRV 1 1 80 ok.odd.heck."}, []string{"ok.odd.heck. A 127.0.5.2"}, false},
		{"ANY gives the addresses", "v6.heck.", dns.TypeANY, noerr, []string{"A 127.0.0.20", "AAAA 2001:db8::2", "AAAA ::1"}, nil, false},
		{"apex SOA", "heck.", dns.TypeSOA, noerr,
			[]string{fmt.Sprintf("SOA ns.heck. hostmaster.heck. %d 3600 600 86400 5", s.serial)}, nil, false},
		{"apex NS", "heck.", dns.TypeNS, noerr, []string{"NS ns.heck."}, []string{"ns.heck. A 127.0.0.1"}, false},
		{"apex A is NODATA", "heck.", dns.TypeA, noerr, nil, nil, true},
		{"ns host is the address asked on", "ns.heck.", dns.TypeA, noerr, []string{"A 127.0.0.1"}, nil, false},
		{"outside the zone is REFUSED", "example.com.", dns.TypeA, dns.RcodeRefused, nil, nil, false},
		{"zone as a suffix of a label is outside", "notheck.", dns.TypeA, dns.RcodeRefused, nil, nil, false},
		{"zone transfer is REFUSED", "heck.", dns.TypeAXFR, dns.RcodeRefused, nil, nil, false},
	}
	for _, network := range []string{"udp", "tcp"} {
		for _, tc := range cases {
			t.Run(network+"/"+tc.name, func(t *testing.T) {
				if tc.qtype == dns.TypeAXFR && network == "udp" {
					t.Skip("AXFR is TCP only")
				}
				r := exchange(t, addr, network, tc.qname, tc.qtype, 0)
				if r.Rcode != tc.rcode {
					t.Fatalf("rcode %s, want %s\n%v", dns.RcodeToString[r.Rcode], dns.RcodeToString[tc.rcode], r)
				}
				if got := rrs(r.Answer, false); !slices.Equal(got, tc.answer) {
					t.Errorf("answer\n got %q\nwant %q", got, tc.answer)
				}
				if got := rrs(r.Extra, true); !slices.Equal(got, tc.extra) {
					t.Errorf("additional\n got %q\nwant %q", got, tc.extra)
				}
				gotSOA := len(r.Ns) == 1 && r.Ns[0].Header().Rrtype == dns.TypeSOA
				if gotSOA != tc.soa || (!tc.soa && len(r.Ns) > 0) {
					t.Errorf("authority %v, want SOA: %v", r.Ns, tc.soa)
				}
				if gotSOA && (r.Ns[0].(*dns.SOA).Minttl != 5 || r.Ns[0].Header().Ttl != 5) {
					t.Errorf("SOA %v: want TTL and minimum 5", r.Ns[0])
				}
				for _, rr := range append(slices.Clone(r.Answer), r.Extra...) {
					if rr.Header().Rrtype != dns.TypeOPT && rr.Header().Ttl != 5 {
						t.Errorf("TTL of %v: want 5", rr)
					}
				}
				for _, rr := range r.Answer {
					if rr.Header().Name != tc.qname {
						t.Errorf("owner %q of %v: want the name as asked, %q", rr.Header().Name, rr, tc.qname)
					}
				}
				if wantAA := tc.rcode != dns.RcodeRefused; r.Authoritative != wantAA {
					t.Errorf("AA %v, want %v", r.Authoritative, wantAA)
				}
				if r.Truncated {
					t.Error("TC set on a small answer")
				}
			})
		}
	}
	st := s.Stats()
	for _, rc := range []string{"NOERROR", "NXDOMAIN", "REFUSED"} {
		if st.Queries[rc] == 0 {
			t.Errorf("Stats().Queries[%s] = 0 after such answers: %v", rc, st.Queries)
		}
	}
}

func TestClassOpcodeAndEDNS(t *testing.T) {
	s := newServer(t, Options{})
	addr := start(t, s)
	c := &dns.Client{Timeout: 2 * time.Second}

	q := new(dns.Msg).SetQuestion("web.heck.", dns.TypeA)
	q.Question[0].Qclass = dns.ClassCHAOS
	r, _, err := c.Exchange(q, addr)
	if err != nil || r.Rcode != dns.RcodeRefused || len(r.Answer) != 0 {
		t.Errorf("class CH: %v %v, want REFUSED and no answer", r, err)
	}

	q = new(dns.Msg).SetQuestion("web.heck.", dns.TypeA)
	q.Opcode = dns.OpcodeStatus
	r, _, err = c.Exchange(q, addr)
	if err != nil || r.Rcode != dns.RcodeNotImplemented {
		t.Errorf("opcode STATUS: %v %v, want NOTIMP", r, err)
	}

	q = new(dns.Msg).SetQuestion("web.heck.", dns.TypeA)
	q.SetEdns0(1232, false)
	r, _, err = c.Exchange(q, addr)
	if err != nil || r.Rcode != dns.RcodeSuccess || r.IsEdns0() == nil || r.IsEdns0().UDPSize() != maxUDPSize {
		t.Errorf("EDNS0 query: %v %v, want NOERROR with an OPT of %d", r, err, maxUDPSize)
	}

	q = new(dns.Msg).SetQuestion("web.heck.", dns.TypeA)
	q.SetEdns0(1232, false)
	q.IsEdns0().SetVersion(1)
	r, _, err = c.Exchange(q, addr)
	if err != nil || r.Rcode != dns.RcodeBadVers {
		t.Errorf("EDNS version 1: %v %v, want BADVERS", r, err)
	}
}

func TestTruncation(t *testing.T) {
	s := newServer(t, Options{MaxAnswers: 100})
	addr := start(t, s)
	for _, tc := range []struct {
		name    string
		network string
		qtype   uint16
		edns    uint16
		tc      bool
		answers int // exact, or with tc an upper bound
	}{
		{"UDP A over 512 bytes", "udp", dns.TypeA, 0, true, 31},
		{"UDP SRV over 512 bytes", "udp", dns.TypeSRV, 0, true, 20},
		{"UDP with EDNS0 4096", "udp", dns.TypeA, 4096, false, 100},
		{"UDP with EDNS0 below 512 is 512", "udp", dns.TypeA, 100, true, 31},
		{"TCP A", "tcp", dns.TypeA, 0, false, 100},
		{"TCP SRV", "tcp", dns.TypeSRV, 0, false, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := exchange(t, addr, tc.network, "big.heck.", tc.qtype, tc.edns)
			if r.Truncated != tc.tc {
				t.Fatalf("TC %v, want %v (%d answers)", r.Truncated, tc.tc, len(r.Answer))
			}
			if tc.tc && (len(r.Answer) > tc.answers) || !tc.tc && len(r.Answer) != tc.answers {
				t.Errorf("%d answers, want %d", len(r.Answer), tc.answers)
			}
			if tc.qtype == dns.TypeSRV && !tc.tc && len(r.Extra) != 100 {
				t.Errorf("%d additional records, want 100", len(r.Extra))
			}
		})
	}
	if s.Stats().Truncated == 0 {
		t.Error("Stats().Truncated = 0 after truncated answers")
	}
}

func query(name string, qtype uint16) *dns.Msg { return new(dns.Msg).SetQuestion(name, qtype) }

func TestCapAndShuffle(t *testing.T) {
	s := newServer(t, Options{})
	loop := netip.MustParseAddr("127.0.0.1")
	first := map[string]int{}
	for range 200 {
		r := s.Answer(query("big.heck.", dns.TypeA), loop, false)
		if len(r.Answer) != DefaultMaxAnswers {
			t.Fatalf("%d answers, want the cap %d", len(r.Answer), DefaultMaxAnswers)
		}
		got := rrs(r.Answer, false)
		if len(slices.Compact(got)) != DefaultMaxAnswers {
			t.Fatalf("repeated addresses: %v", got)
		}
		first[r.Answer[0].(*dns.A).A.String()]++
	}
	if len(first) < 20 {
		t.Errorf("first answer took only %d distinct values in 200 queries: want the order shuffled per query", len(first))
	}

	heavy := 0
	for range 400 {
		r := s.Answer(query("weighted.heck.", dns.TypeA), loop, false)
		if r.Answer[0].(*dns.A).A.String() == "127.0.4.1" {
			heavy++
		}
	}
	// Weight 256 against 1 comes first 256 times in 257.
	if heavy < 360 {
		t.Errorf("weight-256 member first in %d of 400 answers, want nearly all", heavy)
	}
}

func TestOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
		want string // in the error; "" for none
	}{
		{"defaults", Options{}, ""},
		{"zone without dot, upper case", Options{Zone: "Heck.Example.COM"}, ""},
		{"root zone", Options{Zone: "."}, `dns zone "."`},
		{"bad zone", Options{Zone: "a..b"}, `dns zone "a..b"`},
		{"negative TTL", Options{TTL: -time.Second}, "dns ttl -1s"},
		{"fractional TTL", Options{TTL: 1500 * time.Millisecond}, "dns ttl 1.5s"},
		{"TTL too long", Options{TTL: 48 * time.Hour}, "dns ttl 48h0m0s"},
		{"negative TTL option bad", Options{NegativeTTL: -time.Second}, "dns negative_ttl -1s"},
		{"max answers negative", Options{MaxAnswers: -1}, "dns max_answers -1"},
		{"max answers too many", Options{MaxAnswers: 5000}, "dns max_answers 5000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(testSource(), tc.opts)
			if (err == nil) != (tc.want == "") || err != nil && !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New: %v, want error containing %q", err, tc.want)
			}
		})
	}
	if _, err := New(nil, Options{}); err == nil {
		t.Error("New(nil source): no error")
	}
}

func TestZoneAndTTLOptions(t *testing.T) {
	s := newServer(t, Options{Zone: "Heck.Example.COM", TTL: 30 * time.Second, NegativeTTL: 2 * time.Second})
	loop := netip.MustParseAddr("127.0.0.1")
	r := s.Answer(query("solo.heck.example.com.", dns.TypeA), loop, false)
	if len(r.Answer) != 1 || r.Answer[0].Header().Ttl != 30 {
		t.Errorf("answer %v: want one A with TTL 30", r.Answer)
	}
	r = s.Answer(query("nosuch.HECK.example.com.", dns.TypeA), loop, false)
	if r.Rcode != dns.RcodeNameError || len(r.Ns) != 1 || r.Ns[0].(*dns.SOA).Minttl != 2 || r.Ns[0].Header().Ttl != 2 {
		t.Errorf("NXDOMAIN %v: want SOA with TTL and minimum 2", r)
	}
	if r := s.Answer(query("solo.heck.", dns.TypeA), loop, false); r.Rcode != dns.RcodeRefused {
		t.Errorf("default zone with zone set: %s, want REFUSED", dns.RcodeToString[r.Rcode])
	}
}

func TestServeStops(t *testing.T) {
	s := newServer(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, pc, nil) }()
	addr := pc.LocalAddr().String()
	waitReady(t, addr, "udp")
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
	// The socket is closed: it can be bound again.
	pc2, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatalf("rebinding %s after Serve returned: %v", addr, err)
	}
	pc2.Close()
	if err := s.Serve(context.Background(), nil, nil); err == nil {
		t.Error("Serve with nothing to serve: no error")
	}
}

func TestListenAndServe(t *testing.T) {
	s := newServer(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := s.ListenAndServe(ctx, "127.0.0.1:bad"); err == nil {
		t.Error("ListenAndServe on a bad address: no error")
	}
	// Find a port free for both transports, then serve on it.
	probe, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := probe.LocalAddr().String()
	probe.Close()
	done := make(chan error, 1)
	go func() { done <- s.ListenAndServe(ctx, addr) }()
	waitReady(t, addr, "udp")
	waitReady(t, addr, "tcp")
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("ListenAndServe: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ListenAndServe did not return after cancel")
	}
}

func TestStats(t *testing.T) {
	s := newServer(t, Options{MaxAnswers: 100})
	loop := netip.MustParseAddr("127.0.0.1")
	for _, q := range []*dns.Msg{
		query("web.heck.", dns.TypeA), query("nosuch.heck.", dns.TypeA), query("gone.heck.", dns.TypeA),
		query("example.org.", dns.TypeA), query("big.heck.", dns.TypeA),
	} {
		s.Answer(q, loop, false)
	}
	s.Answer(query("big.heck.", dns.TypeA), loop, true) // TCP: not truncated
	got := s.Stats()
	want := map[string]uint64{"NOERROR": 3, "NXDOMAIN": 2, "REFUSED": 1}
	if len(got.Queries) != len(want) || got.Truncated != 1 {
		t.Fatalf("Stats() = %+v, want queries %v and 1 truncated", got, want)
	}
	for k, v := range want {
		if got.Queries[k] != v {
			t.Errorf("Stats().Queries[%s] = %d, want %d", k, got.Queries[k], v)
		}
	}
}
