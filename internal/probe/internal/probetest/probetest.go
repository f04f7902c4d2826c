// Package probetest owns what the tests of the probe kinds share: table
// cases run against a kind's constructor (Case, Run, New, NewFails, Probe),
// loopback servers to probe (Listen, Serve, Silent, ClosedAddr) and
// assertions on a probe.Result (CheckResult, CheckDetails, RemoteIsTarget).
// It is for tests only, and everything it listens on or names is on
// 127.0.0.1.
package probetest

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/probe"
	"github.com/heckhq/heck/internal/target"
)

// DefaultTimeout is the deadline of a case that sets none: long enough never
// to be the reason a probe fails on a busy machine.
const DefaultTimeout = 5 * time.Second

// Case is one row of a probe table test.
type Case struct {
	Name string
	// Spec is the target; Run fills its defaults and validates it.
	Spec target.Spec
	// Options go to the constructor beside the spec.
	Options probe.Options
	// OK and Msg are the result wanted; Msg is exact, or a prefix when it
	// ends in "*".
	OK  bool
	Msg string
	// Details are facts the result must carry; only the fields set (non-zero)
	// are compared.
	Details probe.Details
	// Timeout is the probe's deadline; DefaultTimeout when zero.
	Timeout time.Duration
}

// Run probes every case in a subtest of its name: it builds the prober with
// newProber, probes once under the case's deadline, and checks OK, the
// message, the details set and a latency above zero; then each of also, for
// checks every case of the table shares.
func Run[P probe.Prober](t *testing.T, newProber func(target.Spec, probe.Options) (P, error), cases []Case, also ...func(*testing.T, Case, probe.Result)) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			p := New(t, newProber, c.Spec, c.Options)
			timeout := c.Timeout
			if timeout == 0 {
				timeout = DefaultTimeout
			}
			res := Probe(p, timeout)
			CheckResult(t, res, c.OK, c.Msg)
			if res.Latency <= 0 {
				t.Errorf("latency = %v, want > 0", res.Latency)
			}
			CheckDetails(t, res.Details, c.Details)
			for _, check := range also {
				check(t, c, res)
			}
		})
	}
}

// New builds the prober of spec (defaults filled, validated) with opts and
// fails the test on any error. A prober holding resources (a probe.Closer) is
// closed when the test ends.
func New[P probe.Prober](t testing.TB, newProber func(target.Spec, probe.Options) (P, error), spec target.Spec, opts probe.Options) P {
	t.Helper()
	spec = spec.WithDefaults()
	if errs := spec.Validate(); len(errs) > 0 {
		t.Fatalf("test spec invalid: %v", errs)
	}
	p, err := newProber(spec, opts)
	if err != nil {
		t.Fatalf("new prober: %v", err)
	}
	if c, ok := any(p).(probe.Closer); ok {
		t.Cleanup(func() { _ = c.Close() })
	}
	return p
}

// NewFails asserts that newProber refuses spec (taken as given, defaults
// not filled) with an error containing want.
func NewFails[P probe.Prober](t testing.TB, newProber func(target.Spec, probe.Options) (P, error), spec target.Spec, want string) {
	t.Helper()
	if _, err := newProber(spec, probe.Options{}); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("new prober error = %v, want one containing %q", err, want)
	}
}

// Probe runs p once with a deadline timeout from now. It touches no
// testing.T, so goroutines of a test may call it.
func Probe(p probe.Prober, timeout time.Duration) probe.Result {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return p.Probe(ctx)
}

// CheckResult asserts res.OK is ok and res.Message is msg (exact, or a
// prefix when msg ends in "*").
func CheckResult(t testing.TB, res probe.Result, ok bool, msg string) {
	t.Helper()
	if res.OK != ok {
		t.Errorf("OK = %v, want %v (message %q)", res.OK, ok, res.Message)
	}
	if prefix, isPrefix := strings.CutSuffix(msg, "*"); isPrefix {
		if !strings.HasPrefix(res.Message, prefix) {
			t.Errorf("message = %q, want prefix %q", res.Message, prefix)
		}
	} else if res.Message != msg {
		t.Errorf("message = %q, want %q", res.Message, msg)
	}
}

// CheckDetails asserts got carries every field set in want; fields left
// zero in want are not compared.
func CheckDetails(t testing.TB, got, want probe.Details) {
	t.Helper()
	diff := func(field string, g, w any) { t.Errorf("details %s = %v, want %v (all: %+v)", field, g, w, got) }
	if want.StatusCode != 0 && got.StatusCode != want.StatusCode {
		diff("status code", got.StatusCode, want.StatusCode)
	}
	if want.RemoteAddr != "" && got.RemoteAddr != want.RemoteAddr {
		diff("remote addr", got.RemoteAddr, want.RemoteAddr)
	}
	if want.TLSVersion != "" && got.TLSVersion != want.TLSVersion {
		diff("TLS version", got.TLSVersion, want.TLSVersion)
	}
	if !want.CertExpiry.IsZero() && !got.CertExpiry.Equal(want.CertExpiry) {
		diff("cert expiry", got.CertExpiry, want.CertExpiry)
	}
	if want.CertDaysLeft != 0 && got.CertDaysLeft != want.CertDaysLeft {
		diff("cert days left", got.CertDaysLeft, want.CertDaysLeft)
	}
	if want.Answers != nil && fmt.Sprintf("%q", got.Answers) != fmt.Sprintf("%q", want.Answers) {
		diff("answers", fmt.Sprintf("%q", got.Answers), fmt.Sprintf("%q", want.Answers))
	}
	if want.Rcode != "" && got.Rcode != want.Rcode {
		diff("rcode", got.Rcode, want.Rcode)
	}
	if want.Serving != "" && got.Serving != want.Serving {
		diff("serving", got.Serving, want.Serving)
	}
}

// RemoteIsTarget, given to Run, asserts that a probe which succeeded names
// its target's address as the remote address.
func RemoteIsTarget(t *testing.T, c Case, res probe.Result) {
	t.Helper()
	if res.OK && res.Details.RemoteAddr != c.Spec.Address {
		t.Errorf("remote addr = %q, want %q", res.Details.RemoteAddr, c.Spec.Address)
	}
}

// Listen returns a TCP listener on a free 127.0.0.1 port, closed when the
// test ends.
func Listen(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen on loopback: %v", err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	return ln
}

// ClosedAddr returns a loopback address nothing listens on: a port just
// freed, so a dial to it is refused.
func ClosedAddr(t testing.TB) string {
	t.Helper()
	ln := Listen(t)
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// Serve calls handle on a goroutine of its own for each connection to a new
// loopback listener, and closes the connection when handle returns. When
// the test ends it stops accepting, closes the connections still open (which
// unblocks their handlers) and waits for every handler. It returns the
// listener's address.
func Serve(t testing.TB, handle func(net.Conn)) string {
	t.Helper()
	ln := Listen(t)
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		conns  = map[net.Conn]struct{}{}
		closed bool
	)
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		closed = true
		for c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			if closed {
				mu.Unlock()
				_ = c.Close()
				return
			}
			conns[c] = struct{}{}
			wg.Add(1)
			mu.Unlock()
			go func() {
				defer wg.Done()
				defer func() {
					mu.Lock()
					delete(conns, c)
					mu.Unlock()
					_ = c.Close()
				}()
				handle(c)
			}()
		}
	}()
	return ln.Addr().String()
}

// Silent serves connections that are read and never answered, until the
// client or the end of the test closes them.
func Silent(t testing.TB) string {
	t.Helper()
	return Serve(t, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
}
