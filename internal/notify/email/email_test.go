package email_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/notify"
	"github.com/heckhq/heck/internal/notify/email"
	"github.com/heckhq/heck/internal/notify/notifytest"
)

func options(pool *x509.CertPool) notify.Options {
	return notify.Options{TLSConfig: &tls.Config{RootCAs: pool}, Now: func() time.Time { return notifytest.Now }, Hostname: "heck-test"}
}

func spec(f *fakeSMTP, mode string) notify.EmailSpec {
	return notify.EmailSpec{Host: "127.0.0.1", Port: f.Port, TLS: mode, Username: f.user, Password: f.pass,
		From: "Heck <heck@example.org>", To: []string{"ops@example.org", "Dev Team <dev@example.org>"}}
}

func parse(t *testing.T, data string) (*mail.Message, string) {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(data))
	if err != nil {
		t.Fatalf("not a mail message: %v\n%s", err, data)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatal(err)
	}
	return msg, string(body)
}

func checkMessage(t *testing.T, got received, m notify.Message) *mail.Message {
	t.Helper()
	if got.From != "heck@example.org" || strings.Join(got.To, ",") != "ops@example.org,dev@example.org" {
		t.Fatalf("envelope: from %q to %v", got.From, got.To)
	}
	msg, body := parse(t, got.Data)
	h := msg.Header
	subj, err := new(mime.WordDecoder).DecodeHeader(h.Get("Subject"))
	if err != nil || subj != m.Title() {
		t.Errorf("Subject %q (%v), want %q", subj, err, m.Title())
	}
	if d, err := h.Date(); err != nil || !d.Equal(notifytest.Now) {
		t.Errorf("Date %q: %v", h.Get("Date"), err)
	}
	if id := h.Get("Message-ID"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@example.org>") {
		t.Errorf("Message-ID %q", id)
	}
	if to, err := h.AddressList("To"); err != nil || len(to) != 2 || to[1].Name != "Dev Team" {
		t.Errorf("To %q: %v", h.Get("To"), err)
	}
	if from, err := h.AddressList("From"); err != nil || from[0].Address != "heck@example.org" {
		t.Errorf("From %q", h.Get("From"))
	}
	if h.Get("MIME-Version") != "1.0" || h.Get("Content-Type") != "text/plain; charset=utf-8" || h.Get("Content-Transfer-Encoding") != "quoted-printable" {
		t.Errorf("MIME headers: %v", h)
	}
	if strings.ReplaceAll(body, "\r\n", "\n") != m.Text() {
		t.Errorf("body:\n%q\nwant\n%q", body, m.Text())
	}
	if !strings.Contains(got.Data, "\r\n\r\n") || strings.Contains(strings.ReplaceAll(got.Data, "\r\n", ""), "\n") {
		t.Errorf("lines do not all end in CRLF")
	}
	return msg
}

func TestSTARTTLSWithAuth(t *testing.T) {
	f, pool := startFake(t, &fakeSMTP{starttls: true, user: "heck", pass: "pw"})
	ch, err := email.New(spec(f, notify.EmailSTARTTLS), options(pool))
	if err != nil {
		t.Fatal(err)
	}
	m := notifytest.Firing()
	m.Cause = "naïve café ✓ — and a long line " + strings.Repeat("word ", 40)
	if err := ch.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	msgs := f.messages()
	if len(msgs) != 1 || !msgs[0].TLS || msgs[0].AuthUser != "heck" {
		t.Fatalf("messages: %+v", msgs)
	}
	checkMessage(t, msgs[0], m)
	cmds := strings.Join(f.commands(), "|")
	if !strings.Contains(cmds, "EHLO heck-test|STARTTLS|EHLO heck-test|AUTH|MAIL FROM:<heck@example.org>") {
		t.Errorf("conversation: %s", cmds)
	}
}

func TestImplicitTLSWithAuth(t *testing.T) {
	f, pool := startFake(t, &fakeSMTP{implicitTLS: true, user: "heck", pass: "pw"})
	s := notify.Spec{ID: "mail", Kind: notify.ChannelEmail, Email: &notify.EmailSpec{Host: "127.0.0.1", Port: f.Port, TLS: "tls",
		Username: "heck", Password: "${SMTP_PASSWORD}", From: "Heck <heck@example.org>", To: []string{"ops@example.org", "Dev Team <dev@example.org>"}}}
	ch, err := notify.New(s, func(k string) (string, bool) { return "pw", k == "SMTP_PASSWORD" }, options(pool))
	if err != nil {
		t.Fatal(err)
	}
	m := notifytest.Resolved()
	if err := ch.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	msgs := f.messages()
	if len(msgs) != 1 || !msgs[0].TLS || msgs[0].AuthUser != "heck" {
		t.Fatalf("messages: %+v", msgs)
	}
	msg := checkMessage(t, msgs[0], m)
	// The resolved mail threads under the firing one.
	c, _ := email.New(spec(f, "tls"), options(pool))
	if want := c.MessageID("tr-1"); msg.Header.Get("In-Reply-To") != want || msg.Header.Get("References") != want {
		t.Errorf("In-Reply-To %q, want %q", msg.Header.Get("In-Reply-To"), want)
	}
	if msg.Header.Get("Message-ID") != c.MessageID("tr-2") || c.MessageID("tr-1") == c.MessageID("tr-2") {
		t.Errorf("Message-ID %q", msg.Header.Get("Message-ID"))
	}
}

