package api

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/heckhq/heck/internal/heartbeat"
	"github.com/heckhq/heck/internal/store"
)

// PingBackend is optionally implemented by a Backend that keeps heartbeat
// targets. It serves /ping/{token}; a Backend without it answers 501.
type PingBackend interface {
	// Ping records a check-in of the heartbeat target whose token this is:
	// kind is heartbeat.Success, Start or Fail, exitCode -1 when none was
	// given, body the tail of the request's body, source the client. An
	// unknown token is an error wrapping store.ErrNotFound.
	Ping(ctx context.Context, token, kind string, exitCode int, body, source string) (targetID string, err error)
}

// MaxPingBody bounds what is read of a ping's body; heartbeat.MaxBody of
// its tail is kept.
const MaxPingBody = 1 << 20

// pingLimiter rate-limits the requests with unknown tokens per source
// address, so the ping endpoint cannot be used to guess tokens quickly.
type pingLimiter struct {
	mu      sync.Mutex
	sources map[string]*rate.Limiter
	swept   time.Time
}

// allow reports whether source may try another unknown token now: 5 per
// second with bursts of 20.
func (l *pingLimiter) allow(source string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sources == nil || now.Sub(l.swept) > time.Minute {
		l.sources, l.swept = map[string]*rate.Limiter{}, now // forget the idle
	}
	lim, ok := l.sources[source]
	if !ok {
		if len(l.sources) > 100_000 {
			return false
		}
		lim = rate.NewLimiter(5, 20)
		l.sources[source] = lim
	}
	return lim.AllowN(now, 1)
}

func (l *pingLimiter) limited(source string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.sources[source]
	return ok && lim.TokensAt(now) < 1
}

// ping records a check-in: POST or GET /ping/{token}[/start|/fail|/CODE].
// No API token is needed: the ping token is the capability. Answers 200
// "OK", 404 for an unknown token (nothing recorded), 429 when a source
// keeps sending unknown tokens, 400 for a bad action.
func (s *Server) ping(w http.ResponseWriter, r *http.Request) {
	pb, ok := s.b.(PingBackend)
	if !ok {
		writeText(w, http.StatusNotImplemented, "this server keeps no heartbeat targets; run heck serve (a node)")
		return
	}
	source := r.RemoteAddr
	if host, _, err := net.SplitHostPort(source); err == nil {
		source = host
	}
	now := time.Now()
	if s.pings.limited(source, now) {
		w.Header().Set("Retry-After", "1")
		writeText(w, http.StatusTooManyRequests, "too many pings with unknown tokens from "+source+"; slow down")
		return
	}
	kind, code, err := heartbeat.ParseAction(r.PathValue("action"))
	if err != nil {
		writeText(w, http.StatusBadRequest, "bad ping: "+err.Error()+"; use /ping/TOKEN, /ping/TOKEN/start, /ping/TOKEN/fail or /ping/TOKEN/EXIT_CODE")
		return
	}
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(io.LimitReader(r.Body, MaxPingBody)) // a short read keeps what came
	}
	id, err := pb.Ping(r.Context(), r.PathValue("token"), kind, code, heartbeat.Tail(body), source)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			s.pings.allow(source, now)
			writeText(w, http.StatusNotFound, "no heartbeat target has this token; check the ping URL (heck targets ls shows it)")
			return
		}
		s.internal(w, r, "record ping", err)
		return
	}
	w.Header().Set("X-Heck-Target", id)
	writeText(w, http.StatusOK, "OK")
}

// pingURL is the ping URL of a heartbeat target with a literal token, as
// the client that asked reaches this server; "" otherwise.
func pingURL(r *http.Request, t *TargetStatus) string {
	h := t.Spec.Heartbeat
	if h == nil || h.Token == "" || strings.Contains(h.Token, "${") {
		return ""
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/ping/" + h.Token
}
