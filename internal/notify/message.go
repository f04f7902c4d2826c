package notify

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// MessageKind says why a message is sent.
type MessageKind string

// The kinds of message.
const (
	// KindFiring: a target entered a bad state; it opens an incident.
	KindFiring MessageKind = "firing"
	// KindResolved: the target is back; it closes the incident named by
	// Message.Incident.
	KindResolved MessageKind = "resolved"
	// KindReminder: the incident named by Message.Incident is still open.
	KindReminder MessageKind = "reminder"
	// KindFlapping: the target keeps changing state.
	KindFlapping MessageKind = "flapping"
	// KindTest: sent on request to check that a notifier works.
	KindTest MessageKind = "test"
)

// MessageKinds lists every kind of message.
var MessageKinds = []MessageKind{KindFiring, KindResolved, KindReminder, KindFlapping, KindTest}

// Severity says how urgent a message is.
type Severity string

// The severities.
const (
	SeverityCritical Severity = "critical"
	SeverityWarning  Severity = "warning"
	SeverityInfo     Severity = "info"
)

// The states a message's From and To name: the health states of a target
// (see internal/health) plus flapping.
const (
	StateUp       = "up"
	StateDown     = "down"
	StateDegraded = "degraded"
	StateImpacted = "impacted"
	StateLate     = "late"
	StateFlapping = "flapping"
	StateStale    = "stale"
	StateUnknown  = "unknown"
)

// States lists the state names a message may carry.
var States = []string{StateUp, StateDown, StateDegraded, StateImpacted, StateLate, StateFlapping, StateStale, StateUnknown}

// Message is one notification. Its JSON form is the body the generic
// webhook posts; the field names are a stable interface:
//
//	{
//	  "id":       "t-4f1c...",          // notification id: the transition's stable id,
//	                                    // plus a suffix (":r1", ":r2"...) for reminders
//	  "kind":     "firing",             // firing | resolved | reminder | flapping | test
//	  "incident": "t-4f1c...",          // id of the firing notification that opened the
//	                                    // incident this one belongs to (see Incident)
//	  "target": {
//	    "id": "web", "name": "Web front", "kind": "http",
//	    "labels": {"team": "ops"},      // always an object, may be empty
//	    "url_or_address": "https://127.0.0.1/healthz"   // optional
//	  },
//	  "from":     "up",                 // up|down|degraded|impacted|late|flapping|stale|unknown
//	  "to":       "down",
//	  "at":       "2026-12-07T05:40:00Z",  // RFC 3339, when the transition happened
//	  "cause":    "HTTP 503",
//	  "severity": "critical",           // critical | warning | info
//	  "impacted": ["api", "checkout"],  // dependents folded into this one; always an array
//	  "node":     "heck-1",             // the node that sent it
//	  "dashboard_url": "https://..."    // optional
//	}
//
// A receiver should deduplicate by id: a channel may deliver the same
// message twice when a retry follows a lost answer.
type Message struct {
	ID   string      `json:"id"`
	Kind MessageKind `json:"kind"`
	// Incident is the id of the firing message that opened the incident
	// this message belongs to: a resolved message carries the id of the
	// firing one it closes, a reminder that of the firing one it repeats.
	// Empty on a firing message (it opens its own: IncidentID returns ID).
	// Channels that track incidents (PagerDuty's dedup_key, e-mail
	// threading) key on IncidentID, so a resolve reaches the incident its
	// trigger opened.
	Incident     string    `json:"incident,omitempty"`
	Target       Target    `json:"target"`
	From         string    `json:"from"`
	To           string    `json:"to"`
	At           time.Time `json:"at"`
	Cause        string    `json:"cause"`
	Severity     Severity  `json:"severity"`
	Impacted     []string  `json:"impacted"`
	Node         string    `json:"node"`
	DashboardURL string    `json:"dashboard_url,omitempty"`
}

// Target is what a message is about.
type Target struct {
	ID           string            `json:"id"`
	Name         string            `json:"name"`
	Kind         string            `json:"kind"`
	Labels       map[string]string `json:"labels"`
	URLOrAddress string            `json:"url_or_address,omitempty"`
}

// MarshalJSON writes m with "at" in RFC 3339 (UTC, seconds) and empty
// "impacted" and "labels" as [] and {} rather than null.
func (m Message) MarshalJSON() ([]byte, error) {
	type plain Message
	p := plain(m)
	if p.Impacted == nil {
		p.Impacted = []string{}
	}
	if p.Target.Labels == nil {
		p.Target.Labels = map[string]string{}
	}
	return json.Marshal(struct {
		plain
		At string `json:"at"`
	}{p, m.At.UTC().Format(time.RFC3339)})
}

// IncidentID is the id of the incident m belongs to: Incident when set,
// else m's own id (a firing message opens its own incident).
func (m Message) IncidentID() string {
	if m.Incident != "" {
		return m.Incident
	}
	return m.ID
}

// Opens reports whether m starts or repeats an alert (firing, reminder,
// flapping, test) rather than ending one (resolved).
func (m Message) Opens() bool { return m.Kind != KindResolved }

