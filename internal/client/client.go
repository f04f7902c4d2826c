// Package client is a typed Go client of heck's REST API (internal/api):
// targets, history, uptime, transitions, the event stream, the cluster's
// members (join, leave), the gossip keyring and the health endpoints.
// Every call takes a context; every error from the server carries its
// RFC 9457 problem details (see Error).
package client

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/heckhq/heck/internal/wire"

	"github.com/heckhq/heck/internal/events"
	"github.com/heckhq/heck/internal/target"
)

// DefaultServer is the API of a local node.
const DefaultServer = "http://127.0.0.1:7800"

// Client talks to one heck node's API.
type Client struct {
	base  *url.URL
	token string
	http  *http.Client
	// basic, when set, is a user's name and password sent instead of the
	// token (WithPassword).
	basic *[2]string
}

// New returns a client of the API at baseURL ("http://127.0.0.1:7800"),
// sending token (if not empty) as a bearer token. A nil hc uses a client
// with a 30 s timeout for ordinary calls; the event stream has none.
func New(baseURL, token string, hc *http.Client) (*Client, error) {
	if baseURL == "" {
		baseURL = DefaultServer
	}
	if !strings.Contains(baseURL, "://") {
		baseURL = "http://" + baseURL
	}
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("server URL %q: want http://host:port, such as %s", baseURL, DefaultServer)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	if hc == nil {
		hc = &http.Client{}
	}
	return &Client{base: u, token: token, http: hc}, nil
}

// BaseURL returns the server's URL.
func (c *Client) BaseURL() string { return c.base.String() }

// Error is an error answer of the API.
type Error struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Problem is the problem details the server sent (Title and Detail
	// filled from the status when it sent none).
	Problem wire.Problem
}

func (e *Error) Error() string {
	return fmt.Sprintf("%d %s", e.StatusCode, e.Problem.Error())
}

// StatusOf returns the HTTP status of an API error, or 0.
func StatusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.StatusCode
	}
	return 0
}

// IsNotFound reports whether err says the target does not exist.
func IsNotFound(err error) bool { return StatusOf(err) == http.StatusNotFound }

// IsConflict reports whether err says the target exists already.
func IsConflict(err error) bool { return StatusOf(err) == http.StatusConflict }

const defaultTimeout = 30 * time.Second

func (c *Client) url(path string, q url.Values) string {
	u := *c.base
	u.Path += path
	u.RawPath = ""
	if len(q) > 0 {
		u.RawQuery = q.Encode()
	}
	return u.String()
}

func (c *Client) newRequest(ctx context.Context, method, path string, q url.Values, body any) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.url(path, q), rd)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json, application/problem+json")
	if c.basic != nil {
		req.SetBasicAuth(c.basic[0], c.basic[1])
	} else if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	return req, nil
}

