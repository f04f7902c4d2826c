package notify

import (
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/heckhq/heck/internal/target"
)

// ChannelKind names a kind of notifier.
type ChannelKind string

// The kinds of notifier.
const (
	ChannelWebhook   ChannelKind = "webhook"
	ChannelSlack     ChannelKind = "slack"
	ChannelDiscord   ChannelKind = "discord"
	ChannelTeams     ChannelKind = "teams"
	ChannelTelegram  ChannelKind = "telegram"
	ChannelNtfy      ChannelKind = "ntfy"
	ChannelPagerDuty ChannelKind = "pagerduty"
	ChannelEmail     ChannelKind = "email"
)

// ChannelKinds lists every kind of notifier.
var ChannelKinds = []ChannelKind{ChannelWebhook, ChannelSlack, ChannelDiscord, ChannelTeams,
	ChannelTelegram, ChannelNtfy, ChannelPagerDuty, ChannelEmail}

// Defaults of the services' endpoints.
const (
	DefaultTelegramAPI  = "https://api.telegram.org"
	DefaultPagerDutyURL = "https://events.pagerduty.com/v2/enqueue"
)

// Spec is a notifier as written in the config file or sent to the API.
// Exactly the settings block of its kind is set. Secrets (tokens,
// passwords, routing keys, chat webhook URLs, the HMAC secret) should be
// written as ${VAR} references: the spec keeps the reference as written,
// and only Expand, called when building the channel, reads the
// environment, so the API and the config store never hold the secret.
type Spec struct {
	ID   string      `json:"id" yaml:"id"`
	Kind ChannelKind `json:"kind" yaml:"kind"`
	// Origin is "config" for a config file's notifiers, "" for the API's.
	Origin string `json:"origin,omitempty" yaml:"-"`

	Webhook   *WebhookSpec   `json:"webhook,omitempty" yaml:"webhook,omitempty"`
	Slack     *ChatSpec      `json:"slack,omitempty" yaml:"slack,omitempty"`
	Discord   *ChatSpec      `json:"discord,omitempty" yaml:"discord,omitempty"`
	Teams     *ChatSpec      `json:"teams,omitempty" yaml:"teams,omitempty"`
	Telegram  *TelegramSpec  `json:"telegram,omitempty" yaml:"telegram,omitempty"`
	Ntfy      *NtfySpec      `json:"ntfy,omitempty" yaml:"ntfy,omitempty"`
	PagerDuty *PagerDutySpec `json:"pagerduty,omitempty" yaml:"pagerduty,omitempty"`
	Email     *EmailSpec     `json:"email,omitempty" yaml:"email,omitempty"`
}

// WebhookSpec configures the generic webhook: a POST of the message as
// JSON (or of Template's output) to URL.
type WebhookSpec struct {
	URL string `json:"url" yaml:"url"`
	// Headers are added to each request; values may hold ${VAR}.
	Headers map[string]string `json:"headers,omitempty" yaml:"headers,omitempty"`
	// Template, when set, is a Go text/template executed with the Message
	// to make the body instead of the JSON message. The function json
	// writes a value as JSON ({{json .Cause}}).
	Template string `json:"template,omitempty" yaml:"template,omitempty"`
	// ContentType of the templated body; application/json by default.
	ContentType string `json:"content_type,omitempty" yaml:"content_type,omitempty"`
	// Secret, when set, signs each body: X-Heck-Signature is
	// "sha256=" + hex(HMAC-SHA256(secret, body)). Secret.
	Secret string `json:"secret,omitempty" yaml:"secret,omitempty"`
}

// ChatSpec configures Slack, Discord and Teams: an incoming webhook URL
// (a secret: whoever has it can post).
type ChatSpec struct {
	WebhookURL string `json:"webhook_url" yaml:"webhook_url"`
}

// TelegramSpec configures a Telegram bot.
type TelegramSpec struct {
	// BotToken as BotFather gave it ("123456:ABC..."). Secret.
	BotToken string `json:"bot_token" yaml:"bot_token"`
	// ChatID is a numeric chat id ("-1001234567890") or "@channelname".
	ChatID string `json:"chat_id" yaml:"chat_id"`
	// APIURL is the Bot API's base URL; DefaultTelegramAPI when empty.
	APIURL string `json:"api_url,omitempty" yaml:"api_url,omitempty"`
}

