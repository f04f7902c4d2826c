package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/heckhq/heck/internal/user"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Handler serves the UI. It is an http.Handler; mount it at "/".
type Handler struct {
	d     Deps
	o     Options
	log   *slog.Logger
	mux   *http.ServeMux
	pages map[string]*template.Template
	stats *statsCache
	// done ends the live streams (Close).
	done    chan struct{}
	closeMu sync.Once
	// assetTag busts caches of the static files when the binary changes.
	assetTag string
}

// New returns the UI over d. It fails only when d.Targets is nil or a
// template does not parse (a bug caught by the tests).
func New(d Deps, o Options) (*Handler, error) {
	if d.Targets == nil {
		return nil, errors.New("web: Deps.Targets is required")
	}
	if o.Title == "" {
		o.Title = "heck"
	}
	if o.PageSize <= 0 {
		o.PageSize = 100
	}
	if o.StatsTTL <= 0 {
		o.StatsTTL = 30 * time.Second
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Handler{d: d, o: o, log: log, mux: http.NewServeMux(), done: make(chan struct{}),
		stats: newStatsCache(o.StatsTTL), assetTag: assetHash()}
	if err := h.parse(); err != nil {
		return nil, err
	}
	h.routes()
	return h, nil
}

// ServeHTTP serves one request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'")
	h.mux.ServeHTTP(w, r)
}

// Close ends every live stream; call it before http.Server.Shutdown.
func (h *Handler) Close() { h.closeMu.Do(func() { close(h.done) }) }

func (h *Handler) routes() {
	m := h.mux
	static, _ := fs.Sub(staticFS, "static")
	m.Handle("GET /assets/", http.StripPrefix("/assets/", cacheForever(http.FileServerFS(static))))
	m.HandleFunc("GET /{$}", h.view(h.dashboard))
	m.HandleFunc("GET /ui/events", h.view(h.events))
	m.HandleFunc("GET /ui/rows", h.view(h.rowsFragment))
	m.HandleFunc("GET /targets/{id}", h.view(h.targetPage))
	m.HandleFunc("GET /new/target", h.edit(user.Editor, h.targetForm))
	m.HandleFunc("POST /new/target", h.edit(user.Editor, h.saveTarget))
	m.HandleFunc("GET /targets/{id}/edit", h.edit(user.Editor, h.targetForm))
	m.HandleFunc("POST /targets/{id}/edit", h.edit(user.Editor, h.saveTarget))
	m.HandleFunc("POST /targets/{id}/delete", h.edit(user.Editor, h.deleteTarget))
	m.HandleFunc("GET /cluster", h.view(h.clusterPage))
	m.HandleFunc("GET /incidents", h.view(h.incidentsPage))
	m.HandleFunc("GET /incidents/new", h.edit(user.Editor, h.incidentForm))
	m.HandleFunc("POST /incidents/new", h.edit(user.Editor, h.createIncident))
	m.HandleFunc("GET /incidents/{id}", h.view(h.incidentPage))
	m.HandleFunc("POST /incidents/{id}/updates", h.edit(user.Editor, h.postUpdate))
	m.HandleFunc("POST /incidents/{id}/delete", h.edit(user.Editor, h.deleteIncident))
	m.HandleFunc("POST /transitions/{id}/incident", h.edit(user.Editor, h.incidentFromTransition))
	m.HandleFunc("GET /statuspages", h.view(h.statusPagesPage))
	m.HandleFunc("GET /statuspages/new", h.edit(user.Editor, h.statusPageForm))
	m.HandleFunc("POST /statuspages/new", h.edit(user.Editor, h.saveStatusPage))
	m.HandleFunc("GET /statuspages/{id}/edit", h.edit(user.Editor, h.statusPageForm))
	m.HandleFunc("POST /statuspages/{id}/edit", h.edit(user.Editor, h.saveStatusPage))
	m.HandleFunc("POST /statuspages/{id}/delete", h.edit(user.Editor, h.deleteStatusPage))
	m.HandleFunc("GET /users", h.edit(user.Admin, h.usersPage))
	m.HandleFunc("POST /users/invite", h.edit(user.Admin, h.invite))
	m.HandleFunc("POST /users/{name}/role", h.edit(user.Admin, h.setRole))
	m.HandleFunc("POST /users/{name}/delete", h.edit(user.Admin, h.deleteUser))
	m.HandleFunc("GET /invite", h.invitePage)
	m.HandleFunc("POST /invite", h.acceptInvite)
	m.HandleFunc("GET /login", h.loginPage)
	m.HandleFunc("POST /login", h.login)
	m.HandleFunc("POST /logout", h.logout)
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		h.fail(w, r, http.StatusNotFound, "Not found", fmt.Sprintf("there is no page at %s; start from the dashboard", r.URL.Path))
	})
}