// DisplayName is the target's name, or its id when it has none.
func (m Message) DisplayName() string {
	if m.Target.Name != "" {
		return m.Target.Name
	}
	if m.Target.ID != "" {
		return m.Target.ID
	}
	return "heck"
}

// Title is a short one-line summary for chat titles and e-mail subjects:
// "web down: HTTP 503", "web still down: HTTP 503", "web up again",
// "web flapping: 6 changes in 10m", "heck test notification".
func (m Message) Title() string {
	name := m.DisplayName()
	var t string
	switch m.Kind {
	case KindResolved:
		t = name + " " + orState(m.To, StateUp) + " again"
	case KindReminder:
		t = name + " still " + orState(m.To, StateDown)
	case KindFlapping:
		t = name + " flapping"
	case KindTest:
		return "heck test notification"
	default:
		t = name + " " + orState(m.To, StateDown)
	}
	if m.Cause != "" && m.Kind != KindResolved {
		t += ": " + m.Cause
	}
	return oneLine(t, 250)
}

// Text is the body for chat channels and e-mail: a few plain lines saying
// what changed, when, why, what else is impacted, who sent it and where to
// look. Channels escape it for their markup.
func (m Message) Text() string {
	var b strings.Builder
	if m.Kind == KindTest {
		fmt.Fprintf(&b, "This is a test notification from heck node %s. If you can read it, the notifier works.\n", orState(m.Node, "?"))
		return b.String()
	}
	t := m.Target
	fmt.Fprintf(&b, "%s", m.DisplayName())
	var about []string
	if t.Name != "" && t.ID != "" && t.Name != t.ID {
		about = append(about, t.ID)
	}
	if t.Kind != "" {
		about = append(about, t.Kind)
	}
	if t.URLOrAddress != "" {
		about = append(about, t.URLOrAddress)
	}
	if len(about) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(about, ", "))
	}
	switch {
	case m.Kind == KindReminder:
		fmt.Fprintf(&b, " is still %s", orState(m.To, StateDown))
	case m.From != "":
		fmt.Fprintf(&b, " went from %s to %s", m.From, orState(m.To, StateUnknown))
	default:
		fmt.Fprintf(&b, " is %s", orState(m.To, StateUnknown))
	}
	if !m.At.IsZero() {
		fmt.Fprintf(&b, " at %s", m.At.UTC().Format(time.RFC3339))
	}
	b.WriteString(".\n")
	if m.Cause != "" {
		fmt.Fprintf(&b, "Cause: %s\n", m.Cause)
	}
	if m.Severity != "" {
		fmt.Fprintf(&b, "Severity: %s\n", m.Severity)
	}
	if len(m.Impacted) > 0 {
		fmt.Fprintf(&b, "Also impacted: %s\n", strings.Join(m.Impacted, ", "))
	}
	if m.Node != "" {
		fmt.Fprintf(&b, "Sent by: %s\n", m.Node)
	}
	if m.DashboardURL != "" {
		fmt.Fprintf(&b, "Dashboard: %s\n", m.DashboardURL)
	}
	return b.String()
}

// NewTestMessage is the message "heck notifiers test" sends: kind test,
// severity info, an id unique to the moment.
func NewTestMessage(node string, now time.Time) Message {
	return Message{
		ID:       fmt.Sprintf("test-%s-%d", node, now.UnixNano()),
		Kind:     KindTest,
		Target:   Target{ID: "heck-test", Name: "heck test", Kind: "test"},
		From:     StateUnknown,
		To:       StateUp,
		At:       now,
		Cause:    "test notification",
		Severity: SeverityInfo,
		Node:     node,
	}
}

func orState(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// oneLine folds newlines into spaces and cuts s to at most max bytes,
// on a rune boundary, ending with "…" when cut.
func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	return Truncate(s, max)
}

// Truncate cuts s to at most max bytes on a rune boundary, ending with "…"
// when it had to cut. Channels use it to keep within their services'
// field limits.
func Truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	const ell = "…"
	cut := max - len(ell)
	if cut < 0 {
		cut = 0
	}
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ell
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

// Colors of the chat channels, by the state a message reports.
const (
	ColorRed    uint32 = 0xD93025
	ColorOrange uint32 = 0xF29900
	ColorYellow uint32 = 0xF9CB28
	ColorGreen  uint32 = 0x1E8E3E
	ColorGrey   uint32 = 0x80868B
	ColorBlue   uint32 = 0x1A73E8
)

// Color is the RGB color chat channels give m: red for down, orange for
// degraded, impacted and late, yellow for flapping, green for up (and
// resolved), grey for stale and unknown, blue for a test.
func (m Message) Color() uint32 {
	if m.Kind == KindTest {
		return ColorBlue
	}
	if m.Kind == KindFlapping {
		return ColorYellow
	}
	switch m.To {
	case StateDown:
		return ColorRed
	case StateDegraded, StateImpacted, StateLate:
		return ColorOrange
	case StateFlapping:
		return ColorYellow
	case StateUp:
		return ColorGreen
	}
	if m.Kind == KindResolved {
		return ColorGreen
	}
	return ColorGrey
}

// HexColor is Color as "#RRGGBB".
func (m Message) HexColor() string { return fmt.Sprintf("#%06X", m.Color()) }
