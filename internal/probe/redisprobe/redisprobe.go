// Package redisprobe probes redis targets: connect (over TLS when asked),
// authenticate, select the database and PING; optionally write a fresh
// value to a key of the target's own with a short TTL and read it back,
// which proves the server takes writes (not a read-only replica, not out of
// memory under maxmemory noeviction) as well as answering.
//
// Every probe opens a fresh connection through the guarded dialer and
// closes it: a kept connection would go on answering PING while new
// clients are refused (maxclients reached, a changed password, a listener
// gone), which is what the applications behind the target would meet.
//
// go-redis logs through a process-wide logger; the first New routes it to
// slog at debug level, so that a failed dial is a probe result, not a line
// on stderr.
package redisprobe

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/heckhq/heck/internal/probe"
	"github.com/heckhq/heck/internal/target"
)

// Prober probes one redis target.
type Prober struct {
	address string
	opts    redis.Options // the template of each probe's client
	dialer  *net.Dialer
	tls     *tls.Config // nil: plaintext
	key     string
	ttl     time.Duration
	timeout time.Duration
}

var quietOnce sync.Once

// slogLogger sends go-redis's log lines to slog at debug level.
type slogLogger struct{}

func (slogLogger) Printf(ctx context.Context, format string, v ...any) {
	slog.DebugContext(ctx, "go-redis: "+fmt.Sprintf(format, v...))
}

// New builds the prober of spec, a redis target (validated and expanded);
// it dials through opts.Guard and verifies TLS against opts.RootCAs.
func New(spec target.Spec, opts probe.Options) (*Prober, error) {
	host, _, err := net.SplitHostPort(spec.Address)
	if err != nil || host == "" {
		return nil, fmt.Errorf("address: %q is not host:port; set host:port, such as \"127.0.0.1:6379\"", spec.Address)
	}
	quietOnce.Do(func() { redis.SetLogger(slogLogger{}) })
	o := spec.Redis
	if o == nil {
		o = &target.RedisOptions{}
	}
	p := &Prober{address: spec.Address, key: o.Key, ttl: o.KeyTTLOrDefault(), timeout: spec.Timeout.D()}
	p.dialer = opts.Guard.Dialer(0)
	p.dialer.KeepAlive = -1
	if o.TLS {
		name := o.ServerName
		if name == "" {
			name = host
		}
		p.tls = &tls.Config{ServerName: name, InsecureSkipVerify: o.InsecureSkipVerify, RootCAs: opts.RootCAs, MinVersion: tls.VersionTLS12} //nolint:gosec // the target asked for it
	}
	p.opts = redis.Options{
		Addr:     spec.Address,
		Username: o.Username,
		Password: o.Password,
		DB:       o.DB,
		// RESP2: AUTH and SELECT, understood by every Redis (and the
		// servers that speak its protocol), no HELLO negotiation.
		Protocol:        2,
		DisableIdentity: true, // no CLIENT SETINFO: one round trip less, no error on old servers
		// One attempt, one connection: a health check reports what it
		// met, it does not retry it away.
		MaxRetries:            -1,
		DialerRetries:         1,
		PoolSize:              1,
		PipelinePoolSize:      -1,
		ContextTimeoutEnabled: true,
		ReadBufferSize:        4096,
		WriteBufferSize:       4096,
		MaintNotificationsConfig: &maintnotifications.Config{
			Mode: maintnotifications.ModeDisabled,
		},
	}
	if t := p.timeout; t > 0 {
		p.opts.DialTimeout, p.opts.ReadTimeout, p.opts.WriteTimeout = t, t, t
	}
	return p, nil
}

// Probe connects, pings and, with a key, writes and reads it back.
func (p *Prober) Probe(ctx context.Context) probe.Result {
	if _, ok := ctx.Deadline(); !ok && p.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.timeout)
		defer cancel()
	}
	start := time.Now()
	budget := func() time.Duration { return probe.Budget(ctx, start) }
	var remote atomic.Pointer[string] // go-redis may dial on a goroutine of its own
	opts := p.opts
	opts.Dialer = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := p.dialer.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		ra := c.RemoteAddr().String()
		remote.Store(&ra)
		if p.tls == nil {
			return c, nil
		}
		tc := tls.Client(c, p.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			c.Close()
			return nil, err
		}
		return tc, nil
	}
	client := redis.NewClient(&opts)
	defer client.Close()

	res := probe.Result{}
	done := func(step string, err error) probe.Result {
		res.Latency = time.Since(start)
		if ra := remote.Load(); ra != nil {
			res.Details.RemoteAddr = *ra
		}
		if err != nil {
			res.Message, res.Reason = p.describe(step, err, budget())
		}
		return res
	}
	pong, err := client.Ping(ctx).Result()
	if err != nil {
		return done("PING", err)
	}
	if pong != "PONG" {
		res.Reason = probe.ReasonBody
		res.Message = "PING answered " + strconv.Quote(truncate(pong, 64)) + ", not PONG"
		return done("", nil)
	}
	if p.key == "" {
		res.OK, res.Message = true, "PONG"
		return done("", nil)
	}
	want := "heck " + time.Now().UTC().Format(time.RFC3339Nano) + " " + strconv.FormatUint(rand.Uint64(), 36)
	if err := client.Set(ctx, p.key, want, p.ttl).Err(); err != nil {
		return done("SET "+p.key, err)
	}
	got, err := client.Get(ctx, p.key).Result()
	switch {
	case errors.Is(err, redis.Nil):
		res.Reason = probe.ReasonBody
		res.Message = "GET " + p.key + " found no value right after SET"
		return done("", nil)
	case err != nil:
		return done("GET "+p.key, err)
	case got != want:
		res.Reason = probe.ReasonBody
		res.Message = "GET " + p.key + " returned " + strconv.Quote(truncate(got, 64)) + ", not the value just written " + strconv.Quote(want)
		return done("", nil)
	}
	res.OK, res.Message = true, "PONG, key "+p.key+" written and read back"
	return done("", nil)
}

// describe says what went wrong at step (PING, SET key, GET key).
func (p *Prober) describe(step string, err error, budget time.Duration) (string, probe.Reason) {
	var re redis.Error
	if errors.As(err, &re) && !isNetError(err) {
		// The server answered with an error: WRONGPASS, NOAUTH, READONLY,
		// OOM, LOADING, ERR DB index is out of range...
		msg := strings.TrimSpace(re.Error())
		if strings.HasPrefix(msg, "WRONGPASS") || strings.HasPrefix(msg, "NOAUTH") || strings.Contains(msg, "AUTH") {
			return "auth: " + msg, probe.ReasonStatus
		}
		if strings.Contains(msg, "DB index") {
			// SELECT runs as the connection opens, before step.
			return "SELECT " + strconv.Itoa(p.opts.DB) + ": " + msg, probe.ReasonStatus
		}
		return step + ": " + msg, probe.ReasonStatus
	}
	if errors.Is(err, redis.ErrClosed) {
		return step + ": client closed", probe.ReasonOther
	}
	return step + ": " + probe.DescribeError(err, budget), probe.ErrorReason(err)
}

func isNetError(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
