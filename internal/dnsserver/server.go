// Package dnsserver owns heck's authoritative DNS interface: a server for
// one zone ("heck." by default) that answers with the members of pools and
// with lone targets, so that any DNS client balances over what heck says is
// serving.
//
// Names in the zone, with the answers they give (TTL Options.TTL, 5 s by
// default; negative answers carry the SOA, whose minimum is
// Options.NegativeTTL, also 5 s by default):
//
//	<zone>                      SOA, NS (the apex)
//	ns.<zone>                   A/AAAA: the address the query reached this
//	                            server on (the NS target; reserved)
//	<pool>.<zone>               A, AAAA: the serving members' IP addresses
//	                            SRV: one per serving member with a port
//	_<svc>._tcp.<pool>.<zone>   SRV, as for <pool>.<zone>
//	<member-id>.<pool>.<zone>   A/AAAA (or CNAME) of one serving member: the
//	                            SRV records' targets
//	<target-id>.<zone>          A/AAAA (or CNAME) of a lone target
//
// Decisions, where DNS leaves a choice:
//
//   - Serving is the pool view's word: healthy members, or in panic the
//     fail-open set (pool.View marks them Serving).
//   - A pool or member with nothing serving, and a target that exists but
//     is not up or degraded, answer NOERROR with no records (NODATA) and
//     the SOA in the authority section. Consul answers NXDOMAIN when every
//     instance of a service is unhealthy (hashicorp/consul#1142); heck does
//     not, because the name exists: NXDOMAIN denies every type at the name
//     and, to resolvers that follow RFC 8020, every name below it, and
//     SERVFAIL sends resolvers retrying other servers. The short negative
//     TTL has clients ask again within seconds either way.
//   - ANY is answered with the addresses a name has (as A and AAAA would
//     be), at the apex with the NS; only _tcp services are known, so
//     _<svc>._udp.<pool> is NXDOMAIN. ns.<zone> is reserved for the NS
//     target and answers the local address the query arrived on (NODATA
//     when the server is bound to a wildcard address).
//   - A name in the zone that is nothing above is NXDOMAIN with the SOA.
//     Names outside the zone, and classes other than IN, are REFUSED;
//     opcodes other than QUERY are NOTIMP; zone transfers are REFUSED.
//   - A member whose address is a host name rather than an IP is left out
//     of <pool> A/AAAA answers (a CNAME cannot share a name with other
//     records); its SRV record names the host directly (an SRV target must
//     not be an alias, RFC 2782) with no additional records, and its own
//     name (<member-id>.<pool> or <target-id>) answers a CNAME to the host
//     for the resolver to follow. Members with no address are left out;
//     members with no port are left out of SRV answers.
//   - Answers are capped at Options.MaxAnswers (8 by default), chosen per
//     query by a random shuffle weighted by the members' weights, so that
//     clients, which mostly take the first address, spread load as the
//     weights say. SRV records carry the weights themselves.
//   - UDP answers larger than 512 bytes, or than the client's EDNS0 buffer
//     (up to 4096), are truncated with the TC bit set; TCP answers are not.
//     Queries with EDNS0 get an OPT advertising 4096 bytes; EDNS versions
//     other than 0 get BADVERS.
//   - Names are matched without regard to case. Pool names and member ids
//     in a view are compared case-insensitively. A lone target is looked up
//     by the name as asked, then lowercased: a target whose id has
//     upper-case letters is found only when asked in that exact case, which
//     resolvers randomising case (0x20) will not do; give such targets
//     lower-case ids, or reach them through a pool.
//   - Target ids may hold dots: "db.1" is <db.1>.<zone>, and a member
//     "db.1" of pool web is db.1.web.<zone>. A name of several labels is
//     first a member of the pool its last label names, then a target.
//     Member ids that are not a valid DNS name (a label over 63 bytes, an
//     empty label) are left out of SRV answers. Pools shadow targets of the
//     same name.
package dnsserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"

	"github.com/heckhq/heck/internal/pool"
)

