package notify

import (
	"bytes"
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/heckhq/heck/internal/target"
)

// Validate checks s as written and returns every problem found, each
// naming the field, the value as written (never a secret's value: those
// are left out) and the fix. lookup resolves ${VAR} references: a
// reference to an unset variable is a problem, and a setting is checked
// with its references expanded. With a nil lookup references are not
// resolved and settings holding one are not checked further.
func (s *Spec) Validate(lookup target.LookupFunc) target.FieldErrors {
	v := &validator{lookup: lookup}
	switch {
	case s.ID == "":
		v.add("id", "", "is missing", "give the notifier a unique id such as \"ops-slack\"")
	case !target.ValidID(s.ID):
		v.add("id", s.ID, "is not a valid id", "use 1 to 128 letters, digits, '.', '_', ':' or '-', starting with a letter or digit")
	}
	v.blocks(s)
	switch s.Kind {
	case ChannelWebhook:
		v.webhook(s.Webhook)
	case ChannelSlack, ChannelDiscord, ChannelTeams:
		v.chat(string(s.Kind), s.chat())
	case ChannelTelegram:
		v.telegram(s.Telegram)
	case ChannelNtfy:
		v.ntfy(s.Ntfy)
	case ChannelPagerDuty:
		v.pagerduty(s.PagerDuty)
	case ChannelEmail:
		v.email(s.Email)
	case "":
		v.add("kind", "", "is missing", "set kind to one of "+kindList())
	default:
		v.add("kind", string(s.Kind), "is not a known kind", "set kind to one of "+kindList())
	}
	return v.errs
}

// ValidateAll validates specs together: each on its own, with fields
// prefixed "notifiers[i]", plus duplicate ids.
func ValidateAll(specs []Spec, lookup target.LookupFunc) target.FieldErrors {
	var errs target.FieldErrors
	seen := map[string]int{}
	for i := range specs {
		prefix := fmt.Sprintf("notifiers[%d]", i)
		for _, e := range specs[i].Validate(lookup) {
			errs = append(errs, e.Prefixed(prefix))
		}
		id := specs[i].ID
		if id == "" {
			continue
		}
		if j, dup := seen[id]; dup {
			errs = append(errs, target.FieldError{Field: prefix + ".id", Value: id,
				Problem: fmt.Sprintf("is already used by notifiers[%d]", j), Fix: "give each notifier a unique id"})
		} else {
			seen[id] = i
		}
	}
	return errs
}

func (s *Spec) chat() *ChatSpec {
	switch s.Kind {
	case ChannelSlack:
		return s.Slack
	case ChannelDiscord:
		return s.Discord
	case ChannelTeams:
		return s.Teams
	}
	return nil
}

