package notify

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/heckhq/heck/internal/target"
	"gopkg.in/yaml.v3"
)

func TestExpandKeepsOriginal(t *testing.T) {
	s := Spec{ID: "h", Kind: ChannelWebhook, Webhook: &WebhookSpec{URL: "http://${HOOK_HOST}/x",
		Headers: map[string]string{"Authorization": "Bearer ${BOT}"}, Secret: "${PD_KEY}"}}
	exp, err := s.Expand(testEnv)
	if err != nil {
		t.Fatal(err)
	}
	if exp.Webhook.URL != "http://127.0.0.1/x" || exp.Webhook.Headers["Authorization"] != "Bearer "+secretToken || exp.Webhook.Secret != secretKey {
		t.Fatalf("expanded: %+v", exp.Webhook)
	}
	if s.Webhook.URL != "http://${HOOK_HOST}/x" || s.Webhook.Headers["Authorization"] != "Bearer ${BOT}" || s.Webhook.Secret != "${PD_KEY}" {
		t.Fatalf("the original changed: %+v", s.Webhook)
	}
	if got := s.EnvRefs(); !reflect.DeepEqual(got, []string{"HOOK_HOST", "BOT", "PD_KEY"}) {
		t.Fatalf("EnvRefs = %v", got)
	}
}

func TestExpandUnset(t *testing.T) {
	s := Spec{ID: "m", Kind: ChannelEmail, Email: &EmailSpec{Host: "h", Username: "u", Password: "${A}", From: "${B}", To: []string{"x@y.z"}}}
	_, err := s.Expand(env(nil))
	fes, ok := target.AsFieldErrors(err)
	if !ok || len(fes) != 2 || fes[0].Field != "email.password" || fes[0].Value != "${A}" || fes[1].Field != "email.from" {
		t.Fatalf("Expand: %v", err)
	}
}

func TestRedacted(t *testing.T) {
	cases := []struct {
		name string
		spec Spec
		get  func(Spec) string
		want string
	}{
		{"slack literal", Spec{Kind: ChannelSlack, Slack: &ChatSpec{WebhookURL: secretURL}}, func(s Spec) string { return s.Slack.WebhookURL }, target.Redacted},
		{"slack ref", Spec{Kind: ChannelSlack, Slack: &ChatSpec{WebhookURL: "${SLACK_URL}"}}, func(s Spec) string { return s.Slack.WebhookURL }, "${SLACK_URL}"},
		{"discord", Spec{Kind: ChannelDiscord, Discord: &ChatSpec{WebhookURL: secretURL}}, func(s Spec) string { return s.Discord.WebhookURL }, target.Redacted},
		{"teams", Spec{Kind: ChannelTeams, Teams: &ChatSpec{WebhookURL: secretURL}}, func(s Spec) string { return s.Teams.WebhookURL }, target.Redacted},
		{"telegram token", Spec{Kind: ChannelTelegram, Telegram: &TelegramSpec{BotToken: secretToken, ChatID: "1"}}, func(s Spec) string { return s.Telegram.BotToken }, target.Redacted},
		{"telegram chat shown", Spec{Kind: ChannelTelegram, Telegram: &TelegramSpec{BotToken: secretToken, ChatID: "-100"}}, func(s Spec) string { return s.Telegram.ChatID }, "-100"},
		{"ntfy token", Spec{Kind: ChannelNtfy, Ntfy: &NtfySpec{URL: "https://127.0.0.1/t", Token: "tk_SuperSecret"}}, func(s Spec) string { return s.Ntfy.Token }, target.Redacted},
		{"pagerduty key", Spec{Kind: ChannelPagerDuty, PagerDuty: &PagerDutySpec{RoutingKey: secretKey}}, func(s Spec) string { return s.PagerDuty.RoutingKey }, target.Redacted},
		{"email password", Spec{Kind: ChannelEmail, Email: &EmailSpec{Password: secretPass}}, func(s Spec) string { return s.Email.Password }, target.Redacted},
		{"email user shown", Spec{Kind: ChannelEmail, Email: &EmailSpec{Username: "ops", Password: secretPass}}, func(s Spec) string { return s.Email.Username }, "ops"},
		{"webhook secret", Spec{Kind: ChannelWebhook, Webhook: &WebhookSpec{URL: "http://127.0.0.1/", Secret: "SuperSecret"}}, func(s Spec) string { return s.Webhook.Secret }, target.Redacted},
		{"webhook auth header", Spec{Kind: ChannelWebhook, Webhook: &WebhookSpec{Headers: map[string]string{"Authorization": "Bearer SuperSecret"}}}, func(s Spec) string { return s.Webhook.Headers["Authorization"] }, target.Redacted},
		{"webhook auth header ref", Spec{Kind: ChannelWebhook, Webhook: &WebhookSpec{Headers: map[string]string{"Authorization": "Bearer ${TOKEN}"}}}, func(s Spec) string { return s.Webhook.Headers["Authorization"] }, "Bearer ${TOKEN}"},
		{"webhook plain header", Spec{Kind: ChannelWebhook, Webhook: &WebhookSpec{Headers: map[string]string{"X-Team": "ops"}}}, func(s Spec) string { return s.Webhook.Headers["X-Team"] }, "ops"},
		{"webhook url password", Spec{Kind: ChannelWebhook, Webhook: &WebhookSpec{URL: "https://u:SuperSecret@127.0.0.1/h"}}, func(s Spec) string { return s.Webhook.URL }, "https://u:" + target.Redacted + "@127.0.0.1/h"},
		{"webhook url query", Spec{Kind: ChannelWebhook, Webhook: &WebhookSpec{URL: "https://127.0.0.1/h?team=ops&api_key=SuperSecret&token=${T}"}}, func(s Spec) string { return s.Webhook.URL }, "https://127.0.0.1/h?team=ops&api_key=" + target.Redacted + "&token=${T}"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			orig, _ := json.Marshal(c.spec)
			r := c.spec.Redacted()
			if got := c.get(r); got != c.want {
				t.Errorf("redacted = %q, want %q", got, c.want)
			}
			out, _ := json.Marshal(r)
			if strings.Contains(string(out), "SuperSecret") {
				t.Errorf("secret in the API form: %s", out)
			}
			if after, _ := json.Marshal(c.spec); string(after) != string(orig) {
				t.Errorf("Redacted changed the original: %s", after)
			}
		})
	}
}

