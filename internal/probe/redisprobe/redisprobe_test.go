package redisprobe

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/probe"
	"github.com/heckhq/heck/internal/probe/internal/probetest"
	"github.com/heckhq/heck/internal/probe/internal/testcert"
	"github.com/heckhq/heck/internal/target"
	"github.com/heckhq/heck/internal/testkit"
)

const (
	password = "heck-default-pw"
	// heck may only touch heck:* keys; reader may not write at all.
	heckPassword   = "heck-acl-pw"
	readerPassword = "reader-pw"
)

// server is the package's redis-server, started by the first test that
// needs one and shared by all.
var server = testkit.NewShared(func() (*testkit.Redis, error) {
	return testkit.StartRedis("requirepass "+password,
		"user heck on >"+heckPassword+" ~heck:* -@all +ping +set +get +select", // as docs/deep-health.md advises
		"user reader on >"+readerPassword+" ~* +@read +ping")
})

func TestMain(m *testing.M) {
	code := m.Run()
	if err := server.Close(); err != nil {
		println("stop redis-server:", err.Error())
	}
	os.Exit(code)
}

func spec(addr string, o *target.RedisOptions) target.Spec {
	return target.Spec{ID: "cache", Kind: target.KindRedis, Address: addr, Redis: o}.WithDefaults()
}

// TestWithoutServer needs no redis-server: what fails before one is met.
func TestWithoutServer(t *testing.T) {
	deny, err := probe.NewGuard([]string{"127.0.0.0/8"})
	if err != nil {
		t.Fatal(err)
	}
	probetest.Run(t, New, []probetest.Case{
		{Name: "nothing listening", Spec: spec(probetest.ClosedAddr(t), nil), Msg: "PING: connect: connection refused"},
		{Name: "denied network", Spec: spec(probetest.ClosedAddr(t), nil), Options: probe.Options{Guard: deny},
			Msg: "PING: refused to connect to 127.0.0.1: in denied network 127.0.0.0/8 (probe.deny_networks)"},
		{Name: "silent server", Spec: spec(probetest.Silent(t), nil), Timeout: 300 * time.Millisecond, Msg: "PING: timed out after 300ms"},
		{Name: "not redis", Spec: spec(probetest.Serve(t, func(c net.Conn) { io.WriteString(c, "SSH-2.0-OpenSSH_9.2\r\n") }), nil), Msg: "PING: *"},
	})
	probetest.NewFails(t, New, spec("127.0.0.1", nil), `address: "127.0.0.1" is not host:port`)
	p := probetest.New(t, New, spec(probetest.ClosedAddr(t), nil), probe.Options{})
	if r := probetest.Probe(p, time.Second); probe.ReasonOf(&r) != probe.ReasonRefused {
		t.Errorf("refused: reason %v (%s)", probe.ReasonOf(&r), r.Message)
	}
}

