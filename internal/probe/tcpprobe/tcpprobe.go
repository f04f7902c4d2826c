// Package tcpprobe probes tcp targets: connect, optionally send a payload,
// and optionally wait for an expected string in what the peer sends back.
package tcpprobe

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strconv"
	"syscall"
	"time"

	"github.com/heckhq/heck/internal/probe"
	"github.com/heckhq/heck/internal/target"
)

// MaxRead is how much of the peer's answer is searched for the expected
// string.
const MaxRead = 64 << 10

// Prober probes one tcp target.
type Prober struct {
	address string
	send    []byte
	expect  []byte
	control func(network, address string, c syscall.RawConn) error
	timeout time.Duration
}

// New builds the prober of spec, a tcp target; it dials through opts.Guard.
func New(spec target.Spec, opts probe.Options) (*Prober, error) {
	if _, _, err := net.SplitHostPort(spec.Address); err != nil {
		return nil, fmt.Errorf("address: %q is not host:port; set host:port, such as \"127.0.0.1:5432\"", spec.Address)
	}
	p := &Prober{address: spec.Address, control: opts.Guard.ControlFunc(), timeout: spec.Timeout.D()}
	if spec.TCP != nil {
		if spec.TCP.Send != "" {
			p.send = []byte(spec.TCP.Send)
		}
		if spec.TCP.Expect != "" {
			p.expect = []byte(spec.TCP.Expect)
		}
	}
	return p, nil
}

// Probe connects, sends and reads as the target asks.
func (p *Prober) Probe(ctx context.Context) probe.Result {
	if _, ok := ctx.Deadline(); !ok && p.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.timeout)
		defer cancel()
	}
	start := time.Now()
	budget := func() time.Duration { return probe.Budget(ctx, start) }
	d := net.Dialer{Control: p.control, KeepAlive: -1}
	conn, err := d.DialContext(ctx, "tcp", p.address)
	if err != nil {
		return probe.Fail(time.Since(start), probe.DescribeError(err, budget()))
	}
	defer conn.Close()
	res := probe.Result{Details: probe.Details{RemoteAddr: conn.RemoteAddr().String()}}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	// Cancellation before the deadline unblocks reads and writes too.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	if len(p.send) > 0 {
		if _, err := conn.Write(p.send); err != nil {
			res.Latency = time.Since(start)
			res.Message = "send: " + probe.DescribeError(err, budget())
			return res
		}
	}
	if len(p.expect) == 0 {
		res.OK, res.Latency, res.Message = true, time.Since(start), "connected"
		return res
	}
	got, found, err := readUntil(conn, p.expect)
	res.Latency = time.Since(start)
	if found {
		res.OK = true
		res.Message = "connected, received " + strconv.Quote(string(p.expect))
		return res
	}
	res.Message = "did not receive " + strconv.Quote(string(p.expect))
	switch {
	case err == nil:
		res.Message += " in the first " + strconv.Itoa(MaxRead) + " bytes"
	case ctx.Err() != nil || isTimeout(err):
		res.Message += " (" + probe.TimedOut(budget()) + ")"
	default:
		res.Message += " (" + probe.DescribeError(err, budget()) + ")"
	}
	res.Message += "; got " + describeGot(got)
	return res
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// describeGot shows what the peer sent: nothing, or its first bytes.
func describeGot(b []byte) string {
	if len(b) == 0 {
		return "nothing"
	}
	const show = 64
	s := strconv.Itoa(len(b)) + " bytes: "
	if len(b) > show {
		return s + strconv.Quote(string(b[:show])) + "..."
	}
	return s + strconv.Quote(string(b))
}

// readUntil reads from r until want appears, the peer stops sending, an
// error or MaxRead bytes.
func readUntil(r net.Conn, want []byte) (got []byte, found bool, err error) {
	buf := make([]byte, 0, 512)
	scanned := 0
	for len(buf) < MaxRead {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, rerr := r.Read(buf[len(buf):min(cap(buf), MaxRead)])
		buf = buf[:len(buf)+n]
		if n > 0 {
			if bytes.Contains(buf[scanned:], want) {
				return buf, true, nil
			}
			scanned = max(0, len(buf)-len(want)+1)
		}
		if rerr != nil {
			return buf, false, rerr
		}
	}
	return buf, false, nil
}
