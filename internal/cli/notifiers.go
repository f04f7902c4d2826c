package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/heckhq/heck/internal/client"
	"github.com/heckhq/heck/internal/notify"
)

type notifiersAddOpts struct {
	clientOpts
	replace bool
	spec    notify.Spec
	// per kind
	url, secret, template, webhookURL           string
	headers                                     []string
	botToken, chatID, apiURL                    string
	token, priority                             string
	routingKey                                  string
	smtpHost, smtpTLS, smtpUser, smtpPass, from string
	smtpPort                                    int
	to                                          []string
}

func notifiersAddCmd() *command {
	return &command{
		name:     "notifiers add",
		synopsis: "add a notification channel",
		usage:    "heck notifiers add --id ID --kind KIND [kind flags] [--replace] [--server URL]",
		help: `
Adds a notifier on the node at --server, replicated to every node. Kinds and
their flags (write secrets as ${VAR}, read from each node's environment):

  webhook    --url, --header K:V, --template, --secret (HMAC-SHA256 signature)
  slack, discord, teams   --webhook-url
  telegram   --bot-token, --chat-id [--api-url]
  ntfy       --url (server and topic), --ntfy-token, --priority
  pagerduty  --routing-key [--url]
  email      --smtp-host, --smtp-port, --smtp-tls starttls|tls|none, --smtp-user,
             --smtp-password, --from, --to (repeatable)

Try it with 'heck notifiers test ID'.

Example:
  heck notifiers add --id ops --kind webhook --url http://127.0.0.1:9000/hook --secret '${HOOK_SECRET}'`,
		maxArgs: 0,
		flags: func(fs *flag.FlagSet) any {
			o := &notifiersAddOpts{}
			o.register(fs)
			fs.BoolVar(&o.replace, "replace", false, "replace the notifier if its id exists")
			fs.StringVar(&o.spec.ID, "id", "", "notifier `ID`")
			fs.StringVar((*string)(&o.spec.Kind), "kind", "", "`KIND`: webhook, slack, discord, teams, telegram, ntfy, pagerduty or email")
			fs.StringVar(&o.url, "url", "", "`URL` of a webhook, of an ntfy topic, or of PagerDuty's events endpoint")
			fs.Var(listFlag{&o.headers, false}, "header", "webhook header `K:V` (repeatable)")
			fs.StringVar(&o.template, "template", "", "webhook body as a Go `TEMPLATE` of the message")
			fs.StringVar(&o.secret, "secret", "", "webhook HMAC `SECRET` (a ${VAR})")
			fs.StringVar(&o.webhookURL, "webhook-url", "", "slack, discord or teams incoming webhook `URL` (a ${VAR})")
			fs.StringVar(&o.botToken, "bot-token", "", "telegram bot `TOKEN` (a ${VAR})")
			fs.StringVar(&o.chatID, "chat-id", "", "telegram `CHAT` id or @channel")
			fs.StringVar(&o.apiURL, "api-url", "", "telegram Bot API base `URL`")
			fs.StringVar(&o.token, "ntfy-token", "", "ntfy access `TOKEN` (a ${VAR})")
			fs.StringVar(&o.priority, "priority", "", "ntfy `PRIORITY` (1-5 or min..urgent)")
			fs.StringVar(&o.routingKey, "routing-key", "", "PagerDuty Events v2 `KEY` (a ${VAR})")
			fs.StringVar(&o.smtpHost, "smtp-host", "", "SMTP `HOST`")
			fs.IntVar(&o.smtpPort, "smtp-port", 0, "SMTP `PORT` (default 587, 465 with tls, 25 with none)")
			fs.StringVar(&o.smtpTLS, "smtp-tls", "", "`MODE`: starttls (default), tls or none")
			fs.StringVar(&o.smtpUser, "smtp-user", "", "SMTP `USER`")
			fs.StringVar(&o.smtpPass, "smtp-password", "", "SMTP `PASSWORD` (a ${VAR})")
			fs.StringVar(&o.from, "from", "", "e-mail sender `ADDRESS`")
			fs.Var(listFlag{&o.to, true}, "to", "e-mail recipient `ADDRESS` (repeatable)")
			return o
		},
		run: runNotifiersAdd,
	}
}

