// Package pgprobe probes postgres targets: connect to a PostgreSQL server
// as the target's user, run its query, and optionally compare the first
// column of the first row with an expected value.
//
// Every probe opens a fresh connection and closes it (no connection is
// kept between probes): what a health check must see is whether a client
// can get in now (listener up, pg_hba and password accepted, a connection
// slot free, the database accepting connections rather than starting up or
// shutting down), and a long-lived session answers none of that. The cost
// is one backend started per probe, a few milliseconds of server CPU per
// interval. The query runs under statement_timeout set to the target's
// timeout, so a query that overruns is stopped by the server too, not only
// abandoned by heck.
package pgprobe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/heckhq/heck/internal/probe"
	"github.com/heckhq/heck/internal/target"
)

// ApplicationName is the application_name heck's sessions show in
// pg_stat_activity and the server's log.
const ApplicationName = "heck"

// Prober probes one postgres target.
type Prober struct {
	config  *pgconn.Config // read-only once built; copied per probe
	query   string
	expect  string // "": any answer passes
	timeout time.Duration
}

// New builds the prober of spec, a postgres target (validated and
// expanded); it dials through opts.Guard, and with sslmode verify-full
// verifies the server against opts.RootCAs when set.
func New(spec target.Spec, opts probe.Options) (*Prober, error) {
	host, port, err := net.SplitHostPort(spec.Address)
	if err != nil || host == "" {
		return nil, fmt.Errorf("address: %q is not host:port; set host:port, such as \"127.0.0.1:5432\"", spec.Address)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return nil, fmt.Errorf("address: %q has no valid port; set a port from 1 to 65535, such as \"127.0.0.1:5432\"", spec.Address)
	}
	o := spec.Postgres
	if o == nil {
		o = &target.PostgresOptions{}
	}
	// Only the fields libpq reads from a connection string go through
	// one; the password is set afterwards and never formatted.
	dsn := strings.Join([]string{
		"host=" + quote(host), "port=" + port,
		"user=" + quote(o.UserOrDefault()), "dbname=" + quote(o.DatabaseOrDefault()),
		"sslmode=" + quote(o.SSLModeOrDefault()),
	}, " ")
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		// ParseConfig's error repeats the connection string; say which
		// field instead (the password is not in it).
		return nil, fmt.Errorf("postgres: cannot build a connection from address %q, user %q, database %q and sslmode %q: %s; check those fields",
			spec.Address, o.UserOrDefault(), o.DatabaseOrDefault(), o.SSLModeOrDefault(), describeParseError(err))
	}
	if o.Password != "" {
		cfg.Password = o.Password
	}
	d := opts.Guard.Dialer(0)
	d.KeepAlive = -1
	cfg.DialFunc = d.DialContext
	cfg.ConnectTimeout = 0 // the probe's context bounds the connection
	cfg.RuntimeParams["application_name"] = ApplicationName
	if t := spec.Timeout.D(); t > 0 {
		cfg.RuntimeParams["statement_timeout"] = strconv.FormatInt(max(t.Milliseconds(), 1), 10)
	}
	if opts.RootCAs != nil && o.SSLModeOrDefault() == "verify-full" {
		if cfg.TLSConfig != nil {
			cfg.TLSConfig.RootCAs = opts.RootCAs
		}
		for _, fb := range cfg.Fallbacks {
			if fb.TLSConfig != nil {
				fb.TLSConfig.RootCAs = opts.RootCAs
			}
		}
	}
	return &Prober{config: cfg, query: o.QueryOrDefault(), expect: o.Expect, timeout: spec.Timeout.D()}, nil
}

// quote writes v as a libpq connection string value.
func quote(v string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}

func describeParseError(err error) string {
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) && errors.Unwrap(pe) != nil {
		return errors.Unwrap(pe).Error()
	}
	return "invalid value"
}

