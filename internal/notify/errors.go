package notify

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// PermanentError marks a failure that a retry of the same message cannot
// fix: the service refused it (a 4xx other than 408 and 429), the channel
// is misconfigured, or the message cannot be rendered. Every other error a
// Channel returns is temporary: worth another try later.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// MarkPermanent wraps err as a PermanentError (nil stays nil).
func MarkPermanent(err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err}
}

// Permanent reports whether err says a retry cannot help. A nil error is
// not permanent.
func Permanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// RetryAfterError is a temporary failure for which the service said how
// long to wait (HTTP 429 or 503 with Retry-After).
type RetryAfterError struct {
	Err   error
	After time.Duration
}

func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("%v (retry after %s)", e.Err, e.After)
}
func (e *RetryAfterError) Unwrap() error { return e.Err }

// RetryAfter returns the delay the service asked for before another try,
// if it asked.
func RetryAfter(err error) (time.Duration, bool) {
	var r *RetryAfterError
	if errors.As(err, &r) {
		return r.After, true
	}
	return 0, false
}

// StatusError is a non-2xx answer from an HTTP service.
type StatusError struct {
	// Code is the HTTP status code.
	Code int
	// Body is the start of the answer's body (at most 512 bytes, one
	// line), for the log.
	Body string
	// Where names the service without secrets ("https://hooks.slack.com").
	Where string
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("post to %s: HTTP %d %s", e.Where, e.Code, http.StatusText(e.Code))
	if e.Body != "" {
		s += ": " + e.Body
	}
	return s
}

// PermanentStatus reports whether an HTTP status code says the request
// will never succeed as sent: any 4xx but 408 Request Timeout and 429 Too
// Many Requests.
func PermanentStatus(code int) bool {
	return code >= 400 && code < 500 && code != http.StatusRequestTimeout && code != http.StatusTooManyRequests
}

// ClassifyStatus turns a non-2xx answer into the error a Channel returns:
// permanent for PermanentStatus codes, a RetryAfterError when the answer
// carries a usable Retry-After (now is for its HTTP-date form), else a
// plain temporary StatusError.
func ClassifyStatus(se *StatusError, retryAfter string, now time.Time) error {
	if PermanentStatus(se.Code) {
		return MarkPermanent(se)
	}
	if d, ok := ParseRetryAfter(retryAfter, now); ok {
		return &RetryAfterError{Err: se, After: d}
	}
	return se
}

// MaxRetryAfter caps the delay a service may ask for.
const MaxRetryAfter = time.Hour

// ParseRetryAfter parses a Retry-After value: delay seconds (an integer,
// or a decimal as Discord sends) or an HTTP date. A delay in the past is
// 0; one beyond MaxRetryAfter is MaxRetryAfter.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	var d time.Duration
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if secs < 0 || secs != secs {
			return 0, false
		}
		if secs > MaxRetryAfter.Seconds() {
			return MaxRetryAfter, true
		}
		d = time.Duration(secs * float64(time.Second))
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	} else {
		return 0, false
	}
	return min(max(d, 0), MaxRetryAfter), true
}

// classifyTransport turns a failure to get any answer into a Channel
// error: certificate problems are permanent (a retry meets the same
// certificate), everything else (timeouts, refused and reset connections,
// DNS) temporary.
func classifyTransport(err error) error {
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalid x509.CertificateInvalidError
	if errors.As(err, &unknownAuth) || errors.As(err, &hostErr) || errors.As(err, &invalid) {
		return MarkPermanent(err)
	}
	return err
}

// Timeout reports whether err is a deadline: the context's or the
// connection's.
func Timeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}
