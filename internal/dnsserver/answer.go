package dnsserver

import (
	"context"
	"iter"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"

	"github.com/miekg/dns"

	"github.com/heckhq/heck/internal/pool"
)

// ServeDNS answers one query; it implements dns.Handler.
func (s *Server) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	_, tcp := w.RemoteAddr().(*net.TCPAddr)
	var local netip.Addr
	if a, ok := w.LocalAddr().(*net.UDPAddr); ok {
		local, _ = netip.AddrFromSlice(a.IP)
	} else if a, ok := w.LocalAddr().(*net.TCPAddr); ok {
		local, _ = netip.AddrFromSlice(a.IP)
	}
	m := s.Answer(r, local.Unmap(), tcp)
	if err := w.WriteMsg(m); err != nil {
		s.log.Debug("dns write", "remote", w.RemoteAddr().String(), "err", err)
	}
}

// Answer builds the response to r, which arrived on local over TCP or
// (tcp false) UDP. It counts the response in Stats.
func (s *Server) Answer(r *dns.Msg, local netip.Addr, tcp bool) *dns.Msg {
	m := new(dns.Msg)
	m.SetReply(r)
	m.RecursionAvailable = false
	m.Compress = true
	size := dns.MaxMsgSize
	if !tcp {
		size = dns.MinMsgSize
	}
	if opt := r.IsEdns0(); opt != nil {
		if opt.Version() != 0 {
			m.Rcode = dns.RcodeBadVers
			m.SetEdns0(maxUDPSize, false)
			return s.finish(m, r, tcp)
		}
		if !tcp {
			size = max(int(opt.UDPSize()), dns.MinMsgSize)
			size = min(size, maxUDPSize)
		}
		m.SetEdns0(maxUDPSize, false)
	}
	switch {
	case r.Opcode != dns.OpcodeQuery:
		m.Rcode = dns.RcodeNotImplemented
	case len(r.Question) != 1:
		m.Rcode = dns.RcodeFormatError
	default:
		s.resolve(m, r.Question[0], local)
	}
	m.Truncate(size)
	if m.Truncated && !tcp {
		s.truncated.Add(1)
	}
	return s.finish(m, r, tcp)
}

func (s *Server) finish(m, r *dns.Msg, tcp bool) *dns.Msg {
	s.count(m.Rcode)
	if len(r.Question) > 0 && s.log.Enabled(context.Background(), slog.LevelDebug) {
		q := r.Question[0]
		s.log.Debug("dns query", "name", q.Name, "type", dns.TypeToString[q.Qtype], "tcp", tcp,
			"rcode", rcodeName(m.Rcode), "answers", len(m.Answer), "tc", m.Truncated)
	}
	return m
}

// node kinds: what a name in the zone is.
type kind int

const (
	kindNone    kind = iota
	kindApex         // the zone itself
	kindNS           // ns.<zone>
	kindPool         // <pool>.<zone>, _svc._tcp.<pool>.<zone>
	kindMember       // <member>.<pool>.<zone> or <target>.<zone>
	kindEmpty        // an empty non-terminal such as _tcp.<pool>.<zone>
	kindPoolSRV      // _svc._tcp.<pool>.<zone>: SRV only
)

type node struct {
	kind   kind
	view   pool.View
	member pool.Member
	up     bool // kindMember: whether the member is answered
}

