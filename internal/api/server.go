package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/heckhq/heck/internal/events"
	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/heartbeat"
	"github.com/heckhq/heck/internal/store"
	"github.com/heckhq/heck/internal/target"
)

// Options configure a Server.
type Options struct {
	// Token is the bearer token mutations (and, off loopback, reads) need.
	Token string
	// OpenReads serves reads without a token even off loopback.
	OpenReads bool
	// LoopbackOnly says the server listens only on loopback addresses:
	// reads are open, and with no Token so are mutations.
	LoopbackOnly bool
	// Metrics serves GET /metrics (behind the read rules); internal/metrics
	// builds it. Nil: /metrics answers 404.
	Metrics http.Handler
	// Logger for request errors; nil discards.
	Logger *slog.Logger
	// Heartbeat is the interval of comments on the event stream (default
	// 15s).
	Heartbeat time.Duration
	// NodeName names this node in GET /api/v1/members when the Backend is
	// not a ClusterBackend (default: the host name).
	NodeName string
}

// Server serves the API. It is an http.Handler.
type Server struct {
	b       Backend
	opts    Options
	log     *slog.Logger
	mux     *http.ServeMux
	token   [sha256.Size]byte
	hasTok  bool
	done    chan struct{}
	closeMu sync.Once
	// nodeName is Options.NodeName or the host name.
	nodeName string
	// pings limits unknown-token pings per source.
	pings pingLimiter
}

// New returns a server over b.
func New(b Backend, opts Options) *Server {
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = 15 * time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{b: b, opts: opts, log: log, mux: http.NewServeMux(), done: make(chan struct{}), nodeName: opts.NodeName}
	if s.nodeName == "" {
		s.nodeName = hostName()
	}
	if opts.Token != "" {
		s.token = sha256.Sum256([]byte(opts.Token))
		s.hasTok = true
	}
	s.routes()
	return s
}

// Handle registers h for pattern on the server's mux, beside the API: the
// web UI ("/"), public status pages ("/status/") and badges ("/badge/") are
// mounted this way, and do their own access checks. It must be called
// before the server serves.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// ServeHTTP serves one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Close ends every open event stream; call it before http.Server.Shutdown
// (or register it with RegisterOnShutdown), which waits for them.
func (s *Server) Close() { s.closeMu.Do(func() { close(s.done) }) }

