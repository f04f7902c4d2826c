package httpprobe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"net/url"
	"sync"
	"syscall"
	"time"

	"github.com/heckhq/heck/internal/probe"
)

// Transports are shared by every target with the same connection settings:
// 10,000 targets need a handful of them, not 10,000. A probe passes what is
// its own (deadline, SNI override, where to note the remote address) to the
// shared dial functions through its request's context.

type transportKey struct {
	guard     *probe.Guard
	roots     *x509.CertPool
	insecure  bool
	keepAlive bool
}

type clientKey struct {
	transportKey
	noFollow bool
}

var (
	poolMu     sync.Mutex
	transports = map[transportKey]*http.Transport{}
	clients    = map[clientKey]*http.Client{}
)

// sharedClient returns the client for k, creating it (and its transport)
// on first use.
func sharedClient(k clientKey) *http.Client {
	poolMu.Lock()
	defer poolMu.Unlock()
	if c, ok := clients[k]; ok {
		return c
	}
	t, ok := transports[k.transportKey]
	if !ok {
		t = newTransport(k.transportKey)
		transports[k.transportKey] = t
	}
	c := &http.Client{Transport: t}
	if k.noFollow {
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	clients[k] = c
	return c
}

// CloseIdleConnections closes the idle connections kept for targets with
// keep_alive, for example after many of them were removed.
func CloseIdleConnections() {
	poolMu.Lock()
	defer poolMu.Unlock()
	for _, t := range transports {
		t.CloseIdleConnections()
	}
}

// dialer holds what the dial functions of one shared transport need.
type dialer struct {
	control   func(network, address string, c syscall.RawConn) error
	tls       *tls.Config
	keepAlive bool
}

func newTransport(k transportKey) *http.Transport {
	d := &dialer{
		control:   k.guard.ControlFunc(),
		tls:       &tls.Config{InsecureSkipVerify: k.insecure, RootCAs: k.roots}, //nolint:gosec // the target asked for it
		keepAlive: k.keepAlive,
	}
	t := &http.Transport{
		// No Proxy: a proxy would make the connection on heck's behalf,
		// around the guard, and health is about the direct path anyway.
		Proxy:                  nil,
		DialContext:            d.dial,
		DialTLSContext:         d.dialTLS,
		DisableKeepAlives:      !k.keepAlive,
		MaxResponseHeaderBytes: 64 << 10,
	}
	if k.keepAlive {
		t.MaxIdleConns = 0 // no overall limit: one idle connection per target is the point
		t.MaxIdleConnsPerHost = 64
		t.IdleConnTimeout = 2 * time.Minute
	}
	return t
}

// state is what one probe shares with the dial functions. It is also the
// request's context, so a probe costs one allocation for both.
type state struct {
	context.Context
	deadline time.Time
	// sniAddr is the dial address ("host:443") whose TLS server name is sni
	// (the Host header of the target), "" when there is no override.
	sniAddr, sni string
	// remote is the peer of the connection dialed for this probe; written by
	// the dial (before it delivers the connection) when keep-alive is off.
	remote net.Addr
	// url is the request's URL when the prober keeps only its parts.
	url url.URL
}

type stateKey struct{}

func (s *state) Value(key any) any {
	if key == (stateKey{}) {
		return s
	}
	return s.Context.Value(key)
}

func stateOf(ctx context.Context) *state {
	s, _ := ctx.Value(stateKey{}).(*state)
	return s
}

func (d *dialer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	st := stateOf(ctx)
	nd := net.Dialer{Control: d.control, KeepAlive: -1}
	if d.keepAlive {
		nd.KeepAlive = 0 // the default TCP keep-alive, for connections kept open
	}
	if st != nil {
		// The transport dials under a context detached from the request's
		// cancellation, so that a kept connection outlives a cancelled
		// request. A probe wants the opposite: its dial ends with it. Its
		// own context carries the deadline, at no extra cost.
		ctx = st.Context
	}
	c, err := nd.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	if st != nil && !d.keepAlive {
		st.remote = c.RemoteAddr()
		if !st.deadline.IsZero() {
			// A fresh connection lives for one probe: bound all of it.
			_ = c.SetDeadline(st.deadline)
		}
	}
	return c, nil
}

func (d *dialer) dialTLS(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := d.dial(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	st := stateOf(ctx)
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		c.Close()
		return nil, err
	}
	if st != nil && st.sni != "" && st.sniAddr == addr {
		host = st.sni
	}
	cfg := d.tls.Clone()
	cfg.ServerName = host
	tc := tls.Client(c, cfg)
	if d.keepAlive && st != nil && !st.deadline.IsZero() {
		_ = c.SetDeadline(st.deadline)
	}
	if err := tc.HandshakeContext(ctx); err != nil {
		c.Close()
		return nil, err
	}
	if d.keepAlive {
		_ = c.SetDeadline(time.Time{})
	}
	return tc, nil
}