// Defaults and limits of Options.
const (
	DefaultZone       = "heck."
	DefaultTTL        = 5 * time.Second
	DefaultMaxAnswers = 8
	MaxTTL            = 24 * time.Hour
	MaxMaxAnswers     = 1000
	// maxUDPSize is the largest EDNS0 buffer this server honours and
	// advertises.
	maxUDPSize = 4096
)

// Source is what the server asks of the node.
type Source interface {
	PoolView(name string) (pool.View, bool)     // false: no such pool
	TargetMember(id string) (pool.Member, bool) // a target on its own; false: no such target
}

// Options configure a Server. The zero value is valid: zone "heck.", TTLs
// of 5 s, 8 answers at most.
type Options struct {
	// Zone is the zone served, e.g. "heck." or "heck.example.com."; the
	// trailing dot may be left out.
	Zone string
	// TTL is the TTL of answers (0: DefaultTTL); NegativeTTL that of the
	// SOA and of negative answers (0: TTL).
	TTL         time.Duration
	NegativeTTL time.Duration
	// MaxAnswers caps the address or SRV records in one answer (0:
	// DefaultMaxAnswers).
	MaxAnswers int
	// Logger gets per-query debug lines and serving errors (nil: none).
	Logger *slog.Logger
}

// Server answers DNS queries for one zone. It is safe for concurrent use.
type Server struct {
	src        Source
	zone       string // lower case, fully qualified
	ttl        uint32
	negTTL     uint32
	maxAnswers int
	log        *slog.Logger
	serial     uint32
	nsName     string

	rcodes    [dns.RcodeBadCookie + 2]atomic.Uint64 // last: any other rcode
	truncated atomic.Uint64
}

// New returns a server answering from src, or an error naming the first
// bad option.
func New(src Source, opts Options) (*Server, error) {
	if src == nil {
		return nil, errors.New("dnsserver: source is nil: pass the node's pool and target source")
	}
	zone := opts.Zone
	if zone == "" {
		zone = DefaultZone
	}
	zone = strings.ToLower(dns.Fqdn(zone))
	if _, ok := dns.IsDomainName(zone); !ok || zone == "." {
		return nil, fmt.Errorf("dns zone %q: is not a domain name: give one such as %q", opts.Zone, DefaultZone)
	}
	ttl, err := seconds("dns ttl", opts.TTL, DefaultTTL)
	if err != nil {
		return nil, err
	}
	negTTL, err := seconds("dns negative_ttl", opts.NegativeTTL, time.Duration(ttl)*time.Second)
	if err != nil {
		return nil, err
	}
	maxAnswers := opts.MaxAnswers
	if maxAnswers == 0 {
		maxAnswers = DefaultMaxAnswers
	}
	if maxAnswers < 0 || maxAnswers > MaxMaxAnswers {
		return nil, fmt.Errorf("dns max_answers %d: is out of range: give 1 to %d (0 for %d)",
			opts.MaxAnswers, MaxMaxAnswers, DefaultMaxAnswers)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Server{src: src, zone: zone, ttl: ttl, negTTL: negTTL, maxAnswers: maxAnswers,
		log: log.With("component", "dns"), serial: uint32(time.Now().Unix()), nsName: "ns." + zone}, nil
}

func seconds(field string, d, def time.Duration) (uint32, error) {
	if d == 0 {
		d = def
	}
	if d < 0 || d > MaxTTL || d%time.Second != 0 {
		return 0, fmt.Errorf("%s %s: is not whole seconds from 0 to %s: give e.g. 5s", field, d, MaxTTL)
	}
	return uint32(d / time.Second), nil
}

// Zone returns the zone served, fully qualified and in lower case.
func (s *Server) Zone() string { return s.zone }

// Stats counts the queries answered, by response code, for metrics.
type Stats struct {
	// Queries maps an rcode's name (NOERROR, NXDOMAIN, REFUSED, ...) to
	// the number of responses with it.
	Queries map[string]uint64
	// Truncated counts UDP responses sent with the TC bit.
	Truncated uint64
}

// Stats returns the counts so far.
func (s *Server) Stats() Stats {
	st := Stats{Queries: map[string]uint64{}, Truncated: s.truncated.Load()}
	for i := range s.rcodes {
		n := s.rcodes[i].Load()
		if n == 0 {
			continue
		}
		name := "OTHER"
		if i < len(s.rcodes)-1 {
			name = rcodeName(i)
		}
		st.Queries[name] += n
	}
	return st
}

func rcodeName(rc int) string {
	if n, ok := dns.RcodeToString[rc]; ok {
		return n
	}
	return "RCODE" + strconv.Itoa(rc)
}

func (s *Server) count(rc int) {
	if rc < 0 || rc >= len(s.rcodes)-1 {
		rc = len(s.rcodes) - 1
	}
	s.rcodes[rc].Add(1)
}

// ListenAndServe serves UDP and TCP on addr (host:port; port 0 picks one
// free for both) until ctx ends.
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	var lc net.ListenConfig
	pc, err := lc.ListenPacket(ctx, "udp", addr)
	if err != nil {
		return fmt.Errorf("dns listen udp %s: %w", addr, err)
	}
	tcpAddr := addr
	if host, port, err := net.SplitHostPort(addr); err == nil && port == "0" {
		tcpAddr = net.JoinHostPort(host, strconv.Itoa(pc.LocalAddr().(*net.UDPAddr).Port))
	}
	ln, err := lc.Listen(ctx, "tcp", tcpAddr)
	if err != nil {
		_ = pc.Close()
		return fmt.Errorf("dns listen tcp %s: %w", tcpAddr, err)
	}
	return s.Serve(ctx, pc, ln)
}