func TestAgainstServer(t *testing.T) {
	rd := server.Get(t)
	probetest.Run(t, New, []probetest.Case{
		{Name: "PING", Spec: spec(rd.Addr, &target.RedisOptions{Password: password}), OK: true, Msg: "PONG",
			Details: probe.Details{RemoteAddr: rd.Addr}},
		{Name: "PING in another db", Spec: spec(rd.Addr, &target.RedisOptions{Password: password, DB: 5}), OK: true, Msg: "PONG"},
		{Name: "key round trip", Spec: spec(rd.Addr, &target.RedisOptions{Password: password, Key: "heck:health"}), OK: true,
			Msg: "PONG, key heck:health written and read back"},
		{Name: "ACL user", Spec: spec(rd.Addr, &target.RedisOptions{Username: "heck", Password: heckPassword, Key: "heck:health"}), OK: true,
			Msg: "PONG, key heck:health written and read back"},
		{Name: "ACL user in another db", Spec: spec(rd.Addr, &target.RedisOptions{Username: "heck", Password: heckPassword, DB: 1, Key: "heck:health"}), OK: true,
			Msg: "PONG, key heck:health written and read back"},
		{Name: "no password", Spec: spec(rd.Addr, nil), Msg: "auth: NOAUTH Authentication required."},
		{Name: "wrong password", Spec: spec(rd.Addr, &target.RedisOptions{Password: "wrong"}),
			Msg: "auth: WRONGPASS invalid username-password pair or user is disabled."},
		{Name: "wrong user", Spec: spec(rd.Addr, &target.RedisOptions{Username: "nobody", Password: heckPassword}),
			Msg: "auth: WRONGPASS invalid username-password pair or user is disabled."},
		{Name: "db out of range", Spec: spec(rd.Addr, &target.RedisOptions{Password: password, DB: 99}), Msg: "SELECT 99: ERR DB index is out of range"},
		{Name: "key outside the user's patterns", Spec: spec(rd.Addr, &target.RedisOptions{Username: "heck", Password: heckPassword, Key: "app:health"}),
			Msg: "SET app:health: NOPERM *"},
		{Name: "user who may not write", Spec: spec(rd.Addr, &target.RedisOptions{Username: "reader", Password: readerPassword, Key: "heck:health"}),
			Msg: "SET heck:health: NOPERM *"},
		// The server waits for the end of a command line that never comes.
		{Name: "TLS to a plaintext server", Spec: spec(rd.Addr, &target.RedisOptions{Password: password, TLS: true}), Timeout: 500 * time.Millisecond,
			Msg: "PING: timed out after 500ms"},
	}, func(t *testing.T, c probetest.Case, res probe.Result) {
		t.Logf("%s: %s (%v)", c.Name, res.Message, probe.ReasonOf(&res))
		if !res.OK && probe.ReasonOf(&res) == probe.ReasonOther {
			t.Errorf("a failure should have a reason, got other: %s", res.Message)
		}
		for _, pw := range []string{password, heckPassword, readerPassword} {
			if strings.Contains(res.Message, pw) {
				t.Errorf("the message shows a password: %s", res.Message)
			}
		}
	})
}

// TestKeyRoundTripWrites checks the round trip really writes the key,
// with the TTL asked for.
func TestKeyRoundTripWrites(t *testing.T) {
	rd := server.Get(t)
	p := probetest.New(t, New, spec(rd.Addr, &target.RedisOptions{Password: password, Key: "heck:ttl", KeyTTL: target.Duration(time.Minute)}), probe.Options{})
	if res := probetest.Probe(p, 5*time.Second); !res.OK {
		t.Fatal(res.Message)
	}
	ttl := command(t, rd.Addr, "AUTH "+password, "TTL heck:ttl")
	if ttl[1] == ":-2" || ttl[1] == ":-1" || !strings.HasPrefix(ttl[1], ":") {
		t.Fatalf("TTL heck:ttl = %q, want a positive TTL", ttl[1])
	}
	if got := ttl[1][1:]; got != "60" && got != "59" {
		t.Errorf("TTL heck:ttl = %s, want 60", got)
	}
}

// command sends each line to the server at addr and returns the first line
// of each answer.
func command(t *testing.T, addr string, lines ...string) []string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	var out []string
	buf := make([]byte, 512)
	for _, l := range lines {
		if _, err := io.WriteString(c, l+"\r\n"); err != nil {
			t.Fatal(err)
		}
		n, err := c.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, strings.SplitN(string(buf[:n]), "\r\n", 2)[0])
	}
	return out
}