func kindList() string {
	names := make([]string, len(ChannelKinds))
	for i, k := range ChannelKinds {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}

type validator struct {
	errs   target.FieldErrors
	lookup target.LookupFunc
}

func (v *validator) add(field, value, problem, fix string) {
	v.errs = append(v.errs, target.FieldError{Field: field, Value: value, Problem: problem, Fix: fix})
}

// secretProblem adds a problem with a secret field, leaving its value out.
func (v *validator) secretProblem(field, problem, fix string) {
	v.add(field, "", problem+" (the value is not shown: it is a secret)", fix)
}

// resolve expands raw's references. ok is false when the value cannot be
// checked further: a reference is unset (reported here) or there is no
// lookup to resolve it.
func (v *validator) resolve(field, raw string) (string, bool) {
	if !strings.Contains(raw, "${") {
		return raw, true
	}
	if v.lookup == nil {
		return "", false
	}
	out, errs := target.ExpandRefs(field, raw, v.lookup)
	v.errs = append(v.errs, errs...)
	return out, len(errs) == 0
}

// blocks reports a settings block that does not belong to s's kind, and
// the kind's block when it is missing.
func (v *validator) blocks(s *Spec) {
	set := map[ChannelKind]bool{
		ChannelWebhook: s.Webhook != nil, ChannelSlack: s.Slack != nil, ChannelDiscord: s.Discord != nil,
		ChannelTeams: s.Teams != nil, ChannelTelegram: s.Telegram != nil, ChannelNtfy: s.Ntfy != nil,
		ChannelPagerDuty: s.PagerDuty != nil, ChannelEmail: s.Email != nil,
	}
	for _, k := range ChannelKinds {
		if k == s.Kind {
			if !set[k] {
				v.add(string(k), "", "is missing", "add the "+string(k)+" settings block, such as "+example[k])
			}
			continue
		}
		if set[k] && s.Kind != "" {
			v.add(string(k), "", "settings do not apply to a "+string(s.Kind)+" notifier", "remove the "+string(k)+" block or set kind: "+string(k))
		}
	}
}

var example = map[ChannelKind]string{
	ChannelWebhook:   "webhook: {url: \"https://example.org/hook\"}",
	ChannelSlack:     "slack: {webhook_url: \"${SLACK_WEBHOOK_URL}\"}",
	ChannelDiscord:   "discord: {webhook_url: \"${DISCORD_WEBHOOK_URL}\"}",
	ChannelTeams:     "teams: {webhook_url: \"${TEAMS_WEBHOOK_URL}\"}",
	ChannelTelegram:  "telegram: {bot_token: \"${TELEGRAM_BOT_TOKEN}\", chat_id: \"-1001234567890\"}",
	ChannelNtfy:      "ntfy: {url: \"https://ntfy.sh/my-topic\"}",
	ChannelPagerDuty: "pagerduty: {routing_key: \"${PAGERDUTY_ROUTING_KEY}\"}",
	ChannelEmail:     "email: {host: smtp.example.org, from: heck@example.org, to: [ops@example.org]}",
}

// httpURL checks an http or https URL. A secret URL is never echoed.
func (v *validator) httpURL(field, raw string, required, secret bool, fix string) {
	if raw == "" {
		if required {
			v.add(field, "", "is missing", fix)
		}
		return
	}
	val, ok := v.resolve(field, raw)
	if !ok {
		return
	}
	problem := ""
	u, err := url.Parse(val)
	switch {
	case err != nil:
		problem = "is not a valid URL"
	case u.Scheme != "http" && u.Scheme != "https":
		problem = "is not an http or https URL"
	case u.Host == "" || u.Hostname() == "":
		problem = "has no host"
	default:
		if p := u.Port(); p != "" {
			if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
				problem = "has no valid port"
			}
		}
	}
	if problem == "" {
		return
	}
	if secret {
		v.secretProblem(field, problem, fix)
	} else {
		v.add(field, raw, problem, fix)
	}
}

// secret checks a required secret: present, and resolvable.
func (v *validator) secret(field, raw, fix string) (string, bool) {
	if raw == "" {
		v.add(field, "", "is missing", fix)
		return "", false
	}
	return v.resolve(field, raw)
}

var headerName = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")

func (v *validator) webhook(w *WebhookSpec) {
	if w == nil {
		return
	}
	v.httpURL("webhook.url", w.URL, true, false, "set the URL to post to, such as \"https://example.org/hook\"")
	for k, val := range w.Headers {
		f := "webhook.headers." + k
		if !headerName.MatchString(k) {
			v.add("webhook.headers", k, "is not a valid header name", "use a token such as \"Authorization\"")
			continue
		}
		switch strings.ToLower(k) {
		case "content-length", "host", "x-heck-signature", "x-heck-timestamp":
			v.add("webhook.headers", k, "is set by heck", "remove it")
			continue
		}
		if exp, ok := v.resolve(f, val); ok && strings.ContainsAny(exp, "\r\n") {
			shown := val
			if sensitiveHeader.MatchString(k) {
				shown = ""
			}
			v.add(f, shown, "holds a line break", "write the value on one line")
		}
	}
	if w.Template != "" {
		if _, err := ParseTemplate(w.Template); err != nil {
			v.add("webhook.template", Truncate(w.Template, 80), "does not parse or run ("+err.Error()+")", "fix the Go text/template syntax; fields are those of the message, such as {{.Target.Name}} and {{json .Cause}}")
		}
	}
	if w.ContentType != "" && strings.ContainsAny(w.ContentType, "\r\n") {
		v.add("webhook.content_type", w.ContentType, "holds a line break", "write a media type such as \"text/plain\"")
	}
	if w.Secret != "" {
		v.resolve("webhook.secret", w.Secret)
	}
}

