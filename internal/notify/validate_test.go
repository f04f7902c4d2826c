package notify

import (
	"strings"
	"testing"
)

const (
	secretURL   = "https://hooks.example.org/services/T000/B000/SuperSecretPath"
	secretToken = "123456:SuperSecretBotToken_xyz"
	secretKey   = "SuperSecretRoutingKey0123456789ab"
	secretPass  = "SuperSecretPassword"
)

func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

var testEnv = env(map[string]string{
	"SLACK_URL": secretURL, "BOT": secretToken, "PD_KEY": secretKey, "SMTP_PASS": secretPass,
	"BAD_URL": "ftp://SuperSecretNotAURL", "BAD_BOT": "SuperSecretNoColon", "HOOK_HOST": "127.0.0.1",
})

func TestValidateOK(t *testing.T) {
	specs := []Spec{
		{ID: "hook", Kind: ChannelWebhook, Webhook: &WebhookSpec{URL: "http://${HOOK_HOST}:8080/h", Headers: map[string]string{"Authorization": "Bearer ${BOT}"}, Template: `{"t":{{json .Title}}}`, Secret: "${PD_KEY}"}},
		{ID: "s", Kind: ChannelSlack, Slack: &ChatSpec{WebhookURL: "${SLACK_URL}"}},
		{ID: "d", Kind: ChannelDiscord, Discord: &ChatSpec{WebhookURL: "https://127.0.0.1/api/webhooks/1/x"}},
		{ID: "m", Kind: ChannelTeams, Teams: &ChatSpec{WebhookURL: "${SLACK_URL}"}},
		{ID: "tg", Kind: ChannelTelegram, Telegram: &TelegramSpec{BotToken: "${BOT}", ChatID: "-1001234567890"}},
		{ID: "tg2", Kind: ChannelTelegram, Telegram: &TelegramSpec{BotToken: "${BOT}", ChatID: "@ops_room", APIURL: "http://127.0.0.1:9"}},
		{ID: "n", Kind: ChannelNtfy, Ntfy: &NtfySpec{URL: "https://127.0.0.1/topic", Token: "${BOT}", Priority: "urgent"}},
		{ID: "n2", Kind: ChannelNtfy, Ntfy: &NtfySpec{URL: "https://127.0.0.1/topic", Priority: "4"}},
		{ID: "pd", Kind: ChannelPagerDuty, PagerDuty: &PagerDutySpec{RoutingKey: "${PD_KEY}"}},
		{ID: "mail", Kind: ChannelEmail, Email: &EmailSpec{Host: "127.0.0.1", Port: 2525, Username: "u", Password: "${SMTP_PASS}",
			From: "Heck <heck@example.org>", To: []string{"ops@example.org", "Dev <dev@example.org>"}}},
		{ID: "mail2", Kind: ChannelEmail, Email: &EmailSpec{Host: "localhost", TLS: "none", From: "heck@example.org", To: []string{"ops@example.org"}}},
	}
	for _, s := range specs {
		if errs := s.Validate(testEnv); len(errs) > 0 {
			t.Errorf("%s: unexpected problems:\n%v", s.ID, errs)
		}
	}
}

