package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/heckhq/heck/internal/incident"
	"github.com/heckhq/heck/internal/store"
	"github.com/heckhq/heck/internal/target"
	"github.com/heckhq/heck/internal/wire"
)

// IncidentBackend is optionally implemented by a Backend that keeps
// incidents. It serves /api/v1/incidents and
// POST /api/v1/transitions/{id}/incident. Not-found errors wrap
// store.ErrNotFound; validation errors are target.FieldErrors.
type IncidentBackend interface {
	Incidents(ctx context.Context) ([]incident.Incident, error)
	Incident(ctx context.Context, id string) (incident.Incident, error)
	// PutIncident assigns ID and Created when they are empty.
	PutIncident(ctx context.Context, in incident.Incident, by string) (incident.Incident, error)
	PostUpdate(ctx context.Context, id string, u incident.Update) (incident.Incident, error)
	DeleteIncident(ctx context.Context, id, by string) error
	IncidentFromTransition(ctx context.Context, transitionID, by string) (incident.Incident, error)
}

// Problem types of the incident routes.
const (
	TypeInvalidIncident = wire.TypeInvalidIncident
	TypeNoIncidents     = wire.TypeNoIncidents
)

// NewIncident is the body of POST /api/v1/incidents: an incident, and
// optionally the message of its first update, or only the id of a
// transition to open it from.
type NewIncident struct {
	incident.Incident
	// Message, when set, is posted as the first update (with Status, or
	// investigating).
	Message string `json:"message,omitempty"`
}

func (s *Server) incidents(w http.ResponseWriter) (IncidentBackend, bool) {
	ib, ok := s.b.(IncidentBackend)
	if !ok {
		writeProblem(w, problem(http.StatusNotImplemented, TypeNoIncidents, "Incidents not supported",
			"this server keeps no incidents; run heck serve (a node) to use them"))
	}
	return ib, ok
}

// incidentError answers an error of the backend.
func (s *Server) incidentError(w http.ResponseWriter, r *http.Request, what, id string, err error) {
	if fes, ok := target.AsFieldErrors(err); ok {
		writeInvalid(w, TypeInvalidIncident, "incident", fes)
		return
	}
	if errors.Is(err, store.ErrNotFound) {
		writeProblem(w, problem(http.StatusNotFound, TypeNotFound, "Not found",
			fmt.Sprintf("no %s with id %q; list incidents with GET /api/v1/incidents, transitions with GET /api/v1/transitions", what, id)))
		return
	}
	s.internal(w, r, what+" "+id, err)
}

