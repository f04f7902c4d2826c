package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/heckhq/heck/internal/api"
	"github.com/heckhq/heck/internal/events"
	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/heartbeat"
	"github.com/heckhq/heck/internal/history"
	"github.com/heckhq/heck/internal/store"
	"github.com/heckhq/heck/internal/target"
	"github.com/heckhq/heck/internal/wire"
)

// chartRange is one choice of the response-time chart.
type chartRange struct {
	Name string
	Span time.Duration
	Step time.Duration
}

var chartRanges = []chartRange{
	{"1h", time.Hour, time.Minute},
	{"6h", 6 * time.Hour, 5 * time.Minute},
	{"24h", 24 * time.Hour, 15 * time.Minute},
	{"7d", 7 * 24 * time.Hour, 2 * time.Hour},
	{"30d", 30 * 24 * time.Hour, 6 * time.Hour},
}

type vantage struct {
	Observer string
	State    string
	At       time.Time
	Latency  time.Duration
	Message  string
}

type targetView struct {
	T           wire.TargetStatus
	State       string
	Spec        target.Spec // redacted
	SpecJSON    string
	Ranges      []chartRange
	Range       string
	Chart       any
	Bar         any
	Uptime      history.Uptime
	Coverage    wire.Coverage
	Transitions []events.Transition
	Vantages    []vantage
	DependsOn   []depLink
	Dependents  []depLink
}

type depLink struct {
	ID, State string
	Critical  bool
}

func (h *Handler) targetPage(w http.ResponseWriter, r *http.Request, v visitor) {
	ctx := r.Context()
	id := r.PathValue("id")
	ts, ok := h.d.Targets.Target(ctx, id)
	if !ok {
		h.fail(w, r, http.StatusNotFound, "No such target", "no target has id "+strconv.Quote(id)+"; find it on the dashboard")
		return
	}
	now := time.Now()
	flapping := h.flappingSet(ctx, now)[id]
	tv := targetView{T: ts, State: stateName(ts.State, ts.Stale, flapping), Spec: ts.Spec.Redact(), Ranges: chartRanges,
		Uptime: history.Uptime{Day: -1, Week: -1, Month: -1}}
	if b, err := json.MarshalIndent(tv.Spec, "", "  "); err == nil {
		tv.SpecJSON = string(b)
	}
	rg := chartRanges[2]
	for _, c := range chartRanges {
		if c.Name == r.URL.Query().Get("range") {
			rg = c
		}
	}
	tv.Range = rg.Name
	if h.d.History != nil {
		to := now.Truncate(rg.Step).Add(rg.Step)
		from := to.Add(-rg.Span)
		if pts, cov, err := h.d.History.History(ctx, id, from, to, rg.Step, wire.ScopeCluster); err == nil {
			tv.Chart, tv.Coverage = latencyChart(pts, from, to), cov
		} else {
			h.log.Warn("web: history", "target", id, "err", err)
		}
		dayTo := now.UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
		dayFrom := dayTo.Add(-90 * 24 * time.Hour)
		if pts, _, err := h.d.History.History(ctx, id, dayFrom, dayTo, 24*time.Hour, wire.ScopeCluster); err == nil {
			tv.Bar = uptimeBar(daysOf(pts, dayFrom, 90))
		}
		if u, _, err := h.d.History.Uptime(ctx, id, wire.ScopeCluster); err == nil {
			tv.Uptime = u
		}
	}
	if h.d.Transitions != nil {
		if trs, err := h.d.Transitions.QueryTransitions(ctx, store.TransitionQuery{TargetID: id, Limit: 50}); err == nil {
			for _, t := range trs {
				if t.Type == "" {
					tv.Transitions = append(tv.Transitions, t)
				}
			}
		}
	}
	if h.d.Vantages != nil {
		for _, o := range h.d.Vantages.Observations(ctx, id) {
			if o.Released {
				continue
			}
			tv.Vantages = append(tv.Vantages, vantage{Observer: o.Observer, State: o.State.String(), At: o.At, Latency: o.Latency, Message: o.Message})
		}
	}
	// The node's own probes may not be in the replicated table it reads:
	// the verdict's observer is a vantage point too.
	if ts.Last != nil && ts.Observer != "" && !slices.ContainsFunc(tv.Vantages, func(v vantage) bool { return v.Observer == ts.Observer }) {
		st := health.Down.String()
		if ts.Last.OK {
			st = health.Up.String()
		}
		tv.Vantages = append(tv.Vantages, vantage{Observer: ts.Observer, State: st, At: ts.Last.At, Latency: ts.Last.Latency, Message: ts.Last.Message})
		sort.Slice(tv.Vantages, func(i, j int) bool { return tv.Vantages[i].Observer < tv.Vantages[j].Observer })
	}
	states := map[string]string{}
	var edges []wire.GraphEdge
	if h.d.Graph != nil {
		g := h.d.Graph.Graph(ctx)
		for _, n := range g.Nodes {
			states[n.ID] = n.State.String()
		}
		edges = g.Edges
	}
	for _, d := range ts.Spec.DependsOn {
		tv.DependsOn = append(tv.DependsOn, depLink{ID: d.Target, State: states[d.Target], Critical: d.IsCritical()})
	}
	for _, e := range edges {
		if e.To == id {
			tv.Dependents = append(tv.Dependents, depLink{ID: e.From, State: states[e.From], Critical: e.Critical})
		}
	}
	sort.Slice(tv.Dependents, func(i, j int) bool { return tv.Dependents[i].ID < tv.Dependents[j].ID })
	title := ts.ID
	if ts.Name != "" {
		title = ts.Name
	}
	h.render(w, r, http.StatusOK, "target", h.newPage(r, v, title, "dashboard", tv))
}

