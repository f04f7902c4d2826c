package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/heckhq/heck/internal/user"
	"github.com/heckhq/heck/internal/wire"
)

// Authenticator tells who a request acts as; internal/auth implements it.
type Authenticator interface {
	// Principal returns who r acts as (session cookie, user token or the
	// api.token); ok false when anonymous or the credentials are wrong.
	Principal(r *http.Request) (user.Principal, bool)
	// CheckCSRF verifies an unsafe session request carries its token.
	CheckCSRF(r *http.Request) error
	// Password checks a user's password (rate limited, like a login).
	Password(ctx context.Context, name, password, remote string) (user.Principal, error)
	// HasUsers reports whether any user exists.
	HasUsers() bool
}

// rateLimited is how an Authenticator's Password says it refused for the
// rate, and for how long (internal/auth.RateLimitError is one).
type rateLimited interface {
	error
	RateLimited() time.Duration
}

// principal returns who r acts as, and whether r carried credentials at
// all (a bearer token or a valid session).
func (s *Server) principal(r *http.Request) (p user.Principal, ok, present bool) {
	present = r.Header.Get("Authorization") != ""
	if s.opts.Auth != nil {
		p, ok = s.opts.Auth.Principal(r)
		return p, ok, present || ok
	}
	if _, good := s.tokenOK(r); good {
		return user.Principal{Name: "api-token", Role: user.Admin, Via: "api-token"}, true, true
	}
	return user.Principal{}, false, present
}

func (s *Server) hasUsers() bool { return s.opts.Auth != nil && s.opts.Auth.HasUsers() }

// openTo reports whether need is open to anonymous requests: reads when
// open_reads or on loopback; changes on loopback when neither api.token
// nor any user exists (a fresh install, where heck user add makes the
// first admin). Once a user exists, changes need a principal even on
// loopback, as in Grafana: a role means nothing if anyone on the host can
// bypass it.
func (s *Server) openTo(need user.Role) bool {
	if need == user.Viewer {
		return s.opts.OpenReads || s.opts.LoopbackOnly
	}
	return s.opts.LoopbackOnly && !s.hasTok && !s.hasUsers()
}

// access serves h to requests whose principal has the need role (or, as
// anonymous, when openTo(need)). basic also takes HTTP Basic credentials
// (a user's name and password), for minting a token from the command
// line. A session's unsafe request must carry its CSRF token.
func (s *Server) access(need user.Role, basic bool, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok, present := s.principal(r)
		if !ok && basic && s.opts.Auth != nil {
			if name, pw, isBasic := r.BasicAuth(); isBasic {
				bp, err := s.opts.Auth.Password(r.Context(), name, pw, r.RemoteAddr)
				if err != nil {
					var rl rateLimited
					if errors.As(err, &rl) {
						w.Header().Set("Retry-After", strconv.Itoa(int(rl.RateLimited().Seconds())+1))
						writeProblem(w, problem(http.StatusTooManyRequests, wire.TypeRateLimited, "Too many attempts", err.Error()))
						return
					}
					w.Header().Set("WWW-Authenticate", `Basic realm="heck"`)
					writeProblem(w, problem(http.StatusUnauthorized, TypeUnauthorized, "Unauthorized", err.Error()))
					return
				}
				p, ok = bp, true
			}
		}
		if !ok {
			if s.openTo(need) {
				h.ServeHTTP(w, r)
				return
			}
			s.refuse(w, r, need, present)
			return
		}
		if p.Via == "session" {
			if err := s.opts.Auth.CheckCSRF(r); err != nil {
				writeProblem(w, problem(http.StatusForbidden, wire.TypeCSRF, "CSRF token missing or wrong",
					"a change made with a session cookie must carry the session's CSRF token in the X-CSRF-Token header (or the csrf form field); "+err.Error()))
				return
			}
		}
		if !p.Role.Allows(need) {
			writeProblem(w, problem(http.StatusForbidden, wire.TypeForbidden, "Forbidden",
				fmt.Sprintf("%s is %s; %s %s needs the %s role; ask an admin to change your role (heck user add, or the users page)",
					p.Name, article(p.Role), r.Method, r.URL.Path, need)))
			return
		}
		h.ServeHTTP(w, r.WithContext(user.WithPrincipal(r.Context(), p)))
	})
}

func article(r user.Role) string {
	if r == user.Admin || r == user.Editor {
		return "an " + string(r)
	}
	return "a " + string(r)
}

// refuse answers a request without the credentials need asks for.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, need user.Role, present bool) {
	what := "changes"
	switch {
	case need == user.Viewer:
		what = "reads"
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		what = fmt.Sprintf("reads of %s (role %s)", r.URL.Path, need)
	}
	if !s.hasTok && !s.hasUsers() {
		writeProblem(w, problem(http.StatusForbidden, TypeTokenRequired, "API token not configured",
			what+" need a bearer token when the API listens beyond loopback, and none is configured; set api.token in the config (for example \"${HECK_API_TOKEN}\") and send it as \"Authorization: Bearer <token>\", or add a user (heck user add) and use a token of theirs (heck token create)"))
		return
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="heck"`)
	detail := what + " need \"Authorization: Bearer <token>\" with the token of api.token or a user's token (heck token create), or a session (log in); the CLI reads --token or HECK_API_TOKEN"
	if present {
		detail = "the bearer token is wrong; send the token of api.token or a user's token (the CLI reads --token or HECK_API_TOKEN)"
	}
	writeProblem(w, problem(http.StatusUnauthorized, TypeUnauthorized, "Unauthorized", detail))
}

// admin serves h to admins (notifiers, keys, members, users).
func (s *Server) admin(h http.Handler) http.Handler { return s.access(user.Admin, false, h) }