func (s *Server) listIncidents(w http.ResponseWriter, r *http.Request) {
	ib, ok := s.incidents(w)
	if !ok {
		return
	}
	q := r.URL.Query()
	want := q.Get("status")
	var errs []FieldProblem
	if want != "" && want != "open" && want != "resolved" {
		errs = append(errs, FieldProblem{Field: "status", Value: want, Problem: "is not open or resolved", Fix: "use status=open or status=resolved, or leave it out for all"})
	}
	for k := range q {
		if k != "status" {
			errs = append(errs, FieldProblem{Field: k, Problem: "is not a filter of incidents", Fix: "filter with status=open or status=resolved"})
		}
	}
	if len(errs) > 0 {
		writeProblem(w, queryProblem(errs...))
		return
	}
	all, err := ib.Incidents(r.Context())
	if err != nil {
		s.internal(w, r, "list incidents", err)
		return
	}
	out := []incident.Incident{}
	for _, in := range all {
		if want == "" || (want == "open") == in.Open() {
			out = append(out, in)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getIncident(w http.ResponseWriter, r *http.Request) {
	ib, ok := s.incidents(w)
	if !ok {
		return
	}
	id := r.PathValue("id")
	in, err := ib.Incident(r.Context(), id)
	if err != nil {
		s.incidentError(w, r, "incident", id, err)
		return
	}
	writeJSON(w, http.StatusOK, in)
}

const incidentExample = `{"title":"Checkout is slow", "impact":"minor", "targets":["web"], "message":"We are looking into it"}`

func (s *Server) createIncident(w http.ResponseWriter, r *http.Request) {
	ib, ok := s.incidents(w)
	if !ok {
		return
	}
	var body NewIncident
	if !decodeStrict(w, r, &body, "incident", incidentExample+` (or {"transition":"ID"} to open one from a transition)`) {
		return
	}
	by := actor(r)
	var in incident.Incident
	var err error
	if body.Transition != "" && body.Title == "" && len(body.Updates) == 0 && body.Message == "" {
		in, err = ib.IncidentFromTransition(r.Context(), body.Transition, by)
		if err != nil {
			s.incidentError(w, r, "transition", body.Transition, err)
			return
		}
	} else {
		if body.ID != "" {
			if _, err := ib.Incident(r.Context(), body.ID); err == nil {
				writeProblem(w, problem(http.StatusConflict, TypeConflict, "Incident exists",
					fmt.Sprintf("incident %q exists; change it with PUT /api/v1/incidents/%s, or leave id out to get a new one", body.ID, body.ID)))
				return
			}
		}
		in = body.Incident
		if body.Message != "" {
			st := in.Status
			if st == "" {
				st = incident.Investigating
			}
			in.Updates = append(in.Updates, incident.Update{Status: st, Message: body.Message, By: by})
			in.Status = ""
		}
		in, err = ib.PutIncident(r.Context(), in, by)
		if err != nil {
			s.incidentError(w, r, "incident", body.ID, err)
			return
		}
	}
	w.Header().Set("Location", "/api/v1/incidents/"+url.PathEscape(in.ID))
	writeJSON(w, http.StatusCreated, in)
}

func (s *Server) putIncident(w http.ResponseWriter, r *http.Request) {
	ib, ok := s.incidents(w)
	if !ok {
		return
	}
	var in incident.Incident
	if !decodeStrict(w, r, &in, "incident", incidentExample) {
		return
	}
	id := r.PathValue("id")
	if in.ID == "" {
		in.ID = id
	}
	if in.ID != id {
		writeProblem(w, problem(http.StatusUnprocessableEntity, TypeInvalidIncident, "Invalid incident",
			fmt.Sprintf("the body names incident %q but the path %q; use the same id, or leave id out", in.ID, id)))
		return
	}
	_, err := ib.Incident(r.Context(), id)
	created := errors.Is(err, store.ErrNotFound)
	out, err := ib.PutIncident(r.Context(), in, actor(r))
	if err != nil {
		s.incidentError(w, r, "incident", id, err)
		return
	}
	code := http.StatusOK
	if created {
		code = http.StatusCreated
		w.Header().Set("Location", "/api/v1/incidents/"+url.PathEscape(out.ID))
	}
	writeJSON(w, code, out)
}

func (s *Server) deleteIncident(w http.ResponseWriter, r *http.Request) {
	ib, ok := s.incidents(w)
	if !ok {
		return
	}
	id := r.PathValue("id")
	if err := ib.DeleteIncident(r.Context(), id, actor(r)); err != nil {
		s.incidentError(w, r, "incident", id, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) postIncidentUpdate(w http.ResponseWriter, r *http.Request) {
	ib, ok := s.incidents(w)
	if !ok {
		return
	}
	var u incident.Update
	if !decodeStrict(w, r, &u, "update", `{"status":"identified", "message":"A bad deploy; rolling back"}`) {
		return
	}
	if u.By == "" {
		u.By = actor(r)
	}
	id := r.PathValue("id")
	in, err := ib.PostUpdate(r.Context(), id, u)
	if err != nil {
		s.incidentError(w, r, "incident", id, err)
		return
	}
	writeJSON(w, http.StatusCreated, in)
}

func (s *Server) incidentFromTransition(w http.ResponseWriter, r *http.Request) {
	ib, ok := s.incidents(w)
	if !ok {
		return
	}
	id := r.PathValue("id")
	in, err := ib.IncidentFromTransition(r.Context(), id, actor(r))
	if err != nil {
		s.incidentError(w, r, "transition", id, err)
		return
	}
	w.Header().Set("Location", "/api/v1/incidents/"+url.PathEscape(in.ID))
	writeJSON(w, http.StatusCreated, in)
}
