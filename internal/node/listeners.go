package node

import (
	"context"
	"fmt"
	"net"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/heckhq/heck/internal/dnsserver"
	"github.com/heckhq/heck/internal/haproxy"
	"github.com/heckhq/heck/internal/metrics"
)

// The node is the source of its consumers' listeners.
var (
	_ dnsserver.Source = (*Node)(nil)
	_ haproxy.Source   = (*Node)(nil)
)

// listenAgent binds haproxy_agent.listen when set.
func (n *Node) listenAgent(ctx context.Context) (*haproxy.Server, net.Listener, error) {
	addr := n.cfg.HAProxy.Listen
	if addr == "" {
		return nil, nil, nil
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("haproxy agent: listen on %s: %w (set --haproxy-agent or haproxy_agent.listen to a free address)", addr, err)
	}
	srv := haproxy.New(n, haproxy.Options{Logger: n.log.With("component", "haproxy-agent")})
	if err := n.promReg.Register(&agentCollector{srv: srv, replies: metrics.NewDesc(metrics.NameAgentReplies)}); err != nil {
		ln.Close()
		return nil, nil, fmt.Errorf("register haproxy agent metrics: %w", err)
	}
	n.agentAddr = ln.Addr()
	return srv, ln, nil
}

// AgentAddr returns the HAProxy agent's address once the node runs (nil
// when it runs none).
func (n *Node) AgentAddr(ctx context.Context) net.Addr {
	if n.Addr(ctx) == nil {
		return nil
	}
	return n.agentAddr
}

type agentCollector struct {
	srv     *haproxy.Server
	replies *prometheus.Desc
}

func (c *agentCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.replies }

func (c *agentCollector) Collect(ch chan<- prometheus.Metric) {
	for reply, x := range c.srv.Stats() {
		ch <- prometheus.MustNewConstMetric(c.replies, prometheus.CounterValue, float64(x), reply)
	}
}

// dnsListener is the DNS server's sockets, bound before Run starts its
// parts so a bad address fails the start.
type dnsListener struct {
	srv *dnsserver.Server
	pc  net.PacketConn
	ln  net.Listener
}

// listenDNS binds dns.listen (UDP and TCP on the same port) when set.
func (n *Node) listenDNS(ctx context.Context) (*dnsListener, error) {
	c := n.cfg.DNS
	if c.Listen == "" {
		return nil, nil
	}
	srv, err := dnsserver.New(n, dnsserver.Options{Zone: c.Zone, TTL: c.TTL.D(), Logger: n.log.With("component", "dns")})
	if err != nil {
		return nil, fmt.Errorf("dns: %w", err)
	}
	pc, ln, err := listenUDPAndTCP(ctx, c.Listen)
	if err != nil {
		return nil, err
	}
	if err := n.promReg.Register(&dnsCollector{srv: srv, queries: metrics.NewDesc(metrics.NameDNSQueries)}); err != nil {
		pc.Close()
		ln.Close()
		return nil, fmt.Errorf("register dns metrics: %w", err)
	}
	n.dnsAddr = pc.LocalAddr()
	return &dnsListener{srv: srv, pc: pc, ln: ln}, nil
}

// listenUDPAndTCP binds addr for UDP and TCP on one port. With port 0 the
// port is the one UDP got; when TCP finds that port taken (by anything,
// even an outgoing connection), it tries a few other ports before giving
// up.
func listenUDPAndTCP(ctx context.Context, addr string) (net.PacketConn, net.Listener, error) {
	var lc net.ListenConfig
	host, port, splitErr := net.SplitHostPort(addr)
	tries := 1
	if splitErr == nil && port == "0" {
		tries = 8
	}
	var err error
	for range tries {
		var pc net.PacketConn
		pc, err = lc.ListenPacket(ctx, "udp", addr)
		if err != nil {
			return nil, nil, fmt.Errorf("dns: listen on udp %s: %w (set --dns or dns.listen to a free address)", addr, err)
		}
		tcpAddr := addr
		if tries > 1 {
			tcpAddr = net.JoinHostPort(host, strconv.Itoa(pc.LocalAddr().(*net.UDPAddr).Port))
		}
		var ln net.Listener
		ln, err = lc.Listen(ctx, "tcp", tcpAddr)
		if err == nil {
			return pc, ln, nil
		}
		pc.Close()
		err = fmt.Errorf("dns: listen on tcp %s: %w (set --dns or dns.listen to a free address)", tcpAddr, err)
	}
	return nil, nil, err
}

// close releases the sockets of a listener that will not serve.
func (l *dnsListener) close() {
	if l != nil {
		l.pc.Close()
		l.ln.Close()
	}
}

// DNSAddr returns the DNS server's address once the node runs (nil when
// it serves no DNS), for tests that listen on port 0.
func (n *Node) DNSAddr(ctx context.Context) net.Addr {
	if n.Addr(ctx) == nil {
		return nil
	}
	return n.dnsAddr
}

type dnsCollector struct {
	srv     *dnsserver.Server
	queries *prometheus.Desc
}

func (c *dnsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.queries }

func (c *dnsCollector) Collect(ch chan<- prometheus.Metric) {
	for rcode, x := range c.srv.Stats().Queries {
		ch <- prometheus.MustNewConstMetric(c.queries, prometheus.CounterValue, float64(x), rcode)
	}
}
