package hostcheck

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	psnet "github.com/shirou/gopsutil/v4/net"

	"github.com/heckhq/heck/internal/probe"
	"github.com/heckhq/heck/internal/target"
)

// PortOptions are the options of a port check: a local TCP socket listens
// on Port (on Address, or on any address when Address is empty). Unlike a
// tcp dependency it connects to nothing: it reads the host's socket table,
// so a port bound to a private interface is seen too.
type PortOptions struct {
	Port int `json:"port" yaml:"port"`
	// Address is the IP the socket must listen on; a socket on the
	// wildcard address (0.0.0.0, ::) counts for every address.
	Address string `json:"address,omitempty" yaml:"address,omitempty"`
}

// Validate reports every problem of o.
func (o *PortOptions) Validate() target.FieldErrors {
	var errs target.FieldErrors
	if o.Port < 1 || o.Port > 65535 {
		errs = append(errs, target.FieldError{Field: "port", Value: strconv.Itoa(o.Port), Problem: "is not a port", Fix: "set a port from 1 to 65535"})
	}
	if o.Address != "" && net.ParseIP(o.Address) == nil {
		errs = append(errs, target.FieldError{Field: "address", Value: o.Address, Problem: "is not an IP address", Fix: "set an IP such as 127.0.0.1, or leave it out for any address"})
	}
	return errs
}

// Port is a port check.
type Port struct {
	o     PortOptions
	ip    net.IP
	conns func(ctx context.Context) ([]psnet.ConnectionStat, error)
}

// NewPort builds a port check of o (validated).
func NewPort(o PortOptions) *Port {
	return &Port{o: o, ip: net.ParseIP(o.Address), conns: func(ctx context.Context) ([]psnet.ConnectionStat, error) {
		return psnet.ConnectionsWithoutUidsWithContext(ctx, "tcp")
	}}
}

// Probe looks for a listening socket.
func (p *Port) Probe(ctx context.Context) probe.Result {
	start := time.Now()
	cs, err := p.conns(ctx)
	if err != nil {
		return probe.Fail(time.Since(start), fmt.Sprintf("port %d: %v", p.o.Port, err))
	}
	where := strconv.Itoa(p.o.Port)
	if p.ip != nil {
		where = net.JoinHostPort(p.o.Address, where)
	}
	for _, c := range cs {
		if c.Status != "LISTEN" || c.Laddr.Port != uint32(p.o.Port) {
			continue
		}
		if p.ip != nil {
			lip := net.ParseIP(c.Laddr.IP)
			if lip == nil || !(lip.Equal(p.ip) || lip.IsUnspecified()) {
				continue
			}
		}
		msg := fmt.Sprintf("listening on %s", net.JoinHostPort(c.Laddr.IP, strconv.Itoa(int(c.Laddr.Port))))
		if c.Pid > 0 {
			msg += fmt.Sprintf(" (pid %d)", c.Pid)
		}
		return probe.Result{OK: true, Latency: time.Since(start), Message: msg}
	}
	return probe.Result{Latency: time.Since(start), Message: "nothing listens on TCP port " + where, Reason: probe.ReasonRefused}
}
