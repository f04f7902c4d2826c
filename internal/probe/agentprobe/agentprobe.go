// Package agentprobe probes agent targets: a heck agent's /healthz
// (internal/agent), read as wire.AgentHealth. The target passes unless the
// agent says down; a degraded agent passes as degraded (the result's State),
// with the failing checks named in the message. Every check's status is
// kept in the result's details (probe.Details.Checks), so whoever reads the
// target sees which part of the host failed.
package agentprobe

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/probe"
	"github.com/heckhq/heck/internal/target"
	"github.com/heckhq/heck/internal/wire"
)

// MaxBody is the largest /healthz body read (an agent with a few hundred
// checks writes well under it).
const MaxBody = 1 << 20

// maxMessage bounds the message naming the failing checks.
const maxMessage = 400

// Prober probes one agent target.
type Prober struct {
	url     string
	client  *http.Client
	timeout time.Duration
}

// New builds the prober of spec, an agent target; it dials through
// opts.Guard.
func New(spec target.Spec, opts probe.Options) (*Prober, error) {
	u, err := url.Parse(spec.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("url: %q is not an http or https URL; write the agent's /healthz, such as http://127.0.0.1:7900/healthz", spec.URL)
	}
	if spec.Agent != nil && spec.Agent.Check != "" {
		q := u.Query()
		q.Set("check", spec.Agent.Check)
		u.RawQuery = q.Encode()
	}
	d := &net.Dialer{Control: opts.Guard.ControlFunc(), KeepAlive: -1}
	t := &http.Transport{
		DialContext:         d.DialContext,
		MaxIdleConnsPerHost: 1,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	if opts.RootCAs != nil {
		t.TLSClientConfig = &tls.Config{RootCAs: opts.RootCAs, MinVersion: tls.VersionTLS12}
	}
	return &Prober{url: u.String(), timeout: spec.Timeout.D(), client: &http.Client{
		Transport:     t,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}, nil
}

// Close drops the idle connection to the agent.
func (p *Prober) Close() error {
	p.client.CloseIdleConnections()
	return nil
}

// Probe asks the agent for its health.
func (p *Prober) Probe(ctx context.Context) probe.Result {
	if _, ok := ctx.Deadline(); !ok && p.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.timeout)
		defer cancel()
	}
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url, nil)
	if err != nil {
		return probe.Fail(0, err.Error())
	}
	req.Header.Set("Accept", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		res := probe.Fail(time.Since(start), probe.DescribeError(err, probe.Budget(ctx, start)))
		res.Reason = probe.ErrorReason(err)
		return res
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody+1))
	lat := time.Since(start)
	res := probe.Result{Latency: lat, Details: probe.Details{StatusCode: resp.StatusCode}}
	fail := func(reason probe.Reason, format string, a ...any) probe.Result {
		res.OK, res.Reason, res.Message = false, reason, fmt.Sprintf(format, a...)
		return res
	}
	switch {
	case err != nil:
		return fail(probe.ReasonReset, "reading the agent's answer: %s", probe.DescribeError(err, probe.Budget(ctx, start)))
	case len(body) > MaxBody:
		return fail(probe.ReasonBody, "the agent's answer is larger than %d bytes", MaxBody)
	case resp.StatusCode == http.StatusNotFound:
		return fail(probe.ReasonStatus, "HTTP 404: %s", firstLine(body))
	case resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusServiceUnavailable:
		return fail(probe.ReasonStatus, "HTTP %d from the agent (want 200 or 503)", resp.StatusCode)
	}
	var h wire.AgentHealth
	if err := json.Unmarshal(body, &h); err != nil {
		return fail(probe.ReasonBody, "the answer is not a heck agent's /healthz (%v)", err)
	}
	res.Details.Checks = make([]probe.CheckDetail, len(h.Checks))
	for i, c := range h.Checks {
		res.Details.Checks[i] = probe.CheckDetail{Name: c.Name, Status: c.Status, Critical: c.Critical, Message: c.Message}
	}
	return judge(res, &h)
}

// judge sets the outcome of res from the agent's health.
func judge(res probe.Result, h *wire.AgentHealth) probe.Result {
	n := len(h.Checks)
	switch h.Status {
	case wire.AgentOK:
		res.OK = true
		res.Message = "ok: " + plural(n, "check") + " pass"
	case wire.AgentDegraded:
		res.OK, res.State = true, health.Degraded
		res.Message = "degraded: " + failing(h)
	case wire.AgentDown:
		res.Reason = probe.ReasonStatus
		if h.Starting {
			res.Message = "starting: the agent has not run every check yet"
			if f := failing(h); f != "" {
				res.Message += "; " + f
			}
			break
		}
		res.Message = "down: " + failing(h)
	default:
		res.Reason = probe.ReasonBody
		res.Message = fmt.Sprintf("the agent says status %q (want ok, degraded or down)", h.Status)
	}
	return res
}

// failing names the failing checks, critical first, with their messages,
// cut to maxMessage.
func failing(h *wire.AgentHealth) string {
	var parts []string
	for _, crit := range []bool{true, false} {
		for _, c := range h.Checks {
			if c.Status != wire.CheckFailing || c.Critical != crit {
				continue
			}
			s := c.Name
			if crit {
				s += " (critical)"
			}
			if c.Message != "" {
				s += ": " + c.Message
			}
			parts = append(parts, s)
		}
	}
	if len(parts) == 0 {
		if len(h.Failing) > 0 {
			return strings.Join(h.Failing, ", ") + " failing"
		}
		return ""
	}
	s := strings.Join(parts, "; ")
	if len(s) > maxMessage {
		s = s[:maxMessage-3] + "..."
	}
	return s
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	if len(s) > 200 {
		s = s[:197] + "..."
	}
	return s
}
