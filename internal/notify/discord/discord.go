// Package discord is heck's Discord channel: a webhook message with one
// embed colored by state (title, description, fields, timestamp, link).
package discord

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/heckhq/heck/internal/notify"
)

func init() {
	notify.Register(notify.ChannelDiscord, func(s notify.Spec, o notify.Options) (notify.Channel, error) {
		return New(*s.Discord, o), nil
	})
}

// Channel posts to one Discord webhook.
type Channel struct {
	url  string
	opts notify.Options
}

// New builds the channel from expanded settings.
func New(s notify.ChatSpec, opts notify.Options) *Channel {
	return &Channel{url: s.WebhookURL, opts: opts.WithDefaults()}
}

// Payload is the JSON body of a webhook execution.
type Payload struct {
	Username        string          `json:"username,omitempty"`
	Embeds          []Embed         `json:"embeds"`
	AllowedMentions AllowedMentions `json:"allowed_mentions"`
}

// AllowedMentions with no parse entries lets no text ping anyone.
type AllowedMentions struct {
	Parse []string `json:"parse"`
}

// Embed is a rich message block.
type Embed struct {
	Title       string  `json:"title"`
	Description string  `json:"description"`
	URL         string  `json:"url,omitempty"`
	Color       uint32  `json:"color"`
	Timestamp   string  `json:"timestamp,omitempty"`
	Fields      []Field `json:"fields,omitempty"`
	Footer      *Footer `json:"footer,omitempty"`
}

// Field is a name and value shown in an embed.
type Field struct {
	Name   string `json:"name"`
	Value  string `json:"value"`
	Inline bool   `json:"inline"`
}

// Footer is the small line under an embed.
type Footer struct {
	Text string `json:"text"`
}

// Build is the payload Send posts for m (within Discord's limits: title
// 256, description 4096, field value 1024 characters).
func Build(m notify.Message) Payload {
	e := Embed{
		Title:       notify.Truncate(m.Title(), 256),
		Description: notify.Truncate(m.Text(), 4096),
		URL:         m.DashboardURL,
		Color:       m.Color(),
	}
	if !m.At.IsZero() {
		e.Timestamp = m.At.UTC().Format(time.RFC3339)
	}
	if m.From != "" || m.To != "" {
		e.Fields = append(e.Fields, Field{Name: "State", Value: notify.Truncate(m.From+" → "+m.To, 1024), Inline: true})
	}
	if m.Severity != "" {
		e.Fields = append(e.Fields, Field{Name: "Severity", Value: string(m.Severity), Inline: true})
	}
	if len(m.Impacted) > 0 {
		e.Fields = append(e.Fields, Field{Name: "Also impacted", Value: notify.Truncate(strings.Join(m.Impacted, ", "), 1024)})
	}
	if m.Node != "" {
		e.Footer = &Footer{Text: "heck node " + m.Node}
	}
	return Payload{Username: "heck", Embeds: []Embed{e}, AllowedMentions: AllowedMentions{Parse: []string{}}}
}

// Send posts m.
func (c *Channel) Send(ctx context.Context, m notify.Message) error {
	if _, err := notify.PostJSON(ctx, c.opts.HTTPClient, c.opts.Now, c.url, nil, Build(m)); err != nil {
		return fmt.Errorf("discord: message %s: %w", m.ID, err)
	}
	c.opts.Logger.Debug("notification sent", "channel", "discord", "id", m.ID)
	return nil
}
