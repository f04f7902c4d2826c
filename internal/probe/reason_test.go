package probe_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"

	"github.com/heckhq/heck/internal/probe"
)

func TestErrorReason(t *testing.T) {
	dial := func(err error) error {
		return &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", err)}
	}
	for _, tc := range []struct {
		name string
		err  error
		want probe.Reason
	}{
		{"nil", nil, probe.ReasonNone},
		{"deadline", fmt.Errorf("get: %w", context.DeadlineExceeded), probe.ReasonTimeout},
		{"io deadline", os.ErrDeadlineExceeded, probe.ReasonTimeout},
		{"refused", dial(syscall.ECONNREFUSED), probe.ReasonRefused},
		{"reset", dial(syscall.ECONNRESET), probe.ReasonReset},
		{"eof", io.ErrUnexpectedEOF, probe.ReasonReset},
		{"no ports", dial(syscall.EADDRNOTAVAIL), probe.ReasonDial},
		{"fds", dial(syscall.EMFILE), probe.ReasonDial},
		{"unreachable", dial(syscall.EHOSTUNREACH), probe.ReasonDial},
		{"dns", &net.DNSError{Err: "no such host", Name: "x.invalid", IsNotFound: true}, probe.ReasonDNS},
		{"dns timeout", &net.DNSError{Err: "i/o timeout", Name: "x", IsTimeout: true}, probe.ReasonTimeout},
		{"other", errors.New("strange"), probe.ReasonOther},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := probe.ErrorReason(tc.err); got != tc.want {
				t.Errorf("ErrorReason(%v) = %q, want %q", tc.err, got, tc.want)
			}
		})
	}
}

func TestReasonOf(t *testing.T) {
	for _, tc := range []struct {
		res  probe.Result
		want probe.Reason
	}{
		{probe.Result{OK: true}, probe.ReasonNone},
		{probe.Result{}, probe.ReasonOther},
		{probe.Result{Reason: probe.ReasonStatus}, probe.ReasonStatus},
		{probe.Result{Reason: 200}, probe.ReasonOther},
	} {
		if got := probe.ReasonOf(&tc.res); got != tc.want {
			t.Errorf("ReasonOf(%+v) = %q, want %q", tc.res, got, tc.want)
		}
	}
	seen := map[string]bool{}
	for _, r := range probe.Reasons() {
		if s := r.String(); s == "" || seen[s] {
			t.Errorf("reason %d has label %q (empty or repeated)", r, s)
		}
		seen[r.String()] = true
	}
	if len(seen) != probe.NumReasons-1 {
		t.Errorf("%d reasons, want %d", len(seen), probe.NumReasons-1)
	}
}
