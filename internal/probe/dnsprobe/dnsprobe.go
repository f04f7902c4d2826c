// Package dnsprobe probes dns targets: one query to a chosen resolver over
// udp or tcp, checked for the expected response code and answers.
package dnsprobe

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/heckhq/heck/internal/probe"
	"github.com/heckhq/heck/internal/target"
)

// Prober probes one dns target.
type Prober struct {
	address string // the resolver, host:port
	name    string // fully qualified
	qtype   uint16
	rcode   int
	expect  []string // as written, matched with sameAnswer
	tcp     bool
	guard   *probe.Guard
	timeout time.Duration
}

// New builds the prober of spec, a dns target whose Address is the
// resolver; queries dial through opts.Guard.
func New(spec target.Spec, opts probe.Options) (*Prober, error) {
	if _, _, err := net.SplitHostPort(spec.Address); err != nil {
		return nil, fmt.Errorf("address: %q is not host:port; set the resolver as host:port, such as \"127.0.0.1:53\"", spec.Address)
	}
	o := spec.DNS
	if o == nil || o.Name == "" {
		return nil, fmt.Errorf("dns.name: is missing; set the name to query, such as \"example.org\"")
	}
	p := &Prober{
		address: spec.Address,
		name:    dns.Fqdn(o.Name),
		qtype:   dns.TypeA,
		rcode:   dns.RcodeSuccess,
		expect:  o.ExpectAnswers,
		guard:   opts.Guard,
		timeout: spec.Timeout.D(),
	}
	if _, ok := dns.IsDomainName(p.name); !ok {
		return nil, fmt.Errorf("dns.name: %q is not a domain name; set a name such as \"example.org\"", o.Name)
	}
	if o.Type != "" {
		t, ok := dns.StringToType[strings.ToUpper(o.Type)]
		if !ok {
			return nil, fmt.Errorf("dns.type: %q is not a record type; use one of %s", o.Type, strings.Join(target.DNSTypes, ", "))
		}
		p.qtype = t
	}
	if o.Rcode != "" {
		rc, ok := dns.StringToRcode[strings.ToUpper(o.Rcode)]
		if !ok {
			return nil, fmt.Errorf("dns.rcode: %q is not a response code; use one of %s", o.Rcode, strings.Join(target.DNSRcodes, ", "))
		}
		p.rcode = rc
	}
	switch o.Transport {
	case "", "udp":
	case "tcp":
		p.tcp = true
	default:
		return nil, fmt.Errorf("dns.transport: %q is not udp or tcp; set udp or tcp", o.Transport)
	}
	return p, nil
}

// Probe sends the query and checks the response.
func (p *Prober) Probe(ctx context.Context) probe.Result {
	if _, ok := ctx.Deadline(); !ok && p.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.timeout)
		defer cancel()
	}
	start := time.Now()
	m := new(dns.Msg)
	m.SetQuestion(p.name, p.qtype)
	m.RecursionDesired = true
	m.SetEdns0(4096, false)

	r, remote, err := p.exchange(ctx, m, p.tcp)
	if err == nil && r.Truncated && !p.tcp {
		// The answer did not fit a datagram: ask again over tcp, as
		// resolvers do.
		r, remote, err = p.exchange(ctx, m, true)
	}
	res := probe.Result{Latency: time.Since(start), Details: probe.Details{RemoteAddr: remote}}
	if err != nil {
		res.Message = probe.DescribeError(err, probe.Budget(ctx, start))
		return res
	}
	res.Details.Rcode = dns.RcodeToString[r.Rcode]
	answers := make([]string, 0, len(r.Answer))
	for _, rr := range r.Answer {
		if v := value(rr); v != "" {
			answers = append(answers, v)
		}
	}
	res.Details.Answers = answers
	if r.Rcode != p.rcode {
		res.Message = "rcode " + res.Details.Rcode + ", want " + dns.RcodeToString[p.rcode]
		return res
	}
	for _, want := range p.expect {
		if !contains(answers, want) {
			got := "got no answers"
			if len(answers) > 0 {
				got = "got " + strings.Join(answers, ", ")
			}
			res.Message = "answer " + strconv.Quote(want) + " missing; " + got
			return res
		}
	}
	res.OK = true
	res.Message = res.Details.Rcode + ", " + strconv.Itoa(len(answers)) + " answer"
	if len(answers) != 1 {
		res.Message += "s"
	}
	return res
}

func (p *Prober) exchange(ctx context.Context, m *dns.Msg, tcp bool) (*dns.Msg, string, error) {
	c := dns.Client{Net: "udp", Dialer: p.guard.Dialer(0), Timeout: time.Hour}
	if tcp {
		c.Net = "tcp"
	}
	conn, err := c.DialContext(ctx, p.address)
	if err != nil {
		return nil, "", err
	}
	defer conn.Close()
	remote := conn.RemoteAddr().String()
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	r, _, err := c.ExchangeWithConnContext(ctx, m, conn)
	if err != nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	return r, remote, err
}

// value is what an answer is matched on: the address of A and AAAA, the
// target name of CNAME, NS, PTR, MX and SRV (without the trailing dot),
// the joined strings of TXT, the primary name server of SOA.
func value(rr dns.RR) string {
	switch v := rr.(type) {
	case *dns.A:
		return v.A.String()
	case *dns.AAAA:
		return v.AAAA.String()
	case *dns.CNAME:
		return trimDot(v.Target)
	case *dns.NS:
		return trimDot(v.Ns)
	case *dns.PTR:
		return trimDot(v.Ptr)
	case *dns.MX:
		return trimDot(v.Mx)
	case *dns.SRV:
		return trimDot(v.Target)
	case *dns.TXT:
		return strings.Join(v.Txt, "")
	case *dns.SOA:
		return trimDot(v.Ns)
	}
	return ""
}

func trimDot(s string) string {
	if len(s) > 1 {
		return strings.TrimSuffix(s, ".")
	}
	return s
}

// contains reports whether want is among answers: addresses compare as
// addresses ("::0001" is "::1"), names without a trailing dot, and names
// and text regardless of case.
func contains(answers []string, want string) bool {
	wantIP, err := netip.ParseAddr(want)
	wantIsIP := err == nil
	wantName := trimDot(want)
	for _, a := range answers {
		if a == want {
			return true
		}
		if wantIsIP {
			if ip, err := netip.ParseAddr(a); err == nil && ip == wantIP {
				return true
			}
			continue
		}
		if strings.EqualFold(a, wantName) {
			return true
		}
	}
	return false
}