func (s *Server) resolve(m *dns.Msg, q dns.Question, local netip.Addr) {
	if q.Qclass != dns.ClassINET {
		m.Rcode = dns.RcodeRefused
		return
	}
	name := strings.ToLower(q.Name)
	if !dns.IsSubDomain(s.zone, name) {
		m.Rcode = dns.RcodeRefused
		return
	}
	if q.Qtype == dns.TypeAXFR || q.Qtype == dns.TypeIXFR {
		m.Rcode = dns.RcodeRefused
		return
	}
	m.Authoritative = true
	// rel keeps the case asked, for looking up targets by exact id.
	rel := strings.TrimSuffix(q.Name[:len(q.Name)-len(s.zone)], ".")
	n := s.lookup(rel)
	switch n.kind {
	case kindNone:
		m.Rcode = dns.RcodeNameError
	case kindApex:
		switch q.Qtype {
		case dns.TypeSOA:
			m.Answer = append(m.Answer, s.soa())
		case dns.TypeNS, dns.TypeANY:
			m.Answer = append(m.Answer, &dns.NS{Hdr: s.hdr(s.zone, dns.TypeNS, s.ttl), Ns: s.nsName})
			m.Extra = append(m.Extra, s.localRR(s.nsName, dns.TypeANY, local)...)
		}
	case kindNS:
		m.Answer = append(m.Answer, s.localRR(q.Name, q.Qtype, local)...)
	case kindPool, kindPoolSRV:
		switch q.Qtype {
		case dns.TypeA, dns.TypeAAAA, dns.TypeANY:
			if n.kind == kindPool {
				m.Answer = s.addresses(q.Name, q.Qtype, n.view.Members)
			}
		case dns.TypeSRV:
			m.Answer, m.Extra = s.srv(q.Name, n.view.Name, n.view.Members, m.Extra)
		}
	case kindMember:
		if n.up {
			m.Answer = s.memberRR(q.Name, q.Qtype, n.member)
		}
	}
	if len(m.Answer) == 0 {
		m.Ns = append(m.Ns, s.soa())
	}
}

// lookup finds what rel, a name relative to the zone ("" for the apex),
// is.
func (s *Server) lookup(rel string) node {
	lower := strings.ToLower(rel)
	switch {
	case rel == "":
		return node{kind: kindApex}
	case lower == "ns":
		return node{kind: kindNS}
	}
	labels := dns.SplitDomainName(lower)
	last := labels[len(labels)-1]
	if v, ok := s.src.PoolView(last); ok {
		if len(labels) == 1 {
			return node{kind: kindPool, view: v}
		}
		if len(labels) == 3 && strings.HasPrefix(labels[0], "_") && labels[1] == "_tcp" {
			return node{kind: kindPoolSRV, view: v}
		}
		if len(labels) == 2 && labels[0] == "_tcp" {
			return node{kind: kindEmpty}
		}
		id := lower[:len(lower)-len(last)-1]
		for _, mb := range v.Members {
			if strings.EqualFold(mb.ID, id) {
				return node{kind: kindMember, member: mb, up: mb.Serving}
			}
		}
	}
	mb, ok := s.src.TargetMember(rel)
	if !ok && lower != rel {
		mb, ok = s.src.TargetMember(lower)
	}
	if ok {
		return node{kind: kindMember, member: mb, up: pool.Healthy(mb.State) && mb.Ejected == nil}
	}
	return node{}
}

func (s *Server) hdr(name string, t uint16, ttl uint32) dns.RR_Header {
	return dns.RR_Header{Name: name, Rrtype: t, Class: dns.ClassINET, Ttl: ttl}
}

func (s *Server) soa() dns.RR {
	return &dns.SOA{Hdr: s.hdr(s.zone, dns.TypeSOA, s.negTTL), Ns: s.nsName, Mbox: "hostmaster." + s.zone,
		Serial: s.serial, Refresh: 3600, Retry: 600, Expire: 86400, Minttl: s.negTTL}
}

// localRR answers ns.<zone> with the address the query came in on, when
// it is a specific one of the family asked.
func (s *Server) localRR(name string, qtype uint16, local netip.Addr) []dns.RR {
	if !local.IsValid() || local.IsUnspecified() {
		return nil
	}
	return addrRR(s, name, qtype, local)
}

func addrRR(s *Server, name string, qtype uint16, a netip.Addr) []dns.RR {
	switch {
	case a.Is4() && (qtype == dns.TypeA || qtype == dns.TypeANY):
		return []dns.RR{&dns.A{Hdr: s.hdr(name, dns.TypeA, s.ttl), A: a.AsSlice()}}
	case a.Is6() && (qtype == dns.TypeAAAA || qtype == dns.TypeANY):
		return []dns.RR{&dns.AAAA{Hdr: s.hdr(name, dns.TypeAAAA, s.ttl), AAAA: a.AsSlice()}}
	}
	return nil
}

// parseAddr reads a member's address: an IP (ok) or else a host name
// (host, fully qualified) or nothing usable.
func parseAddr(address string) (ip netip.Addr, host string) {
	if a, err := netip.ParseAddr(address); err == nil {
		return a.Unmap().WithZone(""), ""
	}
	if address == "" {
		return netip.Addr{}, ""
	}
	if _, ok := dns.IsDomainName(address); ok {
		return netip.Addr{}, strings.ToLower(dns.Fqdn(address))
	}
	return netip.Addr{}, ""
}

