package web

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"math"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/target"
	"github.com/heckhq/heck/internal/user"
	"github.com/heckhq/heck/internal/wire"
)

// page is what every template gets: the layout's data and the page's own.
type page struct {
	Title    string
	Site     string
	Node     string
	Nav      string
	Asset    string
	Who      visitor
	CSRF     string
	CanEdit  bool
	IsAdmin  bool
	Has      features
	Flash    string
	Problems []problemLine
	Data     any
}

// features says which optional parts the node has.
type features struct {
	Incidents, StatusPages, Users, Cluster, Graph, Pools, History, Live bool
}

// problemLine is one thing wrong with a submitted form.
type problemLine struct {
	Field, Value, Problem, Fix string
}

var funcs = template.FuncMap{
	"stateClass": func(s string) string { return "st-" + s },
	"ago":        ago,
	"stamp":      func(t time.Time) string { return stamp(t) },
	"iso": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	},
	"ms":       ms,
	"pct":      pct,
	"pathesc":  url.PathEscape,
	"queryesc": url.QueryEscape,
	"join":     strings.Join,
	"roles":    func() []user.Role { return []user.Role{user.Viewer, user.Editor, user.Admin} },
	"labels": func(m map[string]string) []string {
		out := make([]string, 0, len(m))
		for k, v := range m {
			out = append(out, k+"="+v)
		}
		sort.Strings(out)
		return out
	},
}

func (h *Handler) parse() error {
	h.pages = map[string]*template.Template{}
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/parts.html")
	if err != nil {
		return fmt.Errorf("web: parse layout: %w", err)
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return fmt.Errorf("web: list templates: %w", err)
	}
	for _, n := range names {
		b := path.Base(n)
		if b == "layout.html" || b == "parts.html" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return fmt.Errorf("web: parse %s: %w", b, err)
		}
		h.pages[strings.TrimSuffix(b, ".html")] = t
	}
	return nil
}

func (h *Handler) newPage(r *http.Request, v visitor, title, nav string, data any) *page {
	p := &page{Title: title, Site: h.o.Title, Node: h.o.NodeName, Nav: nav, Asset: h.assetTag, Who: v,
		CanEdit: v.can(user.Editor), IsAdmin: v.can(user.Admin), Data: data,
		Has: features{Incidents: h.d.Incidents != nil, StatusPages: h.d.StatusPages != nil, Users: h.d.Users != nil,
			Cluster: h.d.Members != nil || h.d.Pools != nil || h.d.Graph != nil, Graph: h.d.Graph != nil,
			Pools: h.d.Pools != nil, History: h.d.History != nil, Live: h.d.Log != nil}}
	if v.Signed && h.d.Auth != nil {
		p.CSRF = h.d.Auth.CSRFToken(r)
	}
	p.Flash = r.URL.Query().Get("flash")
	if len(p.Flash) > 200 {
		p.Flash = p.Flash[:200]
	}
	return p
}

// render writes the named page with status.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, p *page) {
	t, ok := h.pages[name]
	if !ok {
		h.log.Error("web: no template", "name", name)
		http.Error(w, "internal error: no template "+name, http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	buf.Grow(64 << 10)
	if err := t.ExecuteTemplate(&buf, "layout.html", p); err != nil {
		if r.Context().Err() == nil {
			h.log.Error("web: render", "page", name, "err", err)
		}
		http.Error(w, "internal error rendering "+name+": "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// failure is the data of the error page.
type failure struct {
	Status  int
	Heading string
	Detail  string
}

// fail answers an error page (status, a heading and what to do).
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, status int, heading, detail string) {
	h.render(w, r, status, "error", h.newPage(r, h.who(r), heading, "", failure{Status: status, Heading: heading, Detail: detail}))
}

// problemsOf turns a backend's error into lines to show beside a form:
// the field errors of a target or of a problem, or the error's text.
func problemsOf(err error) []problemLine {
	if fes, ok := target.AsFieldErrors(err); ok {
		out := make([]problemLine, 0, len(fes))
		for _, fe := range fes {
			out = append(out, problemLine{Field: fe.Field, Value: fe.Value, Problem: fe.Problem, Fix: fe.Fix})
		}
		return out
	}
	var p *wire.Problem
	if errors.As(err, &p) && len(p.Errors) > 0 {
		out := make([]problemLine, 0, len(p.Errors))
		for _, fe := range p.Errors {
			out = append(out, problemLine{Field: fe.Field, Value: fe.Value, Problem: fe.Problem, Fix: fe.Fix})
		}
		return out
	}
	return []problemLine{{Problem: err.Error()}}
}

func redirect(w http.ResponseWriter, r *http.Request, to, flash string) {
	if flash != "" {
		sep := "?"
		if strings.Contains(to, "?") {
			sep = "&"
		}
		to += sep + "flash=" + url.QueryEscape(flash)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// --- formatting ---

func ago(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	d := time.Since(t)
	switch {
	case d < 0:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh %dm ago", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd ago", int(d.Hours()/24))
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

func ms(d time.Duration) string {
	if d <= 0 {
		return "—"
	}
	f := float64(d) / float64(time.Millisecond)
	switch {
	case f < 10:
		return fmt.Sprintf("%.1f ms", f)
	case f < 10000:
		return fmt.Sprintf("%.0f ms", f)
	}
	return fmt.Sprintf("%.1f s", f/1000)
}

// pct shows an uptime share (0..1, or -1 for no checks).
func pct(f float64) string {
	if f < 0 || math.IsNaN(f) {
		return "—"
	}
	p := f * 100
	switch {
	case p >= 100:
		return "100%"
	case p >= 99.99:
		return "99.99%"
	case p >= 99:
		return fmt.Sprintf("%.2f%%", math.Floor(p*100)/100)
	}
	return fmt.Sprintf("%.1f%%", math.Floor(p*10)/10)
}

// stateName is the state a page shows: the health state, "flapping" over
// up/down when the target flaps, "stale" when the verdict is stale.
func stateName(s health.State, stale, flapping bool) string {
	switch {
	case stale && s != health.Stale:
		return health.Stale.String()
	case flapping && (s == health.Up || s == health.Down || s == health.Degraded):
		return "flapping"
	}
	return s.String()
}