// NtfySpec configures ntfy.
type NtfySpec struct {
	// URL is the server and topic: "https://ntfy.sh/my-topic".
	URL string `json:"url" yaml:"url"`
	// Token is an access token sent as a bearer token. Secret.
	Token string `json:"token,omitempty" yaml:"token,omitempty"`
	// Priority is 1-5 or min, low, default, high, max, urgent. When empty
	// it follows the severity (critical: high, warning: default, info:
	// low). Resolved messages are always sent at default priority.
	Priority string `json:"priority,omitempty" yaml:"priority,omitempty"`
}

// PagerDutySpec configures PagerDuty's Events API v2.
type PagerDutySpec struct {
	// RoutingKey is the integration key of an Events API v2 integration.
	// Secret.
	RoutingKey string `json:"routing_key" yaml:"routing_key"`
	// URL of the events endpoint; DefaultPagerDutyURL when empty.
	URL string `json:"url,omitempty" yaml:"url,omitempty"`
}

// The TLS modes of e-mail.
const (
	EmailSTARTTLS = "starttls"
	EmailTLS      = "tls"
	EmailNoTLS    = "none"
)

// EmailSpec configures e-mail over SMTP.
type EmailSpec struct {
	Host string `json:"host" yaml:"host"`
	// Port defaults to 587 for starttls, 465 for tls and 25 for none.
	Port int `json:"port,omitempty" yaml:"port,omitempty"`
	// TLS is starttls (the default), tls (implicit TLS) or none.
	TLS string `json:"tls,omitempty" yaml:"tls,omitempty"`
	// Username and Password, when set, log in with AUTH PLAIN, which is
	// only ever done over TLS.
	Username string `json:"username,omitempty" yaml:"username,omitempty"`
	// Password. Secret.
	Password string `json:"password,omitempty" yaml:"password,omitempty"`
	// From is the sender: "heck@example.org" or "Heck <heck@example.org>".
	From string `json:"from" yaml:"from"`
	// To lists the recipients.
	To []string `json:"to" yaml:"to"`
}

// EmailPort is the port e uses: Port, or the default of its TLS mode.
func (e *EmailSpec) EmailPort() int {
	if e.Port != 0 {
		return e.Port
	}
	switch e.TLSMode() {
	case EmailTLS:
		return 465
	case EmailNoTLS:
		return 25
	}
	return 587
}

// TLSMode is TLS, or starttls when empty.
func (e *EmailSpec) TLSMode() string {
	if e.TLS == "" {
		return EmailSTARTTLS
	}
	return e.TLS
}

// Clone returns a deep copy of s.
func (s Spec) Clone() Spec {
	c := s
	if s.Webhook != nil {
		w := *s.Webhook
		w.Headers = maps.Clone(s.Webhook.Headers)
		c.Webhook = &w
	}
	c.Slack = clonePtr(s.Slack)
	c.Discord = clonePtr(s.Discord)
	c.Teams = clonePtr(s.Teams)
	c.Telegram = clonePtr(s.Telegram)
	c.Ntfy = clonePtr(s.Ntfy)
	c.PagerDuty = clonePtr(s.PagerDuty)
	if s.Email != nil {
		e := *s.Email
		e.To = slices.Clone(s.Email.To)
		c.Email = &e
	}
	return c
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	c := *p
	return &c
}

// field is one string setting of a spec that may hold ${VAR} references.
type field struct {
	name   string
	get    func() string
	set    func(string)
	secret bool
}

func strField(name string, p *string, secret bool) field {
	return field{name: name, get: func() string { return *p }, set: func(v string) { *p = v }, secret: secret}
}

var sensitiveHeader = regexp.MustCompile(`(?i)authorization|cookie|token|secret|password|api-?key|credential|signature`)