// memberRR answers the name of one member: its address of the type asked,
// or a CNAME to its host name.
func (s *Server) memberRR(name string, qtype uint16, mb pool.Member) []dns.RR {
	ip, host := parseAddr(mb.Address)
	switch {
	case ip.IsValid():
		return addrRR(s, name, qtype, ip)
	case host != "":
		return []dns.RR{&dns.CNAME{Hdr: s.hdr(name, dns.TypeCNAME, s.ttl), Target: host}}
	}
	return nil
}

// addresses answers a pool's name with the addresses of the type asked of
// up to MaxAnswers serving members, in weighted random order, without
// repeats.
func (s *Server) addresses(name string, qtype uint16, members []pool.Member) []dns.RR {
	var out []dns.RR
	seen := make(map[netip.Addr]struct{}, s.maxAnswers)
	for i := range shuffle(members) {
		ip, _ := parseAddr(members[i].Address)
		if !ip.IsValid() {
			continue
		}
		if _, dup := seen[ip]; dup {
			continue
		}
		rr := addrRR(s, name, qtype, ip)
		if len(rr) == 0 {
			continue
		}
		seen[ip] = struct{}{}
		out = append(out, rr...)
		if len(out) >= s.maxAnswers {
			break
		}
	}
	return out
}

// srv answers SRV for a pool: up to MaxAnswers serving members with a port
// and an address, each naming <member>.<pool>.<zone> (with its address in
// extra) or its host name.
func (s *Server) srv(name, poolName string, members []pool.Member, extra []dns.RR) ([]dns.RR, []dns.RR) {
	var out []dns.RR
	for i := range shuffle(members) {
		mb := &members[i]
		if mb.Port <= 0 || mb.Port > math.MaxUint16 {
			continue
		}
		ip, host := parseAddr(mb.Address)
		targetName := host
		if ip.IsValid() {
			targetName = strings.ToLower(mb.ID) + "." + poolName + "." + s.zone
			if _, ok := dns.IsDomainName(targetName); !ok || strings.Contains(mb.ID, "..") ||
				strings.HasPrefix(mb.ID, ".") || strings.HasSuffix(mb.ID, ".") {
				continue
			}
			extra = append(extra, addrRR(s, targetName, dns.TypeANY, ip)...)
		} else if host == "" {
			continue
		}
		out = append(out, &dns.SRV{Hdr: s.hdr(name, dns.TypeSRV, s.ttl), Priority: 1,
			Weight: uint16(max(mb.Weight, 0)), Port: uint16(mb.Port), Target: targetName})
		if len(out) >= s.maxAnswers {
			break
		}
	}
	return out, extra
}

// shuffle yields the indexes of the serving members in a random order
// weighted by their weights: a member of weight w comes before one of
// weight v with odds w:v (Efraimidis and Spirakis' keys u^(1/w)). It draws
// lazily from a heap, so that taking the first k of n costs O(n + k log n).
func shuffle(members []pool.Member) iter.Seq[int] {
	return func(yield func(int) bool) {
		h := keyHeap{idx: make([]int, 0, len(members)), keys: make([]float64, len(members))}
		for i := range members {
			if !members[i].Serving {
				continue
			}
			h.idx = append(h.idx, i)
			w := float64(max(members[i].Weight, 1))
			h.keys[i] = math.Log(1-rand.Float64()) / w // log(u)/w orders as u^(1/w); 1-u avoids log(0)
		}
		for i := len(h.idx)/2 - 1; i >= 0; i-- {
			h.down(i)
		}
		for len(h.idx) > 0 {
			top := h.idx[0]
			last := len(h.idx) - 1
			h.idx[0] = h.idx[last]
			h.idx = h.idx[:last]
			h.down(0)
			if !yield(top) {
				return
			}
		}
	}
}

// keyHeap is a max-heap of member indexes by key.
type keyHeap struct {
	idx  []int
	keys []float64
}

func (h *keyHeap) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(h.idx) {
			return
		}
		c := l
		if r := l + 1; r < len(h.idx) && h.keys[h.idx[r]] > h.keys[h.idx[l]] {
			c = r
		}
		if h.keys[h.idx[c]] <= h.keys[h.idx[i]] {
			return
		}
		h.idx[i], h.idx[c] = h.idx[c], h.idx[i]
		i = c
	}
}
