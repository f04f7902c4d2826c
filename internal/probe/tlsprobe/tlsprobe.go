// Package tlsprobe probes tls targets: a TLS handshake, certificate
// verification (unless turned off) and the leaf certificate's lifetime.
package tlsprobe

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"syscall"
	"time"

	"github.com/heckhq/heck/internal/probe"
	"github.com/heckhq/heck/internal/target"
)

// Prober probes one tls target.
type Prober struct {
	address     string
	config      *tls.Config // read-only, shared by every handshake
	control     func(network, address string, c syscall.RawConn) error
	timeout     time.Duration
	certMinDays int
}

// New builds the prober of spec, a tls target; it dials through opts.Guard
// and verifies against opts.RootCAs (nil: the system's roots).
func New(spec target.Spec, opts probe.Options) (*Prober, error) {
	host, _, err := net.SplitHostPort(spec.Address)
	if err != nil {
		return nil, fmt.Errorf("address: %q is not host:port; set host:port, such as \"127.0.0.1:443\"", spec.Address)
	}
	o := spec.TLS
	if o == nil {
		o = &target.TLSOptions{}
	}
	name := o.ServerName
	if name == "" {
		name = host
	}
	return &Prober{
		address: spec.Address,
		config: &tls.Config{
			ServerName:         name,
			InsecureSkipVerify: o.InsecureSkipVerify, //nolint:gosec // the target asked for it
			RootCAs:            opts.RootCAs,
		},
		control:     opts.Guard.ControlFunc(),
		timeout:     spec.Timeout.D(),
		certMinDays: o.CertMinDays,
	}, nil
}

// Probe connects and completes a handshake.
func (p *Prober) Probe(ctx context.Context) probe.Result {
	if _, ok := ctx.Deadline(); !ok && p.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.timeout)
		defer cancel()
	}
	start := time.Now()
	d := net.Dialer{Control: p.control, KeepAlive: -1}
	conn, err := d.DialContext(ctx, "tcp", p.address)
	if err != nil {
		return probe.Fail(time.Since(start), probe.DescribeError(err, probe.Budget(ctx, start)))
	}
	defer conn.Close()
	res := probe.Result{Details: probe.Details{RemoteAddr: conn.RemoteAddr().String()}}
	tc := tls.Client(conn, p.config)
	if err := tc.HandshakeContext(ctx); err != nil {
		res.Latency = time.Since(start)
		res.Message = probe.DescribeError(err, probe.Budget(ctx, start))
		return res
	}
	res.Latency = time.Since(start)
	cs := tc.ConnectionState()
	res.Details.TLSVersion = tls.VersionName(cs.Version)
	if len(cs.PeerCertificates) == 0 {
		res.Message = "server sent no certificate"
		return res
	}
	leaf := cs.PeerCertificates[0]
	days := probe.DaysLeft(leaf.NotAfter, start)
	res.Details.CertExpiry = leaf.NotAfter
	res.Details.CertDaysLeft = days
	if msg := probe.CertProblem(leaf.NotAfter, start, p.certMinDays); msg != "" {
		res.Message = msg
		return res
	}
	res.OK = true
	res.Message = fmt.Sprintf("%s, certificate expires in %d %s", res.Details.TLSVersion, days, plural(days))
	return res
}

func plural(n int) string {
	if n == 1 {
		return "day"
	}
	return "days"
}