func (v *validator) chat(kind string, c *ChatSpec) {
	if c == nil {
		return
	}
	v.httpURL(kind+".webhook_url", c.WebhookURL, true, true,
		"set the incoming webhook URL the service gave you, as a ${VAR} reference such as \"${"+strings.ToUpper(kind)+"_WEBHOOK_URL}\"")
}

var (
	botToken = regexp.MustCompile(`^[0-9]+:[A-Za-z0-9_-]+$`)
	chatID   = regexp.MustCompile(`^(-?[0-9]+|@[A-Za-z][A-Za-z0-9_]{3,})$`)
)

func (v *validator) telegram(t *TelegramSpec) {
	if t == nil {
		return
	}
	if tok, ok := v.secret("telegram.bot_token", t.BotToken, "set the bot token BotFather gave you, as a ${VAR} reference such as \"${TELEGRAM_BOT_TOKEN}\""); ok && !botToken.MatchString(tok) {
		v.secretProblem("telegram.bot_token", "is not a bot token", "use the token as BotFather gave it: digits, ':', then letters, digits, '_' or '-'")
	}
	if t.ChatID == "" {
		v.add("telegram.chat_id", "", "is missing", "set the chat's numeric id (\"-1001234567890\") or a channel's @name")
	} else if id, ok := v.resolve("telegram.chat_id", t.ChatID); ok && !chatID.MatchString(id) {
		v.add("telegram.chat_id", t.ChatID, "is not a chat id", "set the chat's numeric id (\"-1001234567890\") or a channel's @name")
	}
	v.httpURL("telegram.api_url", t.APIURL, false, false, "set the Bot API base URL such as \""+DefaultTelegramAPI+"\", or leave it out")
}

// NtfyPriorities are the priority names ntfy knows, besides 1 to 5.
var NtfyPriorities = []string{"min", "low", "default", "high", "max", "urgent"}

func (v *validator) ntfy(n *NtfySpec) {
	if n == nil {
		return
	}
	fix := "set the server and topic, such as \"https://ntfy.sh/my-topic\""
	v.httpURL("ntfy.url", n.URL, true, false, fix)
	if val, ok := v.resolve("ntfy.url", n.URL); ok && n.URL != "" {
		if u, err := url.Parse(val); err == nil && u.Host != "" && strings.Trim(u.Path, "/") == "" {
			v.add("ntfy.url", n.URL, "names no topic", fix)
		}
	}
	if n.Token != "" {
		v.resolve("ntfy.token", n.Token)
	}
	if p := n.Priority; p != "" {
		if i, err := strconv.Atoi(p); (err != nil || i < 1 || i > 5) && !contains(NtfyPriorities, strings.ToLower(p)) {
			v.add("ntfy.priority", p, "is not an ntfy priority", "set 1 to 5 or one of "+strings.Join(NtfyPriorities, ", ")+", or leave it out to follow the severity")
		}
	}
}

