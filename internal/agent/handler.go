package agent

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/heckhq/heck/internal/wire"
)

// snapshot is every answer of the endpoints, made once per result.
type snapshot struct {
	healthz answer
	readyz  answer
	checks  map[string]answer // ?check=NAME
}

// answer is one ready-made response.
type answer struct {
	code int
	body []byte
}

// rebuild makes the snapshot of the entries as they are. r.mu is held.
func (r *Runner) rebuild() {
	h := wire.AgentHealth{Status: wire.AgentOK, Checks: make([]wire.AgentCheck, len(r.checks))}
	var pending, critical, other []string
	var criticalMsgs []string
	s := &snapshot{checks: make(map[string]answer, len(r.checks))}
	for i, e := range r.checks {
		c := e.wire()
		h.Checks[i] = c
		one := wire.AgentHealth{Status: wire.AgentOK, Checks: []wire.AgentCheck{c}}
		switch {
		case c.Status == wire.CheckPending:
			pending = append(pending, e.name)
			one.Status, one.Starting = wire.AgentDown, true
		case c.Status == wire.CheckFailing && e.critical:
			critical = append(critical, e.name)
			criticalMsgs = append(criticalMsgs, e.name+": "+oneLine(c.Message))
			one.Status, one.Failing = wire.AgentDown, []string{e.name}
		case c.Status == wire.CheckFailing:
			other = append(other, e.name)
			one.Status, one.Failing = wire.AgentDegraded, []string{e.name}
		}
		s.checks[e.name] = encode(&one)
	}
	h.Failing = append(append([]string(nil), critical...), other...)
	switch {
	case len(pending) > 0:
		h.Status, h.Starting = wire.AgentDown, true
		s.readyz = answer{http.StatusServiceUnavailable, []byte("starting: waiting for the first run of " + strings.Join(pending, ", ") + "\n")}
	case len(critical) > 0:
		h.Status = wire.AgentDown
		s.readyz = answer{http.StatusServiceUnavailable, []byte("not ready: critical checks failing: " + strings.Join(criticalMsgs, "; ") + "\n")}
	case len(other) > 0:
		h.Status = wire.AgentDegraded
		s.readyz = answer{http.StatusOK, []byte("ready (degraded: " + strings.Join(other, ", ") + " failing, not critical)\n")}
	default:
		s.readyz = answer{http.StatusOK, []byte("ready\n")}
	}
	if len(critical) > 0 && len(pending) > 0 {
		s.readyz.body = append(s.readyz.body[:len(s.readyz.body)-1], []byte("; critical checks failing: "+strings.Join(criticalMsgs, "; ")+"\n")...)
	}
	s.healthz = encode(&h)
	r.snap.Store(s)
}

// encode is the answer of h: 503 when down, 200 otherwise.
func encode(h *wire.AgentHealth) answer {
	b, err := json.Marshal(h)
	if err != nil { // plain data: cannot happen
		b = []byte(`{"status":"down","starting":false,"checks":[]}`)
	}
	code := http.StatusOK
	if h.Status == wire.AgentDown {
		code = http.StatusServiceUnavailable
	}
	return answer{code, append(b, '\n')}
}

// wire is the check as /healthz shows it. r.mu is held.
func (e *entry) wire() wire.AgentCheck {
	c := wire.AgentCheck{Name: e.name, Kind: e.kind, Status: e.status(), Critical: e.critical}
	if !e.ran {
		return c
	}
	c.Message = e.last.Message
	c.LatencyMS = float64(e.last.Latency.Microseconds()) / 1000
	c.LastRun = e.lastRun.UTC()
	c.ConsecutiveFailures, c.ConsecutiveSuccesses = e.verdict.Failures, e.verdict.Successes
	if !e.verdict.Since.IsZero() { // zero until rise or fall settle it
		c.Since = e.verdict.Since.UTC()
	}
	return c
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		s = s[:197] + "..."
	}
	return s
}

// Handler serves /livez, /readyz and /healthz[?check=NAME] from the last
// results; no request runs a check.
func (r *Runner) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /livez", func(w http.ResponseWriter, _ *http.Request) {
		// The agent process itself answers: nothing deeper, ever, so a
		// liveness probe never restarts a pod because a dependency is down.
		text(w, answer{http.StatusOK, []byte("ok\n")})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		text(w, r.snap.Load().readyz)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, req *http.Request) {
		s := r.snap.Load()
		a := s.healthz
		if req.URL.RawQuery != "" {
			name := req.URL.Query().Get("check")
			if name == "" {
				text(w, answer{http.StatusBadRequest, []byte("unknown query; ask /healthz, or /healthz?check=NAME for one check\n")})
				return
			}
			one, ok := s.checks[name]
			if !ok {
				text(w, answer{http.StatusNotFound, []byte("no check is named " + quote(name) + "; /healthz lists them\n")})
				return
			}
			a = one
		}
		write(w, "application/json", a)
	})
	return mux
}

func quote(s string) string {
	b, _ := json.Marshal(oneLine(s))
	return string(b)
}

func text(w http.ResponseWriter, a answer) { write(w, "text/plain; charset=utf-8", a) }

func write(w http.ResponseWriter, ctype string, a answer) {
	h := w.Header()
	h["Content-Type"] = []string{ctype}
	h["Cache-Control"] = []string{"no-store"}
	w.WriteHeader(a.code)
	_, _ = w.Write(a.body)
}
