package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/heckhq/heck/internal/maintenance"
	"github.com/heckhq/heck/internal/store"
	"github.com/heckhq/heck/internal/target"
	"github.com/heckhq/heck/internal/wire"
)

// MaintenanceBackend is optionally implemented by a Backend that keeps
// maintenance windows. It serves /api/v1/maintenance.
type MaintenanceBackend interface {
	Windows(ctx context.Context) []maintenance.Window
	PutWindow(ctx context.Context, w maintenance.Window) (created bool, err error)
	// DeleteWindow: an error wrapping store.ErrNotFound when there is none.
	DeleteWindow(ctx context.Context, id string) error
}

// Window is a maintenance window as the API shows it.
type Window = wire.Window

// TypeInvalidWindow is the problem type of a window that does not validate.
const TypeInvalidWindow = wire.TypeInvalidWindow

func (s *Server) windows(w http.ResponseWriter) (MaintenanceBackend, bool) {
	mb, ok := s.b.(MaintenanceBackend)
	if !ok {
		writeProblem(w, problem(http.StatusNotImplemented, TypeNotFound, "Maintenance windows not supported",
			"this server keeps no maintenance windows; run heck serve (a node) to use them"))
	}
	return mb, ok
}

func showWindow(x maintenance.Window, now time.Time) Window {
	out := Window{Window: x, Active: x.Active(now)}
	if next, ok := x.Next(now); ok {
		out.Next = next
	}
	return out
}

func (s *Server) listWindows(w http.ResponseWriter, r *http.Request) {
	mb, ok := s.windows(w)
	if !ok {
		return
	}
	now := time.Now()
	out := []Window{}
	for _, x := range mb.Windows(r.Context()) {
		out = append(out, showWindow(x, now))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) putWindow(w http.ResponseWriter, r *http.Request) {
	mb, ok := s.windows(w)
	if !ok {
		return
	}
	var x maintenance.Window
	if !decodeStrict(w, r, &x, "maintenance window", `{"id":"nightly", "targets":["db"], "start":"2026-12-13T02:00:00Z", "duration":"1h"}`) {
		return
	}
	if id := r.PathValue("id"); id != "" {
		if x.ID == "" {
			x.ID = id
		}
		if x.ID != id {
			writeProblem(w, problem(http.StatusUnprocessableEntity, TypeInvalidWindow, "Invalid maintenance window",
				fmt.Sprintf("the body names window %q but the path %q; use the same id, or leave id out", x.ID, id)))
			return
		}
	}
	x.Origin = ""
	if err := x.Validate(); err != nil {
		fes, _ := target.AsFieldErrors(err)
		writeInvalid(w, TypeInvalidWindow, "maintenance window", fes)
		return
	}
	created, err := mb.PutWindow(r.Context(), x)
	if err != nil {
		s.internal(w, r, "store maintenance window "+x.ID, err)
		return
	}
	code := http.StatusOK
	if created {
		code = http.StatusCreated
		w.Header().Set("Location", "/api/v1/maintenance/"+url.PathEscape(x.ID))
	}
	writeJSON(w, code, showWindow(x, time.Now()))
}

func (s *Server) deleteWindow(w http.ResponseWriter, r *http.Request) {
	mb, ok := s.windows(w)
	if !ok {
		return
	}
	id := r.PathValue("id")
	if err := mb.DeleteWindow(r.Context(), id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			writeProblem(w, problem(http.StatusNotFound, TypeNotFound, "Maintenance window not found",
				fmt.Sprintf("no window with id %q; list them with GET /api/v1/maintenance (heck maintenance ls)", id)))
			return
		}
		s.internal(w, r, "delete maintenance window "+id, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
