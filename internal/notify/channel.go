package notify

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/heckhq/heck/internal/target"
)

// Channel sends one message over one channel. Send returns nil once the
// service accepted the message. An error is temporary (worth a retry)
// unless Permanent says otherwise; RetryAfter tells the delay the service
// asked for, when it did. Send honours ctx's deadline and cancellation;
// without a deadline it gives up after DefaultTimeout. A Channel is safe
// for concurrent use.
type Channel interface {
	Send(ctx context.Context, m Message) error
}

// Options are what a channel needs from its surroundings.
type Options struct {
	// HTTPClient posts the HTTP channels' requests; a client with
	// DefaultTimeout when nil.
	HTTPClient *http.Client
	// Logger gets a debug line per message sent; slog.Default when nil.
	Logger *slog.Logger
	// Now is the clock (time.Now when nil): webhook timestamps, e-mail
	// Date headers, Retry-After dates.
	Now func() time.Time
	// TLSConfig is the base TLS configuration of e-mail (its RootCAs,
	// say); ServerName is set to the SMTP host. nil: the system's roots.
	TLSConfig *tls.Config
	// Hostname is sent in SMTP EHLO; os.Hostname when empty.
	Hostname string
}

// WithDefaults returns o with its nil fields filled in.
func (o Options) WithDefaults() Options {
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: DefaultTimeout}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Hostname == "" {
		if h, err := os.Hostname(); err == nil && h != "" {
			o.Hostname = h
		} else {
			o.Hostname = "localhost"
		}
	}
	return o
}

// Builder makes a channel from a valid spec whose references are
// expanded, and options with defaults filled in.
type Builder func(spec Spec, opts Options) (Channel, error)

var (
	buildersMu sync.RWMutex
	builders   = map[ChannelKind]Builder{}
)

// Register makes kind buildable by New. Each channel subpackage calls it
// from init; registering a kind twice panics (a programming error).
func Register(kind ChannelKind, b Builder) {
	buildersMu.Lock()
	defer buildersMu.Unlock()
	if _, dup := builders[kind]; dup {
		panic("notify: channel kind " + string(kind) + " registered twice")
	}
	builders[kind] = b
}

// New validates spec (see Validate), expands its ${VAR} references with
// lookup (os.LookupEnv when nil) and builds its channel. A spec with
// problems returns them all as target.FieldErrors. The kind's subpackage
// must be linked in: import internal/notify/all.
func New(spec Spec, lookup target.LookupFunc, opts Options) (Channel, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	if errs := spec.Validate(lookup); len(errs) > 0 {
		return nil, errs
	}
	exp, err := spec.Expand(lookup)
	if err != nil {
		return nil, err
	}
	buildersMu.RLock()
	b := builders[spec.Kind]
	buildersMu.RUnlock()
	if b == nil {
		return nil, fmt.Errorf("notifier %s: kind %s is not linked into this binary (import internal/notify/all)", spec.ID, spec.Kind)
	}
	ch, err := b(exp, opts.WithDefaults())
	if err != nil {
		return nil, fmt.Errorf("notifier %s: %w", spec.ID, err)
	}
	return ch, nil
}