func TestValidateProblems(t *testing.T) {
	cases := []struct {
		name  string
		spec  Spec
		field string // a problem must name this field
		value string // ...and carry this value ("" allowed)
	}{
		{"missing id", Spec{Kind: ChannelSlack, Slack: &ChatSpec{WebhookURL: secretURL}}, "id", ""},
		{"bad id", Spec{ID: "a b", Kind: ChannelSlack, Slack: &ChatSpec{WebhookURL: secretURL}}, "id", "a b"},
		{"missing kind", Spec{ID: "x"}, "kind", ""},
		{"unknown kind", Spec{ID: "x", Kind: "pigeon"}, "kind", "pigeon"},
		{"missing block", Spec{ID: "x", Kind: ChannelSlack}, "slack", ""},
		{"foreign block", Spec{ID: "x", Kind: ChannelSlack, Slack: &ChatSpec{WebhookURL: secretURL}, Discord: &ChatSpec{}}, "discord", ""},
		{"webhook url missing", Spec{ID: "x", Kind: ChannelWebhook, Webhook: &WebhookSpec{}}, "webhook.url", ""},
		{"webhook url malformed", Spec{ID: "x", Kind: ChannelWebhook, Webhook: &WebhookSpec{URL: "127.0.0.1/hook"}}, "webhook.url", "127.0.0.1/hook"},
		{"webhook url scheme", Spec{ID: "x", Kind: ChannelWebhook, Webhook: &WebhookSpec{URL: "ftp://127.0.0.1/"}}, "webhook.url", "ftp://127.0.0.1/"},
		{"webhook url port", Spec{ID: "x", Kind: ChannelWebhook, Webhook: &WebhookSpec{URL: "http://127.0.0.1:99999/"}}, "webhook.url", "http://127.0.0.1:99999/"},
		{"webhook header name", Spec{ID: "x", Kind: ChannelWebhook, Webhook: &WebhookSpec{URL: "http://127.0.0.1/", Headers: map[string]string{"Bad Name": "v"}}}, "webhook.headers", "Bad Name"},
		{"webhook header reserved", Spec{ID: "x", Kind: ChannelWebhook, Webhook: &WebhookSpec{URL: "http://127.0.0.1/", Headers: map[string]string{"X-Heck-Signature": "v"}}}, "webhook.headers", "X-Heck-Signature"},
		{"webhook header unset var", Spec{ID: "x", Kind: ChannelWebhook, Webhook: &WebhookSpec{URL: "http://127.0.0.1/", Headers: map[string]string{"Authorization": "Bearer ${NOPE}"}}}, "webhook.headers.Authorization", "${NOPE}"},
		{"template syntax", Spec{ID: "x", Kind: ChannelWebhook, Webhook: &WebhookSpec{URL: "http://127.0.0.1/", Template: "{{.Target.Name"}}, "webhook.template", "{{.Target.Name"},
		{"template field", Spec{ID: "x", Kind: ChannelWebhook, Webhook: &WebhookSpec{URL: "http://127.0.0.1/", Template: "{{.NoSuchField}}"}}, "webhook.template", "{{.NoSuchField}}"},
		{"template func", Spec{ID: "x", Kind: ChannelWebhook, Webhook: &WebhookSpec{URL: "http://127.0.0.1/", Template: "{{nosuch .ID}}"}}, "webhook.template", "{{nosuch .ID}}"},
		{"webhook secret unset", Spec{ID: "x", Kind: ChannelWebhook, Webhook: &WebhookSpec{URL: "http://127.0.0.1/", Secret: "${NOPE}"}}, "webhook.secret", "${NOPE}"},
		{"slack missing", Spec{ID: "x", Kind: ChannelSlack, Slack: &ChatSpec{}}, "slack.webhook_url", ""},
		{"slack unset var", Spec{ID: "x", Kind: ChannelSlack, Slack: &ChatSpec{WebhookURL: "${NOPE}"}}, "slack.webhook_url", "${NOPE}"},
		{"slack bad expanded url", Spec{ID: "x", Kind: ChannelSlack, Slack: &ChatSpec{WebhookURL: "${BAD_URL}"}}, "slack.webhook_url", ""},
		{"discord bad literal url", Spec{ID: "x", Kind: ChannelDiscord, Discord: &ChatSpec{WebhookURL: "SuperSecretNotAURL"}}, "discord.webhook_url", ""},
		{"teams missing", Spec{ID: "x", Kind: ChannelTeams, Teams: &ChatSpec{}}, "teams.webhook_url", ""},
		{"telegram token missing", Spec{ID: "x", Kind: ChannelTelegram, Telegram: &TelegramSpec{ChatID: "1"}}, "telegram.bot_token", ""},
		{"telegram token malformed", Spec{ID: "x", Kind: ChannelTelegram, Telegram: &TelegramSpec{BotToken: "${BAD_BOT}", ChatID: "1"}}, "telegram.bot_token", ""},
		{"telegram chat missing", Spec{ID: "x", Kind: ChannelTelegram, Telegram: &TelegramSpec{BotToken: secretToken}}, "telegram.chat_id", ""},
		{"telegram chat malformed", Spec{ID: "x", Kind: ChannelTelegram, Telegram: &TelegramSpec{BotToken: secretToken, ChatID: "ops room"}}, "telegram.chat_id", "ops room"},
		{"telegram api url", Spec{ID: "x", Kind: ChannelTelegram, Telegram: &TelegramSpec{BotToken: secretToken, ChatID: "1", APIURL: "api.telegram"}}, "telegram.api_url", "api.telegram"},
		{"ntfy url missing", Spec{ID: "x", Kind: ChannelNtfy, Ntfy: &NtfySpec{}}, "ntfy.url", ""},
		{"ntfy no topic", Spec{ID: "x", Kind: ChannelNtfy, Ntfy: &NtfySpec{URL: "https://127.0.0.1/"}}, "ntfy.url", "https://127.0.0.1/"},
		{"ntfy priority", Spec{ID: "x", Kind: ChannelNtfy, Ntfy: &NtfySpec{URL: "https://127.0.0.1/t", Priority: "9"}}, "ntfy.priority", "9"},
		{"ntfy token unset", Spec{ID: "x", Kind: ChannelNtfy, Ntfy: &NtfySpec{URL: "https://127.0.0.1/t", Token: "${NOPE}"}}, "ntfy.token", "${NOPE}"},
		{"pagerduty key missing", Spec{ID: "x", Kind: ChannelPagerDuty, PagerDuty: &PagerDutySpec{}}, "pagerduty.routing_key", ""},
		{"pagerduty key malformed", Spec{ID: "x", Kind: ChannelPagerDuty, PagerDuty: &PagerDutySpec{RoutingKey: "SuperSecret key"}}, "pagerduty.routing_key", ""},
		{"pagerduty url", Spec{ID: "x", Kind: ChannelPagerDuty, PagerDuty: &PagerDutySpec{RoutingKey: secretKey, URL: "events"}}, "pagerduty.url", "events"},
		{"email host missing", Spec{ID: "x", Kind: ChannelEmail, Email: &EmailSpec{From: "a@b.c", To: []string{"d@e.f"}}}, "email.host", ""},
		{"email host with port", Spec{ID: "x", Kind: ChannelEmail, Email: &EmailSpec{Host: "127.0.0.1:25", From: "a@b.c", To: []string{"d@e.f"}}}, "email.host", "127.0.0.1:25"},
		{"email port low", Spec{ID: "x", Kind: ChannelEmail, Email: &EmailSpec{Host: "h", Port: -1, From: "a@b.c", To: []string{"d@e.f"}}}, "email.port", "-1"},
		{"email port high", Spec{ID: "x", Kind: ChannelEmail, Email: &EmailSpec{Host: "h", Port: 70000, From: "a@b.c", To: []string{"d@e.f"}}}, "email.port", "70000"},
		{"email tls mode", Spec{ID: "x", Kind: ChannelEmail, Email: &EmailSpec{Host: "h", TLS: "ssl", From: "a@b.c", To: []string{"d@e.f"}}}, "email.tls", "ssl"},
		{"email auth without tls", Spec{ID: "x", Kind: ChannelEmail, Email: &EmailSpec{Host: "h", TLS: "none", Username: "u", Password: secretPass, From: "a@b.c", To: []string{"d@e.f"}}}, "email.tls", "none"},
		{"email password without user", Spec{ID: "x", Kind: ChannelEmail, Email: &EmailSpec{Host: "h", Password: secretPass, From: "a@b.c", To: []string{"d@e.f"}}}, "email.username", ""},
		{"email user without password", Spec{ID: "x", Kind: ChannelEmail, Email: &EmailSpec{Host: "h", Username: "u", From: "a@b.c", To: []string{"d@e.f"}}}, "email.password", ""},
		{"email password unset", Spec{ID: "x", Kind: ChannelEmail, Email: &EmailSpec{Host: "h", Username: "u", Password: "${NOPE}", From: "a@b.c", To: []string{"d@e.f"}}}, "email.password", "${NOPE}"},
		{"email from missing", Spec{ID: "x", Kind: ChannelEmail, Email: &EmailSpec{Host: "h", To: []string{"d@e.f"}}}, "email.from", ""},
		{"email from bad", Spec{ID: "x", Kind: ChannelEmail, Email: &EmailSpec{Host: "h", From: "heck at example", To: []string{"d@e.f"}}}, "email.from", "heck at example"},
		{"email to missing", Spec{ID: "x", Kind: ChannelEmail, Email: &EmailSpec{Host: "h", From: "a@b.c"}}, "email.to", ""},
		{"email to bad", Spec{ID: "x", Kind: ChannelEmail, Email: &EmailSpec{Host: "h", From: "a@b.c", To: []string{"d@e.f", "nobody"}}}, "email.to[1]", "nobody"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			errs := c.spec.Validate(testEnv)
			if len(errs) == 0 {
				t.Fatalf("no problem reported, want one on %s", c.field)
			}
			found := false
			for _, e := range errs {
				if e.Field == c.field && e.Value == c.value {
					found = true
				}
				if e.Problem == "" || e.Fix == "" {
					t.Errorf("problem without explanation or fix: %+v", e)
				}
			}
			if !found {
				t.Errorf("no problem names field %q with value %q; got:\n%v", c.field, c.value, errs)
			}
			if text := errs.Error(); strings.Contains(text, "SuperSecret") {
				t.Errorf("a secret leaked into the error text:\n%s", text)
			}
		})
	}
}