func (v *validator) pagerduty(p *PagerDutySpec) {
	if p == nil {
		return
	}
	if key, ok := v.secret("pagerduty.routing_key", p.RoutingKey, "set the integration key of an Events API v2 integration, as a ${VAR} reference such as \"${PAGERDUTY_ROUTING_KEY}\""); ok && (len(key) < 20 || strings.ContainsAny(key, " \t\r\n/")) {
		v.secretProblem("pagerduty.routing_key", "is not a routing key", "copy the 32-character integration key of the service's Events API v2 integration")
	}
	v.httpURL("pagerduty.url", p.URL, false, false, "set the Events API v2 endpoint such as \""+DefaultPagerDutyURL+"\", or leave it out")
}

func (v *validator) email(e *EmailSpec) {
	if e == nil {
		return
	}
	if e.Host == "" {
		v.add("email.host", "", "is missing", "set the SMTP server's host name, such as \"smtp.example.org\"")
	} else if h, ok := v.resolve("email.host", e.Host); ok && (strings.ContainsAny(h, ":/ ") || h == "") {
		v.add("email.host", e.Host, "is not a host name", "set the host alone and put the port in email.port")
	}
	if e.Port < 0 || e.Port > 65535 {
		v.add("email.port", strconv.Itoa(e.Port), "is out of range", "set a port from 1 to 65535, or leave it out for the default of the TLS mode (587 starttls, 465 tls, 25 none)")
	}
	switch e.TLS {
	case "", EmailSTARTTLS, EmailTLS, EmailNoTLS:
	default:
		v.add("email.tls", e.TLS, "is not a TLS mode", "set starttls, tls or none")
	}
	if (e.Username == "") != (e.Password == "") {
		if e.Username == "" {
			v.add("email.username", "", "is missing while a password is set", "set both username and password, or neither")
		} else {
			v.add("email.password", "", "is missing while a username is set", "set both username and password, or neither")
		}
	}
	if e.Username != "" && e.TLS == EmailNoTLS {
		v.add("email.tls", e.TLS, "would send the password in clear text", "set tls: starttls or tls: tls; heck logs in only over TLS")
	}
	if e.Username != "" {
		v.resolve("email.username", e.Username)
	}
	if e.Password != "" {
		v.resolve("email.password", e.Password)
	}
	v.address("email.from", e.From, true)
	if len(e.To) == 0 {
		v.add("email.to", "", "is missing", "list at least one recipient, such as [ops@example.org]")
	}
	for i, to := range e.To {
		v.address(fmt.Sprintf("email.to[%d]", i), to, true)
	}
}

func (v *validator) address(field, raw string, required bool) {
	if raw == "" {
		if required {
			v.add(field, "", "is missing", "set an address such as \"heck@example.org\"")
		}
		return
	}
	val, ok := v.resolve(field, raw)
	if !ok {
		return
	}
	if _, err := mail.ParseAddress(val); err != nil || strings.ContainsAny(val, "\r\n") {
		v.add(field, raw, "is not an e-mail address", "write user@example.org or \"Name <user@example.org>\"")
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TemplateFuncs are the functions a webhook template may call besides
// text/template's own: json writes its argument as JSON.
var TemplateFuncs = template.FuncMap{
	"json": func(v any) (string, error) {
		b, err := jsonMarshal(v)
		return string(b), err
	},
}

// ParseTemplate parses a webhook body template and runs it once on a
// sample message, so a template naming a field the message lacks is
// refused when the notifier is configured rather than when it first
// fires.
func ParseTemplate(text string) (*template.Template, error) {
	t, err := template.New("webhook").Funcs(TemplateFuncs).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, sampleMessage); err != nil {
		return nil, err
	}
	return t, nil
}

var sampleMessage = Message{
	ID: "sample", Kind: KindFiring, Incident: "sample",
	Target: Target{ID: "web", Name: "web", Kind: "http", Labels: map[string]string{"team": "ops"}, URLOrAddress: "http://127.0.0.1/"},
	From:   StateUp, To: StateDown, At: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
	Cause: "HTTP 503", Severity: SeverityCritical, Impacted: []string{"api"}, Node: "heck-1",
}