// fields lists s's expandable string settings, headers in sorted order.
func (s *Spec) fields() []field {
	var fs []field
	if w := s.Webhook; w != nil {
		fs = append(fs, strField("webhook.url", &w.URL, false))
		for _, k := range slices.Sorted(maps.Keys(w.Headers)) {
			fs = append(fs, field{name: "webhook.headers." + k,
				get:    func() string { return w.Headers[k] },
				set:    func(v string) { w.Headers[k] = v },
				secret: sensitiveHeader.MatchString(k)})
		}
		fs = append(fs, strField("webhook.secret", &w.Secret, true))
	}
	for _, c := range []struct {
		name string
		spec *ChatSpec
	}{{"slack", s.Slack}, {"discord", s.Discord}, {"teams", s.Teams}} {
		if c.spec != nil {
			fs = append(fs, strField(c.name+".webhook_url", &c.spec.WebhookURL, true))
		}
	}
	if t := s.Telegram; t != nil {
		fs = append(fs, strField("telegram.bot_token", &t.BotToken, true),
			strField("telegram.chat_id", &t.ChatID, false),
			strField("telegram.api_url", &t.APIURL, false))
	}
	if n := s.Ntfy; n != nil {
		fs = append(fs, strField("ntfy.url", &n.URL, false), strField("ntfy.token", &n.Token, true))
	}
	if p := s.PagerDuty; p != nil {
		fs = append(fs, strField("pagerduty.routing_key", &p.RoutingKey, true), strField("pagerduty.url", &p.URL, false))
	}
	if e := s.Email; e != nil {
		fs = append(fs, strField("email.host", &e.Host, false),
			strField("email.username", &e.Username, false),
			strField("email.password", &e.Password, true),
			strField("email.from", &e.From, false))
		for i := range e.To {
			fs = append(fs, strField("email.to["+strconv.Itoa(i)+"]", &e.To[i], false))
		}
	}
	return fs
}

// envRef matches a ${NAME} reference.
var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// EnvRefs lists the environment variables s refers to, each once, in the
// order of the fields.
func (s *Spec) EnvRefs() []string {
	var names []string
	for _, f := range s.fields() {
		for _, name := range target.RefNames(f.get()) {
			if !slices.Contains(names, name) {
				names = append(names, name)
			}
		}
	}
	return names
}

// Expand returns a copy of s with every ${VAR} reference replaced from
// lookup (os.LookupEnv when nil). A reference to an unset variable is a
// FieldError naming the field and the reference (never a value).
func (s Spec) Expand(lookup target.LookupFunc) (Spec, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	c := s.Clone()
	var errs target.FieldErrors
	for _, f := range c.fields() {
		v, fes := target.ExpandRefs(f.name, f.get(), lookup)
		errs = append(errs, fes...)
		f.set(v)
	}
	if len(errs) > 0 {
		return s, errs
	}
	return c, nil
}

// Redacted returns a copy of s fit for the API: every secret setting that
// holds a value rather than a ${VAR} reference is replaced by
// target.Redacted ("<redacted>"), and so is a password in the webhook URL.
// References are shown as written: they name a variable, not its value.
func (s Spec) Redacted() Spec {
	c := s.Clone()
	for _, f := range c.fields() {
		if v := f.get(); f.secret && v != "" && !pureRef(v) {
			f.set(target.Redacted)
		}
	}
	if c.Webhook != nil {
		c.Webhook.URL = redactURLQuery(redactURLPassword(c.Webhook.URL))
	}
	return c
}

// pureRef reports whether v is only ${VAR} references (and maybe a
// "Bearer " scheme), so it shows no secret.
func pureRef(v string) bool {
	rest := strings.TrimSpace(envRef.ReplaceAllString(v, ""))
	return (rest == "" || strings.EqualFold(rest, "bearer") || strings.EqualFold(rest, "basic")) && envRef.MatchString(v)
}

var sensitiveParam = regexp.MustCompile(`(?i)token|key|secret|sig|pass|auth|credential`)

// redactURLQuery hides the values of sensitive query parameters, keeping
// the rest of u byte for byte.
func redactURLQuery(u string) string {
	base, query, ok := strings.Cut(u, "?")
	if !ok {
		return u
	}
	query, frag, hasFrag := strings.Cut(query, "#")
	parts := strings.Split(query, "&")
	for i, p := range parts {
		name, val, ok := strings.Cut(p, "=")
		if ok && val != "" && sensitiveParam.MatchString(name) && !pureRef(val) {
			parts[i] = name + "=" + target.Redacted
		}
	}
	out := base + "?" + strings.Join(parts, "&")
	if hasFrag {
		out += "#" + frag
	}
	return out
}

func redactURLPassword(u string) string {
	i := strings.Index(u, "://")
	if i < 0 {
		return u
	}
	rest := u[i+3:]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	at := strings.LastIndex(rest[:end], "@")
	if at < 0 {
		return u
	}
	user, pass, ok := strings.Cut(rest[:at], ":")
	if !ok || pureRef(pass) {
		return u
	}
	return u[:i] + "://" + user + ":" + target.Redacted + "@" + rest[at+1:]
}
