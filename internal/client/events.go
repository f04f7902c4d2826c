package client

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/heckhq/heck/internal/wire"

	"github.com/heckhq/heck/internal/events"
)

// Event is one item of the event stream: a transition, with the
// cluster-wide id the stream carried (the cursor to resume after).
type Event struct {
	ID         string
	Transition *events.Transition
}

// FollowOptions say what to follow of the event stream.
type FollowOptions struct {
	// Target keeps only this target's transitions (empty: every target).
	Target string
	// After resumes after the transition with this id: the node sends
	// what it logged since, then the live ones (empty: live ones only).
	After string
	// Reconnect keeps following across dropped connections and node
	// restarts: the client reconnects with Last-Event-ID set to the last
	// id it saw, after the pause the server asked for (retry:), so no
	// transition is missed or repeated. Errors of the API itself (401,
	// 404, ...) still end the follow.
	Reconnect bool
	// Retry, when set, is the pause before a reconnect in place of the
	// one the server asks for.
	Retry time.Duration
	// OnReconnect, when set, is told of each lost connection before the
	// pause (for a status line); nil says nothing.
	OnReconnect func(err error, wait time.Duration)
}

// maxRetry caps the pause between reconnects whatever the server asks.
const maxRetry = 30 * time.Second

// Events follows the event stream (of one target when targetID is set)
// and calls fn for each event until ctx ends, the server ends the stream
// (nil error), or fn returns an error (returned).
func (c *Client) Events(ctx context.Context, targetID string, fn func(Event) error) error {
	return c.Follow(ctx, FollowOptions{Target: targetID}, fn)
}

// Follow follows the event stream as opts say and calls fn for each
// event, until ctx ends (its error), fn returns an error (returned), the
// API refuses the request, or (without Reconnect) the stream ends (nil) or
// breaks.
func (c *Client) Follow(ctx context.Context, opts FollowOptions, fn func(Event) error) error {
	last := opts.After
	retry := 3 * time.Second
	for {
		err := c.stream(ctx, opts.Target, last, func(e Event) error {
			if e.ID != "" {
				last = e.ID
			}
			return fn(e)
		}, &retry)
		var fnErr callbackError
		switch {
		case errors.As(err, &fnErr):
			return fnErr.err
		case ctx.Err() != nil:
			return ctx.Err()
		case !opts.Reconnect:
			return err
		case StatusOf(err) != 0 && StatusOf(err) != http.StatusServiceUnavailable && StatusOf(err) != http.StatusBadGateway:
			return err
		}
		if err == nil {
			err = errors.New("the server ended the stream")
		}
		wait := min(retry, maxRetry)
		if opts.Retry > 0 {
			wait = opts.Retry
		}
		if opts.OnReconnect != nil {
			opts.OnReconnect(err, wait)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// callbackError marks an error fn returned, so that Follow returns it
// rather than reconnecting.
type callbackError struct{ err error }

func (e callbackError) Error() string { return e.err.Error() }

// stream reads one connection of the event stream.
func (c *Client) stream(ctx context.Context, target, after string, fn func(Event) error, retry *time.Duration) error {
	q := url.Values{}
	if target != "" {
		q.Set("target", target)
	}
	req, err := c.newRequest(ctx, http.MethodGet, "/api/v1/events", q, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	if after != "" {
		req.Header.Set("Last-Event-ID", after)
	}
	hc := *c.http
	hc.Timeout = 0
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", req.URL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return readError(resp)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var name, id string
	var data strings.Builder
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if data.Len() > 0 {
				if err := dispatch(name, id, data.String(), fn); err != nil {
					return err
				}
			}
			name, id = "", ""
			data.Reset()
		case strings.HasPrefix(line, ":"):
		case strings.HasPrefix(line, "event:"):
			name = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
		case strings.HasPrefix(line, "id:"):
			id = strings.TrimSpace(strings.TrimPrefix(line, "id:"))
		case strings.HasPrefix(line, "retry:"):
			if ms, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "retry:"))); err == nil && ms > 0 {
				*retry = time.Duration(ms) * time.Millisecond
			}
		case strings.HasPrefix(line, "data:"):
			if data.Len() > 0 {
				data.WriteByte('\n')
			}
			data.WriteString(strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "))
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read event stream: %w", err)
	}
	return nil
}

func dispatch(name, id, data string, fn func(Event) error) error {
	if name == "" {
		return nil // a comment or keep-alive
	}
	// Every event of the stream is an events.Transition: a change of
	// state ("transition") or another event, whose Type names it.
	var t events.Transition
	if err := json.Unmarshal([]byte(data), &t); err != nil {
		if name != "transition" {
			return nil // an event this client does not know
		}
		return fmt.Errorf("event stream: transition %q: %w", data, err)
	}
	if id == "" {
		id = t.ID
	}
	if err := fn(Event{ID: id, Transition: &t}); err != nil {
		return callbackError{err}
	}
	return nil
}

// TransitionQuery selects transitions of every target (or one).
type TransitionQuery struct {
	Target string
	// Since is the oldest time listed (zero: no bound).
	Since time.Time
	// Until lists only changes before it (zero: no bound): how a reader
	// pages back through a long list.
	Until time.Time
	// Limit caps how many (0: the server's default).
	Limit int
	// Type keeps the events of one type (Audit only).
	Type string
}

// AllTransitions lists transitions of every target (or q.Target's),
// newest first.
func (c *Client) AllTransitions(ctx context.Context, q TransitionQuery) ([]events.Transition, error) {
	return c.listEvents(ctx, "/api/v1/transitions", q)
}

// Audit lists the events of the log, transitions and every other type
// (ejections, pool panics...), newest first.
func (c *Client) Audit(ctx context.Context, q TransitionQuery) ([]events.Transition, error) {
	return c.listEvents(ctx, "/api/v1/audit", q)
}

func (c *Client) listEvents(ctx context.Context, path string, q TransitionQuery) ([]events.Transition, error) {
	v := url.Values{}
	if q.Type != "" {
		v.Set("type", q.Type)
	}
	if q.Target != "" {
		v.Set("target", q.Target)
	}
	if !q.Since.IsZero() {
		v.Set("since", q.Since.UTC().Format(time.RFC3339Nano))
	}
	if !q.Until.IsZero() {
		v.Set("until", q.Until.UTC().Format(time.RFC3339Nano))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	var l wire.TransitionList
	_, err := c.do(ctx, http.MethodGet, path, v, nil, &l)
	return l.Transitions, err
}
