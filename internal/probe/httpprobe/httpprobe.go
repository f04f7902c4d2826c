// Package httpprobe probes http and https targets: one request per probe,
// on a fresh connection unless the target asks for keep-alive, checked
// against the expected status, body, JSON values, latency and certificate
// lifetime.
//
// It is built for many targets: transports are shared between targets with
// the same connection settings, everything that can be prepared once is
// prepared in New, and a Prober is a small struct.
package httpprobe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/heckhq/heck/internal/probe"
	"github.com/heckhq/heck/internal/target"
)

// DefaultMaxBodyBytes is how much of a body is read for body conditions
// when http.max_body_bytes is not set.
const DefaultMaxBodyBytes = 64 << 10

// UserAgent is sent when the target sets no User-Agent header.
const UserAgent = "heck-probe/1"

var defaultHeader = http.Header{"User-Agent": {UserAgent}}

// Prober probes one http target. It is safe for one probe at a time. It
// is one allocation of 80 bytes for a target with no options beyond its
// URL and schedule: the options most targets leave unset are in a struct
// shared by all of those, and a plain URL (scheme, host, path, query) is
// kept as its parts, the request's url.URL being built in each probe's own
// state instead of held by every prober.
type Prober struct {
	*extra
	client *http.Client // shared
	// timeout applies when the caller's context has no deadline.
	timeout   time.Duration
	keepAlive bool
	https     bool
	// The parts of a plain URL (extra.url is nil).
	uhost, upath, uquery string
}

// extra holds what most targets leave unset.
type extra struct {
	// url is the parsed URL when it has more than a scheme, host, path and
	// query (user info, fragment, raw path...); read-only.
	url    *url.URL
	method string      // "" for GET
	header http.Header // read-only; nil for defaultHeader
	host   string      // Host header override, "" for the URL's host
	body   string
	status []statusRange // nil: 200-399
	check  *bodyCheck    // nil when the body is not examined
	// maxLatency fails slower answers (0: no limit).
	maxLatency  time.Duration
	certMinDays int32
}

// noExtra is the extra of every target that sets none of its options.
var noExtra = &extra{}

func (x *extra) reqMethod() string {
	if x.method == "" {
		return http.MethodGet
	}
	return x.method
}

func (x *extra) reqHeader() http.Header {
	if x.header == nil {
		return defaultHeader
	}
	return x.header
}

// plainURL reports whether u is no more than a scheme, host, path and
// query, so that those parts rebuild it exactly.
func plainURL(u *url.URL) bool {
	return u.User == nil && u.Opaque == "" && u.RawPath == "" && u.Fragment == "" && u.RawFragment == "" &&
		!u.ForceQuery && !u.OmitHost
}

// setURL points u at the target's URL: the parsed one, or one rebuilt in
// place from the parts of a plain URL.
func (p *Prober) setURL(u **url.URL, buf *url.URL) {
	if p.url != nil {
		*u = p.url
		return
	}
	scheme := "http"
	if p.https {
		scheme = "https"
	}
	*buf = url.URL{Scheme: scheme, Host: p.uhost, Path: p.upath, RawQuery: p.uquery}
	*u = buf
}

type statusRange struct{ lo, hi int16 }

// New builds the prober of spec, an http target (validated, defaulted and
// expanded). Every connection dials through opts.Guard.
func New(spec target.Spec, opts probe.Options) (*Prober, error) {
	u, err := url.Parse(spec.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("url: %q is not an http or https URL; write it as http://host[:port]/path", spec.URL)
	}
	h := spec.HTTP
	if h == nil {
		h = &target.HTTPOptions{}
	}
	x := &extra{
		body:        h.Body,
		maxLatency:  h.MaxLatency.D(),
		certMinDays: int32(h.CertMinDays),
	}
	p := &Prober{
		extra:     x,
		timeout:   spec.Timeout.D(),
		keepAlive: h.KeepAlive,
		https:     u.Scheme == "https",
	}
	if plainURL(u) {
		p.uhost, p.upath, p.uquery = u.Host, u.Path, u.RawQuery
	} else {
		x.url = u
	}
	if m := strings.ToUpper(h.Method); m != "" && m != http.MethodGet {
		x.method = m
	}
	if len(h.Headers) > 0 {
		hdr := make(http.Header, len(h.Headers)+1)
		for k, v := range h.Headers {
			if strings.EqualFold(k, "Host") {
				x.host = v
				continue
			}
			hdr.Set(k, v)
		}
		if hdr.Get("User-Agent") == "" {
			hdr.Set("User-Agent", UserAgent)
		}
		x.header = hdr
	}
	for i, s := range h.ExpectStatus {
		lo, hi, err := target.ParseStatusRange(s)
		if err != nil {
			return nil, fmt.Errorf("http.expect_status[%d]: %w", i, err)
		}
		p.status = append(p.status, statusRange{int16(lo), int16(hi)})
	}
	p.check, err = newBodyCheck(h)
	if err != nil {
		return nil, err
	}
	if x.url == nil && x.method == "" && x.header == nil && x.host == "" && x.body == "" && x.status == nil &&
		x.check == nil && x.maxLatency == 0 && x.certMinDays == 0 {
		p.extra = noExtra
	}
	p.client = sharedClient(clientKey{
		transportKey: transportKey{guard: opts.Guard, roots: opts.RootCAs, insecure: h.InsecureSkipVerify, keepAlive: h.KeepAlive},
		noFollow:     h.NoFollowRedirects,
	})
	return p, nil
}

