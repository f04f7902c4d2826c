// Package slack is heck's Slack channel: a message to an incoming webhook,
// with a plain-text fallback and an attachment colored by state holding
// Block Kit blocks (title, body, dashboard link).
package slack

import (
	"context"
	"fmt"
	"strings"

	"github.com/heckhq/heck/internal/notify"
)

func init() {
	notify.Register(notify.ChannelSlack, func(s notify.Spec, o notify.Options) (notify.Channel, error) {
		return New(*s.Slack, o), nil
	})
}

// Channel posts to one Slack incoming webhook.
type Channel struct {
	url  string
	opts notify.Options
}

// New builds the channel from expanded settings.
func New(s notify.ChatSpec, opts notify.Options) *Channel {
	return &Channel{url: s.WebhookURL, opts: opts.WithDefaults()}
}

// Payload is the JSON body of an incoming webhook message.
type Payload struct {
	Text        string       `json:"text"`
	Attachments []Attachment `json:"attachments,omitempty"`
}

// Attachment is a colored side bar holding blocks.
type Attachment struct {
	Color    string  `json:"color"`
	Fallback string  `json:"fallback,omitempty"`
	Blocks   []Block `json:"blocks"`
}

// Block is a Block Kit block (header, section, context).
type Block struct {
	Type     string  `json:"type"`
	Text     *Text   `json:"text,omitempty"`
	Elements []*Text `json:"elements,omitempty"`
}

// Text is a Block Kit text object.
type Text struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// Escape escapes &, < and > as Slack's mrkdwn requires, so text from a
// target (a cause, a name) cannot form links or mentions.
func Escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// Build is the payload Send posts for m.
func Build(m notify.Message) Payload {
	title := m.Title()
	blocks := []Block{
		{Type: "header", Text: &Text{Type: "plain_text", Text: notify.Truncate(title, 150)}},
		{Type: "section", Text: &Text{Type: "mrkdwn", Text: notify.Truncate(Escape(m.Text()), 3000)}},
	}
	if m.DashboardURL != "" {
		blocks = append(blocks, Block{Type: "context", Elements: []*Text{{Type: "mrkdwn",
			Text: fmt.Sprintf("<%s|Open in heck>", Escape(m.DashboardURL))}}})
	}
	return Payload{
		Text:        Escape(title),
		Attachments: []Attachment{{Color: m.HexColor(), Fallback: Escape(title), Blocks: blocks}},
	}
}

// Send posts m.
func (c *Channel) Send(ctx context.Context, m notify.Message) error {
	if _, err := notify.PostJSON(ctx, c.opts.HTTPClient, c.opts.Now, c.url, nil, Build(m)); err != nil {
		return fmt.Errorf("slack: message %s: %w", m.ID, err)
	}
	c.opts.Logger.Debug("notification sent", "channel", "slack", "id", m.ID)
	return nil
}
