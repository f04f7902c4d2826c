// Package icmpprobe probes icmp targets with one echo request ("ping").
// It uses the kernel's unprivileged ICMP sockets where
// net.ipv4.ping_group_range allows them and falls back to a raw socket when
// heck runs as root or with CAP_NET_RAW; when neither is possible the probe
// fails with a message saying how to allow one.
package icmpprobe

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"

	"github.com/heckhq/heck/internal/probe"
	"github.com/heckhq/heck/internal/target"
)

// DefaultPayloadSize is the echo payload when icmp.payload_size is unset,
// as ping's.
const DefaultPayloadSize = 56

// Prober probes one icmp target.
type Prober struct {
	host    string
	size    int
	guard   *probe.Guard
	timeout time.Duration
}

// New builds the prober of spec, an icmp target whose Address is a host.
func New(spec target.Spec, opts probe.Options) (*Prober, error) {
	if spec.Address == "" || strings.ContainsAny(spec.Address, "/ ") {
		return nil, fmt.Errorf("address: %q is not a host; set a host name or IP address such as \"127.0.0.1\"", spec.Address)
	}
	p := &Prober{host: spec.Address, size: DefaultPayloadSize, guard: opts.Guard, timeout: spec.Timeout.D()}
	if spec.ICMP != nil && spec.ICMP.PayloadSize > 0 {
		p.size = spec.ICMP.PayloadSize
	}
	return p, nil
}

var seq atomic.Uint32

// Probe sends one echo request and waits for its reply.
func (p *Prober) Probe(ctx context.Context) probe.Result {
	if _, ok := ctx.Deadline(); !ok && p.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.timeout)
		defer cancel()
	}
	start := time.Now()
	fail := func(msg string) probe.Result { return probe.Fail(time.Since(start), msg) }
	ip, err := p.resolve(ctx)
	if err != nil {
		return fail(probe.DescribeError(err, probe.Budget(ctx, start)))
	}
	if err := p.guard.Allowed(ip); err != nil {
		return fail(err.Error())
	}
	v4 := ip.Is4()
	conn, raw, err := listen(v4)
	if err != nil {
		return fail(err.Error())
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	var idb [2]byte
	_, _ = rand.Read(idb[:])
	echo := &icmp.Echo{ID: int(idb[0])<<8 | int(idb[1]), Seq: int(uint16(seq.Add(1))), Data: make([]byte, p.size)}
	_, _ = rand.Read(echo.Data[:min(len(echo.Data), 16)]) // a nonce, so replies cannot be confused
	for i := 16; i < len(echo.Data); i++ {
		echo.Data[i] = byte(i)
	}
	msg := icmp.Message{Type: ipv4.ICMPTypeEcho, Body: echo}
	proto := 1 // ICMP
	if !v4 {
		msg.Type = ipv6.ICMPTypeEchoRequest
		proto = 58 // ICMPv6
	}
	wire, err := msg.Marshal(nil) // the kernel computes the ICMPv6 checksum
	if err != nil {
		return fail("build echo request: " + err.Error())
	}
	var dst net.Addr = &net.UDPAddr{IP: ip.AsSlice()}
	if raw {
		dst = &net.IPAddr{IP: ip.AsSlice()}
	}
	res := probe.Result{Details: probe.Details{RemoteAddr: ip.String()}}
	if _, err := conn.WriteTo(wire, dst); err != nil {
		res.Latency = time.Since(start)
		res.Message = "send echo request: " + probe.DescribeError(err, probe.Budget(ctx, start))
		return res
	}
	buf := make([]byte, p.size+128)
	for {
		n, peer, err := conn.ReadFrom(buf)
		if err != nil {
			res.Latency = time.Since(start)
			if ctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded) {
				res.Message = "no echo reply: " + probe.TimedOut(probe.Budget(ctx, start))
			} else {
				res.Message = "no echo reply: " + probe.DescribeError(err, probe.Budget(ctx, start))
			}
			return res
		}
		if isReply(buf[:n], proto, echo, raw) && samePeer(peer, ip) {
			res.Latency = time.Since(start)
			res.OK = true
			res.Message = "echo reply from " + ip.String()
			return res
		}
	}
}

