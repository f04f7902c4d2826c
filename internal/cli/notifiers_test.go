package cli_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/heckhq/heck/internal/api"
	"github.com/heckhq/heck/internal/notify"
)

func TestNotifiersCLI(t *testing.T) {
	t.Setenv("HOOK", "secret") // the node checks the references it is given
	b := server(t, api.Options{LoopbackOnly: true})
	if r := heck(t, "notifiers", "ls"); r.code != 0 || !strings.Contains(r.stdout, "no notifiers") {
		t.Fatalf("ls empty: %d %s %s", r.code, r.stdout, r.stderr)
	}
	r := heck(t, "notifiers", "add", "--id", "ops", "--kind", "webhook", "--url", "http://127.0.0.1:9/hook", "--header", "X-Team: ops", "--secret", "${HOOK}")
	if r.code != 0 || !strings.Contains(r.stdout, "added notifier ops (webhook)") {
		t.Fatalf("add: %d %s %s", r.code, r.stdout, r.stderr)
	}
	r = heck(t, "notifiers", "add", "--id", "mail", "--kind", "email", "--smtp-host", "127.0.0.1", "--smtp-port", "2525", "--smtp-tls", "none",
		"--from", "heck@example.org", "--to", "ops@example.org", "--to", "dev@example.org")
	if r.code != 0 {
		t.Fatalf("add email: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if s, ok := b.Notifier(t.Context(), "mail"); !ok || len(s.Email.To) != 2 || s.Email.Port != 2525 {
		t.Fatalf("email notifier %+v", s.Email)
	}
	usageError(t, heck(t, "notifiers", "add", "--id", "ops", "--kind", "webhook", "--url", "http://127.0.0.1:9/"), "exists", "--replace")
	usageError(t, heck(t, "notifiers", "add", "--id", "x", "--kind", "webhook", "--url", "ftp://nowhere"), "--url")
	usageError(t, heck(t, "notifiers", "add", "--id", "x", "--kind", "pigeon"), "--kind")
	r = heck(t, "notifiers", "ls", "-o", "json")
	var ns []notify.Spec
	if err := json.Unmarshal([]byte(r.stdout), &ns); err != nil || len(ns) != 2 || ns[1].Webhook == nil || ns[1].Webhook.Secret != "${HOOK}" {
		t.Fatalf("ls -o json: %v %s", err, r.stdout)
	}
	if r := heck(t, "notifiers", "test", "ops"); r.code != 0 || len(b.Tested()) != 1 {
		t.Fatalf("test: %d %s %s", r.code, r.stdout, r.stderr)
	}
	b.SetNotifyError(errors.New("connection refused"))
	if r := heck(t, "notifiers", "test", "ops"); r.code != 1 || !strings.Contains(r.stderr, "connection refused") {
		t.Fatalf("test failing: %d %s %s", r.code, r.stdout, r.stderr)
	}
	usageError(t, heck(t, "notifiers", "test", "nope"), "no notifier")
	if r := heck(t, "notifiers", "rm", "mail"); r.code != 0 {
		t.Fatalf("rm: %d %s", r.code, r.stderr)
	}
}