// shutdownGrace bounds how long Serve waits for TCP connections to finish
// once ctx ends.
const shutdownGrace = 5 * time.Second

// Serve answers queries on pc (UDP) and ln (TCP), either of which may be
// nil, until ctx ends; it then shuts both down, closing them, and returns
// nil. It returns an error when a listener fails.
func (s *Server) Serve(ctx context.Context, pc net.PacketConn, ln net.Listener) error {
	var servers []*dns.Server
	if pc != nil {
		servers = append(servers, &dns.Server{PacketConn: pc, Handler: s})
	}
	if ln != nil {
		servers = append(servers, &dns.Server{Listener: ln, Handler: s})
	}
	if len(servers) == 0 {
		return errors.New("dns serve: no packet conn and no listener: give at least one")
	}
	errc := make(chan error, len(servers))
	started := make([]chan struct{}, len(servers))
	for i, srv := range servers {
		ch := make(chan struct{})
		started[i] = ch
		srv.NotifyStartedFunc = func() { close(ch) }
		go func() { errc <- srv.ActivateAndServe() }()
	}
	running := len(servers)
	var firstErr error
	// Wait for every server to start, so that each can be shut down.
	up := 0
	for i := range servers {
		select {
		case <-started[i]:
			up++
		case err := <-errc:
			running--
			firstErr = fmt.Errorf("dns serve: %w", err)
		}
		if firstErr != nil {
			break
		}
	}
	if firstErr == nil {
		s.log.Info("dns serving", "zone", s.zone, "servers", up)
		select {
		case <-ctx.Done():
		case err := <-errc:
			running--
			firstErr = fmt.Errorf("dns serve: %w", err)
		}
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	for i, srv := range servers {
		select {
		case <-started[i]:
			if err := srv.ShutdownContext(sctx); err != nil {
				s.log.Debug("dns shutdown", "err", err)
			}
		default:
			// Never started (it failed, or the loop stopped early): it
			// has returned or will on its own; close what it holds.
			if srv.PacketConn != nil {
				_ = srv.PacketConn.Close()
			}
			if srv.Listener != nil {
				_ = srv.Listener.Close()
			}
		}
	}
	for ; running > 0; running-- {
		<-errc // after shutdown the servers return nil or a closed-conn error
	}
	return firstErr
}
