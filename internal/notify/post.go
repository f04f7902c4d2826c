package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultTimeout bounds one Send when the context has no deadline.
const DefaultTimeout = 30 * time.Second

// Request is one HTTP POST a channel makes.
type Request struct {
	// URL is where to post; it may hold a secret (a Slack webhook, a
	// Telegram bot token), so errors name only its scheme and host.
	URL string
	// Header is added to the request; Content-Type defaults to
	// application/json.
	Header http.Header
	// Body is sent as is.
	Body []byte
}

// Response is a 2xx answer.
type Response struct {
	Code   int
	Header http.Header
	// Body is the start of the answer (at most 64 KiB).
	Body []byte
}

// Post sends r with client (http.DefaultClient when nil) and classifies
// the outcome: a 2xx is a Response; a non-2xx is a *StatusError, wrapped
// as permanent or with a Retry-After as ClassifyStatus says; no answer at
// all (timeout, refused, reset) is a temporary error, except certificate
// errors which are permanent. A context without a deadline gets
// DefaultTimeout. No error text holds the URL's path or query.
func Post(ctx context.Context, client *http.Client, now func() time.Time, r Request) (*Response, error) {
	if client == nil {
		client = http.DefaultClient
	}
	if now == nil {
		now = time.Now
	}
	where := SafeURL(r.URL)
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.URL, bytes.NewReader(r.Body))
	if err != nil {
		return nil, MarkPermanent(fmt.Errorf("post to %s: bad request: %w", where, unwrapURLError(err)))
	}
	for k, vs := range r.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "heck-notify/1")
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, classifyTransport(fmt.Errorf("post to %s: %w", where, unwrapURLError(err)))
	}
	defer resp.Body.Close()
	// A failure to read the rest of the answer changes nothing: the
	// status line says whether the message got there.
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		se := &StatusError{Code: resp.StatusCode, Body: snippet(body), Where: where}
		return nil, ClassifyStatus(se, resp.Header.Get("Retry-After"), now())
	}
	return &Response{Code: resp.StatusCode, Header: resp.Header, Body: body}, nil
}

// PostJSON marshals v and posts it as application/json (see Post).
func PostJSON(ctx context.Context, client *http.Client, now func() time.Time, url string, header http.Header, v any) (*Response, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return nil, MarkPermanent(fmt.Errorf("encode message for %s: %w", SafeURL(url), err))
	}
	return Post(ctx, client, now, Request{URL: url, Header: header, Body: body})
}

// SafeURL is raw reduced to scheme://host, fit for errors and logs: the
// path, query and user info of a webhook URL are often its secret.
func SafeURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "<invalid URL>"
	}
	return u.Scheme + "://" + u.Host
}

// unwrapURLError drops the *url.Error layer, whose text holds the whole
// URL.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func snippet(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	return Truncate(s, 512)
}
