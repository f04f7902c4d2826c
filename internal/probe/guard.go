package probe

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// DefaultDenyNetworks are refused unless probe.deny_networks says
// otherwise: link-local addresses (where cloud metadata services live) and
// the metadata addresses of clouds that put them elsewhere.
var DefaultDenyNetworks = []string{
	"169.254.0.0/16",     // IPv4 link-local, AWS/GCP/Azure/OpenStack metadata
	"fe80::/10",          // IPv6 link-local
	"fd00:ec2::254/128",  // AWS metadata over IPv6
	"100.100.100.200/32", // Alibaba Cloud metadata
}

// Guard refuses connections to denied networks. Every probe dials through
// it: Control runs on each socket after name resolution and before connect,
// so it sees the address actually used, including after every HTTP redirect
// and every DNS answer. A nil *Guard allows everything.
type Guard struct {
	deny []netip.Prefix
}

// DeniedError is the error of a refused connection.
type DeniedError struct {
	// Addr is the address refused.
	Addr netip.Addr
	// Network is the denied network it falls in.
	Network netip.Prefix
}

func (e *DeniedError) Error() string {
	return "refused to connect to " + e.Addr.String() + ": in denied network " + e.Network.String() + " (probe.deny_networks)"
}

// NewGuard returns a guard refusing the networks in deny, each a CIDR
// ("169.254.0.0/16") or a single address ("100.100.100.200").
func NewGuard(deny []string) (*Guard, error) {
	g := &Guard{deny: make([]netip.Prefix, 0, len(deny))}
	for i, s := range deny {
		s = strings.TrimSpace(s)
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil || a.Zone() != "" {
				return nil, fmt.Errorf("probe.deny_networks[%d]: %q is not a network; write a CIDR such as \"169.254.0.0/16\" or \"fe80::/10\", or a single address", i, s)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		g.deny = append(g.deny, p.Masked())
	}
	return g, nil
}

// Networks returns the denied networks.
func (g *Guard) Networks() []netip.Prefix {
	if g == nil {
		return nil
	}
	return append([]netip.Prefix(nil), g.deny...)
}

// Allowed returns nil when ip may be connected to, or a *DeniedError.
// IPv4-mapped IPv6 addresses are checked as IPv4 and zones are ignored, so
// neither "::ffff:169.254.169.254" nor "fe80::1%eth0" slips through.
func (g *Guard) Allowed(ip netip.Addr) error {
	if g == nil || len(g.deny) == 0 {
		return nil
	}
	ip = ip.Unmap().WithZone("")
	for _, p := range g.deny {
		if p.Contains(ip) {
			return &DeniedError{Addr: ip, Network: p}
		}
	}
	return nil
}

// Control is a net.Dialer.Control function: it refuses address (the
// resolved "ip:port" about to be connected to) when it lies in a denied
// network. It runs before connect, so a refused address is never sent a
// packet. Addresses it cannot read are refused too, except on unix sockets.
func (g *Guard) Control(network, address string, _ syscall.RawConn) error {
	if g == nil || len(g.deny) == 0 {
		return nil
	}
	if strings.HasPrefix(network, "unix") {
		return nil
	}
	ip, err := parseIP(address)
	if err != nil {
		return fmt.Errorf("refused to connect to %q: cannot read its address (probe.deny_networks is set)", address)
	}
	return g.Allowed(ip)
}

func parseIP(address string) (netip.Addr, error) {
	if ap, err := netip.ParseAddrPort(address); err == nil {
		return ap.Addr(), nil
	}
	host := address
	if h, _, err := net.SplitHostPort(address); err == nil {
		host = h
	}
	return netip.ParseAddr(host)
}

// ControlFunc returns g.Control, or nil for a nil guard (so a dialer without
// a guard skips the call).
func (g *Guard) ControlFunc() func(network, address string, c syscall.RawConn) error {
	if g == nil || len(g.deny) == 0 {
		return nil
	}
	return g.Control
}

// Dialer returns a dialer that connects through g with the given timeout
// (0: only the context's deadline applies).
func (g *Guard) Dialer(timeout time.Duration) *net.Dialer {
	return &net.Dialer{Timeout: timeout, Control: g.ControlFunc()}
}

// IsDenied reports whether err comes from a refused connection, and returns
// the refusal.
func IsDenied(err error) (*DeniedError, bool) {
	var de *DeniedError
	if errors.As(err, &de) {
		return de, true
	}
	return nil, false
}
