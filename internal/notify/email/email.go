// Package email is heck's e-mail channel: one plain-text MIME message per
// notification over SMTP, to every recipient at once.
//
// TLS is STARTTLS (the default; a server that does not offer it is
// refused, never fallen back from), implicit TLS, or none. Login is AUTH
// PLAIN and happens only over TLS. The Message-ID is derived from the
// notification id, so a retried message keeps it and a receiver can drop
// the duplicate; a resolved or reminder message refers (In-Reply-To,
// References) to the firing message of its incident, so mail clients
// thread an incident together.
package email

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"github.com/heckhq/heck/internal/notify"
)

func init() {
	notify.Register(notify.ChannelEmail, func(s notify.Spec, o notify.Options) (notify.Channel, error) {
		return New(*s.Email, o)
	})
}

// Channel sends mail through one SMTP server.
type Channel struct {
	host     string
	port     int
	mode     string
	username string
	password string
	from     *mail.Address
	to       []*mail.Address
	opts     notify.Options
}

// New builds the channel from expanded, valid settings.
func New(s notify.EmailSpec, opts notify.Options) (*Channel, error) {
	from, err := mail.ParseAddress(s.From)
	if err != nil {
		return nil, fmt.Errorf("email.from %q: %w", s.From, err)
	}
	c := &Channel{host: s.Host, port: s.EmailPort(), mode: s.TLSMode(), username: s.Username,
		password: s.Password, from: from, opts: opts.WithDefaults()}
	if c.username != "" && c.mode == notify.EmailNoTLS {
		return nil, errors.New("email: login needs TLS: set tls to starttls or tls")
	}
	for i, t := range s.To {
		a, err := mail.ParseAddress(t)
		if err != nil {
			return nil, fmt.Errorf("email.to[%d] %q: %w", i, t, err)
		}
		c.to = append(c.to, a)
	}
	if len(c.to) == 0 {
		return nil, errors.New("email.to: no recipient")
	}
	return c, nil
}

func (c *Channel) tlsConfig() *tls.Config {
	var cfg *tls.Config
	if c.opts.TLSConfig != nil {
		cfg = c.opts.TLSConfig.Clone()
	} else {
		cfg = &tls.Config{}
	}
	cfg.ServerName = c.host
	if cfg.MinVersion == 0 {
		cfg.MinVersion = tls.VersionTLS12
	}
	return cfg
}

// Send delivers m to every recipient in one SMTP transaction.
func (c *Channel) Send(ctx context.Context, m notify.Message) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, notify.DefaultTimeout)
		defer cancel()
	}
	addr := net.JoinHostPort(c.host, strconv.Itoa(c.port))
	if err := c.send(ctx, addr, m); err != nil {
		if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
			err = fmt.Errorf("%w: %w", ctx.Err(), err)
		}
		return fmt.Errorf("email via %s: message %s: %w", addr, m.ID, classify(err))
	}
	c.opts.Logger.Debug("notification sent", "channel", "email", "id", m.ID, "server", addr, "recipients", len(c.to))
	return nil
}

