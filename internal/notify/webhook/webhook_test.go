package webhook_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/heckhq/heck/internal/notify"
	"github.com/heckhq/heck/internal/notify/notifytest"
	"github.com/heckhq/heck/internal/notify/webhook"
	"github.com/heckhq/heck/internal/target"
)

func verify(secret, body []byte, header string) bool {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	return hmac.Equal([]byte(want), []byte(header))
}

func TestJSONSignedWithHeaders(t *testing.T) {
	srv := notifytest.NewServer(t)
	spec := notify.Spec{ID: "hook", Kind: notify.ChannelWebhook, Webhook: &notify.WebhookSpec{
		URL: srv.URL + "/hook", Secret: "${HOOK_SECRET}",
		Headers: map[string]string{"Authorization": "Bearer ${HOOK_TOKEN}", "X-Team": "ops"}}}
	lookup := func(k string) (string, bool) {
		return map[string]string{"HOOK_SECRET": "s3cret", "HOOK_TOKEN": "tok"}[k], k == "HOOK_SECRET" || k == "HOOK_TOKEN"
	}
	ch, err := notify.New(spec, lookup, srv.Options())
	if err != nil {
		t.Fatal(err)
	}
	m := notifytest.Firing()
	if err := ch.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	r := srv.Last(t)
	if r.Method != http.MethodPost || r.Path != "/hook" || r.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("request: %s %s %s", r.Method, r.Path, r.Header.Get("Content-Type"))
	}
	want, _ := json.Marshal(m)
	if string(r.Body) != string(want) {
		t.Fatalf("body:\n%s\nwant\n%s", r.Body, want)
	}
	if !verify([]byte("s3cret"), r.Body, r.Header.Get(webhook.HeaderSignature)) {
		t.Fatalf("signature %q does not verify", r.Header.Get(webhook.HeaderSignature))
	}
	if verify([]byte("other"), r.Body, r.Header.Get(webhook.HeaderSignature)) {
		t.Fatal("signature verifies under the wrong secret")
	}
	if got := r.Header.Get(webhook.HeaderTimestamp); got != strconv.FormatInt(notifytest.Now.Unix(), 10) {
		t.Errorf("timestamp = %q", got)
	}
	if r.Header.Get(webhook.HeaderID) != "tr-1" || r.Header.Get("Authorization") != "Bearer tok" || r.Header.Get("X-Team") != "ops" {
		t.Errorf("headers: %v", r.Header)
	}
	var decoded map[string]any
	if err := json.Unmarshal(r.Body, &decoded); err != nil || decoded["kind"] != "firing" || decoded["target"].(map[string]any)["id"] != "web" {
		t.Errorf("decoded body: %v %v", decoded, err)
	}
}

func TestNoSecretNoSignature(t *testing.T) {
	srv := notifytest.NewServer(t)
	ch, err := webhook.New(notify.WebhookSpec{URL: srv.URL}, srv.Options())
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.Send(context.Background(), notifytest.Firing()); err != nil {
		t.Fatal(err)
	}
	if h := srv.Last(t).Header.Get(webhook.HeaderSignature); h != "" {
		t.Fatalf("signature without a secret: %q", h)
	}
}

func TestTemplate(t *testing.T) {
	srv := notifytest.NewServer(t)
	tmpl := `{"text": {{json .Title}}, "target": "{{.Target.ID}}", "resolved": {{if eq .Kind "resolved"}}true{{else}}false{{end}}}`
	ch, err := webhook.New(notify.WebhookSpec{URL: srv.URL, Template: tmpl, Secret: "k"}, srv.Options())
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.Send(context.Background(), notifytest.Firing()); err != nil {
		t.Fatal(err)
	}
	r := srv.Last(t)
	var got struct {
		Text     string
		Target   string
		Resolved bool
	}
	if err := json.Unmarshal(r.Body, &got); err != nil {
		t.Fatalf("templated body %s: %v", r.Body, err)
	}
	if got.Text != notifytest.Firing().Title() || got.Target != "web" || got.Resolved {
		t.Fatalf("templated body: %+v", got)
	}
	if !verify([]byte("k"), r.Body, r.Header.Get(webhook.HeaderSignature)) {
		t.Fatal("templated body not signed as sent")
	}
}

func TestTemplateContentType(t *testing.T) {
	srv := notifytest.NewServer(t)
	ch, err := webhook.New(notify.WebhookSpec{URL: srv.URL, Template: "{{.Title}}", ContentType: "text/plain"}, srv.Options())
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.Send(context.Background(), notifytest.Firing()); err != nil {
		t.Fatal(err)
	}
	if r := srv.Last(t); r.Header.Get("Content-Type") != "text/plain" || string(r.Body) != notifytest.Firing().Title() {
		t.Fatalf("got %q as %q", r.Body, r.Header.Get("Content-Type"))
	}
}

func TestTemplateErrors(t *testing.T) {
	// Refused when the notifier is built: it does not parse, or fails on
	// the sample message.
	for _, tmpl := range []string{"{{.Title", "{{.Nope}}", "{{range .Impacted}}"} {
		_, err := notify.New(notify.Spec{ID: "h", Kind: notify.ChannelWebhook, Webhook: &notify.WebhookSpec{URL: "http://127.0.0.1:9/", Template: tmpl}}, nil, notify.Options{})
		fes, ok := target.AsFieldErrors(err)
		if !ok || len(fes) != 1 || fes[0].Field != "webhook.template" {
			t.Errorf("template %q: %v", tmpl, err)
		}
	}
	// A template that fails only on some message: a permanent error at
	// Send, and nothing posted.
	srv := notifytest.NewServer(t)
	ch, err := webhook.New(notify.WebhookSpec{URL: srv.URL, Template: `{{if eq .Kind "resolved"}}{{index .Impacted 3}}{{end}}`}, srv.Options())
	if err != nil {
		t.Fatal(err)
	}
	err = ch.Send(context.Background(), notifytest.Resolved())
	if err == nil || !notify.Permanent(err) || !strings.Contains(err.Error(), "template") {
		t.Fatalf("err = %v, want a permanent template error", err)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Fatalf("%d requests sent for a message that did not render", n)
	}
}

func TestStatusClassified(t *testing.T) {
	srv := notifytest.NewServer(t)
	ch, _ := webhook.New(notify.WebhookSpec{URL: srv.URL}, srv.Options())
	srv.Answer(410, "gone")
	if err := ch.Send(context.Background(), notifytest.Firing()); !notify.Permanent(err) {
		t.Fatalf("410: %v", err)
	}
	srv.Answer(502, "")
	if err := ch.Send(context.Background(), notifytest.Firing()); err == nil || notify.Permanent(err) {
		t.Fatalf("502: %v", err)
	}
}
