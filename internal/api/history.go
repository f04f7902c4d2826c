package api

import (
	"compress/gzip"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/heckhq/heck/internal/history"
	"github.com/heckhq/heck/internal/store"
	"github.com/heckhq/heck/internal/target"
)

const scopeFix = "set scope to cluster (every member's records, the default) or local (this node's own)"

// parseScope reads ?scope=, cluster when absent.
func parseScope(q url.Values) (Scope, *FieldProblem) {
	switch v := q.Get("scope"); v {
	case "", string(ScopeCluster):
		return ScopeCluster, nil
	case string(ScopeLocal):
		return ScopeLocal, nil
	default:
		return "", &FieldProblem{Field: "scope", Value: v, Problem: "is not a scope", Fix: scopeFix}
	}
}

// --- handlers ---

func (s *Server) history(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	from, to, step, p := parseRange(q, time.Now())
	scope, fp := parseScope(q)
	if fp != nil {
		var errs []FieldProblem
		if p != nil {
			errs = p.Errors
		}
		p = queryProblem(append(errs, *fp)...)
	}
	if p != nil {
		writeProblem(w, p)
		return
	}
	id, ok := s.exists(w, r)
	if !ok {
		return
	}
	pts, cov, err := s.b.History(r.Context(), id, from, to, step, scope)
	if err != nil {
		s.backendErr(w, r, id, "history", err)
		return
	}
	if pts == nil {
		pts = []history.Point{}
	}
	writeJSON(w, http.StatusOK, HistoryResponse{TargetID: id, From: from, To: to, Step: target.Duration(step),
		Points: pts, Coverage: cov})
}

func (s *Server) uptime(w http.ResponseWriter, r *http.Request) {
	scope, fp := parseScope(r.URL.Query())
	if fp != nil {
		writeProblem(w, queryProblem(*fp))
		return
	}
	id, ok := s.exists(w, r)
	if !ok {
		return
	}
	u, cov, err := s.b.Uptime(r.Context(), id, scope)
	if err != nil {
		s.backendErr(w, r, id, "uptime", err)
		return
	}
	writeJSON(w, http.StatusOK, UptimeResponse{TargetID: id, Uptime: u, Coverage: cov})
}

// rollups serves GET /api/v1/targets/{id}/rollups?from=&to=&step=&scope=local:
// this node's own rollups in the compact form of RollupsResponse, gzipped
// when the client accepts it.
func (s *Server) rollups(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	now := time.Now()
	var errs []FieldProblem
	to, ok := parseTime(q.Get("to"), now, now)
	if !ok {
		errs = append(errs, FieldProblem{Field: "to", Value: q.Get("to"), Problem: "is not a time", Fix: timeFix})
	}
	from, ok := parseTime(q.Get("from"), to.Add(-DefaultHistoryRange), now)
	if !ok {
		errs = append(errs, FieldProblem{Field: "from", Value: q.Get("from"), Problem: "is not a time", Fix: timeFix})
	}
	step := time.Minute
	if v := q.Get("step"); v != "" {
		d, err := target.ParseDuration(v)
		if err != nil || d < time.Minute || d%time.Minute != 0 {
			errs = append(errs, FieldProblem{Field: "step", Value: v, Problem: "is not a whole number of minutes",
				Fix: "use a step of whole minutes such as 1m (the default), 5m or 24h"})
		} else {
			step = d
		}
	}
	if v := q.Get("scope"); v != "" && v != string(ScopeLocal) {
		errs = append(errs, FieldProblem{Field: "scope", Value: v, Problem: "is not local",
			Fix: "leave scope out or set it to local: rollups are one node's own; GET /api/v1/targets/{id}/history?scope=cluster merges every member's"})
	}
	pending := false
	switch v := q.Get("pending"); v {
	case "", "false":
	case "true":
		pending = true
	default:
		errs = append(errs, FieldProblem{Field: "pending", Value: v, Problem: "is not true or false",
			Fix: "set pending=true for only the records the node has not stored yet, or leave it out"})
	}
	from, to = ceilSecond(from), ceilSecond(to)
	if len(errs) == 0 {
		switch {
		case !from.Before(to):
			errs = append(errs, FieldProblem{Field: "from", Value: q.Get("from"), Problem: "is not before to (" + to.Format(time.RFC3339) + ")",
				Fix: "set from earlier than to"})
		case (to.Sub(from)+step-1)/step > MaxRollupGroups:
			errs = append(errs, FieldProblem{Field: "step", Value: step.String(),
				Problem: "makes more than " + strconv.Itoa(MaxRollupGroups) + " groups over " + to.Sub(from).String(),
				Fix:     "use a larger step or a shorter range"})
		}
	}
	if len(errs) > 0 {
		writeProblem(w, queryProblem(errs...))
		return
	}
	id, ok := s.exists(w, r)
	if !ok {
		return
	}
	var rs []store.Rollup
	var err error
	if pb, ok := s.b.(PendingBackend); ok && pending {
		rs, err = pb.PendingRollups(r.Context(), id, from, to, step)
	} else {
		rs, err = s.b.Rollups(r.Context(), id, from, to, step)
	}
	if err != nil {
		s.backendErr(w, r, id, "rollups", err)
		return
	}
	body := RollupsResponse{TargetID: id, Node: s.nodeName, From: from, To: to, Step: step, Rollups: rs}
	writeCompressible(w, r, http.StatusOK, "application/json", body.AppendJSON(nil))
}

// ceilSecond rounds t up to a whole second: a minute (a whole second)
// starts at or after t exactly when it does at or after ceilSecond(t).
func ceilSecond(t time.Time) time.Time {
	if t.Nanosecond() == 0 {
		return t
	}
	return t.Truncate(time.Second).Add(time.Second)
}

// gzipMin is the smallest body worth compressing.
const gzipMin = 1024

// fastGzipPool holds writers at gzip.BestSpeed: on a cluster read the
// compression is on the critical path.
var fastGzipPool = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed) // a valid level never fails
	return w
}}

// writeCompressible writes body, gzipped when the client accepts gzip and
// the body is large enough to gain from it.
func writeCompressible(w http.ResponseWriter, r *http.Request, status int, contentType string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Add("Vary", "Accept-Encoding")
	if len(body) < gzipMin || !acceptsGzip(r) {
		h.Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(status)
		_, _ = w.Write(body)
		return
	}
	h.Set("Content-Encoding", "gzip")
	w.WriteHeader(status)
	gz := fastGzipPool.Get().(*gzip.Writer)
	gz.Reset(w)
	_, _ = gz.Write(body)
	_ = gz.Close()
	gz.Reset(nil)
	fastGzipPool.Put(gz)
}

// acceptsGzip reports whether the client takes a gzip-encoded answer.
func acceptsGzip(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept-Encoding") {
		for part := range strings.SplitSeq(v, ",") {
			if enc, _, _ := strings.Cut(strings.TrimSpace(part), ";"); strings.EqualFold(enc, "gzip") {
				return true
			}
		}
	}
	return false
}