func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("GET /livez", func(w http.ResponseWriter, r *http.Request) { writeText(w, http.StatusOK, "ok") })
	m.HandleFunc("GET /readyz", s.readyz)
	m.Handle("GET /metrics", s.read(s.metricsHandler()))

	m.Handle("GET /api/v1/targets", s.read(http.HandlerFunc(s.listTargets)))
	m.Handle("POST /api/v1/targets", s.mutate(http.HandlerFunc(s.addTarget)))
	m.Handle("GET /api/v1/targets/{id}", s.read(http.HandlerFunc(s.getTarget)))
	m.Handle("PUT /api/v1/targets/{id}", s.mutate(http.HandlerFunc(s.putTarget)))
	m.Handle("DELETE /api/v1/targets/{id}", s.mutate(http.HandlerFunc(s.deleteTarget)))
	m.Handle("GET /api/v1/targets/{id}/history", s.read(http.HandlerFunc(s.history)))
	m.Handle("GET /api/v1/targets/{id}/uptime", s.read(http.HandlerFunc(s.uptime)))
	m.Handle("GET /api/v1/targets/{id}/rollups", s.read(http.HandlerFunc(s.rollups)))
	m.Handle("GET /api/v1/targets/{id}/transitions", s.read(http.HandlerFunc(s.transitions)))
	m.Handle("GET /api/v1/targets/{id}/impact", s.read(http.HandlerFunc(s.impact)))
	m.Handle("GET /api/v1/targets/{id}/cause", s.read(http.HandlerFunc(s.cause)))
	m.Handle("GET /api/v1/graph", s.read(http.HandlerFunc(s.graph)))
	m.Handle("GET /api/v1/transitions", s.read(http.HandlerFunc(s.allTransitions)))
	m.Handle("GET /api/v1/audit", s.read(http.HandlerFunc(s.audit)))
	m.Handle("GET /api/v1/events", s.read(http.HandlerFunc(s.events)))
	m.Handle("GET /api/v1/silences", s.read(http.HandlerFunc(s.listSilences)))
	m.Handle("POST /api/v1/silences", s.mutate(http.HandlerFunc(s.addSilence)))
	m.Handle("DELETE /api/v1/silences/{id}", s.mutate(http.HandlerFunc(s.deleteSilence)))
	for _, p := range []string{"GET /ping/{token}", "POST /ping/{token}", "GET /ping/{token}/{action}", "POST /ping/{token}/{action}"} {
		m.HandleFunc(p, s.ping)
	}
	m.Handle("GET /api/v1/maintenance", s.read(http.HandlerFunc(s.listWindows)))
	m.Handle("POST /api/v1/maintenance", s.mutate(http.HandlerFunc(s.putWindow)))
	m.Handle("PUT /api/v1/maintenance/{id}", s.mutate(http.HandlerFunc(s.putWindow)))
	m.Handle("DELETE /api/v1/maintenance/{id}", s.mutate(http.HandlerFunc(s.deleteWindow)))
	m.Handle("GET /api/v1/notifications", s.read(http.HandlerFunc(s.listDeliveries)))
	m.Handle("GET /api/v1/notifiers", s.read(http.HandlerFunc(s.listNotifiers)))
	m.Handle("POST /api/v1/notifiers", s.mutate(http.HandlerFunc(s.addNotifier)))
	m.Handle("GET /api/v1/notifiers/{id}", s.read(http.HandlerFunc(s.getNotifier)))
	m.Handle("PUT /api/v1/notifiers/{id}", s.mutate(http.HandlerFunc(s.putNotifier)))
	m.Handle("DELETE /api/v1/notifiers/{id}", s.mutate(http.HandlerFunc(s.deleteNotifier)))
	m.Handle("POST /api/v1/notifiers/{id}/test", s.mutate(http.HandlerFunc(s.testNotifier)))
	m.Handle("GET /api/v1/pools", s.read(http.HandlerFunc(s.listPools)))
	m.Handle("POST /api/v1/pools", s.mutate(http.HandlerFunc(s.addPool)))
	m.Handle("GET /api/v1/pools/{pool}", s.read(http.HandlerFunc(s.getPool)))
	m.Handle("PUT /api/v1/pools/{pool}", s.mutate(http.HandlerFunc(s.putPool)))
	m.Handle("DELETE /api/v1/pools/{pool}", s.mutate(http.HandlerFunc(s.deletePool)))
	m.Handle("GET /api/v1/pools/{pool}/healthy", s.read(http.HandlerFunc(s.healthyMembers)))
	m.Handle("GET /api/v1/pools/{pool}/pick", s.read(http.HandlerFunc(s.pick)))
	m.Handle("GET /api/v1/incidents", s.read(http.HandlerFunc(s.listIncidents)))
	m.Handle("POST /api/v1/incidents", s.mutate(http.HandlerFunc(s.createIncident)))
	m.Handle("GET /api/v1/incidents/{id}", s.read(http.HandlerFunc(s.getIncident)))
	m.Handle("PUT /api/v1/incidents/{id}", s.mutate(http.HandlerFunc(s.putIncident)))
	m.Handle("DELETE /api/v1/incidents/{id}", s.mutate(http.HandlerFunc(s.deleteIncident)))
	m.Handle("POST /api/v1/incidents/{id}/updates", s.mutate(http.HandlerFunc(s.postIncidentUpdate)))
	m.Handle("POST /api/v1/transitions/{id}/incident", s.mutate(http.HandlerFunc(s.incidentFromTransition)))
	m.Handle("GET /api/v1/statuspages", s.read(http.HandlerFunc(s.listStatusPages)))
	m.Handle("POST /api/v1/statuspages", s.mutate(http.HandlerFunc(s.putStatusPage)))
	m.Handle("GET /api/v1/statuspages/{id}", s.read(http.HandlerFunc(s.getStatusPage)))
	m.Handle("PUT /api/v1/statuspages/{id}", s.mutate(http.HandlerFunc(s.putStatusPage)))
	m.Handle("DELETE /api/v1/statuspages/{id}", s.mutate(http.HandlerFunc(s.deleteStatusPage)))
	m.Handle("GET /api/v1/members", s.read(http.HandlerFunc(s.members)))
	m.Handle("POST /api/v1/members/join", s.mutate(http.HandlerFunc(s.join)))
	m.Handle("POST /api/v1/leave", s.mutate(http.HandlerFunc(s.leave)))
	m.Handle("GET /api/v1/keys", s.read(http.HandlerFunc(s.listKeys)))
	m.Handle("POST /api/v1/keys/install", s.mutate(http.HandlerFunc(s.installKey)))
	m.Handle("POST /api/v1/keys/use", s.mutate(http.HandlerFunc(s.useKey)))
	m.Handle("POST /api/v1/keys/remove", s.mutate(http.HandlerFunc(s.removeKey)))
	for path, allow := range map[string]string{
		"/api/v1/targets":                  "GET, POST",
		"/api/v1/targets/{id}":             "GET, PUT, DELETE",
		"/api/v1/targets/{id}/history":     "GET",
		"/api/v1/targets/{id}/uptime":      "GET",
		"/api/v1/targets/{id}/rollups":     "GET",
		"/api/v1/targets/{id}/transitions": "GET",
		"/api/v1/targets/{id}/impact":      "GET",
		"/api/v1/targets/{id}/cause":       "GET",
		"/api/v1/graph":                    "GET",
		"/api/v1/transitions":              "GET",
		"/api/v1/audit":                    "GET",
		"/api/v1/events":                   "GET",
		"/api/v1/silences":                 "GET, POST",
		"/api/v1/silences/{id}":            "DELETE",
		"/api/v1/members":                  "GET",
		"/api/v1/members/join":             "POST",
		"/api/v1/leave":                    "POST",
		"/api/v1/keys":                     "GET",
		"/api/v1/keys/install":             "POST",
		"/api/v1/keys/use":                 "POST",
		"/api/v1/keys/remove":              "POST",
	} {
		m.HandleFunc(path, methodNotAllowed(allow))
	}
	for path, allow := range map[string]string{
		"/api/v1/incidents":                 "GET, POST",
		"/api/v1/incidents/{id}":            "GET, PUT, DELETE",
		"/api/v1/incidents/{id}/updates":    "POST",
		"/api/v1/transitions/{id}/incident": "POST",
		"/api/v1/statuspages":               "GET, POST",
		"/api/v1/statuspages/{id}":          "GET, PUT, DELETE",
	} {
		m.HandleFunc(path, methodNotAllowed(allow))
	}
	m.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, problem(http.StatusNotFound, TypeNotFound, "Not found",
			fmt.Sprintf("no API route %s %s; see /api/v1/targets", r.Method, r.URL.Path)))
	})
}