func TestSpecYAMLAndJSON(t *testing.T) {
	src := `
id: ops-mail
kind: email
email:
  host: smtp.example.org
  port: 465
  tls: tls
  username: heck
  password: ${SMTP_PASS}
  from: Heck <heck@example.org>
  to: [ops@example.org, dev@example.org]
`
	var s Spec
	if err := yaml.Unmarshal([]byte(src), &s); err != nil {
		t.Fatal(err)
	}
	want := Spec{ID: "ops-mail", Kind: ChannelEmail, Email: &EmailSpec{Host: "smtp.example.org", Port: 465, TLS: "tls",
		Username: "heck", Password: "${SMTP_PASS}", From: "Heck <heck@example.org>", To: []string{"ops@example.org", "dev@example.org"}}}
	if !reflect.DeepEqual(s, want) {
		t.Fatalf("yaml: %+v", s.Email)
	}
	var j Spec
	if err := json.Unmarshal([]byte(`{"id":"tg","kind":"telegram","telegram":{"bot_token":"${BOT}","chat_id":"-1","api_url":"http://127.0.0.1:1"}}`), &j); err != nil {
		t.Fatal(err)
	}
	if j.Telegram == nil || j.Telegram.BotToken != "${BOT}" || j.Telegram.APIURL != "http://127.0.0.1:1" {
		t.Fatalf("json: %+v", j.Telegram)
	}
}

func TestEmailDefaults(t *testing.T) {
	for _, c := range []struct {
		tls  string
		port int
		want int
	}{{"", 0, 587}, {"starttls", 0, 587}, {"tls", 0, 465}, {"none", 0, 25}, {"tls", 2465, 2465}} {
		e := EmailSpec{TLS: c.tls, Port: c.port}
		if got := e.EmailPort(); got != c.want {
			t.Errorf("tls %q port %d: %d, want %d", c.tls, c.port, got, c.want)
		}
	}
}
