package notify

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

var at = time.Date(2026, 12, 7, 5, 40, 0, 0, time.UTC)

func firing() Message {
	return Message{ID: "tr-1", Kind: KindFiring, Target: Target{ID: "web", Name: "web", Kind: "http", URLOrAddress: "http://127.0.0.1:8080/"},
		From: StateUp, To: StateDown, At: at, Cause: "HTTP 503", Severity: SeverityCritical, Node: "heck-1"}
}

func TestMessageJSONSchema(t *testing.T) {
	m := firing()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "kind", "target", "from", "to", "at", "cause", "severity", "impacted", "node"} {
		if _, ok := got[k]; !ok {
			t.Errorf("field %q missing from %s", k, b)
		}
	}
	if got["at"] != "2026-12-07T05:40:00Z" {
		t.Errorf("at = %v", got["at"])
	}
	if imp, ok := got["impacted"].([]any); !ok || len(imp) != 0 {
		t.Errorf("impacted = %#v, want []", got["impacted"])
	}
	tg := got["target"].(map[string]any)
	if _, ok := tg["labels"].(map[string]any); !ok || tg["url_or_address"] != "http://127.0.0.1:8080/" {
		t.Errorf("target = %#v", tg)
	}
	if _, ok := got["dashboard_url"]; ok {
		t.Errorf("empty dashboard_url written: %s", b)
	}
	var back Message
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	back.Impacted, back.Target.Labels = nil, nil
	if !reflect.DeepEqual(back, m) {
		t.Errorf("round trip: %+v\nwant %+v", back, m)
	}
}

func TestTitleAndText(t *testing.T) {
	m := firing()
	cases := []struct {
		name string
		edit func(*Message)
		want string
	}{
		{"firing", func(*Message) {}, "web down: HTTP 503"},
		{"named", func(m *Message) { m.Target.Name = "Web front" }, "Web front down: HTTP 503"},
		{"no name", func(m *Message) { m.Target.Name = "" }, "web down: HTTP 503"},
		{"degraded", func(m *Message) { m.To = StateDegraded; m.Cause = "slow" }, "web degraded: slow"},
		{"reminder", func(m *Message) { m.Kind = KindReminder }, "web still down: HTTP 503"},
		{"resolved", func(m *Message) { m.Kind = KindResolved; m.From, m.To = StateDown, StateUp }, "web up again"},
		{"flapping", func(m *Message) { m.Kind = KindFlapping; m.To = StateFlapping; m.Cause = "6 changes in 10m" }, "web flapping: 6 changes in 10m"},
		{"test", func(m *Message) { m.Kind = KindTest }, "heck test notification"},
		{"newline cause", func(m *Message) { m.Cause = "bad\nthing" }, "web down: bad thing"},
	}
	for _, c := range cases {
		mm := m
		c.edit(&mm)
		if got := mm.Title(); got != c.want {
			t.Errorf("%s: Title = %q, want %q", c.name, got, c.want)
		}
	}
	m.Impacted = []string{"api", "checkout"}
	m.DashboardURL = "http://127.0.0.1:7000/targets/web"
	text := m.Text()
	for _, want := range []string{"web (http, http://127.0.0.1:8080/) went from up to down at 2026-12-07T05:40:00Z", "Cause: HTTP 503", "Severity: critical", "Also impacted: api, checkout", "Sent by: heck-1", "Dashboard: http://127.0.0.1:7000/targets/web"} {
		if !strings.Contains(text, want) {
			t.Errorf("Text lacks %q:\n%s", want, text)
		}
	}
	long := m
	long.Cause = strings.Repeat("é", 300)
	if got := long.Title(); len(got) > 250 || !strings.HasSuffix(got, "…") {
		t.Errorf("long title: %d bytes %q", len(got), got)
	}
}

func TestIncidentAndColor(t *testing.T) {
	m := firing()
	if m.IncidentID() != "tr-1" {
		t.Errorf("firing IncidentID = %q", m.IncidentID())
	}
	r := m
	r.ID, r.Kind, r.Incident, r.From, r.To = "tr-2", KindResolved, "tr-1", StateDown, StateUp
	if r.IncidentID() != "tr-1" || r.Opens() {
		t.Errorf("resolved IncidentID = %q, opens %v", r.IncidentID(), r.Opens())
	}
	for _, c := range []struct {
		kind MessageKind
		to   string
		want uint32
	}{{KindFiring, StateDown, ColorRed}, {KindFiring, StateDegraded, ColorOrange}, {KindFiring, StateLate, ColorOrange},
		{KindFlapping, StateFlapping, ColorYellow}, {KindResolved, StateUp, ColorGreen}, {KindFiring, StateStale, ColorGrey}, {KindTest, StateUp, ColorBlue}} {
		mm := Message{Kind: c.kind, To: c.to}
		if got := mm.Color(); got != c.want {
			t.Errorf("%s to %s: color %06X, want %06X", c.kind, c.to, got, c.want)
		}
	}
	if got := (Message{To: StateDown}).HexColor(); got != "#D93025" {
		t.Errorf("HexColor = %s", got)
	}
}