// notifierFlag names the flag of a notifier field.
func notifierFlag(field string) string {
	m := map[string]string{"id": "--id", "kind": "--kind", "webhook.url": "--url", "webhook.headers": "--header",
		"webhook.template": "--template", "webhook.secret": "--secret", "slack.webhook_url": "--webhook-url",
		"discord.webhook_url": "--webhook-url", "teams.webhook_url": "--webhook-url", "telegram.bot_token": "--bot-token",
		"telegram.chat_id": "--chat-id", "telegram.api_url": "--api-url", "ntfy.url": "--url", "ntfy.token": "--ntfy-token",
		"ntfy.priority": "--priority", "pagerduty.routing_key": "--routing-key", "pagerduty.url": "--url",
		"email.host": "--smtp-host", "email.port": "--smtp-port", "email.tls": "--smtp-tls", "email.username": "--smtp-user",
		"email.password": "--smtp-password", "email.from": "--from", "email.to": "--to"}
	for f, flagName := range m {
		if field == f || strings.HasPrefix(field, f+".") || strings.HasPrefix(field, f+"[") {
			return flagName
		}
	}
	return ""
}

func (o *notifiersAddOpts) build() (notify.Spec, error) {
	s := o.spec
	switch s.Kind {
	case notify.ChannelWebhook:
		w := &notify.WebhookSpec{URL: o.url, Template: o.template, Secret: o.secret}
		for _, h := range o.headers {
			k, v, ok := strings.Cut(h, ":")
			if !ok || strings.TrimSpace(k) == "" {
				return s, fmt.Errorf("flag --header: %q is not K:V; write --header 'X-Token: ${TOKEN}'", h)
			}
			if w.Headers == nil {
				w.Headers = map[string]string{}
			}
			w.Headers[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
		s.Webhook = w
	case notify.ChannelSlack:
		s.Slack = &notify.ChatSpec{WebhookURL: o.webhookURL}
	case notify.ChannelDiscord:
		s.Discord = &notify.ChatSpec{WebhookURL: o.webhookURL}
	case notify.ChannelTeams:
		s.Teams = &notify.ChatSpec{WebhookURL: o.webhookURL}
	case notify.ChannelTelegram:
		s.Telegram = &notify.TelegramSpec{BotToken: o.botToken, ChatID: o.chatID, APIURL: o.apiURL}
	case notify.ChannelNtfy:
		s.Ntfy = &notify.NtfySpec{URL: o.url, Token: o.token, Priority: o.priority}
	case notify.ChannelPagerDuty:
		s.PagerDuty = &notify.PagerDutySpec{RoutingKey: o.routingKey, URL: o.url}
	case notify.ChannelEmail:
		s.Email = &notify.EmailSpec{Host: o.smtpHost, Port: o.smtpPort, TLS: o.smtpTLS, Username: o.smtpUser,
			Password: o.smtpPass, From: o.from, To: o.to}
	}
	return s, nil
}

func runNotifiersAdd(ctx context.Context, e *env, opts any, _ []string) int {
	o := opts.(*notifiersAddOpts)
	if o.spec.ID == "" {
		return e.errorf("flag --id is missing; give the notifier an id, such as --id ops")
	}
	spec, err := o.build()
	if err != nil {
		return e.errorf("%v", err)
	}
	// Only the shape here: the secrets' ${VAR}s are the node's to check.
	if errs := spec.Validate(nil); len(errs) > 0 {
		return e.fieldErrors(errs, notifierFlag)
	}
	c, err := o.client()
	if err != nil {
		return e.errorf("%v", err)
	}
	put := c.AddNotifier
	if o.replace {
		put = c.PutNotifier
	}
	got, err := put(ctx, spec)
	if err != nil {
		var ae *client.Error
		if errors.As(err, &ae) && ae.StatusCode == 409 {
			return e.errorf("a notifier with id %q exists; pass --replace to replace it, or 'heck notifiers rm %s' first", spec.ID, spec.ID)
		}
		return e.apiError(c, err, notifierFlag)
	}
	if o.out.json() {
		if err := writeJSON(e.stdout, got); err != nil {
			return e.errorf("%v", err)
		}
		return ExitOK
	}
	fmt.Fprintf(e.stdout, "added notifier %s (%s); try it with 'heck notifiers test %s'\n", got.ID, got.Kind, got.ID)
	return ExitOK
}

type notifiersLsOpts struct{ clientOpts }

func notifiersLsCmd() *command {
	return &command{
		name:     "notifiers ls",
		synopsis: "list notification channels",
		usage:    "heck notifiers ls [-o json] [--server URL]",
		help:     "Lists the notifiers every node knows, secrets redacted. -o json prints a JSON array of notifier objects.",
		maxArgs:  0,
		flags: func(fs *flag.FlagSet) any {
			o := &notifiersLsOpts{}
			o.register(fs)
			return o
		},
		run: func(ctx context.Context, e *env, opts any, _ []string) int {
			o := opts.(*notifiersLsOpts)
			c, err := o.client()
			if err != nil {
				return e.errorf("%v", err)
			}
			ns, err := c.Notifiers(ctx)
			if err != nil {
				return e.apiError(c, err, nil)
			}
			if o.out.json() {
				if ns == nil {
					ns = []notify.Spec{}
				}
				if err := writeJSON(e.stdout, ns); err != nil {
					return e.errorf("%v", err)
				}
				return ExitOK
			}
			if len(ns) == 0 {
				fmt.Fprintln(e.stdout, "no notifiers; add one with 'heck notifiers add --id ops --kind webhook --url URL'")
				return ExitOK
			}
			tw := newTable(e.stdout)
			fmt.Fprintln(tw, "ID\tKIND\tORIGIN")
			for _, n := range ns {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", n.ID, n.Kind, dash(n.Origin))
			}
			_ = tw.Flush()
			return ExitOK
		},
	}
}

func notifiersRmCmd() *command {
	return rmCmd(rmSpec{name: "notifiers rm", synopsis: "remove notification channels", usage: "heck notifiers rm ID [ID...] [--server URL]",
		help: "Removes each notifier named, on every node. Exits 2 if any does not exist.",
		del:  (*client.Client).DeleteNotifier, removed: "removed notifier %s", missing: "no notifier has id %q; list them with 'heck notifiers ls'"})
}

func notifiersTestCmd() *command {
	return &command{
		name:     "notifiers test",
		synopsis: "send a test message through a notifier",
		usage:    "heck notifiers test ID [--server URL]",
		help:     "The node at --server sends a test message through the notifier. Exits 1 when the channel did not take it, saying why.",
		minArgs:  1, maxArgs: 1,
		flags: func(fs *flag.FlagSet) any {
			o := &rmOpts{}
			o.register(fs)
			return o
		},
		run: func(ctx context.Context, e *env, opts any, args []string) int {
			o := opts.(*rmOpts)
			c, err := o.client()
			if err != nil {
				return e.errorf("%v", err)
			}
			if err := c.TestNotifier(ctx, args[0]); err != nil {
				var ae *client.Error
				switch {
				case client.IsNotFound(err):
					return e.errorf("no notifier has id %q; list them with 'heck notifiers ls'", args[0])
				case errors.As(err, &ae) && ae.StatusCode == 502:
					fmt.Fprintf(e.stderr, "heck %s: %s\n", e.name, ae.Problem.Detail)
					return ExitFail
				}
				return e.apiError(c, err, nil)
			}
			fmt.Fprintf(e.stdout, "sent a test message through %s\n", args[0])
			return ExitOK
		},
	}
}
