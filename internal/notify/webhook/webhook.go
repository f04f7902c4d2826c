// Package webhook is heck's generic webhook channel: it POSTs each
// notify.Message as JSON (or the output of a text/template), signed with
// HMAC-SHA256 when a secret is set.
//
// Every request carries X-Heck-Timestamp (Unix seconds when sent) and
// X-Heck-Notification-Id (the message id, to deduplicate retries). With a
// secret it also carries X-Heck-Signature: "sha256=" followed by the hex
// HMAC-SHA256 of the raw body keyed with the secret. The signature covers
// the body only; the body of the default JSON form holds the message id
// and time, so a receiver rejects replays by id.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"text/template"

	"github.com/heckhq/heck/internal/notify"
)

// The headers heck sets.
const (
	HeaderSignature = "X-Heck-Signature"
	HeaderTimestamp = "X-Heck-Timestamp"
	HeaderID        = "X-Heck-Notification-Id"
)

func init() {
	notify.Register(notify.ChannelWebhook, func(s notify.Spec, o notify.Options) (notify.Channel, error) {
		return New(*s.Webhook, o)
	})
}

// Channel posts to one webhook.
type Channel struct {
	url         string
	header      http.Header
	tmpl        *template.Template
	contentType string
	secret      []byte
	opts        notify.Options
}

// New builds the channel from expanded settings.
func New(s notify.WebhookSpec, opts notify.Options) (*Channel, error) {
	opts = opts.WithDefaults()
	c := &Channel{url: s.URL, header: http.Header{}, contentType: s.ContentType, opts: opts}
	for k, v := range s.Headers {
		c.header.Set(k, v)
	}
	if s.Template != "" {
		t, err := notify.ParseTemplate(s.Template)
		if err != nil {
			return nil, fmt.Errorf("webhook.template: %w", err)
		}
		c.tmpl = t
	}
	if s.Secret != "" {
		c.secret = []byte(s.Secret)
	}
	return c, nil
}

// Sign is the X-Heck-Signature value of body under secret.
func Sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Body is what Send posts for m: the JSON message, or the template's
// output. A template that fails on m is a permanent error.
func (c *Channel) Body(m notify.Message) ([]byte, error) {
	if c.tmpl == nil {
		b, err := json.Marshal(m)
		if err != nil {
			return nil, notify.MarkPermanent(fmt.Errorf("encode message %s: %w", m.ID, err))
		}
		return b, nil
	}
	var buf bytes.Buffer
	if err := c.tmpl.Execute(&buf, m); err != nil {
		return nil, notify.MarkPermanent(fmt.Errorf("render webhook template for message %s: %w", m.ID, err))
	}
	return buf.Bytes(), nil
}

// Send posts m.
func (c *Channel) Send(ctx context.Context, m notify.Message) error {
	body, err := c.Body(m)
	if err != nil {
		return err
	}
	h := c.header.Clone()
	if c.tmpl != nil && c.contentType != "" {
		h.Set("Content-Type", c.contentType)
	}
	h.Set(HeaderTimestamp, strconv.FormatInt(c.opts.Now().Unix(), 10))
	h.Set(HeaderID, m.ID)
	if c.secret != nil {
		h.Set(HeaderSignature, Sign(c.secret, body))
	}
	if _, err := notify.Post(ctx, c.opts.HTTPClient, c.opts.Now, notify.Request{URL: c.url, Header: h, Body: body}); err != nil {
		return fmt.Errorf("webhook: message %s: %w", m.ID, err)
	}
	c.opts.Logger.Debug("notification sent", "channel", "webhook", "id", m.ID, "to", notify.SafeURL(c.url))
	return nil
}
