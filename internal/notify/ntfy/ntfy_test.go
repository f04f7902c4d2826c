package ntfy_test

import (
	"context"
	"testing"

	"github.com/heckhq/heck/internal/notify"
	"github.com/heckhq/heck/internal/notify/notifytest"
	"github.com/heckhq/heck/internal/notify/ntfy"
)

func TestSend(t *testing.T) {
	srv := notifytest.NewServer(t)
	spec := notify.Spec{ID: "n", Kind: notify.ChannelNtfy, Ntfy: &notify.NtfySpec{URL: srv.URL + "/heck-alerts", Token: "${NTFY_TOKEN}"}}
	ch, err := notify.New(spec, func(string) (string, bool) { return "tk_abc", true }, srv.Options())
	if err != nil {
		t.Fatal(err)
	}
	m := notifytest.Firing()
	m.Cause = "line one\nline two"
	if err := ch.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	r := srv.Last(t)
	h := r.Header
	if r.Path != "/heck-alerts" || string(r.Body) != m.Text() {
		t.Fatalf("%s: %q", r.Path, r.Body)
	}
	for k, want := range map[string]string{
		"Title": "web <front> & co down: line one line two", "Priority": "high", "Tags": "rotating_light",
		"Click": "http://127.0.0.1:7000/t/web", "Authorization": "Bearer tk_abc", "Content-Type": "text/plain; charset=utf-8",
	} {
		if got := h.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
}

func TestPriority(t *testing.T) {
	firing, resolved := notifytest.Firing(), notifytest.Resolved()
	warn := firing
	warn.Severity = notify.SeverityWarning
	info := firing
	info.Severity = notify.SeverityInfo
	cases := []struct {
		conf string
		m    notify.Message
		want string
	}{
		{"", firing, "high"}, {"", warn, "default"}, {"", info, "low"}, {"", resolved, "default"},
		{"urgent", firing, "urgent"}, {"Max", info, "max"}, {"5", firing, "5"}, {"urgent", resolved, "default"},
	}
	for _, c := range cases {
		ch := ntfy.New(notify.NtfySpec{URL: "http://127.0.0.1:1/t", Priority: c.conf}, notify.Options{})
		if got := ch.Priority(c.m); got != c.want {
			t.Errorf("priority %q, %s %s: %q, want %q", c.conf, c.m.Kind, c.m.Severity, got, c.want)
		}
	}
	if got := ntfy.Tags(resolved); got != "white_check_mark" {
		t.Errorf("resolved tags %q", got)
	}
}

func TestNoTokenNoAuthorization(t *testing.T) {
	srv := notifytest.NewServer(t)
	ch := ntfy.New(notify.NtfySpec{URL: srv.URL + "/t"}, srv.Options())
	if err := ch.Send(context.Background(), notifytest.Firing()); err != nil {
		t.Fatal(err)
	}
	if a := srv.Last(t).Header.Get("Authorization"); a != "" {
		t.Fatalf("Authorization %q", a)
	}
	srv.Answer(403, `{"code":40301,"error":"forbidden"}`)
	if err := ch.Send(context.Background(), notifytest.Firing()); !notify.Permanent(err) {
		t.Fatalf("403: %v", err)
	}
}