// Probe connects, runs the query and checks its answer.
func (p *Prober) Probe(ctx context.Context) probe.Result {
	if _, ok := ctx.Deadline(); !ok && p.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.timeout)
		defer cancel()
	}
	start := time.Now()
	budget := func() time.Duration { return probe.Budget(ctx, start) }
	conn, err := pgconn.ConnectConfig(ctx, p.config)
	if err != nil {
		return fail(start, "connect", err, budget())
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	res := probe.Result{Details: probe.Details{RemoteAddr: conn.Conn().RemoteAddr().String()}}
	results, err := conn.Exec(ctx, p.query).ReadAll()
	if err == nil {
		for _, r := range results {
			if r.Err != nil {
				err = r.Err
				break
			}
		}
	}
	if err != nil {
		r := fail(start, "query", err, budget())
		r.Details = res.Details
		return r
	}
	res.Latency = time.Since(start)
	last := results[len(results)-1]
	tag := last.CommandTag.String()
	if p.expect == "" {
		res.OK, res.Message = true, "query ok ("+tag+")"
		return res
	}
	if len(last.Rows) == 0 || len(last.Rows[0]) == 0 {
		res.Message, res.Reason = "query returned no rows ("+tag+"), expected "+strconv.Quote(p.expect), probe.ReasonBody
		return res
	}
	got := "NULL"
	if v := last.Rows[0][0]; v != nil {
		got = strconv.Quote(truncate(string(v), 64))
	}
	if last.Rows[0][0] == nil || string(last.Rows[0][0]) != p.expect {
		res.Message, res.Reason = "query returned "+got+", expected "+strconv.Quote(p.expect), probe.ReasonBody
		return res
	}
	res.OK, res.Message = true, "query ok ("+tag+"), returned "+got
	return res
}

// fail describes err, met at step (connect or query).
func fail(start time.Time, step string, err error, budget time.Duration) probe.Result {
	res := probe.Result{Latency: time.Since(start)}
	var pe *pgconn.PgError
	switch {
	case errors.As(err, &pe):
		// The server answered, with an error: authentication, a missing
		// database or table, too many connections, starting up...
		res.Message = step + ": " + pe.Message + " (SQLSTATE " + pe.Code + ")"
		res.Reason = probe.ReasonStatus
		if pe.Code == "57014" && strings.Contains(pe.Message, "statement timeout") {
			res.Message, res.Reason = step+": "+probe.TimedOut(budget)+" (the server canceled the query at statement_timeout)", probe.ReasonTimeout
		}
	case pgconn.Timeout(err):
		res.Message, res.Reason = step+": "+probe.TimedOut(budget), probe.ReasonTimeout
	default:
		inner := innermost(err)
		res.Message = probe.DescribeError(inner, budget)
		if !strings.HasPrefix(res.Message, step+": ") { // "connect: connection refused" says it already
			res.Message = step + ": " + res.Message
		}
		res.Reason = probe.ErrorReason(inner)
		if res.Reason == probe.ReasonOther && strings.HasPrefix(inner.Error(), "tls error") {
			res.Reason = probe.ReasonTLS
		}
	}
	return res
}

// innermost strips pgconn's wrappers ("failed to connect to `user=...
// database=...`: 127.0.0.1:5432 (127.0.0.1): ..."), which only repeat the
// target, down to the error that says what happened. The per-address
// wrapper's type is unexported, hence the match on the package's name.
func innermost(err error) error {
	for {
		var ce *pgconn.ConnectError
		if errors.As(err, &ce) && errors.Unwrap(ce) != nil {
			err = errors.Unwrap(ce)
			continue
		}
		// One error per attempt (sslmode prefer tries TLS, then
		// plaintext): the last attempt's says how it ended.
		if j, ok := err.(interface{ Unwrap() []error }); ok && len(j.Unwrap()) > 0 {
			errs := j.Unwrap()
			err = errs[len(errs)-1]
			continue
		}
		if u := errors.Unwrap(err); u != nil && strings.HasPrefix(fmt.Sprintf("%T", err), "*pgconn.") {
			err = u
			continue
		}
		return err
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
