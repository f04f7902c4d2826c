package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/heckhq/heck/internal/statuspage"
	"github.com/heckhq/heck/internal/store"
	"github.com/heckhq/heck/internal/target"
	"github.com/heckhq/heck/internal/wire"
)

// StatusPageBackend is optionally implemented by a Backend that keeps
// status pages. It serves /api/v1/statuspages. Not-found errors wrap
// store.ErrNotFound; validation errors are target.FieldErrors.
type StatusPageBackend interface {
	StatusPages(ctx context.Context) ([]statuspage.Page, error)
	StatusPage(ctx context.Context, id string) (statuspage.Page, error)
	PutStatusPage(ctx context.Context, p statuspage.Page, by string) error
	DeleteStatusPage(ctx context.Context, id, by string) error
}

// Problem types of the status page routes.
const (
	TypeInvalidStatusPage = wire.TypeInvalidStatusPage
	TypeNoStatusPages     = wire.TypeNoStatusPages
)

const statusPageExample = `{"id":"public", "title":"Example status", "groups":[{"name":"Website", "entries":[{"target":"web", "display_name":"Website"}]}]}`

func (s *Server) statusPages(w http.ResponseWriter) (StatusPageBackend, bool) {
	sb, ok := s.b.(StatusPageBackend)
	if !ok {
		writeProblem(w, problem(http.StatusNotImplemented, TypeNoStatusPages, "Status pages not supported",
			"this server keeps no status pages; run heck serve (a node) to use them"))
	}
	return sb, ok
}

func (s *Server) statusPageError(w http.ResponseWriter, r *http.Request, id string, err error) {
	if fes, ok := target.AsFieldErrors(err); ok {
		writeInvalid(w, TypeInvalidStatusPage, "status page", fes)
		return
	}
	if errors.Is(err, store.ErrNotFound) {
		writeProblem(w, problem(http.StatusNotFound, TypeNotFound, "Status page not found",
			fmt.Sprintf("no status page with id %q; list them with GET /api/v1/statuspages", id)))
		return
	}
	s.internal(w, r, "status page "+id, err)
}

func (s *Server) listStatusPages(w http.ResponseWriter, r *http.Request) {
	sb, ok := s.statusPages(w)
	if !ok {
		return
	}
	ps, err := sb.StatusPages(r.Context())
	if err != nil {
		s.internal(w, r, "list status pages", err)
		return
	}
	if ps == nil {
		ps = []statuspage.Page{}
	}
	writeJSON(w, http.StatusOK, ps)
}

func (s *Server) getStatusPage(w http.ResponseWriter, r *http.Request) {
	sb, ok := s.statusPages(w)
	if !ok {
		return
	}
	id := r.PathValue("id")
	p, err := sb.StatusPage(r.Context(), id)
	if err != nil {
		s.statusPageError(w, r, id, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

// putStatusPage serves POST (create: the id must be new) and PUT (create
// or replace).
func (s *Server) putStatusPage(w http.ResponseWriter, r *http.Request) {
	sb, ok := s.statusPages(w)
	if !ok {
		return
	}
	var p statuspage.Page
	if !decodeStrict(w, r, &p, "status page", statusPageExample) {
		return
	}
	id := r.PathValue("id")
	if id != "" {
		if p.ID == "" {
			p.ID = id
		}
		if p.ID != id {
			writeProblem(w, problem(http.StatusUnprocessableEntity, TypeInvalidStatusPage, "Invalid status page",
				fmt.Sprintf("the body names page %q but the path %q; use the same id, or leave id out", p.ID, id)))
			return
		}
	}
	_, err := sb.StatusPage(r.Context(), p.ID)
	exists := err == nil
	if exists && id == "" {
		writeProblem(w, problem(http.StatusConflict, TypeConflict, "Status page exists",
			fmt.Sprintf("status page %q exists; change it with PUT /api/v1/statuspages/%s", p.ID, p.ID)))
		return
	}
	if err := sb.PutStatusPage(r.Context(), p, actor(r)); err != nil {
		s.statusPageError(w, r, p.ID, err)
		return
	}
	out, err := sb.StatusPage(r.Context(), p.ID)
	if err != nil {
		s.statusPageError(w, r, p.ID, err)
		return
	}
	code := http.StatusOK
	if !exists {
		code = http.StatusCreated
		w.Header().Set("Location", "/api/v1/statuspages/"+url.PathEscape(p.ID))
	}
	writeJSON(w, code, out)
}

func (s *Server) deleteStatusPage(w http.ResponseWriter, r *http.Request) {
	sb, ok := s.statusPages(w)
	if !ok {
		return
	}
	id := r.PathValue("id")
	if err := sb.DeleteStatusPage(r.Context(), id, actor(r)); err != nil {
		s.statusPageError(w, r, id, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
