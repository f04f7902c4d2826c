package probetest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/probe"
	"github.com/heckhq/heck/internal/target"
)

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func TestCheckResult(t *testing.T) {
	res := probe.Result{OK: true, Message: "connected, received \"PING\""}
	tests := []struct {
		name string
		ok   bool
		msg  string
		fail bool
	}{
		{name: "exact", ok: true, msg: `connected, received "PING"`},
		{name: "prefix", ok: true, msg: "connected*"},
		{name: "wrong OK", ok: false, msg: `connected, received "PING"`, fail: true},
		{name: "wrong message", ok: true, msg: "connected", fail: true},
		{name: "wrong prefix", ok: true, msg: "refused*", fail: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &recorder{}
			CheckResult(r, res, tt.ok, tt.msg)
			if failed := len(r.errors) > 0; failed != tt.fail {
				t.Errorf("failed = %v (%q), want %v", failed, r.errors, tt.fail)
			}
		})
	}
}

func TestCheckDetails(t *testing.T) {
	expiry := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	got := probe.Details{StatusCode: 200, RemoteAddr: "127.0.0.1:80", TLSVersion: "TLS 1.3", CertExpiry: expiry,
		CertDaysLeft: 3, Answers: []string{"127.0.0.1", "127.0.0.2"}, Rcode: "NOERROR", Serving: "SERVING"}
	tests := []struct {
		name string
		want probe.Details
		fail bool
	}{
		{name: "nothing wanted", want: probe.Details{}},
		{name: "all equal", want: got},
		{name: "expiry in another zone", want: probe.Details{CertExpiry: expiry.In(time.FixedZone("x", 3600))}},
		{name: "status code", want: probe.Details{StatusCode: 503}, fail: true},
		{name: "remote addr", want: probe.Details{RemoteAddr: "127.0.0.1:81"}, fail: true},
		{name: "tls version", want: probe.Details{TLSVersion: "TLS 1.2"}, fail: true},
		{name: "cert expiry", want: probe.Details{CertExpiry: expiry.Add(time.Second)}, fail: true},
		{name: "cert days left", want: probe.Details{CertDaysLeft: 4}, fail: true},
		{name: "answers order", want: probe.Details{Answers: []string{"127.0.0.2", "127.0.0.1"}}, fail: true},
		{name: "answers joined", want: probe.Details{Answers: []string{"127.0.0.1 127.0.0.2"}}, fail: true},
		{name: "no answers wanted", want: probe.Details{Answers: []string{}}, fail: true},
		{name: "rcode", want: probe.Details{Rcode: "NXDOMAIN"}, fail: true},
		{name: "serving", want: probe.Details{Serving: "NOT_SERVING"}, fail: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &recorder{}
			CheckDetails(r, got, tt.want)
			if failed := len(r.errors) > 0; failed != tt.fail {
				t.Errorf("failed = %v (%q), want %v", failed, r.errors, tt.fail)
			}
		})
	}
}

// TestServe checks that a handler sees its connection and that the end of
// the test closes connections left open, so a blocked handler returns.
func TestServe(t *testing.T) {
	returned := make(chan struct{})
	t.Run("serve", func(t *testing.T) {
		addr := Serve(t, func(c net.Conn) {
			defer close(returned)
			_, _ = c.Write([]byte("hi"))
			var b [1]byte
			_, _ = c.Read(b[:]) // blocks until the cleanup closes c
		})
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		var b [2]byte
		if _, err := c.Read(b[:]); err != nil || string(b[:]) != "hi" {
			t.Fatalf("read %q, %v; want the handler's greeting", b, err)
		}
	})
	select {
	case <-returned:
	default:
		t.Fatal("the handler still runs after its test ended")
	}
}

func TestClosedAddr(t *testing.T) {
	addr := ClosedAddr(t)
	if host, _, _ := net.SplitHostPort(addr); host != "127.0.0.1" {
		t.Fatalf("addr = %q, want a 127.0.0.1 address", addr)
	}
	if c, err := net.DialTimeout("tcp", addr, 5*time.Second); err == nil {
		c.Close()
		t.Fatalf("dial %s succeeded, want refused", addr)
	}
}

type fakeProber struct{}

func (fakeProber) Probe(context.Context) probe.Result { return probe.Result{} }

func TestNewFails(t *testing.T) {
	refuse := func(target.Spec, probe.Options) (fakeProber, error) {
		return fakeProber{}, errors.New(`address: "x" is not host:port`)
	}
	accept := func(target.Spec, probe.Options) (fakeProber, error) { return fakeProber{}, nil }
	tests := []struct {
		name string
		new  func(target.Spec, probe.Options) (fakeProber, error)
		want string
		fail bool
	}{
		{name: "refused as wanted", new: refuse, want: "is not host:port"},
		{name: "refused otherwise", new: refuse, want: "is missing", fail: true},
		{name: "accepted", new: accept, want: "is not host:port", fail: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &recorder{}
			NewFails(r, tt.new, target.Spec{Address: "x"}, tt.want)
			if failed := len(r.errors) > 0; failed != tt.fail {
				t.Errorf("failed = %v (%q), want %v", failed, r.errors, tt.fail)
			}
		})
	}
}
