// Package ntfy is heck's ntfy channel: a POST of the message's text to a
// topic URL, with Title, Priority, Tags and Click headers and an optional
// bearer token.
package ntfy

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/heckhq/heck/internal/notify"
)

func init() {
	notify.Register(notify.ChannelNtfy, func(s notify.Spec, o notify.Options) (notify.Channel, error) {
		return New(*s.Ntfy, o), nil
	})
}

// Channel publishes to one topic.
type Channel struct {
	url      string
	token    string
	priority string
	opts     notify.Options
}

// New builds the channel from expanded settings.
func New(s notify.NtfySpec, opts notify.Options) *Channel {
	return &Channel{url: s.URL, token: s.Token, priority: strings.ToLower(s.Priority), opts: opts.WithDefaults()}
}

// Priority is the priority m is published at: default for a resolved
// message, else the configured one, else by severity (critical: high,
// warning: default, info: low).
func (c *Channel) Priority(m notify.Message) string {
	switch {
	case m.Kind == notify.KindResolved:
		return "default"
	case c.priority != "":
		return c.priority
	case m.Severity == notify.SeverityCritical:
		return "high"
	case m.Severity == notify.SeverityInfo:
		return "low"
	}
	return "default"
}

// Tags are the emoji shortcodes shown with m.
func Tags(m notify.Message) string {
	switch {
	case m.Kind == notify.KindTest:
		return "test_tube"
	case m.Kind == notify.KindResolved || m.To == notify.StateUp:
		return "white_check_mark"
	case m.Kind == notify.KindFlapping:
		return "repeat"
	case m.To == notify.StateDown:
		return "rotating_light"
	}
	return "warning"
}

// Header is the request header Send sets for m.
func (c *Channel) Header(m notify.Message) http.Header {
	h := http.Header{}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Title", headerSafe(m.Title()))
	h.Set("Priority", c.Priority(m))
	h.Set("Tags", Tags(m))
	if m.DashboardURL != "" {
		h.Set("Click", headerSafe(m.DashboardURL))
	}
	if c.token != "" {
		h.Set("Authorization", "Bearer "+c.token)
	}
	return h
}

// headerSafe keeps a header value on one line.
func headerSafe(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// Send publishes m.
func (c *Channel) Send(ctx context.Context, m notify.Message) error {
	r := notify.Request{URL: c.url, Header: c.Header(m), Body: []byte(m.Text())}
	if _, err := notify.Post(ctx, c.opts.HTTPClient, c.opts.Now, r); err != nil {
		return fmt.Errorf("ntfy: message %s: %w", m.ID, err)
	}
	c.opts.Logger.Debug("notification sent", "channel", "ntfy", "id", m.ID)
	return nil
}
