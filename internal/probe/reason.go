package probe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"time"
)

// Reason is why a probe failed, from a small fixed set, so that it can be a
// metric label: heck_checks_total{kind,result,reason}. The zero value is
// ReasonNone (the probe passed, or its kind did not say).
type Reason uint8

// The reasons. Keep the set small and fixed; Reasons lists them all.
const (
	// ReasonNone: the check passed (or a failure whose kind set no reason,
	// reported as ReasonOther).
	ReasonNone Reason = iota
	// ReasonTimeout: the probe ran out of time (dial, handshake, answer).
	ReasonTimeout
	// ReasonRefused: the connection was refused (nothing listening).
	ReasonRefused
	// ReasonReset: the peer reset or closed the connection early.
	ReasonReset
	// ReasonDial: the connection could not be made for another reason: no
	// route, network unreachable, no local address or port left
	// (EADDRNOTAVAIL), too many open files, or a denied network.
	ReasonDial
	// ReasonDNS: the name did not resolve.
	ReasonDNS
	// ReasonTLS: the TLS handshake or the certificate failed.
	ReasonTLS
	// ReasonStatus: an answer arrived but its status was not the expected
	// one (an HTTP status, a gRPC serving status, a DNS rcode).
	ReasonStatus
	// ReasonBody: the answer's content did not match (body, JSON, expected
	// bytes, DNS answers).
	ReasonBody
	// ReasonSlow: an answer arrived in time but above the target's maximum
	// latency.
	ReasonSlow
	// ReasonLate: heck itself was overloaded: the probe started late by a
	// large part of its timeout (see schedule), so its failure says more
	// about this node than about the target.
	ReasonLate
	// ReasonOther: anything else.
	ReasonOther

	numReasons
)

// NumReasons is the number of reasons, ReasonNone included: reasons are
// 0..NumReasons-1, for arrays indexed by Reason.
const NumReasons = int(numReasons)

var reasonNames = [numReasons]string{"", "timeout", "refused", "reset", "dial", "dns", "tls", "status", "body", "slow", "late", "other"}

// String is the label value: "timeout", "refused", ... and "" for
// ReasonNone.
func (r Reason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return "other"
}

// Reasons lists every reason but ReasonNone, in order.
func Reasons() []Reason {
	rs := make([]Reason, 0, NumReasons-1)
	for r := ReasonNone + 1; r < numReasons; r++ {
		rs = append(rs, r)
	}
	return rs
}

// ReasonOf classifies the failure reason of a failed result: its Reason, or
// ReasonOther when its kind set none. It is ReasonNone for a passing
// result.
func ReasonOf(res *Result) Reason {
	switch {
	case res.OK:
		return ReasonNone
	case res.Reason == ReasonNone || res.Reason >= numReasons:
		return ReasonOther
	}
	return res.Reason
}

// ErrorReason classifies a dial, TLS or I/O error, as DescribeError
// describes it. It is ReasonNone for a nil error.
func ErrorReason(err error) Reason {
	if err == nil {
		return ReasonNone
	}
	if _, ok := IsDenied(err); ok {
		return ReasonDial
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return ReasonTimeout
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return ReasonTimeout
	}
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return ReasonRefused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return ReasonReset
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH),
		errors.Is(err, syscall.EADDRNOTAVAIL), errors.Is(err, syscall.EADDRINUSE),
		errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE), errors.Is(err, syscall.ENOBUFS):
		return ReasonDial
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		if dnsErr.IsTimeout {
			return ReasonTimeout
		}
		return ReasonDNS
	}
	var (
		unknownCA x509.UnknownAuthorityError
		hostErr   x509.HostnameError
		invalid   x509.CertificateInvalidError
		rh        tls.RecordHeaderError
		ae        tls.AlertError
		cve       *tls.CertificateVerificationError
	)
	if errors.As(err, &unknownCA) || errors.As(err, &hostErr) || errors.As(err, &invalid) ||
		errors.As(err, &rh) || errors.As(err, &ae) || errors.As(err, &cve) {
		return ReasonTLS
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		return ReasonDial
	}
	return ReasonOther
}

// FailErr returns a failed result for err: its message (DescribeError with
// budget) and its reason (ErrorReason).
func FailErr(latency time.Duration, err error, budget time.Duration) Result {
	return Result{Latency: latency, Message: DescribeError(err, budget), Reason: ErrorReason(err)}
}
