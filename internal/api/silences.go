package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/heckhq/heck/internal/silence"
	"github.com/heckhq/heck/internal/store"
	"github.com/heckhq/heck/internal/target"
	"github.com/heckhq/heck/internal/wire"
)

// SilenceBackend is optionally implemented by a Backend that keeps
// silences (internal/node does: a replicated collection). It serves
// /api/v1/silences; a Backend without it answers 501 there. Every method
// must be safe for concurrent use.
type SilenceBackend interface {
	// Silences lists every silence not deleted (expired ones included),
	// by id.
	Silences(ctx context.Context) []silence.Silence
	// AddSilence stores a validated silence.
	AddSilence(ctx context.Context, s silence.Silence) error
	// DeleteSilence deletes a silence; an error wrapping store.ErrNotFound
	// when there is none with id.
	DeleteSilence(ctx context.Context, id string) error
}

// Silence and SilenceRequest are the silence routes' bodies (package wire).
type (
	Silence        = wire.Silence
	SilenceRequest = wire.SilenceRequest
)

// TypeInvalidSilence is the problem type of a silence that does not
// validate; TypeNoSilences of a node that keeps none.
const (
	TypeInvalidSilence = wire.TypeInvalidSilence
	TypeNoSilences     = wire.TypeNoSilences
)

func (s *Server) silences(w http.ResponseWriter) (SilenceBackend, bool) {
	sb, ok := s.b.(SilenceBackend)
	if !ok {
		writeProblem(w, problem(http.StatusNotImplemented, TypeNoSilences, "Silences not supported",
			"this server keeps no silences; run heck serve (a node) to use them"))
	}
	return sb, ok
}

func (s *Server) listSilences(w http.ResponseWriter, r *http.Request) {
	sb, ok := s.silences(w)
	if !ok {
		return
	}
	now := time.Now()
	out := []Silence{}
	for _, x := range sb.Silences(r.Context()) {
		out = append(out, Silence{Silence: x, Active: x.Active(now)})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) addSilence(w http.ResponseWriter, r *http.Request) {
	sb, ok := s.silences(w)
	if !ok {
		return
	}
	var req SilenceRequest
	if !decodeStrict(w, r, &req, "silence", `{"target":"ID" or "selector":"k=v", "for":"2h", "reason":"..."}`) {
		return
	}
	sil, err := silence.Build(req, time.Now())
	if err != nil {
		fes, _ := target.AsFieldErrors(err)
		writeInvalid(w, TypeInvalidSilence, "silence", fes)
		return
	}
	if err := sb.AddSilence(r.Context(), sil); err != nil {
		s.internal(w, r, "store silence", err)
		return
	}
	w.Header().Set("Location", "/api/v1/silences/"+url.PathEscape(sil.ID))
	writeJSON(w, http.StatusCreated, Silence{Silence: sil, Active: sil.Active(time.Now())})
}

func (s *Server) deleteSilence(w http.ResponseWriter, r *http.Request) {
	sb, ok := s.silences(w)
	if !ok {
		return
	}
	id := r.PathValue("id")
	if err := sb.DeleteSilence(r.Context(), id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			writeProblem(w, problem(http.StatusNotFound, TypeNotFound, "Silence not found",
				fmt.Sprintf("no silence with id %q; list them with GET /api/v1/silences (heck silence ls)", id)))
			return
		}
		s.internal(w, r, "delete silence "+id, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