// do sends a request and decodes a 2xx JSON answer into out (when not
// nil); other answers become *Error.
func (c *Client) do(ctx context.Context, method, path string, q url.Values, body, out any) (*http.Response, error) {
	if _, ok := ctx.Deadline(); !ok && c.http.Timeout == 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultTimeout)
		defer cancel()
	}
	req, err := c.newRequest(ctx, method, path, q, body)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, c.url(path, nil), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return resp, readError(resp)
	}
	if u, ok := out.(json.Unmarshaler); ok {
		// A type that decodes itself gets the body at once, without a
		// decoder's scan before (wire.RollupsResponse parses its rows).
		b, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
		if err == nil {
			err = u.UnmarshalJSON(b)
		}
		if err != nil {
			return resp, fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
		return resp, nil
	}
	if out != nil {
		if err := json.NewDecoder(io.LimitReader(resp.Body, 256<<20)).Decode(out); err != nil {
			return resp, fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return resp, nil
}

func readError(resp *http.Response) error {
	e := &Error{StatusCode: resp.StatusCode}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err := json.Unmarshal(b, &e.Problem); err != nil || e.Problem.Title == "" {
		e.Problem = wire.Problem{Status: resp.StatusCode, Title: http.StatusText(resp.StatusCode),
			Detail: strings.TrimSpace(string(b))}
	}
	return e
}

// ListOptions filter a listing of targets; zero fields do not filter.
type ListOptions struct {
	State string
	Kind  string
	// Labels are name=value pairs, all of which must match.
	Labels []string
	// Pool keeps the members of the named pool.
	Pool string
	// Query keeps the targets whose id, name, URL, address or labels
	// contain it, ignoring case.
	Query string
}

func (o ListOptions) values() url.Values {
	q := url.Values{}
	if o.State != "" {
		q.Set("state", o.State)
	}
	if o.Kind != "" {
		q.Set("kind", o.Kind)
	}
	for _, l := range o.Labels {
		q.Add("label", l)
	}
	if o.Pool != "" {
		q.Set("pool", o.Pool)
	}
	if o.Query != "" {
		q.Set("q", o.Query)
	}
	return q
}

// Targets lists the targets matching opts, sorted by id.
func (c *Client) Targets(ctx context.Context, opts ListOptions) ([]wire.TargetStatus, error) {
	var l wire.TargetList
	if _, err := c.do(ctx, http.MethodGet, "/api/v1/targets", opts.values(), nil, &l); err != nil {
		return nil, err
	}
	return l.Targets, nil
}

// TargetsPage lists one page of at most limit (1 to 1000) targets matching
// opts, after the page whose NextCursor is cursor ("" for the first page).
// The page's NextCursor is "" on the last page.
func (c *Client) TargetsPage(ctx context.Context, opts ListOptions, limit int, cursor string) (wire.TargetList, error) {
	q := opts.values()
	q.Set("limit", strconv.Itoa(limit))
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	var l wire.TargetList
	_, err := c.do(ctx, http.MethodGet, "/api/v1/targets", q, nil, &l)
	return l, err
}

// Target returns one target's status, spec and recent results.
func (c *Client) Target(ctx context.Context, id string) (wire.TargetStatus, error) {
	var st wire.TargetStatus
	_, err := c.do(ctx, http.MethodGet, targetPath(id), nil, nil, &st)
	return st, err
}

// AddTarget adds a new target; IsConflict(err) when its id exists.
func (c *Client) AddTarget(ctx context.Context, spec target.Spec) (wire.TargetStatus, error) {
	var st wire.TargetStatus
	_, err := c.do(ctx, http.MethodPost, "/api/v1/targets", nil, spec, &st)
	return st, err
}

// PutTarget creates or replaces the target spec.ID, reporting whether it
// was created.
func (c *Client) PutTarget(ctx context.Context, spec target.Spec) (wire.TargetStatus, bool, error) {
	var st wire.TargetStatus
	resp, err := c.do(ctx, http.MethodPut, targetPath(spec.ID), nil, spec, &st)
	return st, err == nil && resp.StatusCode == http.StatusCreated, err
}

// DeleteTarget removes a target; IsNotFound(err) when there is none.
func (c *Client) DeleteTarget(ctx context.Context, id string) error {
	_, err := c.do(ctx, http.MethodDelete, targetPath(id), nil, nil, nil)
	return err
}

// HistoryQuery selects a history range; zero fields use the server's
// defaults (the last 24 h in 5 m steps). From and To take RFC 3339, unix
// seconds or relative times ("-24h").
type HistoryQuery struct {
	From, To string
	Step     time.Duration
	// Scope is wire.ScopeCluster (every member's records merged: the
	// server's default when empty) or wire.ScopeLocal (the node's own).
	Scope wire.Scope
}

// History returns a target's history.
func (c *Client) History(ctx context.Context, id string, hq HistoryQuery) (wire.HistoryResponse, error) {
	q := url.Values{}
	if hq.From != "" {
		q.Set("from", hq.From)
	}
	if hq.To != "" {
		q.Set("to", hq.To)
	}
	if hq.Step > 0 {
		q.Set("step", hq.Step.String())
	}
	if hq.Scope != "" {
		q.Set("scope", string(hq.Scope))
	}
	var h wire.HistoryResponse
	_, err := c.do(ctx, http.MethodGet, targetPath(id)+"/history", q, nil, &h)
	return h, err
}

// UptimeQuery selects whose records an uptime covers.
type UptimeQuery struct {
	// Scope is as in HistoryQuery.
	Scope wire.Scope
}

// Uptime returns a target's uptime over 24h, 7d and 30d, and whose
// records it covers (wire.UptimeResponse.Coverage: partial, missing).
func (c *Client) Uptime(ctx context.Context, id string, uq UptimeQuery) (wire.UptimeResponse, error) {
	q := url.Values{}
	if uq.Scope != "" {
		q.Set("scope", string(uq.Scope))
	}
	var u wire.UptimeResponse
	_, err := c.do(ctx, http.MethodGet, targetPath(id)+"/uptime", q, nil, &u)
	return u, err
}

// RollupQuery selects one node's own rollups: minutes in [From, To)
// (rounded up to whole seconds), summed into groups of Step (whole
// minutes; zero: 1m) from From.
type RollupQuery struct {
	From, To time.Time
	Step     time.Duration
	// Pending asks only for the records the node has not stored yet (what
	// a node sharing its store with the asker holds that the asker cannot
	// read from the store).
	Pending bool
}

// Rollups returns the node's own rollups of a target (what a node asks
// the other members for to serve a cluster-scope history). IsNotFound(err)
// with wire.IsTargetNotFound of its problem when the node does not know the
// target.
func (c *Client) Rollups(ctx context.Context, id string, rq RollupQuery) (wire.RollupsResponse, error) {
	q := url.Values{"scope": {string(wire.ScopeLocal)}}
	q.Set("from", strconv.FormatInt(ceilUnix(rq.From), 10))
	q.Set("to", strconv.FormatInt(ceilUnix(rq.To), 10))
	if rq.Step > 0 {
		q.Set("step", rq.Step.String())
	}
	if rq.Pending {
		q.Set("pending", "true")
	}
	var r wire.RollupsResponse
	_, err := c.do(ctx, http.MethodGet, targetPath(id)+"/rollups", q, nil, &r)
	return r, err
}

// ceilUnix is t in unix seconds, rounded up.
func ceilUnix(t time.Time) int64 {
	if t.Nanosecond() > 0 {
		return t.Unix() + 1
	}
	return t.Unix()
}

// IsTargetNotFound reports whether err is a node's answer that it does not
// know the target (not, say, that it lacks the route).
func IsTargetNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && wire.IsTargetNotFound(e.Problem)
}

// Transitions returns a target's last transitions, newest first (limit 0:
// the server's default).
func (c *Client) Transitions(ctx context.Context, id string, limit int) ([]events.Transition, error) {
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var l wire.TransitionList
	_, err := c.do(ctx, http.MethodGet, targetPath(id)+"/transitions", q, nil, &l)
	return l.Transitions, err
}

// Members lists the cluster's members as the node sees them, sorted by
// name (a node without clustering lists itself alone).
func (c *Client) Members(ctx context.Context) ([]wire.Member, error) {
	var l wire.MemberList
	if _, err := c.do(ctx, http.MethodGet, "/api/v1/members", nil, nil, &l); err != nil {
		return nil, err
	}
	return l.Members, nil
}

// Join asks the node to join the members at addrs (gossip host:port, a
// host, or a DNS name). The answer says how many answered and lists the
// members afterwards.
func (c *Client) Join(ctx context.Context, addrs ...string) (wire.JoinResponse, error) {
	var jr wire.JoinResponse
	_, err := c.do(ctx, http.MethodPost, "/api/v1/members/join", nil, wire.JoinRequest{Addrs: addrs}, &jr)
	return jr, err
}

// Leave asks the node to leave the cluster gracefully; it keeps serving
// the API until stopped.
func (c *Client) Leave(ctx context.Context) (wire.LeaveResponse, error) {
	var lr wire.LeaveResponse
	_, err := c.do(ctx, http.MethodPost, "/api/v1/leave", nil, nil, &lr)
	return lr, err
}

// Keys lists the node's gossip encryption keys by fingerprint, the
// primary (encrypting) one first; empty when the node gossips without
// encryption.
func (c *Client) Keys(ctx context.Context) ([]wire.KeyInfo, error) {
	var l wire.KeyList
	if _, err := c.do(ctx, http.MethodGet, "/api/v1/keys", nil, nil, &l); err != nil {
		return nil, err
	}
	return l.Keys, nil
}

// InstallKey installs a gossip key (16, 24 or 32 bytes) on the node: it
// decrypts at once. The key travels only in the request body.
func (c *Client) InstallKey(ctx context.Context, key []byte) (wire.KeyResponse, error) {
	return c.keyOp(ctx, "install", key)
}

// UseKey makes an installed gossip key the one the node encrypts with.
func (c *Client) UseKey(ctx context.Context, key []byte) (wire.KeyResponse, error) {
	return c.keyOp(ctx, "use", key)
}

// RemoveKey removes a gossip key that is not the primary one.
func (c *Client) RemoveKey(ctx context.Context, key []byte) (wire.KeyResponse, error) {
	return c.keyOp(ctx, "remove", key)
}

func (c *Client) keyOp(ctx context.Context, op string, key []byte) (wire.KeyResponse, error) {
	var kr wire.KeyResponse
	req := wire.KeyRequest{Key: base64.StdEncoding.EncodeToString(key)}
	_, err := c.do(ctx, http.MethodPost, "/api/v1/keys/"+op, nil, req, &kr)
	return kr, err
}

// At returns a client of the node whose API listens at addr (host:port,
// as a member's api_addr), with this client's scheme, token and HTTP
// client.
func (c *Client) At(addr string) (*Client, error) {
	if addr == "" || strings.Contains(addr, "/") {
		return nil, fmt.Errorf("API address %q: want host:port", addr)
	}
	u := url.URL{Scheme: c.base.Scheme, Host: addr}
	return New(u.String(), c.token, c.http)
}

// Live checks /livez.
func (c *Client) Live(ctx context.Context) error { return c.health(ctx, "/livez") }

// Ready checks /readyz; the error carries the node's reason.
func (c *Client) Ready(ctx context.Context) error { return c.health(ctx, "/readyz") }

func (c *Client) health(ctx context.Context, path string) error {
	_, err := c.do(ctx, http.MethodGet, path, nil, nil, nil)
	return err
}

// targetPath is the unescaped path of a target; url.URL escapes it.
func targetPath(id string) string { return "/api/v1/targets/" + id }
