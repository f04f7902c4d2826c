package telegram_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/notify"
	"github.com/heckhq/heck/internal/notify/notifytest"
	"github.com/heckhq/heck/internal/notify/telegram"
)

const token = "123456:SuperSecretToken_abc"

func TestSendEscaped(t *testing.T) {
	srv := notifytest.NewServer(t)
	srv.Answer(200, `{"ok":true,"result":{"message_id":1}}`)
	spec := notify.Spec{ID: "tg", Kind: notify.ChannelTelegram, Telegram: &notify.TelegramSpec{BotToken: "${TG}", ChatID: "-1001234567890", APIURL: srv.URL + "/"}}
	ch, err := notify.New(spec, func(k string) (string, bool) { return token, k == "TG" }, srv.Options())
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.Send(context.Background(), notifytest.Firing()); err != nil {
		t.Fatal(err)
	}
	r := srv.Last(t)
	if r.Path != "/bot"+token+"/sendMessage" {
		t.Fatalf("path %s", r.Path)
	}
	var req telegram.Request
	if err := json.Unmarshal(r.Body, &req); err != nil {
		t.Fatal(err)
	}
	if req.ChatID != "-1001234567890" || req.ParseMode != "HTML" || !req.DisableWebPagePreview {
		t.Fatalf("request %+v", req)
	}
	wantTitle := "<b>web &lt;front&gt; &amp; co down: HTTP 503 &lt;b&gt;bold&lt;/b&gt; &amp; *stars*</b>\n"
	if !strings.HasPrefix(req.Text, wantTitle) {
		t.Errorf("text:\n%s\nwant prefix\n%s", req.Text, wantTitle)
	}
	// The only tags in the text are the title's own.
	if strings.Count(req.Text, "<") != 2 || strings.Count(req.Text, ">") != 2 {
		t.Errorf("unescaped markup in %q", req.Text)
	}
}

func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		"a<b>c": "a&lt;b&gt;c", "x & y": "x &amp; y", "&amp;": "&amp;amp;", `"q" 'a'`: `"q" 'a'`, "é": "é",
	} {
		if got := telegram.Escape(in); got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLongTextFits(t *testing.T) {
	m := notifytest.Firing()
	m.Impacted = []string{strings.Repeat("<&>", 3000)}
	req := telegram.New(notify.TelegramSpec{BotToken: token, ChatID: "1"}, notify.Options{}).Build(m)
	if len(req.Text) > telegram.MaxText || !strings.HasSuffix(strings.SplitN(req.Text, "\n", 2)[0], "</b>") {
		t.Fatalf("len %d", len(req.Text))
	}
	if i, j := strings.LastIndexByte(req.Text, '&'), strings.LastIndexByte(req.Text, ';'); i > j {
		t.Fatalf("text ends inside an entity: %q", req.Text[len(req.Text)-20:])
	}
}

func TestErrors(t *testing.T) {
	srv := notifytest.NewServer(t)
	ch := telegram.New(notify.TelegramSpec{BotToken: token, ChatID: "1", APIURL: srv.URL}, srv.Options())
	srv.Answer(400, `{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}`)
	err := ch.Send(context.Background(), notifytest.Firing())
	if !notify.Permanent(err) || !strings.Contains(err.Error(), "chat not found") || strings.Contains(err.Error(), "SuperSecret") {
		t.Fatalf("400: %v", err)
	}
	srv.Answer(429, `{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 12","parameters":{"retry_after":12}}`)
	err = ch.Send(context.Background(), notifytest.Firing())
	if d, ok := notify.RetryAfter(err); notify.Permanent(err) || !ok || d != 12*time.Second {
		t.Fatalf("429: %v", err)
	}
	srv.Answer(200, `{"ok":false,"description":"odd"}`)
	if err := ch.Send(context.Background(), notifytest.Firing()); !notify.Permanent(err) {
		t.Fatalf("ok false: %v", err)
	}
}
