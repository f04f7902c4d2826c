package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// DefaultPort is the gossip port used when a join address has none.
const DefaultPort = 7946

// ResolveFunc looks up every address of a host name (A and AAAA records).
type ResolveFunc func(ctx context.Context, host string) ([]net.IP, error)

// defaultResolve uses the system resolver (which reads /etc/hosts first, so
// "localhost" never leaves the machine).
func defaultResolve(ctx context.Context, host string) ([]net.IP, error) {
	addrs, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil {
		return nil, err
	}
	ips := make([]net.IP, 0, len(addrs))
	for _, a := range addrs {
		ips = append(ips, a.IP)
	}
	return ips, nil
}

// splitHostPort parses "host", "host:port", "[v6]:port" or a bare IPv6
// address, filling in defPort when the port is missing.
func splitHostPort(s string, defPort int) (host string, port int, err error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", 0, errors.New("empty address")
	}
	if ip := net.ParseIP(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")); ip != nil {
		return ip.String(), defPort, nil
	}
	h, p, err := net.SplitHostPort(s)
	if err != nil {
		var ae *net.AddrError
		if errors.As(err, &ae) && ae.Err == "missing port in address" {
			return s, defPort, nil
		}
		return "", 0, err
	}
	if h == "" {
		return "", 0, fmt.Errorf("%q has no host", s)
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 0 || n > 65535 {
		return "", 0, fmt.Errorf("%q: port %q is not a number from 0 to 65535", s, p)
	}
	return h, n, nil
}

// resolveJoin turns a join entry into "ip:port" strings: an IP literal as
// is, a name into every address it resolves to (a Kubernetes headless
// Service answers with one A record per ready pod).
func resolveJoin(ctx context.Context, resolve ResolveFunc, entry string) ([]string, error) {
	host, port, err := splitHostPort(entry, DefaultPort)
	if err != nil {
		return nil, err
	}
	if port == 0 {
		return nil, fmt.Errorf("%q: port 0 cannot be joined", entry)
	}
	ps := strconv.Itoa(port)
	if ip := net.ParseIP(host); ip != nil {
		return []string{net.JoinHostPort(ip.String(), ps)}, nil
	}
	ips, err := resolve(ctx, host)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", host, err)
	}
	if len(ips) == 0 {
		return nil, fmt.Errorf("resolve %s: no addresses", host)
	}
	out := make([]string, 0, len(ips))
	seen := make(map[string]bool, len(ips))
	for _, ip := range ips {
		a := net.JoinHostPort(ip.String(), ps)
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	return out, nil
}