// assetHash names the embedded assets' version, for cache busting.
func assetHash() string {
	sum := sha256.New()
	_ = fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := staticFS.ReadFile(p)
			sum.Write([]byte(p))
			sum.Write(b)
		}
		return nil
	})
	return hex.EncodeToString(sum.Sum(nil))[:12]
}

func cacheForever(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("v") != "" {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		next.ServeHTTP(w, r)
	})
}

// --- who and what they may do ---

// visitor is who a request acts as, and whether anyone signed in.
type visitor struct {
	P      user.Principal
	Signed bool
}

// Name and Role are the principal's, for the templates.
func (v visitor) Name() string    { return v.P.Name }
func (v visitor) Role() user.Role { return v.P.Role }

func (v visitor) can(need user.Role) bool { return v.Signed && v.P.Role.Allows(need) }

func (h *Handler) who(r *http.Request) visitor {
	if h.d.Auth != nil {
		if p, ok := h.d.Auth.Principal(r); ok {
			return visitor{P: p, Signed: true}
		}
	}
	return visitor{}
}

type pageFunc func(w http.ResponseWriter, r *http.Request, v visitor)

// view serves a read-only page to anyone signed in, or to anyone at all
// when reads are open; others are sent to the login page.
func (h *Handler) view(f pageFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v := h.who(r)
		if !v.Signed && !h.o.OpenReads {
			h.toLogin(w, r)
			return
		}
		f(w, r, v)
	}
}

// edit serves a page or form that needs role need: the role is checked on
// every method, and an unsafe one must carry the session's CSRF token.
func (h *Handler) edit(need user.Role, f pageFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v := h.who(r)
		if !v.Signed {
			if r.Method == http.MethodGet {
				h.toLogin(w, r)
				return
			}
			h.fail(w, r, http.StatusForbidden, "Sign in to change things",
				"this needs a signed-in "+string(need)+"; sign in at /login")
			return
		}
		if !v.can(need) {
			h.fail(w, r, http.StatusForbidden, "Not allowed",
				fmt.Sprintf("%s is a %s; this needs the %s role (an admin can change roles on the users page)", v.P.Name, v.P.Role, need))
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if err := h.d.Auth.CheckCSRF(r); err != nil {
				h.fail(w, r, http.StatusForbidden, "Form expired or forged",
					"the form's CSRF token is missing or wrong ("+err.Error()+"); reload the page and submit it again")
				return
			}
		}
		f(w, r, v)
	}
}

func (h *Handler) toLogin(w http.ResponseWriter, r *http.Request) {
	if h.d.Auth == nil {
		h.fail(w, r, http.StatusUnauthorized, "Sign-in is not available",
			"this node has no users configured and its API is not open for reads; run heck user add --name admin --role admin on the node, or open the UI on the node's loopback address")
		return
	}
	http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
}

// sameOrigin reports whether an unsafe request without a session (a
// login, an invite's acceptance) comes from a page of this host: the
// Origin header, when sent, must name it.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" || o == "null" {
		return o == ""
	}
	u, err := url.Parse(o)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

// safeNext is a local path to go to after a login, or "/".
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	return next
}