func (c *Channel) send(ctx context.Context, addr string, m notify.Message) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	// Closing the connection is how a cancelled context interrupts a
	// blocked read or write; the deadline bounds it too.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		if err := conn.SetDeadline(dl); err != nil {
			return fmt.Errorf("set deadline: %w", err)
		}
	}
	if c.mode == notify.EmailTLS {
		tc := tls.Client(conn, c.tlsConfig())
		if err := tc.HandshakeContext(ctx); err != nil {
			return fmt.Errorf("tls handshake: %w", err)
		}
		conn = tc
	}
	client, err := smtp.NewClient(conn, c.host)
	if err != nil {
		return fmt.Errorf("greeting: %w", err)
	}
	defer client.Close()
	if err := client.Hello(c.opts.Hostname); err != nil {
		return fmt.Errorf("ehlo: %w", err)
	}
	if c.mode == notify.EmailSTARTTLS {
		if ok, _ := client.Extension("STARTTLS"); !ok {
			return notify.MarkPermanent(errors.New("the server does not offer STARTTLS: set tls: tls for implicit TLS, or tls: none for a server without TLS (no login)"))
		}
		if err := client.StartTLS(c.tlsConfig()); err != nil {
			return fmt.Errorf("starttls: %w", err)
		}
	}
	if c.username != "" {
		if _, isTLS := client.TLSConnectionState(); !isTLS {
			return notify.MarkPermanent(errors.New("refusing to log in without TLS"))
		}
		if ok, _ := client.Extension("AUTH"); !ok {
			return notify.MarkPermanent(errors.New("the server does not offer AUTH: remove username and password, or use another port"))
		}
		if err := client.Auth(smtp.PlainAuth("", c.username, c.password, c.host)); err != nil {
			return fmt.Errorf("auth: %w", err)
		}
	}
	if err := client.Mail(c.from.Address); err != nil {
		return fmt.Errorf("mail from: %w", err)
	}
	for _, to := range c.to {
		if err := client.Rcpt(to.Address); err != nil {
			return fmt.Errorf("rcpt to %s: %w", to.Address, err)
		}
	}
	w, err := client.Data()
	if err != nil {
		return fmt.Errorf("data: %w", err)
	}
	if _, err := w.Write(c.Compose(m)); err != nil {
		return fmt.Errorf("data: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("data: %w", err)
	}
	// The message is accepted; a failed QUIT changes nothing.
	_ = client.Quit()
	return nil
}

// classify marks SMTP 5xx replies and certificate problems permanent;
// 4xx replies and connection trouble stay temporary.
func classify(err error) error {
	if notify.Permanent(err) {
		return err
	}
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 {
		return notify.MarkPermanent(err)
	}
	var cv *tls.CertificateVerificationError
	if errors.As(err, &cv) {
		return notify.MarkPermanent(err)
	}
	return err
}

// MessageID is the Message-ID of the mail for notification id, in the
// domain of the sender's address.
func (c *Channel) MessageID(id string) string {
	sum := sha256.Sum256([]byte(id))
	domain := "heck.invalid"
	if at := strings.LastIndexByte(c.from.Address, '@'); at >= 0 && at+1 < len(c.from.Address) {
		domain = c.from.Address[at+1:]
	}
	return "<" + hex.EncodeToString(sum[:16]) + ".heck@" + domain + ">"
}

// Compose is the MIME message Send transmits for m: headers Date (now),
// From, To, Subject (m.Title, RFC 2047 encoded), Message-ID, In-Reply-To
// and References for messages of an open incident, MIME-Version,
// Content-Type text/plain UTF-8 in quoted-printable, X-Heck-Notification-Id
// and Auto-Submitted; then m.Text. Lines end in CRLF.
func (c *Channel) Compose(m notify.Message) []byte {
	var b bytes.Buffer
	hdr := func(k, v string) { b.WriteString(k + ": " + oneLine(v) + "\r\n") }
	hdr("Date", c.opts.Now().Format(time.RFC1123Z))
	hdr("From", c.from.String())
	tos := make([]string, len(c.to))
	for i, t := range c.to {
		tos[i] = t.String()
	}
	hdr("To", strings.Join(tos, ", "))
	hdr("Subject", mime.QEncoding.Encode("utf-8", oneLine(m.Title())))
	hdr("Message-ID", c.MessageID(m.ID))
	if inc := m.IncidentID(); inc != m.ID {
		hdr("In-Reply-To", c.MessageID(inc))
		hdr("References", c.MessageID(inc))
	}
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", "text/plain; charset=utf-8")
	hdr("Content-Transfer-Encoding", "quoted-printable")
	hdr("X-Heck-Notification-Id", mime.QEncoding.Encode("utf-8", m.ID))
	hdr("Auto-Submitted", "auto-generated")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	text := strings.ReplaceAll(m.Text(), "\r\n", "\n")
	_, _ = qp.Write([]byte(strings.ReplaceAll(text, "\n", "\r\n")))
	_ = qp.Close()
	if !bytes.HasSuffix(b.Bytes(), []byte("\r\n")) {
		b.WriteString("\r\n")
	}
	return b.Bytes()
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
