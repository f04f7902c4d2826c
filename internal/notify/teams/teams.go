// Package teams is heck's Microsoft Teams channel: a message holding one
// Adaptive Card, posted to a Workflows (Power Automate) webhook or a
// legacy incoming webhook, both of which accept this form.
package teams

import (
	"context"
	"fmt"
	"strings"

	"github.com/heckhq/heck/internal/notify"
)

func init() {
	notify.Register(notify.ChannelTeams, func(s notify.Spec, o notify.Options) (notify.Channel, error) {
		return New(*s.Teams, o), nil
	})
}

// Channel posts to one Teams webhook.
type Channel struct {
	url  string
	opts notify.Options
}

// New builds the channel from expanded settings.
func New(s notify.ChatSpec, opts notify.Options) *Channel {
	return &Channel{url: s.WebhookURL, opts: opts.WithDefaults()}
}

// CardContentType is the attachment content type of an Adaptive Card.
const CardContentType = "application/vnd.microsoft.card.adaptive"

// Payload is a message with attachments.
type Payload struct {
	Type        string       `json:"type"`
	Attachments []Attachment `json:"attachments"`
}

// Attachment holds one card.
type Attachment struct {
	ContentType string `json:"contentType"`
	ContentURL  any    `json:"contentUrl"`
	Content     Card   `json:"content"`
}

// Card is an Adaptive Card (schema 1.4).
type Card struct {
	Schema  string    `json:"$schema"`
	Type    string    `json:"type"`
	Version string    `json:"version"`
	Body    []Element `json:"body"`
	Actions []Action  `json:"actions,omitempty"`
}

// Element is a TextBlock or a FactSet.
type Element struct {
	Type   string `json:"type"`
	Text   string `json:"text,omitempty"`
	Weight string `json:"weight,omitempty"`
	Size   string `json:"size,omitempty"`
	Color  string `json:"color,omitempty"`
	Wrap   bool   `json:"wrap,omitempty"`
	Facts  []Fact `json:"facts,omitempty"`
}

// Fact is a title and value in a FactSet.
type Fact struct {
	Title string `json:"title"`
	Value string `json:"value"`
}

// Action is an Action.OpenUrl button.
type Action struct {
	Type  string `json:"type"`
	Title string `json:"title"`
	URL   string `json:"url"`
}

// cardColor maps a message to an Adaptive Card text color.
func cardColor(m notify.Message) string {
	switch m.Color() {
	case notify.ColorRed:
		return "Attention"
	case notify.ColorOrange, notify.ColorYellow:
		return "Warning"
	case notify.ColorGreen:
		return "Good"
	case notify.ColorBlue:
		return "Accent"
	}
	return "Default"
}

// Build is the payload Send posts for m. Adaptive Card TextBlocks render
// a subset of Markdown, so text from the target is escaped.
func Build(m notify.Message) Payload {
	body := []Element{
		{Type: "TextBlock", Text: escape(m.Title()), Weight: "Bolder", Size: "Medium", Color: cardColor(m), Wrap: true},
		{Type: "TextBlock", Text: escape(m.Text()), Wrap: true},
	}
	var facts []Fact
	if m.From != "" || m.To != "" {
		facts = append(facts, Fact{Title: "State", Value: escape(m.From + " → " + m.To)})
	}
	if m.Severity != "" {
		facts = append(facts, Fact{Title: "Severity", Value: string(m.Severity)})
	}
	if len(m.Impacted) > 0 {
		facts = append(facts, Fact{Title: "Also impacted", Value: escape(strings.Join(m.Impacted, ", "))})
	}
	if len(facts) > 0 {
		body = append(body, Element{Type: "FactSet", Facts: facts})
	}
	card := Card{Schema: "http://adaptivecards.io/schemas/adaptive-card.json", Type: "AdaptiveCard", Version: "1.4", Body: body}
	if m.DashboardURL != "" {
		card.Actions = []Action{{Type: "Action.OpenUrl", Title: "Open in heck", URL: m.DashboardURL}}
	}
	return Payload{Type: "message", Attachments: []Attachment{{ContentType: CardContentType, Content: card}}}
}

var mdEscaper = strings.NewReplacer(`\`, `\\`, "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`, "`", "\\`", "#", `\#`)

func escape(s string) string { return mdEscaper.Replace(s) }

// Send posts m.
func (c *Channel) Send(ctx context.Context, m notify.Message) error {
	if _, err := notify.PostJSON(ctx, c.opts.HTTPClient, c.opts.Now, c.url, nil, Build(m)); err != nil {
		return fmt.Errorf("teams: message %s: %w", m.ID, err)
	}
	c.opts.Logger.Debug("notification sent", "channel", "teams", "id", m.ID)
	return nil
}
