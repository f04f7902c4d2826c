package statuspage

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

//go:embed assets/page.html
var assets embed.FS

var pageTmpl = template.Must(template.New("page.html").Funcs(template.FuncMap{
	"stateText":  StateText,
	"statusText": func(s string) string { return strings.ToUpper(s[:1]) + s[1:] },
	"pct":        func(p *float64) string { return fmt.Sprintf("%.2f%%", *p) },
	"when":       func(t time.Time) string { return t.UTC().Format("2 Jan 2006 15:04 UTC") },
	"join":       strings.Join,
}).ParseFS(assets, "assets/page.html"))

// StateText is a public state in words.
func StateText(s string) string {
	switch s {
	case Operational:
		return "Operational"
	case Maintenance:
		return "Under maintenance"
	case Degraded:
		return "Degraded"
	case Outage:
		return "Outage"
	default:
		return "Unknown"
	}
}

// cacheTTL is how long a built page is served before it is built again: a
// public page is read by many and must not cost a store read per visitor.
const cacheTTL = 5 * time.Second

// Handler serves the public status pages (/status/{id}, /status/{id}.json,
// and / on a page's host name through Hosts) and the badges (/badge/...).
// It needs no login and shows only what View holds.
type Handler struct {
	src Source
	log *slog.Logger
	now func() time.Time

	mu     sync.Mutex
	cache  map[string]cached
	badges map[string]cachedBadge
}

type cachedBadge struct {
	svg []byte
	at  time.Time
}

type cached struct {
	v  *View
	at time.Time
}

// NewHandler returns a handler over src; log may be nil.
func NewHandler(src Source, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{src: src, log: log, now: time.Now, cache: map[string]cached{}, badges: map[string]cachedBadge{}}
}

// Patterns are the patterns to mount the handler at.
var Patterns = []string{"GET /status/", "GET /badge/"}

// ServeHTTP serves one request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch p := r.URL.Path; {
	case strings.HasPrefix(p, "/status/"):
		id := strings.TrimPrefix(p, "/status/")
		if j, ok := strings.CutSuffix(id, ".json"); ok {
			h.servePage(w, r, j, true)
			return
		}
		h.servePage(w, r, id, false)
	case strings.HasPrefix(p, "/badge/"):
		h.serveBadge(w, r, strings.Split(strings.TrimPrefix(p, "/badge/"), "/"))
	default:
		http.NotFound(w, r)
	}
}

// Hosts serves GET / (and /index.json) of a request whose Host is some
// page's host name as that page, and passes every other request to next:
// mounted in front of the UI, a page's own host name shows the page.
func (h *Handler) Hosts(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if (r.URL.Path == "/" || r.URL.Path == "/index.json") && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			host := strings.ToLower(r.Host)
			if hh, _, err := net.SplitHostPort(host); err == nil {
				host = hh
			}
			host = strings.TrimSuffix(host, ".")
			if host != "" {
				for _, p := range h.src.Pages(r.Context()) {
					if p.Host != "" && strings.TrimSuffix(p.Host, ".") == host {
						h.servePage(w, r, p.ID, r.URL.Path == "/index.json")
						return
					}
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

func (h *Handler) page(ctx context.Context, id string) (*Page, bool) {
	for _, p := range h.src.Pages(ctx) {
		if p.ID == id {
			return &p, true
		}
	}
	return nil, false
}

// view returns the page's view, built at most cacheTTL ago.
func (h *Handler) view(ctx context.Context, p *Page) (*View, error) {
	now := h.now()
	key := p.ID
	if b, err := json.Marshal(p); err == nil {
		key = string(b) // a changed page is built again at once
	}
	h.mu.Lock()
	c, ok := h.cache[key]
	h.mu.Unlock()
	if ok && now.Sub(c.at) < cacheTTL {
		return c.v, nil
	}
	v, err := Build(ctx, h.src, p, now)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	for k, c := range h.cache {
		if now.Sub(c.at) >= cacheTTL {
			delete(h.cache, k)
		}
	}
	h.cache[key] = cached{v: v, at: now}
	h.mu.Unlock()
	return v, nil
}

func (h *Handler) servePage(w http.ResponseWriter, r *http.Request, id string, asJSON bool) {
	p, ok := h.page(r.Context(), id)
	if !ok {
		w.Header().Set("Cache-Control", "no-store")
		http.Error(w, "no such status page", http.StatusNotFound)
		return
	}
	v, err := h.view(r.Context(), p)
	if err != nil {
		// The reason names internal things: logged, never shown.
		h.log.Error("status page", "page", id, "err", err)
		w.Header().Set("Cache-Control", "no-store")
		http.Error(w, "the status page cannot be shown right now; try again in a minute", http.StatusServiceUnavailable)
		return
	}
	hd := w.Header()
	hd.Set("Cache-Control", fmt.Sprintf("public, max-age=%d", int(cacheTTL.Seconds())))
	hd.Set("X-Content-Type-Options", "nosniff")
	if asJSON {
		hd.Set("Content-Type", "application/json")
		hd.Set("Access-Control-Allow-Origin", "*") // for embedding on other sites
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(v)
		return
	}
	var buf bytes.Buffer
	if err := pageTmpl.Execute(&buf, v); err != nil {
		h.log.Error("render status page", "page", id, "err", err)
		http.Error(w, "the status page cannot be shown right now", http.StatusInternalServerError)
		return
	}
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; frame-ancestors *")
	hd.Set("Referrer-Policy", "no-referrer")
	_, _ = w.Write(buf.Bytes())
}
