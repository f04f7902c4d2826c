package slack_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/heckhq/heck/internal/notify"
	"github.com/heckhq/heck/internal/notify/notifytest"
	"github.com/heckhq/heck/internal/notify/slack"
)

func TestSend(t *testing.T) {
	srv := notifytest.NewServer(t)
	srv.Answer(200, "ok")
	ch, err := notify.New(notify.Spec{ID: "s", Kind: notify.ChannelSlack, Slack: &notify.ChatSpec{WebhookURL: "${SLACK_URL}"}},
		func(string) (string, bool) { return srv.URL + "/services/T/B/X", true }, srv.Options())
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.Send(context.Background(), notifytest.Firing()); err != nil {
		t.Fatal(err)
	}
	r := srv.Last(t)
	if r.Path != "/services/T/B/X" || r.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("request %s %s", r.Path, r.Header.Get("Content-Type"))
	}
	var p slack.Payload
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Fatal(err)
	}
	if len(p.Attachments) != 1 || p.Attachments[0].Color != "#D93025" {
		t.Fatalf("attachments: %+v", p.Attachments)
	}
	if !strings.Contains(p.Text, "web &lt;front&gt; &amp; co down") {
		t.Errorf("fallback text not escaped: %q", p.Text)
	}
	blocks := p.Attachments[0].Blocks
	if blocks[0].Type != "header" || blocks[0].Text.Type != "plain_text" || !strings.HasPrefix(blocks[0].Text.Text, "web <front> & co down") {
		t.Errorf("header block: %+v", blocks[0].Text)
	}
	if blocks[1].Type != "section" || !strings.Contains(blocks[1].Text.Text, "HTTP 503 &lt;b&gt;bold&lt;/b&gt;") {
		t.Errorf("section block: %+v", blocks[1].Text)
	}
	if blocks[2].Type != "context" || blocks[2].Elements[0].Text != "<http://127.0.0.1:7000/t/web|Open in heck>" {
		t.Errorf("context block: %+v", blocks[2])
	}
}

func TestColorsAndErrors(t *testing.T) {
	if c := slack.Build(notifytest.Resolved()).Attachments[0].Color; c != "#1E8E3E" {
		t.Errorf("resolved color %s", c)
	}
	srv := notifytest.NewServer(t)
	ch := slack.New(notify.ChatSpec{WebhookURL: srv.URL + "/services/SuperSecret"}, srv.Options())
	srv.Answer(404, "no_service")
	err := ch.Send(context.Background(), notifytest.Firing())
	if !notify.Permanent(err) || strings.Contains(err.Error(), "SuperSecret") || !strings.Contains(err.Error(), "no_service") {
		t.Fatalf("404: %v", err)
	}
	srv.Answer(429, "rate_limited", "Retry-After", "30")
	err = ch.Send(context.Background(), notifytest.Firing())
	if d, ok := notify.RetryAfter(err); notify.Permanent(err) || !ok || d.Seconds() != 30 {
		t.Fatalf("429: %v", err)
	}
}
