package dnsprobe

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/heckhq/heck/internal/probe"
	"github.com/heckhq/heck/internal/probe/internal/probetest"
	"github.com/heckhq/heck/internal/target"
)

// zone answers the test queries; it counts queries per network.
type zone struct {
	mu       sync.Mutex
	networks map[string]int
}

func rr(s string) dns.RR {
	r, err := dns.NewRR(s)
	if err != nil {
		panic(err)
	}
	return r
}

func (z *zone) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	z.mu.Lock()
	z.networks[w.RemoteAddr().Network()]++
	z.mu.Unlock()
	m := new(dns.Msg)
	m.SetReply(r)
	q := r.Question[0]
	name := strings.ToLower(q.Name)
	switch {
	case name == "silent.test.":
		return // no answer at all
	case name == "refused.test.":
		m.Rcode = dns.RcodeRefused
	case name == "big.test." && q.Qtype == dns.TypeA:
		for i := 1; i <= 120; i++ {
			m.Answer = append(m.Answer, rr(fmt.Sprintf("big.test. 60 IN A 127.0.%d.%d", i/250, i%250)))
		}
		if w.RemoteAddr().Network() == "udp" {
			m.Truncate(512)
		}
	default:
		records := map[string][]string{
			"a.test./A":                   {"a.test. 60 IN A 127.0.0.1", "a.test. 60 IN A 127.0.0.2"},
			"a.test./AAAA":                {"a.test. 60 IN AAAA ::1"},
			"alias.test./CNAME":           {"alias.test. 60 IN CNAME Target.Test."},
			"mx.test./MX":                 {"mx.test. 60 IN MX 10 mail.test."},
			"txt.test./TXT":               {`txt.test. 60 IN TXT "v=spf1 " "-all"`},
			"srv.test./SRV":               {"srv.test. 60 IN SRV 0 5 5060 sip.test."},
			"ns.test./NS":                 {"ns.test. 60 IN NS ns1.test."},
			"1.0.0.127.in-addr.arpa./PTR": {"1.0.0.127.in-addr.arpa. 60 IN PTR localhost."},
			"soa.test./SOA":               {"soa.test. 60 IN SOA ns1.test. admin.test. 1 2 3 4 5"},
		}
		recs, ok := records[name+"/"+dns.TypeToString[q.Qtype]]
		if !ok {
			m.Rcode = dns.RcodeNameError
		}
		for _, s := range recs {
			m.Answer = append(m.Answer, rr(s))
		}
	}
	_ = w.WriteMsg(m)
}

// startServer serves z over udp and tcp on the same loopback port.
func startServer(t *testing.T) (string, *zone) {
	t.Helper()
	z := &zone{networks: map[string]int{}}
	var addr string
	var pc net.PacketConn
	var ln net.Listener
	for range 10 {
		var err error
		pc, err = net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr = pc.LocalAddr().String()
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		pc.Close()
	}
	if ln == nil {
		t.Fatal("no port free for both udp and tcp")
	}
	udp := &dns.Server{PacketConn: pc, Handler: z}
	tcp := &dns.Server{Listener: ln, Handler: z}
	for _, s := range []*dns.Server{udp, tcp} {
		started := make(chan struct{})
		s.NotifyStartedFunc = func() { close(started) }
		go func() { _ = s.ActivateAndServe() }()
		<-started
		t.Cleanup(func() { _ = s.Shutdown() })
	}
	return addr, z
}

func spec(addr string, o target.DNSOptions) target.Spec {
	return target.Spec{ID: "t", Kind: target.KindDNS, Address: addr, DNS: &o}
}