// TestTLS puts a TLS terminator in front of the server.
func TestTLS(t *testing.T) {
	rd := server.Get(t)
	pair := testcert.New(t, 24*time.Hour)
	addr := tlsProxy(t, pair.ServerConfig(), rd.Addr)
	o := func(r target.RedisOptions) *target.RedisOptions { r.Password, r.TLS = password, true; return &r }
	probetest.Run(t, New, []probetest.Case{
		{Name: "verified", Spec: spec(addr, o(target.RedisOptions{Key: "heck:tls"})), Options: probe.Options{RootCAs: pair.Pool}, OK: true,
			Msg: "PONG, key heck:tls written and read back"},
		{Name: "unknown authority", Spec: spec(addr, o(target.RedisOptions{})), Msg: "PING: TLS: certificate signed by unknown authority"},
		{Name: "insecure", Spec: spec(addr, o(target.RedisOptions{InsecureSkipVerify: true})), OK: true, Msg: "PONG"},
		{Name: "wrong server name", Spec: spec(addr, o(target.RedisOptions{ServerName: "other.test"})), Options: probe.Options{RootCAs: pair.Pool},
			Msg: "PING: TLS: x509: certificate is valid for localhost, example.test, not other.test"},
		{Name: "plaintext to TLS", Spec: spec(addr, &target.RedisOptions{Password: password}), Timeout: time.Second, Msg: "PING: connection closed by peer"},
	}, func(t *testing.T, c probetest.Case, res probe.Result) {
		t.Logf("%s: %s (%v)", c.Name, res.Message, probe.ReasonOf(&res))
		if strings.HasPrefix(res.Message, "PING: TLS") && probe.ReasonOf(&res) != probe.ReasonTLS {
			t.Errorf("reason %v, want tls", probe.ReasonOf(&res))
		}
	})
}

// tlsProxy terminates TLS with cfg and forwards each connection to
// backend, until the test ends.
func tlsProxy(t *testing.T, cfg *tls.Config, backend string) string {
	t.Helper()
	l, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				b, err := net.DialTimeout("tcp", backend, 5*time.Second)
				if err != nil {
					return
				}
				defer b.Close()
				done := make(chan struct{})
				go func() { io.Copy(b, c); b.Close(); close(done) }()
				io.Copy(c, b)
				c.Close()
				<-done
			}()
		}
	}()
	return l.Addr().String()
}

// TestStopAndRestart stops the server: the probe fails with "connection
// refused", and the same prober passes again once the server is back.
func TestStopAndRestart(t *testing.T) {
	rd := server.Get(t)
	p := probetest.New(t, New, spec(rd.Addr, &target.RedisOptions{Password: password, Key: "heck:health"}), probe.Options{})
	if res := probetest.Probe(p, 5*time.Second); !res.OK {
		t.Fatalf("before stopping: %s", res.Message)
	}
	if err := rd.Stop(); err != nil {
		t.Fatal(err)
	}
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			if err := rd.Start(); err != nil {
				t.Errorf("start redis-server again: %v", err)
			}
		}
	})
	res := probetest.Probe(p, 5*time.Second)
	probetest.CheckResult(t, res, false, "PING: connect: connection refused")
	if err := rd.Start(); err != nil {
		t.Fatal(err)
	}
	restarted = true
	if res := probetest.Probe(p, 5*time.Second); !res.OK {
		t.Fatalf("after restart: %s\n%s", res.Message, rd.Log())
	}
}

// TestNoLeak checks a probe leaves no goroutine behind: each builds and
// closes a client of its own.
func TestNoLeak(t *testing.T) {
	rd := server.Get(t)
	p := probetest.New(t, New, spec(rd.Addr, &target.RedisOptions{Password: password, Key: "heck:leak"}), probe.Options{})
	probetest.Probe(p, 5*time.Second) // warm up whatever go-redis starts once
	before := runtime.NumGoroutine()
	for range 20 {
		if res := probetest.Probe(p, 5*time.Second); !res.OK {
			t.Fatal(res.Message)
		}
	}
	testkit.Wait{Timeout: 5 * time.Second}.Until(t, "goroutines back to their count", func() error {
		if n := runtime.NumGoroutine(); n > before+2 {
			return fmt.Errorf("%d goroutines, %d before the probes", n, before)
		}
		return nil
	})
}
