package probe

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"syscall"
	"testing"
	"time"
)

func TestDescribeError(t *testing.T) {
	refused := &url.Error{Op: "Get", URL: "http://127.0.0.1:1/", Err: &net.OpError{Op: "dial", Net: "tcp",
		Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}
	denied := &net.OpError{Op: "dial", Net: "tcp", Err: &DeniedError{Addr: netip.MustParseAddr("169.254.169.254"),
		Network: netip.MustParsePrefix("169.254.0.0/16")}}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"nil", nil, ""},
		{"refused", refused, "connect: connection refused"},
		{"deadline", fmt.Errorf("read: %w", context.DeadlineExceeded), "timed out after 2s"},
		{"os deadline", &net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}, "timed out after 2s"},
		{"canceled", context.Canceled, "canceled"},
		{"eof", fmt.Errorf("read: %w", io.EOF), "connection closed by peer"},
		{"reset", os.NewSyscallError("read", syscall.ECONNRESET), "connection reset by peer"},
		{"denied", denied, "refused to connect to 169.254.169.254: in denied network 169.254.0.0/16 (probe.deny_networks)"},
		{"no host", &net.OpError{Op: "dial", Err: &net.DNSError{Name: "nope.invalid", Err: "no such host", IsNotFound: true}}, "lookup nope.invalid: no such host"},
		{"other", &url.Error{Op: "Get", URL: "x", Err: fmt.Errorf("stopped after 10 redirects")}, "stopped after 10 redirects"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DescribeError(tt.err, 2*time.Second); got != tt.want {
				t.Fatalf("DescribeError(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
	if got := TimedOut(0); got != "timed out" {
		t.Fatalf("TimedOut(0) = %q", got)
	}
}

func TestBudget(t *testing.T) {
	start := time.Now()
	tests := []struct {
		left, want time.Duration
	}{
		{1500 * time.Millisecond, 1500 * time.Millisecond},
		{2*time.Second - 400*time.Microsecond, 2 * time.Second},
		{2*time.Second - 60*time.Millisecond, 2 * time.Second},
		{200*time.Millisecond - 3*time.Millisecond, 200 * time.Millisecond},
		{50*time.Millisecond - 300*time.Microsecond, 50 * time.Millisecond},
		{90 * time.Second, 90 * time.Second},
		{-time.Second, 0},
	}
	for _, tt := range tests {
		ctx, cancel := context.WithDeadline(context.Background(), start.Add(tt.left))
		if got := Budget(ctx, start); got != tt.want {
			t.Errorf("Budget with %v left = %v, want %v", tt.left, got, tt.want)
		}
		cancel()
	}
	if got := Budget(context.Background(), start); got != 0 {
		t.Fatalf("Budget without deadline = %v", got)
	}
}
