package email_test

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// testCert makes a self-signed certificate for 127.0.0.1 and localhost
// and a pool that trusts it.
func testCert(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "fake smtp"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// received is one message the fake server accepted.
type received struct {
	From     string
	To       []string
	Data     string
	TLS      bool
	AuthUser string
}

// fakeSMTP is a small SMTP server on 127.0.0.1: EHLO, STARTTLS, AUTH
// PLAIN, MAIL, RCPT, DATA, RSET, NOOP, QUIT. It records accepted
// messages. Its goroutines stop when the test ends.
type fakeSMTP struct {
	Addr string
	Port int

	implicitTLS bool // TLS from the first byte
	starttls    bool // offer STARTTLS on a plain connection
	user, pass  string
	rejectRcpt  string // answer 550 to this recipient
	greeting    string // instead of 220 (e.g. "421 busy")
	stall       bool   // never greet

	tlsConf *tls.Config
	ln      net.Listener
	wg      sync.WaitGroup
	mu      sync.Mutex
	msgs    []received
	conns   []net.Conn
	log     []string
}

func startFake(t *testing.T, f *fakeSMTP) (*fakeSMTP, *x509.CertPool) {
	t.Helper()
	cert, pool := testCert(t)
	f.tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.ln, f.Addr, f.Port = ln, ln.Addr().String(), ln.Addr().(*net.TCPAddr).Port
	f.wg.Add(1)
	go f.accept()
	t.Cleanup(func() {
		ln.Close()
		f.mu.Lock()
		for _, c := range f.conns {
			c.Close()
		}
		f.mu.Unlock()
		f.wg.Wait()
	})
	return f, pool
}

func (f *fakeSMTP) accept() {
	defer f.wg.Done()
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		f.mu.Lock()
		f.conns = append(f.conns, c)
		f.mu.Unlock()
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			defer c.Close()
			f.serve(c)
		}()
	}
}

func (f *fakeSMTP) messages() []received {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]received(nil), f.msgs...)
}

func (f *fakeSMTP) commands() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.log...)
}

func (f *fakeSMTP) serve(c net.Conn) {
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	isTLS := false
	if f.implicitTLS {
		tc := tls.Server(c, f.tlsConf)
		if tc.Handshake() != nil {
			return
		}
		c, isTLS = tc, true
	}
	if f.stall {
		buf := make([]byte, 1)
		_, _ = c.Read(buf)
		return
	}
	r := bufio.NewReader(c)
	say := func(lines ...string) bool {
		_, err := c.Write([]byte(strings.Join(lines, "\r\n") + "\r\n"))
		return err == nil
	}
	if f.greeting != "" {
		say(f.greeting)
		return
	}
	say("220 fake ESMTP")
	var cur received
	authed := ""
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb, arg, _ := strings.Cut(line, " ")
		verb = strings.ToUpper(verb)
		f.mu.Lock()
		if verb == "AUTH" {
			f.log = append(f.log, "AUTH")
		} else {
			f.log = append(f.log, line)
		}
		f.mu.Unlock()
		switch verb {
		case "EHLO", "HELO":
			lines := []string{"250-fake"}
			if f.starttls && !isTLS {
				lines = append(lines, "250-STARTTLS")
			}
			if isTLS && f.user != "" {
				lines = append(lines, "250-AUTH PLAIN")
			}
			say(append(lines, "250 8BITMIME")...)
		case "STARTTLS":
			if !f.starttls || isTLS {
				say("502 not here")
				continue
			}
			say("220 go ahead")
			tc := tls.Server(c, f.tlsConf)
			if tc.Handshake() != nil {
				return
			}
			c, isTLS, r = tc, true, bufio.NewReader(tc)
		case "AUTH":
			mech, resp, _ := strings.Cut(arg, " ")
			if !isTLS || !strings.EqualFold(mech, "PLAIN") {
				say("504 no")
				continue
			}
			dec, err := base64.StdEncoding.DecodeString(resp)
			parts := strings.Split(string(dec), "\x00")
			if err != nil || len(parts) != 3 || parts[1] != f.user || parts[2] != f.pass {
				say("535 5.7.8 bad credentials")
				continue
			}
			authed = parts[1]
			say("235 ok")
		case "MAIL":
			if f.user != "" && authed == "" {
				say("530 5.7.0 authentication required")
				continue
			}
			cur = received{From: addrArg(arg), TLS: isTLS, AuthUser: authed}
			say("250 ok")
		case "RCPT":
			to := addrArg(arg)
			if to == f.rejectRcpt {
				say("550 5.1.1 no such user")
				continue
			}
			cur.To = append(cur.To, to)
			say("250 ok")
		case "DATA":
			say("354 go on")
			var data strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				data.WriteString(strings.TrimPrefix(l, "."))
			}
			cur.Data = data.String()
			f.mu.Lock()
			f.msgs = append(f.msgs, cur)
			f.mu.Unlock()
			say("250 queued")
		case "RSET", "NOOP":
			say("250 ok")
		case "QUIT":
			say("221 bye")
			return
		default:
			say("500 what")
		}
	}
}

func addrArg(arg string) string {
	i, j := strings.IndexByte(arg, '<'), strings.IndexByte(arg, '>')
	if i < 0 || j < i {
		return arg
	}
	return arg[i+1 : j]
}