// --- the target form ---

// targetForm is the add/edit form: the common fields, or the whole spec
// as JSON (for a new target).
type targetForm struct {
	New        bool
	ID, Name   string
	Kind       string
	URL        string
	Address    string
	Interval   string
	Timeout    string
	Rise, Fall string
	Labels     string
	DependsOn  string
	JSON       string
	Kinds      []target.Kind
	Action     string
}

func formOf(s *target.Spec) targetForm {
	f := targetForm{ID: s.ID, Name: s.Name, Kind: string(s.Kind), URL: s.URL, Address: s.Address}
	if s.Interval.D() > 0 {
		f.Interval = s.Interval.D().String()
	}
	if s.Timeout.D() > 0 {
		f.Timeout = s.Timeout.D().String()
	}
	if s.Rise > 0 {
		f.Rise = strconv.Itoa(s.Rise)
	}
	if s.Fall > 0 {
		f.Fall = strconv.Itoa(s.Fall)
	}
	var ls []string
	for k, v := range s.Labels {
		ls = append(ls, k+"="+v)
	}
	sort.Strings(ls)
	f.Labels = strings.Join(ls, ", ")
	var ds []string
	for _, d := range s.DependsOn {
		n := d.Target
		if !d.IsCritical() {
			n += "?"
		}
		ds = append(ds, n)
	}
	f.DependsOn = strings.Join(ds, ", ")
	return f
}

func (h *Handler) targetForm(w http.ResponseWriter, r *http.Request, v visitor) {
	f := targetForm{New: true, Kind: string(target.KindHTTP), Action: "/new/target"}
	title := "Add a target"
	if id := r.PathValue("id"); id != "" {
		ts, ok := h.d.Targets.Target(r.Context(), id)
		if !ok {
			h.fail(w, r, http.StatusNotFound, "No such target", "no target has id "+strconv.Quote(id))
			return
		}
		red := ts.Spec.Redact()
		f = formOf(&red)
		f.Action = "/targets/" + url.PathEscape(id) + "/edit"
		title = "Edit " + id
	}
	f.Kinds = target.Kinds
	h.render(w, r, http.StatusOK, "targetform", h.newPage(r, v, title, "dashboard", f))
}

// saveTarget adds or changes a target from the form, through the same
// decoding and validation as the API's.
func (h *Handler) saveTarget(w http.ResponseWriter, r *http.Request, v visitor) {
	ctx := r.Context()
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, http.StatusBadRequest, "Bad form", "the form does not parse: "+err.Error())
		return
	}
	pathID := r.PathValue("id")
	f := targetForm{New: pathID == "", ID: strings.TrimSpace(r.PostFormValue("id")), Name: strings.TrimSpace(r.PostFormValue("name")),
		Kind: r.PostFormValue("kind"), URL: strings.TrimSpace(r.PostFormValue("url")), Address: strings.TrimSpace(r.PostFormValue("address")),
		Interval: strings.TrimSpace(r.PostFormValue("interval")), Timeout: strings.TrimSpace(r.PostFormValue("timeout")),
		Rise: strings.TrimSpace(r.PostFormValue("rise")), Fall: strings.TrimSpace(r.PostFormValue("fall")),
		Labels: r.PostFormValue("labels"), DependsOn: r.PostFormValue("depends_on"), JSON: strings.TrimSpace(r.PostFormValue("json")),
		Kinds: target.Kinds, Action: r.URL.Path}
	var cur *target.Spec
	if pathID != "" {
		ts, ok := h.d.Targets.Target(ctx, pathID)
		if !ok {
			h.fail(w, r, http.StatusNotFound, "No such target", "no target has id "+strconv.Quote(pathID))
			return
		}
		cur = &ts.Spec
		f.ID = pathID
	}
	spec, probs := buildSpec(&f, cur)
	if len(probs) == 0 && f.New {
		if _, exists := h.d.Targets.Target(ctx, spec.ID); exists {
			probs = []problemLine{{Field: "id", Value: spec.ID, Problem: "is taken by another target", Fix: "pick another id, or edit that target"}}
		}
	}
	if len(probs) == 0 {
		if _, err := h.d.Targets.PutTarget(ctx, spec); err != nil {
			probs = problemsOf(err)
		}
	}
	if len(probs) > 0 {
		p := h.newPage(r, v, "Fix the target", "dashboard", f)
		p.Problems = probs
		h.render(w, r, http.StatusUnprocessableEntity, "targetform", p)
		return
	}
	h.stats.put(spec.ID, stats{})
	redirect(w, r, "/targets/"+url.PathEscape(spec.ID), "saved")
}