func (p *Prober) resolve(ctx context.Context) (netip.Addr, error) {
	if ip, err := netip.ParseAddr(p.host); err == nil {
		return ip.Unmap().WithZone(""), nil
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", p.host)
	if err != nil {
		return netip.Addr{}, err
	}
	// Prefer IPv4, as ping does.
	for _, ip := range ips {
		if ip.Unmap().Is4() {
			return ip.Unmap(), nil
		}
	}
	if len(ips) == 0 {
		return netip.Addr{}, &net.DNSError{Name: p.host, Err: "no addresses", IsNotFound: true}
	}
	return ips[0].WithZone(""), nil
}

// isReply reports whether b is the reply to echo. The kernel rewrites the
// identifier of unprivileged sockets, so only raw sockets match on it; the
// sequence number and the payload (with its random nonce) match always.
func isReply(b []byte, proto int, echo *icmp.Echo, raw bool) bool {
	m, err := icmp.ParseMessage(proto, b)
	if err != nil {
		return false
	}
	if m.Type != ipv4.ICMPTypeEchoReply && m.Type != ipv6.ICMPTypeEchoReply {
		return false
	}
	e, ok := m.Body.(*icmp.Echo)
	if !ok || e.Seq != echo.Seq || (raw && e.ID != echo.ID) {
		return false
	}
	return bytes.Equal(e.Data, echo.Data)
}

func samePeer(peer net.Addr, ip netip.Addr) bool {
	var got net.IP
	switch a := peer.(type) {
	case *net.UDPAddr:
		got = a.IP
	case *net.IPAddr:
		got = a.IP
	default:
		return false
	}
	g, ok := netip.AddrFromSlice(got)
	return ok && g.Unmap() == ip
}

// listen opens an unprivileged ICMP socket, or else a raw one.
func listen(v4 bool) (conn *icmp.PacketConn, raw bool, err error) {
	udpNet, rawNet, wildcard := "udp4", "ip4:icmp", "0.0.0.0"
	if !v4 {
		udpNet, rawNet, wildcard = "udp6", "ip6:ipv6-icmp", "::"
	}
	c, udpErr := icmp.ListenPacket(udpNet, wildcard)
	if udpErr == nil {
		return c, false, nil
	}
	c, rawErr := icmp.ListenPacket(rawNet, wildcard)
	if rawErr == nil {
		return c, true, nil
	}
	return nil, false, &SocketError{Unprivileged: udpErr, Raw: rawErr, GID: os.Getegid(), PingGroupRange: pingGroupRange()}
}

// SocketError says why no ICMP socket could be opened, and how to allow one.
type SocketError struct {
	Unprivileged, Raw error
	// GID is heck's effective group, which ping_group_range must include.
	GID int
	// PingGroupRange is net.ipv4.ping_group_range as read ("" if unknown).
	PingGroupRange string
}

func (e *SocketError) Error() string {
	rng := "(unknown)"
	if e.PingGroupRange != "" {
		rng = `"` + e.PingGroupRange + `"`
	}
	return fmt.Sprintf("cannot open an ICMP socket: unprivileged ping is not allowed for group %d (net.ipv4.ping_group_range is %s: %v) "+
		"and a raw socket needs root or CAP_NET_RAW (%v); allow one: sysctl -w net.ipv4.ping_group_range=\"0 2147483647\", "+
		"or give heck CAP_NET_RAW (setcap cap_net_raw+ep /path/to/heck, or AmbientCapabilities=CAP_NET_RAW in its systemd unit)",
		e.GID, rng, unwrapSyscall(e.Unprivileged), unwrapSyscall(e.Raw))
}

func unwrapSyscall(err error) error {
	var se *os.SyscallError
	if errors.As(err, &se) {
		return se.Err
	}
	return err
}

func pingGroupRange() string {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ping_group_range")
	if err != nil {
		return ""
	}
	return strings.Join(strings.Fields(string(b)), " ")
}
