// Package grpcprobe probes grpc targets with the standard health service
// (grpc.health.v1 Check), over plaintext or TLS. A Prober keeps one client
// connection, reused by every probe, until Close.
package grpcprobe

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/heckhq/heck/internal/probe"
	"github.com/heckhq/heck/internal/target"
)

// Prober probes one grpc target.
type Prober struct {
	conn    *grpc.ClientConn
	health  healthpb.HealthClient
	req     *healthpb.HealthCheckRequest // read-only
	service string
	timeout time.Duration
}

// New builds the prober of spec, a grpc target, and its client connection
// (which connects on the first probe). Connections dial through
// opts.Guard; TLS verifies against opts.RootCAs.
func New(spec target.Spec, opts probe.Options) (*Prober, error) {
	host, _, err := net.SplitHostPort(spec.Address)
	if err != nil {
		return nil, fmt.Errorf("address: %q is not host:port; set host:port, such as \"127.0.0.1:50051\"", spec.Address)
	}
	o := spec.GRPC
	if o == nil {
		o = &target.GRPCOptions{}
	}
	creds := insecure.NewCredentials()
	if o.TLS {
		name := o.ServerName
		if name == "" {
			name = host
		}
		creds = credentials.NewTLS(&tls.Config{
			ServerName:         name,
			InsecureSkipVerify: o.InsecureSkipVerify, //nolint:gosec // the target asked for it
			RootCAs:            opts.RootCAs,
		})
	}
	d := opts.Guard.Dialer(0)
	conn, err := grpc.NewClient("passthrough:///"+spec.Address,
		grpc.WithTransportCredentials(creds),
		grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
			return d.DialContext(ctx, "tcp", addr)
		}),
		// A health checker must notice a recovery within an interval or
		// two, not after grpc's default backoff of up to two minutes.
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 200 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 5 * time.Second},
			MinConnectTimeout: 20 * time.Second, // as grpc: a slow handshake is not cut short; each probe is bounded by its own deadline
		}),
		grpc.WithUserAgent("heck-probe/1"),
		grpc.WithDisableServiceConfig(),
	)
	if err != nil {
		return nil, fmt.Errorf("grpc client for %s: %w", spec.Address, err)
	}
	return &Prober{
		conn:    conn,
		health:  healthpb.NewHealthClient(conn),
		req:     &healthpb.HealthCheckRequest{Service: o.Service},
		service: o.Service,
		timeout: spec.Timeout.D(),
	}, nil
}

// Close releases the client connection.
func (p *Prober) Close() error { return p.conn.Close() }

// Probe asks the health service for the status of the target's service.
func (p *Prober) Probe(ctx context.Context) probe.Result {
	if _, ok := ctx.Deadline(); !ok && p.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.timeout)
		defer cancel()
	}
	start := time.Now()
	if p.conn.GetState() == connectivity.TransientFailure {
		// Try again now rather than when the backoff says, and wait until
		// the new attempt has started so the call sees its outcome.
		p.conn.ResetConnectBackoff()
		p.conn.WaitForStateChange(ctx, connectivity.TransientFailure)
	}
	resp, err := p.health.Check(ctx, p.req)
	res := probe.Result{Latency: time.Since(start)}
	if err != nil {
		res.Message = p.describe(err, probe.Budget(ctx, start))
		if status.Code(err) == codes.NotFound {
			res.Details.Serving = healthpb.HealthCheckResponse_SERVICE_UNKNOWN.String()
		}
		return res
	}
	st := resp.GetStatus()
	res.Details.Serving = st.String()
	if st != healthpb.HealthCheckResponse_SERVING {
		res.Message = p.subject() + " is " + st.String()
		return res
	}
	res.OK = true
	res.Message = "SERVING"
	return res
}

func (p *Prober) subject() string {
	if p.service == "" {
		return "server"
	}
	return "service " + strconv.Quote(p.service)
}

func (p *Prober) describe(err error, budget time.Duration) string {
	s, _ := status.FromError(err)
	msg := s.Message()
	switch s.Code() {
	case codes.NotFound:
		return p.subject() + " is SERVICE_UNKNOWN to the server"
	case codes.Unimplemented:
		return "server does not implement grpc.health.v1"
	case codes.DeadlineExceeded:
		return probe.TimedOut(budget)
	case codes.Canceled:
		return "canceled"
	case codes.Unavailable:
		if i := strings.Index(msg, "refused to connect to "); i >= 0 {
			const end = "(probe.deny_networks)"
			if j := strings.Index(msg[i:], end); j >= 0 {
				return msg[i : i+j+len(end)]
			}
		}
		if strings.Contains(msg, "connection refused") {
			return "connect: connection refused"
		}
		msg = strings.TrimPrefix(msg, "connection error: desc = ")
		if uq, err := strconv.Unquote(msg); err == nil {
			msg = uq
		}
		return "unavailable: " + strings.TrimPrefix(msg, "transport: ")
	}
	return s.Code().String() + ": " + msg
}
