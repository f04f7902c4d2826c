// Package probe defines what every probe kind implements and what it
// returns: one Prober per target, built once from the target's spec and
// asked for a Result on every run. Each kind lives in its own package under
// internal/probe; internal/probe/kinds builds the right one for a spec.
//
// The package also owns the guarded dialer every probe dials through, which
// refuses the networks named in probe.deny_networks (link-local and cloud
// metadata addresses by default) at connect time.
package probe

import (
	"context"
	"crypto/x509"
	"github.com/heckhq/heck/internal/health"
	"time"
)

// Prober probes one target. Probe must honour ctx's deadline, never panic
// on anything the target sends, and be safe to call from one goroutine at a
// time (the scheduler never runs two probes of one target at once).
type Prober interface {
	Probe(ctx context.Context) Result
}

// Closer is implemented by probers that hold resources (connections,
// sockets) to release when their target is removed or changed.
type Closer interface {
	Close() error
}

// Result is the outcome of one probe.
type Result struct {
	// OK is true when every condition of the target held.
	OK bool `json:"ok"`
	// Latency from the start of the probe to its answer (or failure).
	Latency time.Duration `json:"latency"`
	// Message is a short human sentence: "HTTP 200", "connection refused",
	// "certificate expires in 3 days (minimum 14)".
	Message string `json:"message"`
	// Reason classifies a failure (ReasonNone when OK); read it with
	// ReasonOf, which maps a failure with no reason to ReasonOther.
	Reason Reason `json:"-"`
	// Details are structured facts the probe learned.
	Details Details `json:"details,omitzero"`
	// State, when not Unknown, is a state the probe decided itself (a
	// heartbeat is late): it replaces the target's state at once, rise
	// and fall do not apply.
	State health.State `json:"-"`
}

// Details are structured facts of one probe; each kind fills what it knows.
type Details struct {
	StatusCode int       `json:"status_code,omitempty"`
	RemoteAddr string    `json:"remote_addr,omitempty"`
	TLSVersion string    `json:"tls_version,omitempty"`
	CertExpiry time.Time `json:"cert_expiry,omitzero"`
	// CertDaysLeft is only meaningful when CertExpiry is set.
	CertDaysLeft int      `json:"cert_days_left,omitempty"`
	Answers      []string `json:"answers,omitempty"`
	Rcode        string   `json:"rcode,omitempty"`
	// Serving is the grpc health status (SERVING, NOT_SERVING...).
	Serving string `json:"serving,omitempty"`
	// Checks are the checks of a heck agent (agent targets): which part
	// of the host passed or failed. Shared read-only once returned.
	Checks []CheckDetail `json:"checks,omitempty"`
}

// CheckDetail is one check of a heck agent, as its /healthz said.
type CheckDetail struct {
	Name     string `json:"name"`
	Status   string `json:"status"`
	Critical bool   `json:"critical"`
	Message  string `json:"message,omitempty"`
}

// Fail returns a failed result with msg.
func Fail(latency time.Duration, msg string) Result {
	return Result{OK: false, Latency: latency, Message: msg}
}

// Options are what every kind's constructor receives beside the spec.
type Options struct {
	// Guard refuses connections to denied networks; nil allows everything.
	Guard *Guard
	// RootCAs verifies the certificates of TLS targets (https, tls, grpc
	// with tls); nil uses the system's roots.
	RootCAs *x509.CertPool
}
