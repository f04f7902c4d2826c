package cluster

import (
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// CountingTransport wraps a memberlist transport and counts every byte the
// node sends: gossip packets, and stream bytes both on the connections it
// dials (push/pull, reliable messages) and on those it accepts (push/pull
// answers). The cluster benchmarks read it for "gossip bytes per node per
// second". It may wrap, or be wrapped by, a PartitionTransport.
type CountingTransport struct {
	memberlist.NodeAwareTransport

	packets     atomic.Int64
	packetBytes atomic.Int64
	streamBytes atomic.Int64

	streams  chan net.Conn
	done     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
}

// Traffic is what a CountingTransport has sent so far.
type Traffic struct {
	Packets     int64 // UDP packets
	PacketBytes int64
	StreamBytes int64 // TCP bytes written
}

// Total is all bytes sent.
func (t Traffic) Total() int64 { return t.PacketBytes + t.StreamBytes }

// NewCountingTransport wraps t. Its goroutine (wrapping accepted
// connections) stops at Shutdown.
func NewCountingTransport(t memberlist.NodeAwareTransport) *CountingTransport {
	c := &CountingTransport{
		NodeAwareTransport: t,
		streams:            make(chan net.Conn),
		done:               make(chan struct{}),
	}
	c.wg.Add(1)
	go c.forwardStreams()
	return c
}

var _ memberlist.NodeAwareTransport = (*CountingTransport)(nil)

// Traffic returns the counts so far.
func (c *CountingTransport) Traffic() Traffic {
	return Traffic{Packets: c.packets.Load(), PacketBytes: c.packetBytes.Load(), StreamBytes: c.streamBytes.Load()}
}

// WriteTo implements memberlist.Transport.
func (c *CountingTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	return c.WriteToAddress(b, memberlist.Address{Addr: addr})
}

// WriteToAddress implements memberlist.NodeAwareTransport.
func (c *CountingTransport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	ts, err := c.NodeAwareTransport.WriteToAddress(b, a)
	if err == nil {
		c.packets.Add(1)
		c.packetBytes.Add(int64(len(b)))
	}
	return ts, err
}

// DialTimeout implements memberlist.Transport.
func (c *CountingTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	return c.DialAddressTimeout(memberlist.Address{Addr: addr}, timeout)
}

// DialAddressTimeout implements memberlist.NodeAwareTransport.
func (c *CountingTransport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	conn, err := c.NodeAwareTransport.DialAddressTimeout(a, timeout)
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: conn, n: &c.streamBytes}, nil
}

// StreamCh implements memberlist.Transport: accepted connections, wrapped.
func (c *CountingTransport) StreamCh() <-chan net.Conn { return c.streams }

func (c *CountingTransport) forwardStreams() {
	defer c.wg.Done()
	in := c.NodeAwareTransport.StreamCh()
	for {
		select {
		case <-c.done:
			return
		case conn := <-in:
			select {
			case c.streams <- &countingConn{Conn: conn, n: &c.streamBytes}:
			case <-c.done:
				_ = conn.Close()
				return
			}
		}
	}
}

// Shutdown implements memberlist.Transport.
func (c *CountingTransport) Shutdown() error {
	err := c.NodeAwareTransport.Shutdown()
	c.stopOnce.Do(func() { close(c.done) })
	c.wg.Wait()
	return err
}

type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c *countingConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.n.Add(int64(n))
	return n, err
}