// Every problem is reported, not just the first.
func TestValidateReportsAll(t *testing.T) {
	s := Spec{ID: "x", Kind: ChannelEmail, Email: &EmailSpec{Host: "h:1", Port: 0, TLS: "ssl", From: "bad", To: []string{"also bad"}}}
	errs := s.Validate(testEnv)
	want := map[string]bool{"email.host": false, "email.tls": false, "email.from": false, "email.to[0]": false}
	for _, e := range errs {
		if _, ok := want[e.Field]; ok {
			want[e.Field] = true
		}
	}
	for f, ok := range want {
		if !ok {
			t.Errorf("no problem on %s; got:\n%v", f, errs)
		}
	}
}

// With no lookup, references are taken on trust.
func TestValidateNilLookup(t *testing.T) {
	s := Spec{ID: "x", Kind: ChannelSlack, Slack: &ChatSpec{WebhookURL: "${UNSET_ANYWHERE}"}}
	if errs := s.Validate(nil); len(errs) > 0 {
		t.Fatalf("nil lookup: %v", errs)
	}
	if errs := s.Validate(env(nil)); len(errs) != 1 || errs[0].Field != "slack.webhook_url" {
		t.Fatalf("empty env: %v", errs)
	}
}

func TestValidateAllDuplicates(t *testing.T) {
	s := Spec{ID: "dup", Kind: ChannelSlack, Slack: &ChatSpec{WebhookURL: secretURL}}
	errs := ValidateAll([]Spec{s, s, {Kind: "nope"}}, testEnv)
	var fields []string
	for _, e := range errs {
		fields = append(fields, e.Field)
	}
	got := strings.Join(fields, ",")
	for _, want := range []string{"notifiers[1].id", "notifiers[2].id", "notifiers[2].kind"} {
		if !strings.Contains(got, want) {
			t.Errorf("want a problem on %s, got %s", want, got)
		}
	}
}
