package teams_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/heckhq/heck/internal/notify"
	"github.com/heckhq/heck/internal/notify/notifytest"
	"github.com/heckhq/heck/internal/notify/teams"
)

func TestSend(t *testing.T) {
	srv := notifytest.NewServer(t)
	srv.Answer(202, "")
	ch := teams.New(notify.ChatSpec{WebhookURL: srv.URL + "/workflows/x"}, srv.Options())
	if err := ch.Send(context.Background(), notifytest.Firing()); err != nil {
		t.Fatal(err)
	}
	var p struct {
		Type        string `json:"type"`
		Attachments []struct {
			ContentType string         `json:"contentType"`
			ContentURL  any            `json:"contentUrl"`
			Content     map[string]any `json:"content"`
		} `json:"attachments"`
	}
	r := srv.Last(t)
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Fatal(err)
	}
	if p.Type != "message" || len(p.Attachments) != 1 || p.Attachments[0].ContentType != "application/vnd.microsoft.card.adaptive" {
		t.Fatalf("payload: %s", r.Body)
	}
	card := p.Attachments[0].Content
	if card["type"] != "AdaptiveCard" || card["version"] != "1.4" || !strings.Contains(card["$schema"].(string), "adaptive-card.json") {
		t.Fatalf("card: %v", card)
	}
	body := card["body"].([]any)
	title := body[0].(map[string]any)
	if title["color"] != "Attention" || title["weight"] != "Bolder" || !strings.Contains(title["text"].(string), `HTTP 503 <b>bold</b> & \*stars\*`) {
		t.Errorf("title block: %v", title)
	}
	if facts := body[2].(map[string]any); facts["type"] != "FactSet" {
		t.Errorf("facts: %v", facts)
	}
	action := card["actions"].([]any)[0].(map[string]any)
	if action["type"] != "Action.OpenUrl" || action["url"] != "http://127.0.0.1:7000/t/web" {
		t.Errorf("action: %v", action)
	}
}

func TestResolvedIsGood(t *testing.T) {
	if c := teams.Build(notifytest.Resolved()).Attachments[0].Content.Body[0].Color; c != "Good" {
		t.Fatalf("resolved color %q", c)
	}
}