// Probe sends one request and checks the answer.
func (p *Prober) Probe(ctx context.Context) probe.Result {
	if _, ok := ctx.Deadline(); !ok && p.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.timeout)
		defer cancel()
	}
	start := time.Now()
	st := &state{Context: ctx}
	st.deadline, _ = ctx.Deadline()
	var u *url.URL
	p.setURL(&u, &st.url)
	if p.host != "" && p.https {
		st.sni, st.sniAddr = hostOnly(p.host), dialAddr(u)
	}
	var reqCtx context.Context = st
	if p.keepAlive {
		// A kept connection was dialed by an earlier probe: learn its peer
		// when the transport hands it over.
		reqCtx = httptrace.WithClientTrace(reqCtx, &httptrace.ClientTrace{GotConn: func(ci httptrace.GotConnInfo) {
			st.remote = ci.Conn.RemoteAddr()
		}})
	}
	tmpl := http.Request{
		Method:     p.reqMethod(),
		URL:        u,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     p.reqHeader(),
		Host:       p.host,
	}
	if p.body != "" {
		body := p.body
		tmpl.ContentLength = int64(len(body))
		tmpl.Body = io.NopCloser(strings.NewReader(body))
		tmpl.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(body)), nil }
	}
	resp, err := p.client.Do(tmpl.WithContext(reqCtx))
	if err != nil {
		return probe.FailErr(time.Since(start), err, probe.Budget(ctx, start))
	}
	res := p.judge(ctx, start, resp, st)
	if st.remote != nil {
		res.Details.RemoteAddr = st.remote.String()
	}
	return res
}

// judge checks resp and closes its body.
func (p *Prober) judge(ctx context.Context, start time.Time, resp *http.Response, st *state) probe.Result {
	res := probe.Result{Details: probe.Details{StatusCode: resp.StatusCode}}
	defer func() {
		if p.keepAlive {
			// Read what is left (within reason) so the connection can be reused.
			_, _ = io.CopyN(io.Discard, resp.Body, DefaultMaxBodyBytes)
		}
		resp.Body.Close()
	}()
	var leaf *x509.Certificate
	if resp.TLS != nil {
		res.Details.TLSVersion = tls.VersionName(resp.TLS.Version)
		if len(resp.TLS.PeerCertificates) > 0 {
			leaf = resp.TLS.PeerCertificates[0]
			res.Details.CertExpiry = leaf.NotAfter
			res.Details.CertDaysLeft = probe.DaysLeft(leaf.NotAfter, start)
		}
	}
	if !p.statusOK(resp.StatusCode) {
		res.Latency = time.Since(start)
		res.Message = statusMessage(resp.StatusCode) + ", want " + p.wantStatus()
		res.Reason = probe.ReasonStatus
		return res
	}
	if p.certMinDays > 0 && leaf != nil {
		if msg := probe.CertProblem(leaf.NotAfter, start, int(p.certMinDays)); msg != "" {
			res.Latency = time.Since(start)
			res.Message = msg
			res.Reason = probe.ReasonTLS
			return res
		}
	}
	if p.check != nil && p.method != http.MethodHead {
		if msg, reason := p.check.run(resp.Body, probe.Budget(ctx, start)); msg != "" {
			res.Latency = time.Since(start)
			res.Message = msg
			res.Reason = reason
			return res
		}
	}
	res.Latency = time.Since(start)
	if p.maxLatency > 0 && res.Latency > p.maxLatency {
		res.Message = "latency " + res.Latency.Round(time.Millisecond).String() + " above max " + p.maxLatency.String()
		res.Reason = probe.ReasonSlow
		return res
	}
	res.OK = true
	res.Message = statusMessage(resp.StatusCode)
	return res
}

func (p *Prober) statusOK(code int) bool {
	if p.status == nil {
		return code >= 200 && code <= 399
	}
	for _, r := range p.status {
		if code >= int(r.lo) && code <= int(r.hi) {
			return true
		}
	}
	return false
}

func (p *Prober) wantStatus() string {
	if p.status == nil {
		return "200-399"
	}
	var b strings.Builder
	for i, r := range p.status {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Itoa(int(r.lo)))
		if r.hi != r.lo {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(int(r.hi)))
		}
	}
	return b.String()
}

// statusMessages holds "HTTP 100" to "HTTP 599", built once so a probe's
// message costs nothing.
var statusMessages = func() (m [500]string) {
	for i := range m {
		m[i] = "HTTP " + strconv.Itoa(100+i)
	}
	return m
}()

func statusMessage(code int) string {
	if code >= 100 && code <= 599 {
		return statusMessages[code-100]
	}
	return "HTTP " + strconv.Itoa(code)
}

func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return strings.TrimSuffix(strings.TrimPrefix(hostport, "["), "]")
}

// dialAddr is the address the transport dials for u: host:port with the
// scheme's default port.
func dialAddr(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return net.JoinHostPort(u.Hostname(), port)
}