func TestPlainWithoutAuth(t *testing.T) {
	f, pool := startFake(t, &fakeSMTP{})
	ch, err := email.New(spec(f, notify.EmailNoTLS), options(pool))
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.Send(context.Background(), notifytest.Firing()); err != nil {
		t.Fatal(err)
	}
	if msgs := f.messages(); len(msgs) != 1 || msgs[0].TLS {
		t.Fatalf("messages: %+v", msgs)
	}
}

func TestNoSTARTTLSOfferedIsRefused(t *testing.T) {
	f, pool := startFake(t, &fakeSMTP{})
	ch, _ := email.New(spec(f, notify.EmailSTARTTLS), options(pool))
	err := ch.Send(context.Background(), notifytest.Firing())
	if !notify.Permanent(err) || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("err = %v", err)
	}
	if len(f.messages()) != 0 {
		t.Fatal("sent in clear text")
	}
}

func TestLoginNeedsTLS(t *testing.T) {
	if _, err := email.New(notify.EmailSpec{Host: "127.0.0.1", TLS: "none", Username: "u", Password: "p", From: "a@example.org", To: []string{"b@example.org"}}, notify.Options{}); err == nil {
		t.Fatal("a login without TLS was accepted")
	}
}

func TestErrors(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	refused := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cases := []struct {
		name      string
		fake      *fakeSMTP
		mode      string
		edit      func(*notify.EmailSpec)
		ctx       time.Duration
		permanent bool
		timeout   bool
	}{
		{"bad password", &fakeSMTP{starttls: true, user: "heck", pass: "pw"}, "starttls", func(s *notify.EmailSpec) { s.Password = "wrong" }, 0, true, false},
		{"rejected recipient", &fakeSMTP{starttls: true}, "starttls", func(s *notify.EmailSpec) { s.To = []string{"ops@example.org", "gone@example.org"} }, 0, true, false},
		{"busy", &fakeSMTP{greeting: "421 4.3.2 busy, try later"}, "none", nil, 0, false, false},
		{"untrusted certificate", &fakeSMTP{implicitTLS: true}, "tls", nil, 0, true, false},
		{"stalls past the deadline", &fakeSMTP{stall: true}, "none", nil, 200 * time.Millisecond, false, true},
		{"refused", nil, "none", func(s *notify.EmailSpec) { s.Port = refused }, 0, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var s notify.EmailSpec
			var opts notify.Options
			if c.fake != nil {
				f, pool := startFake(t, c.fake)
				if c.fake.rejectRcpt == "" {
					f.rejectRcpt = "gone@example.org"
				}
				s, opts = spec(f, c.mode), options(pool)
				if c.name == "untrusted certificate" {
					opts.TLSConfig = nil
				}
			} else {
				s = notify.EmailSpec{Host: "127.0.0.1", TLS: c.mode, From: "heck@example.org", To: []string{"ops@example.org"}}
			}
			if c.edit != nil {
				c.edit(&s)
			}
			ch, err := email.New(s, opts)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if c.ctx > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, c.ctx)
				defer cancel()
			}
			start := time.Now()
			err = ch.Send(ctx, notifytest.Firing())
			if err == nil {
				t.Fatal("no error")
			}
			if notify.Permanent(err) != c.permanent || notify.Timeout(err) != c.timeout {
				t.Errorf("permanent %v timeout %v, want %v %v: %v", notify.Permanent(err), notify.Timeout(err), c.permanent, c.timeout, err)
			}
			if strings.Contains(err.Error(), "wrong") || strings.Contains(err.Error(), "pw") {
				t.Errorf("password in error: %v", err)
			}
			if c.ctx > 0 && time.Since(start) > 5*c.ctx {
				t.Errorf("took %v past a %v deadline", time.Since(start), c.ctx)
			}
		})
	}
}

func TestComposeHeaderInjection(t *testing.T) {
	ch, err := email.New(notify.EmailSpec{Host: "127.0.0.1", From: "heck@example.org", To: []string{"ops@example.org"}}, notify.Options{Now: func() time.Time { return notifytest.Now }})
	if err != nil {
		t.Fatal(err)
	}
	m := notifytest.Firing()
	m.Target.Name = "web\r\nBcc: evil@example.org"
	m.ID = "id\r\nX-Evil: 1"
	data := ch.Compose(m)
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if msg.Header.Get("Bcc") != "" || msg.Header.Get("X-Evil") != "" {
		t.Fatalf("header injected:\n%s", data)
	}
}
