package cluster

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

// Partitioner simulates network partitions between in-process nodes, for
// tests and the cluster benchmarks. Every node's transport is wrapped by the
// same Partitioner; Partition then drops all traffic between two groups of
// nodes (packets are silently lost, stream dials fail, as through a dead
// link) until Heal.
//
// Blocking is done on the sending side of each wrapped transport, by peer
// name when memberlist knows it and by address otherwise (joins dial bare
// addresses), so a partition is complete as long as both sides are wrapped.
type Partitioner struct {
	mu      sync.RWMutex
	byAddr  map[string]string // transport address -> node name
	blocked map[[2]string]bool
}

// NewPartitioner returns a Partitioner with no partition in force.
func NewPartitioner() *Partitioner {
	return &Partitioner{byAddr: map[string]string{}, blocked: map[[2]string]bool{}}
}

func pairKey(a, b string) [2]string {
	if a > b {
		a, b = b, a
	}
	return [2]string{a, b}
}

// Partition drops all traffic between every node in a and every node in b.
// Partitions add up until Heal.
func (p *Partitioner) Partition(a, b []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, x := range a {
		for _, y := range b {
			if x != y {
				p.blocked[pairKey(x, y)] = true
			}
		}
	}
}

// Heal lets all traffic through again.
func (p *Partitioner) Heal() {
	p.mu.Lock()
	defer p.mu.Unlock()
	clear(p.blocked)
}

// cut reports whether traffic from node self to a is dropped.
func (p *Partitioner) cut(self string, a memberlist.Address) bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if len(p.blocked) == 0 {
		return false
	}
	peer := a.Name
	if peer == "" {
		peer = p.byAddr[a.Addr]
	}
	return peer != "" && p.blocked[pairKey(self, peer)]
}

// Wrap wraps node name's transport. The transport's advertised address is
// registered so that joins to a bare address are cut too.
func (p *Partitioner) Wrap(name string, t memberlist.NodeAwareTransport) (*PartitionTransport, error) {
	ip, port, err := t.FinalAdvertiseAddr("", 0)
	if err != nil {
		return nil, fmt.Errorf("partitioner: address of %s: %w", name, err)
	}
	p.mu.Lock()
	p.byAddr[net.JoinHostPort(ip.String(), strconv.Itoa(port))] = name
	p.mu.Unlock()
	return &PartitionTransport{NodeAwareTransport: t, p: p, name: name}, nil
}

// Loopback creates a UDP+TCP transport on a free port of 127.0.0.1 for node
// name, wrapped by p. Pass it as Config.Transport.
func (p *Partitioner) Loopback(name string, log *slog.Logger) (*PartitionTransport, error) {
	if log == nil {
		log = slog.Default()
	}
	nt, err := memberlist.NewNetTransport(&memberlist.NetTransportConfig{
		BindAddrs: []string{"127.0.0.1"},
		BindPort:  0,
		Logger:    newStdLogger(log),
	})
	if err != nil {
		return nil, fmt.Errorf("partitioner: transport for %s: %w", name, err)
	}
	pt, err := p.Wrap(name, nt)
	if err != nil {
		_ = nt.Shutdown()
		return nil, err
	}
	return pt, nil
}

// errPartitioned is what a dial across a partition fails with.
var errPartitioned = errors.New("partitioned (simulated)")

// PartitionTransport is a memberlist transport whose traffic a Partitioner
// can cut.
type PartitionTransport struct {
	memberlist.NodeAwareTransport
	p    *Partitioner
	name string
}

var _ memberlist.NodeAwareTransport = (*PartitionTransport)(nil)

// WriteTo implements memberlist.Transport.
func (t *PartitionTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	return t.WriteToAddress(b, memberlist.Address{Addr: addr})
}

// WriteToAddress implements memberlist.NodeAwareTransport; a packet across a
// partition is dropped without error, as a network would.
func (t *PartitionTransport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	if t.p.cut(t.name, a) {
		return time.Now(), nil
	}
	return t.NodeAwareTransport.WriteToAddress(b, a)
}

// DialTimeout implements memberlist.Transport.
func (t *PartitionTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	return t.DialAddressTimeout(memberlist.Address{Addr: addr}, timeout)
}

// DialAddressTimeout implements memberlist.NodeAwareTransport; a dial across
// a partition fails at once.
func (t *PartitionTransport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	if t.p.cut(t.name, a) {
		return nil, fmt.Errorf("dial %s: %w", a.Addr, errPartitioned)
	}
	return t.NodeAwareTransport.DialAddressTimeout(a, timeout)
}