func TestProbe(t *testing.T) {
	addr, z := startServer(t)
	q := func(o target.DNSOptions) target.Spec { return spec(addr, o) }
	answers := func(a ...string) probe.Details { return probe.Details{Answers: a} }
	probetest.Run(t, New, []probetest.Case{
		{Name: "A", Spec: q(target.DNSOptions{Name: "a.test"}), OK: true, Msg: "NOERROR, 2 answers", Details: answers("127.0.0.1", "127.0.0.2")},
		{Name: "A expected", Spec: q(target.DNSOptions{Name: "a.test", ExpectAnswers: []string{"127.0.0.2", "127.0.0.1"}}), OK: true, Msg: "NOERROR, 2 answers"},
		{Name: "A missing", Spec: q(target.DNSOptions{Name: "a.test", ExpectAnswers: []string{"127.0.0.3"}}), Msg: `answer "127.0.0.3" missing; got 127.0.0.1, 127.0.0.2`},
		{Name: "AAAA", Spec: q(target.DNSOptions{Name: "a.test", Type: "aaaa", ExpectAnswers: []string{"0:0::1"}}), OK: true, Msg: "NOERROR, 1 answer", Details: answers("::1")},
		{Name: "CNAME", Spec: q(target.DNSOptions{Name: "alias.test.", Type: "CNAME", ExpectAnswers: []string{"target.test."}}), OK: true, Msg: "NOERROR, 1 answer", Details: answers("Target.Test")},
		{Name: "CNAME wrong", Spec: q(target.DNSOptions{Name: "alias.test", Type: "CNAME", ExpectAnswers: []string{"other.test"}}), Msg: `answer "other.test" missing; got Target.Test`},
		{Name: "MX", Spec: q(target.DNSOptions{Name: "mx.test", Type: "MX", ExpectAnswers: []string{"mail.test"}}), OK: true, Msg: "NOERROR, 1 answer"},
		{Name: "TXT", Spec: q(target.DNSOptions{Name: "txt.test", Type: "TXT", ExpectAnswers: []string{"v=spf1 -all"}}), OK: true, Msg: "NOERROR, 1 answer"},
		{Name: "SRV", Spec: q(target.DNSOptions{Name: "srv.test", Type: "SRV", ExpectAnswers: []string{"sip.test"}}), OK: true, Msg: "NOERROR, 1 answer"},
		{Name: "NS", Spec: q(target.DNSOptions{Name: "ns.test", Type: "NS", ExpectAnswers: []string{"NS1.test"}}), OK: true, Msg: "NOERROR, 1 answer"},
		{Name: "PTR", Spec: q(target.DNSOptions{Name: "1.0.0.127.in-addr.arpa", Type: "PTR", ExpectAnswers: []string{"localhost"}}), OK: true, Msg: "NOERROR, 1 answer"},
		{Name: "SOA", Spec: q(target.DNSOptions{Name: "soa.test", Type: "SOA", ExpectAnswers: []string{"ns1.test"}}), OK: true, Msg: "NOERROR, 1 answer"},
		{Name: "NXDOMAIN unexpected", Spec: q(target.DNSOptions{Name: "nope.test"}), Msg: "rcode NXDOMAIN, want NOERROR"},
		{Name: "NXDOMAIN expected", Spec: q(target.DNSOptions{Name: "nope.test", Rcode: "nxdomain"}), OK: true, Msg: "NXDOMAIN, 0 answers"},
		{Name: "REFUSED", Spec: q(target.DNSOptions{Name: "refused.test"}), Msg: "rcode REFUSED, want NOERROR"},
		{Name: "tcp", Spec: q(target.DNSOptions{Name: "a.test", Transport: "tcp", ExpectAnswers: []string{"127.0.0.1"}}), OK: true, Msg: "NOERROR, 2 answers"},
		{Name: "truncated retried over tcp", Spec: q(target.DNSOptions{Name: "big.test", ExpectAnswers: []string{"127.0.0.120"}}), OK: true, Msg: "NOERROR, 120 answers"},
		{Name: "no answer", Spec: q(target.DNSOptions{Name: "silent.test"}), Msg: "timed out after 200ms", Timeout: 200 * time.Millisecond},
		{Name: "no answer over tcp", Spec: q(target.DNSOptions{Name: "silent.test", Transport: "tcp"}), Msg: "timed out after 200ms", Timeout: 200 * time.Millisecond},
	}, func(t *testing.T, _ probetest.Case, res probe.Result) {
		// Failed queries name the server too, not only answered ones.
		probetest.CheckDetails(t, res.Details, probe.Details{RemoteAddr: addr})
	})
	z.mu.Lock()
	defer z.mu.Unlock()
	if z.networks["tcp"] < 3 || z.networks["udp"] < 10 {
		t.Errorf("queries by network = %v; tcp transport or the truncation retry did not use tcp", z.networks)
	}
}

func TestGuard(t *testing.T) {
	g, _ := probe.NewGuard([]string{"127.0.0.1/32"})
	for _, transport := range []string{"udp", "tcp"} {
		t.Run(transport, func(t *testing.T) {
			p := probetest.New(t, New, spec("127.0.0.1:53", target.DNSOptions{Name: "a.test", Transport: transport}), probe.Options{Guard: g})
			res := p.Probe(context.Background())
			probetest.CheckResult(t, res, false, "refused to connect to 127.0.0.1: in denied network 127.0.0.1/32 (probe.deny_networks)")
		})
	}
}

func TestNewRejectsBadInput(t *testing.T) {
	tests := []struct {
		name string
		spec target.Spec
		want string
	}{
		{"no name", target.Spec{Address: "127.0.0.1:53"}, "dns.name: is missing"},
		{"bad type", target.Spec{Address: "127.0.0.1:53", DNS: &target.DNSOptions{Name: "a.test", Type: "BOGUS"}}, `dns.type: "BOGUS" is not a record type`},
		{"bad rcode", target.Spec{Address: "127.0.0.1:53", DNS: &target.DNSOptions{Name: "a.test", Rcode: "MAYBE"}}, `dns.rcode: "MAYBE" is not a response code`},
		{"bad transport", target.Spec{Address: "127.0.0.1:53", DNS: &target.DNSOptions{Name: "a.test", Transport: "quic"}}, `dns.transport: "quic" is not udp or tcp`},
		{"bad address", target.Spec{Address: "127.0.0.1", DNS: &target.DNSOptions{Name: "a.test"}}, `address: "127.0.0.1" is not host:port`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { probetest.NewFails(t, New, tt.spec, tt.want) })
	}
}
