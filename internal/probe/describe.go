package probe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"
)

// Budget is how long a probe started at start may run under ctx: the time
// to ctx's deadline, or 0 without a deadline (or past it). It is rounded up
// to two significant figures, so that the moments between making the
// deadline and starting the probe do not show: a 2s timeout reads "2s",
// not "1.999s".
func Budget(ctx context.Context, start time.Time) time.Duration {
	d, ok := ctx.Deadline()
	if !ok {
		return 0
	}
	b := d.Sub(start)
	if b <= 0 {
		return 0
	}
	unit := time.Millisecond
	for unit*100 <= b {
		unit *= 10
	}
	return (b + unit - 1) / unit * unit
}

// TimedOut is the message of a probe that ran out of time.
func TimedOut(budget time.Duration) string {
	if budget <= 0 {
		return "timed out"
	}
	return "timed out after " + budget.String()
}

// DescribeError turns a dial, TLS or I/O error into a short message for a
// Result: "connect: connection refused", "timed out after 2s",
// "refused to connect to 169.254.169.254: in denied network ...".
// budget is the probe's time limit (see Budget), used in the timeout message.
func DescribeError(err error, budget time.Duration) string {
	if err == nil {
		return ""
	}
	if de, ok := IsDenied(err); ok {
		return de.Error()
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return TimedOut(budget)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return TimedOut(budget)
	}
	if errors.Is(err, context.Canceled) {
		return "canceled"
	}
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connect: connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset by peer"
	case errors.Is(err, syscall.EHOSTUNREACH):
		return "connect: no route to host"
	case errors.Is(err, syscall.ENETUNREACH):
		return "connect: network is unreachable"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed by peer"
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		if dnsErr.IsNotFound {
			return "lookup " + dnsErr.Name + ": no such host"
		}
		return "lookup " + dnsErr.Name + ": " + dnsErr.Err
	}
	var unknownCA x509.UnknownAuthorityError
	if errors.As(err, &unknownCA) {
		return "TLS: certificate signed by unknown authority"
	}
	var hostErr x509.HostnameError
	if errors.As(err, &hostErr) {
		return "TLS: " + hostErr.Error()
	}
	var invalid x509.CertificateInvalidError
	if errors.As(err, &invalid) {
		return "TLS: " + invalid.Error()
	}
	var rh tls.RecordHeaderError
	if errors.As(err, &rh) {
		return "TLS: server did not answer with TLS"
	}
	var ae tls.AlertError
	if errors.As(err, &ae) {
		return "TLS: " + ae.Error()
	}
	// Strip the wrappers that only repeat what the target already says.
	for {
		var ue *url.Error
		var oe *net.OpError
		switch {
		case errors.As(err, &ue) && ue.Err != nil && ue.Err != err:
			err = ue.Err
			continue
		case errors.As(err, &oe) && oe.Err != nil && oe.Err != err:
			err = oe.Err
			continue
		}
		break
	}
	return strings.TrimPrefix(err.Error(), "net/http: ")
}