// buildSpec makes the spec the form describes: the JSON when given, else
// the fields over cur (so an edit keeps what the form does not show, and
// secrets it shows redacted).
func buildSpec(f *targetForm, cur *target.Spec) (target.Spec, []problemLine) {
	if f.JSON != "" && cur == nil {
		spec, written, p := api.DecodeTargetWritten([]byte(f.JSON))
		if p != nil {
			return spec, problemsOfProblem(p)
		}
		spec.Origin = ""
		return withToken(spec, nil), linesOf(spec.ValidateWritten(written))
	}
	var probs []problemLine
	spec := target.Spec{}
	if cur != nil {
		spec = cur.Clone()
	}
	spec.ID, spec.Name, spec.Kind = f.ID, f.Name, target.Kind(f.Kind)
	red := spec.Redact()
	if cur == nil || f.URL != red.URL {
		spec.URL = f.URL
	}
	spec.Address = f.Address
	dur := func(field, s string, into *target.Duration) {
		if s == "" {
			*into = 0
			return
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			probs = append(probs, problemLine{Field: field, Value: s, Problem: "is not a duration", Fix: "write a duration such as 10s or 1m"})
			return
		}
		*into = target.Duration(d)
	}
	dur("interval", f.Interval, &spec.Interval)
	dur("timeout", f.Timeout, &spec.Timeout)
	num := func(field, s string, into *int) {
		if s == "" {
			*into = 0
			return
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			probs = append(probs, problemLine{Field: field, Value: s, Problem: "is not a whole number", Fix: "write a number such as 2"})
			return
		}
		*into = n
	}
	num("rise", f.Rise, &spec.Rise)
	num("fall", f.Fall, &spec.Fall)
	spec.Labels = nil
	for _, l := range splitList(f.Labels) {
		k, val, ok := strings.Cut(l, "=")
		if !ok || strings.TrimSpace(k) == "" {
			probs = append(probs, problemLine{Field: "labels", Value: l, Problem: "is not name=value", Fix: "write labels as env=prod, team=web"})
			continue
		}
		if spec.Labels == nil {
			spec.Labels = map[string]string{}
		}
		spec.Labels[strings.TrimSpace(k)] = strings.TrimSpace(val)
	}
	spec.DependsOn = nil
	for _, d := range splitList(f.DependsOn) {
		dep := target.Dependency{Target: strings.TrimSuffix(d, "?")}
		if strings.HasSuffix(d, "?") {
			no := false
			dep.Critical = &no
		}
		spec.DependsOn = append(spec.DependsOn, dep)
	}
	if len(probs) > 0 {
		return spec, probs
	}
	spec = withToken(spec, cur)
	// The form writes only the keys it has fields for: a blank one means
	// the default, and the rest is kept as it was.
	return spec, linesOf(spec.Validate())
}

// withToken gives a heartbeat target its ping token: the current one on
// an edit, else a fresh one (as the API does).
func withToken(spec target.Spec, cur *target.Spec) target.Spec {
	if spec.Kind != target.KindHeartbeat {
		return spec
	}
	if spec.Heartbeat == nil {
		spec.Heartbeat = &target.HeartbeatOptions{}
	}
	if spec.Heartbeat.Token == "" {
		spec.Heartbeat.Token = heartbeat.NewToken()
		if cur != nil && cur.Heartbeat != nil && cur.Heartbeat.Token != "" {
			spec.Heartbeat.Token = cur.Heartbeat.Token
		}
	}
	return spec
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' }) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func linesOf(fes target.FieldErrors) []problemLine {
	if len(fes) == 0 {
		return nil
	}
	return problemsOf(fes)
}

func problemsOfProblem(p *wire.Problem) []problemLine {
	if len(p.Errors) == 0 {
		return []problemLine{{Problem: p.Title + ": " + p.Detail}}
	}
	return problemsOf(p)
}

func (h *Handler) deleteTarget(w http.ResponseWriter, r *http.Request, v visitor) {
	id := r.PathValue("id")
	if err := h.d.Targets.DeleteTarget(r.Context(), id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			h.fail(w, r, http.StatusNotFound, "No such target", "no target has id "+strconv.Quote(id))
			return
		}
		h.log.Error("web: delete target", "target", id, "err", err)
		h.fail(w, r, http.StatusInternalServerError, "Delete failed", "deleting "+id+" failed: "+err.Error())
		return
	}
	redirect(w, r, "/", "deleted "+id)
}
