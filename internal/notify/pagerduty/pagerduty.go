// Package pagerduty is heck's PagerDuty channel: Events API v2.
//
// Firing, reminder, flapping and test messages send event_action
// "trigger"; resolved messages send "resolve". The dedup_key is
// DedupKey(m): the target's id and the message's IncidentID (the id of the
// firing message that opened the incident), so a reminder lands on the
// incident its firing message opened instead of opening another, and a
// resolved message, whose Incident names the firing message it closes,
// resolves exactly that incident. A firing message opens a new incident
// per transition: a target that goes down again after recovering gets a
// new incident, not a reopened one.
package pagerduty

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/heckhq/heck/internal/notify"
)

func init() {
	notify.Register(notify.ChannelPagerDuty, func(s notify.Spec, o notify.Options) (notify.Channel, error) {
		return New(*s.PagerDuty, o), nil
	})
}

// Channel sends events to one integration.
type Channel struct {
	url        string
	routingKey string
	opts       notify.Options
}

// New builds the channel from expanded settings.
func New(s notify.PagerDutySpec, opts notify.Options) *Channel {
	u := s.URL
	if u == "" {
		u = notify.DefaultPagerDutyURL
	}
	return &Channel{url: u, routingKey: s.RoutingKey, opts: opts.WithDefaults()}
}

// Event is an Events API v2 event.
type Event struct {
	RoutingKey  string   `json:"routing_key"`
	EventAction string   `json:"event_action"`
	DedupKey    string   `json:"dedup_key"`
	Payload     *Payload `json:"payload,omitempty"`
	Client      string   `json:"client,omitempty"`
	ClientURL   string   `json:"client_url,omitempty"`
	Links       []Link   `json:"links,omitempty"`
}

// Payload describes a triggered alert.
type Payload struct {
	Summary       string         `json:"summary"`
	Source        string         `json:"source"`
	Severity      string         `json:"severity"`
	Timestamp     string         `json:"timestamp,omitempty"`
	Component     string         `json:"component,omitempty"`
	Class         string         `json:"class,omitempty"`
	CustomDetails map[string]any `json:"custom_details,omitempty"`
}

// Link is a link shown on the incident.
type Link struct {
	Href string `json:"href"`
	Text string `json:"text"`
}

// MaxDedupKey is the Events API's limit on dedup_key.
const MaxDedupKey = 255

// DedupKey is "heck/<target id>/<incident id>", or, when that is longer
// than MaxDedupKey, "heck/" and its SHA-256 in hex.
func DedupKey(m notify.Message) string {
	k := "heck/" + m.Target.ID + "/" + m.IncidentID()
	if len(k) <= MaxDedupKey {
		return k
	}
	sum := sha256.Sum256([]byte(k))
	return "heck/" + hex.EncodeToString(sum[:])
}

// Build is the event Send posts for m.
func (c *Channel) Build(m notify.Message) Event {
	e := Event{RoutingKey: c.routingKey, DedupKey: DedupKey(m), Client: "heck", ClientURL: m.DashboardURL}
	if m.Kind == notify.KindResolved {
		e.EventAction = "resolve"
		return e
	}
	e.EventAction = "trigger"
	sev := string(m.Severity)
	switch m.Severity {
	case notify.SeverityCritical, notify.SeverityWarning, notify.SeverityInfo:
	default:
		sev = "error"
	}
	source := m.Target.URLOrAddress
	if source == "" {
		source = m.Target.ID
	}
	at := ""
	if !m.At.IsZero() {
		at = m.At.UTC().Format(time.RFC3339)
	}
	details := map[string]any{
		"notification_id": m.ID, "kind": m.Kind, "from": m.From, "to": m.To,
		"cause": m.Cause, "node": m.Node, "target_id": m.Target.ID,
	}
	if len(m.Impacted) > 0 {
		details["impacted"] = m.Impacted
	}
	if len(m.Target.Labels) > 0 {
		details["labels"] = m.Target.Labels
	}
	e.Payload = &Payload{
		Summary:       notify.Truncate(m.Title(), 1024),
		Source:        notify.Truncate(source, 255),
		Severity:      sev,
		Timestamp:     at,
		Component:     m.Target.ID,
		Class:         m.Target.Kind,
		CustomDetails: details,
	}
	if m.DashboardURL != "" {
		e.Links = []Link{{Href: m.DashboardURL, Text: "Open in heck"}}
	}
	return e
}

// Send posts m's event.
func (c *Channel) Send(ctx context.Context, m notify.Message) error {
	e := c.Build(m)
	if _, err := notify.PostJSON(ctx, c.opts.HTTPClient, c.opts.Now, c.url, nil, e); err != nil {
		return fmt.Errorf("pagerduty: %s message %s: %w", e.EventAction, m.ID, err)
	}
	c.opts.Logger.Debug("notification sent", "channel", "pagerduty", "id", m.ID, "action", e.EventAction, "dedup_key", e.DedupKey)
	return nil
}
