// Package kinds builds the prober of a target's kind, and reads the
// one-off targets of `heck check <url|addr>`.
package kinds

import (
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/heckhq/heck/internal/probe"
	"github.com/heckhq/heck/internal/probe/agentprobe"
	"github.com/heckhq/heck/internal/probe/dnsprobe"
	"github.com/heckhq/heck/internal/probe/grpcprobe"
	"github.com/heckhq/heck/internal/probe/httpprobe"
	"github.com/heckhq/heck/internal/probe/icmpprobe"
	"github.com/heckhq/heck/internal/probe/pgprobe"
	"github.com/heckhq/heck/internal/probe/redisprobe"
	"github.com/heckhq/heck/internal/probe/tcpprobe"
	"github.com/heckhq/heck/internal/probe/tlsprobe"
	"github.com/heckhq/heck/internal/target"
)

// New builds the prober of spec, which must be validated, defaulted
// (WithDefaults) and expanded (Expand). The prober may implement
// probe.Closer; close it when the target goes away.
func New(spec target.Spec, opts probe.Options) (probe.Prober, error) {
	var (
		p   probe.Prober
		err error
	)
	switch spec.Kind {
	case target.KindHTTP:
		p, err = nilSafe(httpprobe.New(spec, opts))
	case target.KindTCP:
		p, err = nilSafe(tcpprobe.New(spec, opts))
	case target.KindTLS:
		p, err = nilSafe(tlsprobe.New(spec, opts))
	case target.KindDNS:
		p, err = nilSafe(dnsprobe.New(spec, opts))
	case target.KindGRPC:
		p, err = nilSafe(grpcprobe.New(spec, opts))
	case target.KindICMP:
		p, err = nilSafe(icmpprobe.New(spec, opts))
	case target.KindAgent:
		p, err = nilSafe(agentprobe.New(spec, opts))
	case target.KindPostgres:
		p, err = nilSafe(pgprobe.New(spec, opts))
	case target.KindRedis:
		p, err = nilSafe(redisprobe.New(spec, opts))
	default:
		names := make([]string, len(target.Kinds))
		for i, k := range target.Kinds {
			names[i] = string(k)
		}
		return nil, fmt.Errorf("target %s: kind %q is not a known kind; set kind to one of %s", spec.ID, spec.Kind, strings.Join(names, ", "))
	}
	if err != nil {
		return nil, fmt.Errorf("target %s: %w", spec.ID, err)
	}
	return p, nil
}

// nilSafe keeps a typed nil pointer out of the interface on error.
func nilSafe[P probe.Prober](p P, err error) (probe.Prober, error) {
	if err != nil {
		return nil, err
	}
	return p, nil
}

// CheckID is the id of the target ParseArg makes.
const CheckID = "check"

const argHelp = "write http://host/path, https://..., host:port or tcp://host:port, tls://host:port, " +
	"grpc://host:port[/service] (grpcs:// for TLS), dns://resolver[:port]/name[?type=AAAA&transport=tcp], icmp://host, " +
	"postgres://user[:password]@host[:port]/db[?sslmode=disable&query=SQL&expect=V], or redis://[:password@]host[:port][/db][?key=K] (rediss:// for TLS)"

// ParseArg reads the target of `heck check`: "http://..." and "https://..."
// are http, "tcp://host:port" or a bare "host:port" tcp, "tls://host:port"
// tls, "grpc://host:port[/service]" grpc ("grpcs://" over TLS),
// "dns://resolver[:port]/name[?type=AAAA&rcode=NXDOMAIN&transport=tcp]" dns
// (port 53 by default), "icmp://host" icmp, "postgres://..." postgres and
// "redis://..." redis (see parseDatastoreArg). The spec, with id "check", is
// validated; apply WithDefaults (after any overrides) before New.
func ParseArg(arg string) (target.Spec, error) {
	arg = strings.TrimSpace(arg)
	spec := target.Spec{ID: CheckID}
	if arg == "" {
		return spec, fmt.Errorf("no target given; %s", argHelp)
	}
	scheme, _, hasScheme := strings.Cut(arg, "://")
	if !hasScheme {
		host, port, err := net.SplitHostPort(arg)
		if err != nil || host == "" || port == "" {
			return spec, fmt.Errorf("%q is not a URL or host:port; %s", arg, argHelp)
		}
		spec.Kind, spec.Address = target.KindTCP, arg
		return validated(spec, arg)
	}
	scheme = strings.ToLower(scheme)
	if scheme == "http" || scheme == "https" {
		spec.Kind, spec.URL = target.KindHTTP, arg
		return validated(spec, arg)
	}
	if datastoreScheme(scheme) {
		return parseDatastoreArg(spec, scheme, arg)
	}
	u, err := url.Parse(arg)
	if err != nil {
		return spec, fmt.Errorf("%q is not a valid URL (%v); %s", arg, err, argHelp)
	}
	if u.Host == "" {
		return spec, fmt.Errorf("%q names no host; %s", arg, argHelp)
	}
	path := strings.TrimPrefix(u.Path, "/")
	noPath := func() error {
		if path != "" || u.RawQuery != "" {
			return fmt.Errorf("%q: a %s target takes no path or query; write %s://host:port", arg, scheme, scheme)
		}
		return nil
	}
	switch scheme {
	case "tcp", "tls":
		if err := noPath(); err != nil {
			return spec, err
		}
		spec.Kind, spec.Address = target.Kind(scheme), u.Host
	case "grpc", "grpcs":
		if u.RawQuery != "" {
			return spec, fmt.Errorf("%q: a grpc target takes no query; write grpc://host:port/service", arg)
		}
		spec.Kind, spec.Address = target.KindGRPC, u.Host
		spec.GRPC = &target.GRPCOptions{Service: path, TLS: scheme == "grpcs"}
		if *spec.GRPC == (target.GRPCOptions{}) {
			spec.GRPC = nil
		}
	case "dns":
		if path == "" {
			return spec, fmt.Errorf("%q names nothing to query; write dns://resolver[:port]/name, such as dns://127.0.0.1:53/example.org", arg)
		}
		spec.Kind, spec.Address = target.KindDNS, u.Host
		if u.Port() == "" {
			spec.Address = net.JoinHostPort(u.Hostname(), "53")
		}
		d := &target.DNSOptions{Name: path}
		for k, vs := range u.Query() {
			v := vs[len(vs)-1]
			switch k {
			case "type":
				d.Type = strings.ToUpper(v)
			case "rcode":
				d.Rcode = strings.ToUpper(v)
			case "transport":
				d.Transport = strings.ToLower(v)
			case "expect":
				d.ExpectAnswers = vs
			default:
				return spec, fmt.Errorf("%q: unknown query parameter %q; use type, rcode, transport or expect", arg, k)
			}
		}
		spec.DNS = d
	case "icmp":
		if err := noPath(); err != nil {
			return spec, err
		}
		if u.Port() != "" {
			return spec, fmt.Errorf("%q: an icmp target has no port; write icmp://host", arg)
		}
		spec.Kind, spec.Address = target.KindICMP, u.Hostname()
	default:
		return spec, fmt.Errorf("%q: unknown scheme %q; %s", arg, scheme, argHelp)
	}
	return validated(spec, arg)
}

func validated(spec target.Spec, arg string) (target.Spec, error) {
	if errs := spec.Validate(); len(errs) > 0 {
		return spec, fmt.Errorf("%q: %w", arg, errs)
	}
	return spec, nil
}
