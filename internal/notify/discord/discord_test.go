package discord_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/heckhq/heck/internal/notify"
	"github.com/heckhq/heck/internal/notify/discord"
	"github.com/heckhq/heck/internal/notify/notifytest"
)

func TestSend(t *testing.T) {
	srv := notifytest.NewServer(t)
	srv.Answer(204, "")
	ch := discord.New(notify.ChatSpec{WebhookURL: srv.URL + "/api/webhooks/1/tok"}, srv.Options())
	m := notifytest.Firing()
	if err := ch.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	r := srv.Last(t)
	var p discord.Payload
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Fatal(err)
	}
	if r.Path != "/api/webhooks/1/tok" || len(p.Embeds) != 1 {
		t.Fatalf("%s %s", r.Path, r.Body)
	}
	e := p.Embeds[0]
	if e.Title != m.Title() || e.Color != notify.ColorRed || e.URL != m.DashboardURL || e.Timestamp != "2026-12-07T05:59:00Z" {
		t.Errorf("embed: %+v", e)
	}
	if !strings.Contains(e.Description, "Cause: HTTP 503") || len(e.Fields) != 3 || e.Fields[0].Value != "up → down" || e.Fields[2].Value != "api" {
		t.Errorf("embed body: %+v", e)
	}
	if !strings.Contains(string(r.Body), `"allowed_mentions":{"parse":[]}`) {
		t.Errorf("mentions not disabled: %s", r.Body)
	}
}

func TestLimitsAndRetry(t *testing.T) {
	m := notifytest.Firing()
	m.Cause = strings.Repeat("x", 5000)
	e := discord.Build(m).Embeds[0]
	if len(e.Title) > 256 || len(e.Description) > 4096 {
		t.Fatalf("over the limits: title %d, description %d", len(e.Title), len(e.Description))
	}
	srv := notifytest.NewServer(t)
	ch := discord.New(notify.ChatSpec{WebhookURL: srv.URL}, srv.Options())
	srv.Answer(429, `{"retry_after": 1.25}`, "Retry-After", "1.25")
	if d, ok := notify.RetryAfter(ch.Send(context.Background(), m)); !ok || d.Milliseconds() != 1250 {
		t.Fatalf("retry after %v %v", d, ok)
	}
}
