package all_test

import (
	"context"
	"testing"

	"github.com/heckhq/heck/internal/notify"
	_ "github.com/heckhq/heck/internal/notify/all"
	"github.com/heckhq/heck/internal/notify/notifytest"
	"github.com/heckhq/heck/internal/target"
)

// Every kind builds through notify.New once all is linked in, and every
// HTTP kind delivers to a loopback server.
func TestEveryKindBuildsAndSends(t *testing.T) {
	srv := notifytest.NewServer(t)
	srv.Answer(200, `{"ok":true}`)
	lookup := func(k string) (string, bool) {
		v, ok := map[string]string{
			"URL": srv.URL + "/hook", "TOKEN": "123456:abcdef", "KEY": "R0123456789abcdef0123456789abcde", "PASS": "pw",
		}[k]
		return v, ok
	}
	specs := []notify.Spec{
		{ID: "webhook", Kind: notify.ChannelWebhook, Webhook: &notify.WebhookSpec{URL: "${URL}"}},
		{ID: "slack", Kind: notify.ChannelSlack, Slack: &notify.ChatSpec{WebhookURL: "${URL}"}},
		{ID: "discord", Kind: notify.ChannelDiscord, Discord: &notify.ChatSpec{WebhookURL: "${URL}"}},
		{ID: "teams", Kind: notify.ChannelTeams, Teams: &notify.ChatSpec{WebhookURL: "${URL}"}},
		{ID: "telegram", Kind: notify.ChannelTelegram, Telegram: &notify.TelegramSpec{BotToken: "${TOKEN}", ChatID: "1", APIURL: srv.URL}},
		{ID: "ntfy", Kind: notify.ChannelNtfy, Ntfy: &notify.NtfySpec{URL: "${URL}"}},
		{ID: "pagerduty", Kind: notify.ChannelPagerDuty, PagerDuty: &notify.PagerDutySpec{RoutingKey: "${KEY}", URL: "${URL}"}},
	}
	for _, s := range specs {
		ch, err := notify.New(s, lookup, srv.Options())
		if err != nil {
			t.Fatalf("%s: %v", s.ID, err)
		}
		before := len(srv.Requests())
		if err := ch.Send(context.Background(), notify.NewTestMessage("heck-1", notifytest.Now)); err != nil {
			t.Fatalf("%s: %v", s.ID, err)
		}
		if len(srv.Requests()) != before+1 {
			t.Fatalf("%s: no request", s.ID)
		}
	}
	mail := notify.Spec{ID: "email", Kind: notify.ChannelEmail, Email: &notify.EmailSpec{Host: "127.0.0.1", Username: "u", Password: "${PASS}", From: "h@example.org", To: []string{"o@example.org"}}}
	if _, err := notify.New(mail, lookup, notify.Options{}); err != nil {
		t.Fatalf("email: %v", err)
	}
}

func TestNewRefusesInvalid(t *testing.T) {
	_, err := notify.New(notify.Spec{ID: "s", Kind: notify.ChannelSlack, Slack: &notify.ChatSpec{WebhookURL: "${UNSET_FOR_TEST}"}},
		func(string) (string, bool) { return "", false }, notify.Options{})
	fes, ok := target.AsFieldErrors(err)
	if !ok || len(fes) != 1 || fes[0].Field != "slack.webhook_url" || fes[0].Value != "${UNSET_FOR_TEST}" {
		t.Fatalf("err = %v", err)
	}
}