func methodNotAllowed(allow string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		writeProblem(w, problem(http.StatusMethodNotAllowed, TypeMethodNotAllow, "Method not allowed",
			fmt.Sprintf("%s is not allowed on %s; use %s", r.Method, r.URL.Path, allow)))
	}
}

// --- access ---

func (s *Server) tokenOK(r *http.Request) (present, ok bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, found := strings.Cut(h, " ")
	if !found || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return h != "", false
	}
	if !s.hasTok {
		return true, false
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	return true, subtle.ConstantTimeCompare(sum[:], s.token[:]) == 1
}

func (s *Server) authorize(w http.ResponseWriter, r *http.Request, what string) bool {
	if !s.hasTok {
		writeProblem(w, problem(http.StatusForbidden, TypeTokenRequired, "API token not configured",
			what+" need a bearer token when the API listens beyond loopback, and none is configured; set api.token in the config (for example \"${HECK_API_TOKEN}\") and send it as \"Authorization: Bearer <token>\""))
		return false
	}
	present, ok := s.tokenOK(r)
	if ok {
		return true
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="heck"`)
	detail := what + " need \"Authorization: Bearer <token>\" with the token of api.token (the CLI reads --token or HECK_API_TOKEN)"
	if present {
		detail = "the bearer token is wrong; send the token of api.token (the CLI reads --token or HECK_API_TOKEN)"
	}
	writeProblem(w, problem(http.StatusUnauthorized, TypeUnauthorized, "Unauthorized", detail))
	return false
}

func (s *Server) read(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.opts.OpenReads || s.opts.LoopbackOnly || s.authorize(w, r, "reads") {
			h.ServeHTTP(w, r)
		}
	})
}

func (s *Server) mutate(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if (s.opts.LoopbackOnly && !s.hasTok) || s.authorize(w, r, "changes") {
			h.ServeHTTP(w, r)
		}
	})
}

// --- health ---

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	if err := s.b.Ready(ctx); err != nil {
		writeText(w, http.StatusServiceUnavailable, "not ready: "+err.Error())
		return
	}
	writeText(w, http.StatusOK, "ok")
}

// --- targets ---

func (s *Server) listTargets(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f, p := parseFilter(q)
	if p != nil {
		writeProblem(w, p)
		return
	}
	all := s.b.Targets(r.Context())
	out := make([]TargetStatus, 0, len(all))
	for _, t := range all {
		if f.match(&t) {
			t.Recent = nil
			out = append(out, show(r, t))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	writeJSON(w, http.StatusOK, TargetList{Targets: out})
}

type filter struct {
	state  *health.State
	kind   target.Kind
	labels [][2]string
}

func parseFilter(q url.Values) (filter, *Problem) {
	var f filter
	var errs []FieldProblem
	if v := q.Get("state"); v != "" {
		st, err := health.ParseState(v)
		if err != nil {
			errs = append(errs, FieldProblem{Field: "state", Value: v, Problem: "is not a state",
				Fix: "use one of unknown, up, down, degraded, impacted, late, stale"})
		} else {
			f.state = &st
		}
	}
	if v := q.Get("kind"); v != "" {
		known := false
		for _, k := range target.Kinds {
			known = known || string(k) == v
		}
		if !known {
			errs = append(errs, FieldProblem{Field: "kind", Value: v, Problem: "is not a known kind",
				Fix: "use one of " + kindNames()})
		}
		f.kind = target.Kind(v)
	}
	for _, v := range q["label"] {
		k, val, ok := strings.Cut(v, "=")
		if !ok || k == "" {
			errs = append(errs, FieldProblem{Field: "label", Value: v, Problem: "is not name=value",
				Fix: "write label=name=value, such as label=env=prod"})
			continue
		}
		f.labels = append(f.labels, [2]string{k, val})
	}
	for k := range q {
		switch k {
		case "state", "kind", "label":
		default:
			errs = append(errs, FieldProblem{Field: k, Problem: "is not a filter of targets",
				Fix: "filter with state=, kind= or label=name=value"})
		}
	}
	if len(errs) > 0 {
		sort.SliceStable(errs, func(i, j int) bool { return errs[i].Field < errs[j].Field })
		return f, queryProblem(errs...)
	}
	return f, nil
}

func kindNames() string {
	n := make([]string, len(target.Kinds))
	for i, k := range target.Kinds {
		n[i] = string(k)
	}
	return strings.Join(n, ", ")
}

func (f *filter) match(t *TargetStatus) bool {
	if f.state != nil && t.State != *f.state {
		return false
	}
	if f.kind != "" && t.Kind != f.kind {
		return false
	}
	for _, l := range f.labels {
		if v, ok := t.Labels[l[0]]; !ok || v != l[1] {
			return false
		}
	}
	return true
}

// show makes t fit to show to the client of r: redacted, with the ping URL
// of a heartbeat target.
func show(r *http.Request, t TargetStatus) TargetStatus {
	t = redact(t)
	t.PingURL = pingURL(r, &t)
	return t
}

// redact makes t fit to show: the spec without secrets.
func redact(t TargetStatus) TargetStatus {
	t.Spec = t.Spec.Redact()
	return t
}

func (s *Server) getTarget(w http.ResponseWriter, r *http.Request) {
	t, ok := s.b.Target(r.Context(), r.PathValue("id"))
	if !ok {
		writeNotFound(w, r.PathValue("id"))
		return
	}
	writeJSON(w, http.StatusOK, show(r, t))
}

func writeNotFound(w http.ResponseWriter, id string) {
	writeProblem(w, problem(http.StatusNotFound, TypeNotFound, targetNotFoundTitle,
		fmt.Sprintf("no target has id %q; list targets with GET /api/v1/targets (heck targets ls)", id)))
}

// specFromRequest reads, decodes and validates the target in r's body.
// pathID, when set, is the id of the URL, which the body must agree with.
func (s *Server) specFromRequest(w http.ResponseWriter, r *http.Request, pathID string) (target.Spec, bool) {
	body, p := readBody(w, r)
	if p != nil {
		writeProblem(w, p)
		return target.Spec{}, false
	}
	spec, written, p := DecodeTargetWritten(body)
	if p != nil {
		writeProblem(w, p)
		return spec, false
	}
	var fes target.FieldErrors
	if pathID != "" {
		switch {
		case spec.ID == "":
			spec.ID = pathID
		case spec.ID != pathID:
			fes = append(fes, target.FieldError{Field: "id", Value: spec.ID,
				Problem: "differs from the id in the URL (" + pathID + ")", Fix: "leave id out or make it match the URL"})
		}
	}
	spec.Origin = ""
	if h := spec.Heartbeat; spec.Kind == target.KindHeartbeat && h != nil && h.Token == "" {
		// A heartbeat keeps its ping URL across a replace; a new one gets
		// a fresh token.
		h.Token = heartbeat.NewToken()
		if cur, ok := s.b.Target(r.Context(), spec.ID); ok && cur.Spec.Heartbeat != nil && cur.Spec.Heartbeat.Token != "" {
			h.Token = cur.Spec.Heartbeat.Token
		}
	}
	fes = append(fes, spec.ValidateWritten(written)...)
	fes = append(fes, redactedPlaceholders(&spec)...)
	if len(fes) > 0 {
		writeValidation(w, fes)
		return spec, false
	}
	return spec, true
}

// redactedPlaceholders refuses specs that carry the redaction placeholder,
// as a spec read back from the API and sent again would: storing it would
// replace the secret with the placeholder.
func redactedPlaceholders(s *target.Spec) target.FieldErrors {
	var fes target.FieldErrors
	fix := "send the real value, or a ${VAR} reference to an environment variable of the node"
	if strings.Contains(s.URL, target.Redacted) {
		fes = append(fes, target.FieldError{Field: "url", Problem: "contains the redaction placeholder " + target.Redacted, Fix: fix})
	}
	if s.HTTP != nil {
		names := make([]string, 0, len(s.HTTP.Headers))
		for k, v := range s.HTTP.Headers {
			if strings.Contains(v, target.Redacted) {
				names = append(names, k)
			}
		}
		sort.Strings(names)
		for _, k := range names {
			fes = append(fes, target.FieldError{Field: "http.headers." + k, Problem: "is the redaction placeholder " + target.Redacted, Fix: fix})
		}
	}
	return fes
}

func writeValidation(w http.ResponseWriter, fes target.FieldErrors) {
	writeInvalid(w, TypeInvalidTarget, "target", fes)
}

// writeInvalid answers 422 listing every field problem of a noun (target,
// silence, pool...).
func writeInvalid(w http.ResponseWriter, typ, noun string, fes target.FieldErrors) {
	p := problem(http.StatusUnprocessableEntity, typ, "Invalid "+noun,
		fmt.Sprintf("%d problem(s) with the %s; fix each field listed in errors", len(fes), noun))
	p.Errors = fieldProblems(fes)
	writeProblem(w, p)
}

// decodeStrict reads the request's body into v, refusing unknown fields;
// on a problem it answers it and returns false. example shows a valid body.
func decodeStrict(w http.ResponseWriter, r *http.Request, v any, noun, example string) bool {
	body, p := readBody(w, r)
	if p != nil {
		writeProblem(w, p)
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeProblem(w, problem(http.StatusBadRequest, TypeInvalidJSON, "Invalid JSON",
			fmt.Sprintf("the %s does not decode: %v; send %s", noun, err, example)))
		return false
	}
	return true
}

func (s *Server) addTarget(w http.ResponseWriter, r *http.Request) {
	spec, ok := s.specFromRequest(w, r, "")
	if !ok {
		return
	}
	if _, exists := s.b.Target(r.Context(), spec.ID); exists {
		writeProblem(w, problem(http.StatusConflict, TypeConflict, "Target exists",
			fmt.Sprintf("a target with id %q exists; change it with PUT /api/v1/targets/%s, or pick another id", spec.ID, url.PathEscape(spec.ID))))
		return
	}
	s.store(w, r, spec, true)
}

func (s *Server) putTarget(w http.ResponseWriter, r *http.Request) {
	spec, ok := s.specFromRequest(w, r, r.PathValue("id"))
	if !ok {
		return
	}
	s.store(w, r, spec, false)
}

func (s *Server) store(w http.ResponseWriter, r *http.Request, spec target.Spec, post bool) {
	created, err := s.b.PutTarget(r.Context(), spec)
	if err != nil {
		if fes, ok := target.AsFieldErrors(err); ok {
			writeValidation(w, fes)
			return
		}
		s.internal(w, r, "store target "+spec.ID, err)
		return
	}
	st, ok := s.b.Target(r.Context(), spec.ID)
	if !ok {
		st = StatusOf(spec)
	}
	code := http.StatusOK
	if created || post {
		code = http.StatusCreated
		w.Header().Set("Location", "/api/v1/targets/"+url.PathEscape(spec.ID))
	}
	writeJSON(w, code, show(r, st))
}

func (s *Server) deleteTarget(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := s.b.DeleteTarget(r.Context(), id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			writeNotFound(w, id)
			return
		}
		s.internal(w, r, "delete target "+id, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// exists answers 404 when the target of the path does not exist.
func (s *Server) exists(w http.ResponseWriter, r *http.Request) (string, bool) {
	id := r.PathValue("id")
	if _, ok := s.b.Target(r.Context(), id); !ok {
		writeNotFound(w, id)
		return id, false
	}
	return id, true
}

func (s *Server) backendErr(w http.ResponseWriter, r *http.Request, id, what string, err error) {
	if errors.Is(err, store.ErrNotFound) {
		writeNotFound(w, id)
		return
	}
	s.internal(w, r, what+" of "+id, err)
}

// Transition listing limits.
const (
	DefaultTransitionLimit = 50
	MaxTransitionLimit     = 1000
)

// transitionLimit reads ?limit=, writing the problem when it is bad.
func transitionLimit(w http.ResponseWriter, r *http.Request) (int, bool) {
	limit := DefaultTransitionLimit
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxTransitionLimit {
			writeProblem(w, queryProblem(FieldProblem{Field: "limit", Value: v, Problem: "is not a number from 1 to 1000",
				Fix: "set limit to a whole number from 1 to 1000 (default 50)"}))
			return 0, false
		}
		limit = n
	}
	return limit, true
}

// timeParam reads the query parameter name as an RFC 3339 time or a
// duration back from now ("1h"), writing the problem when it is neither.
// Absent, it is the zero time.
func timeParam(w http.ResponseWriter, r *http.Request, name string) (time.Time, bool) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return time.Time{}, true
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, true
	}
	if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return time.Now().Add(-d), true
	}
	writeProblem(w, queryProblem(FieldProblem{Field: name, Value: v, Problem: "is neither an RFC 3339 time nor a duration",
		Fix: "set " + name + " to a time such as 2026-01-02T15:04:05Z or a duration back from now such as 1h"}))
	return time.Time{}, false
}

// allTransitions serves GET /api/v1/transitions?since=&until=&target=&limit=:
// every target's transitions (or one's) in [since, until), newest first.
// since and until are RFC 3339 times or durations back from now ("1h").
func (s *Server) allTransitions(w http.ResponseWriter, r *http.Request) {
	s.listEvents(w, r, false)
}

// audit serves GET /api/v1/audit?since=&until=&target=&type=&limit=: the
// events of the log, state transitions (type "transition") and every other
// type (ejection, pool_panic, pool_recovered, ...), newest first.
func (s *Server) audit(w http.ResponseWriter, r *http.Request) {
	s.listEvents(w, r, true)
}

// eventTypes are the event types GET /api/v1/audit?type= takes.
var eventTypes = []string{store.TypeTransition, events.TypeEjection, events.TypePoolPanic, events.TypePoolRecovered, events.TypeConfig, events.TypeMember}

func (s *Server) listEvents(w http.ResponseWriter, r *http.Request, all bool) {
	limit, ok := transitionLimit(w, r)
	if !ok {
		return
	}
	q := store.TransitionQuery{TargetID: r.URL.Query().Get("target"), Limit: limit, Events: all}
	if typ := r.URL.Query().Get("type"); all && typ != "" {
		if !slices.Contains(eventTypes, typ) {
			writeProblem(w, queryProblem(FieldProblem{Field: "type", Value: typ, Problem: "is not an event type",
				Fix: "use one of " + strings.Join(eventTypes, ", ")}))
			return
		}
		q.Type = typ
	}
	var okSince, okUntil bool
	if q.From, okSince = timeParam(w, r, "since"); !okSince {
		return
	}
	if q.To, okUntil = timeParam(w, r, "until"); !okUntil {
		return
	}
	ts, err := s.b.QueryTransitions(r.Context(), q)
	if err != nil {
		s.internal(w, r, "transitions", err)
		return
	}
	if ts == nil {
		ts = []events.Transition{}
	}
	writeJSON(w, http.StatusOK, TransitionList{Transitions: ts})
}

func (s *Server) transitions(w http.ResponseWriter, r *http.Request) {
	limit, ok := transitionLimit(w, r)
	if !ok {
		return
	}
	id, ok := s.exists(w, r)
	if !ok {
		return
	}
	ts, err := s.b.Transitions(r.Context(), id, limit)
	if err != nil {
		s.backendErr(w, r, id, "transitions", err)
		return
	}
	if ts == nil {
		ts = []events.Transition{}
	}
	writeJSON(w, http.StatusOK, TransitionList{TargetID: id, Transitions: ts})
}

func (s *Server) internal(w http.ResponseWriter, r *http.Request, what string, err error) {
	if r.Context().Err() != nil {
		return // the client went away
	}
	s.log.Error("api: "+what, "err", err, "method", r.Method, "path", r.URL.Path)
	writeProblem(w, problem(http.StatusInternalServerError, TypeInternal, "Internal error",
		what+" failed: "+err.Error()))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func writeText(w http.ResponseWriter, status int, s string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(s + "\n"))
}
