package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/heckhq/heck/internal/store"
	"github.com/heckhq/heck/internal/wire"
)

// GraphBackend is optionally implemented by a Backend that knows the
// dependency graph (internal/node does). It serves /api/v1/graph and the
// impact and cause of a target; a Backend without it answers 501 there.
type GraphBackend interface {
	// Graph returns the targets with dependencies (or that are one) and
	// their edges, with the states the node shows.
	Graph(ctx context.Context) wire.Graph
	// Impact returns what a failure of id takes down; an error wrapping
	// store.ErrNotFound when there is no such target.
	Impact(ctx context.Context, id string) (wire.Impact, error)
	// Cause returns the root causes of id's state; an error wrapping
	// store.ErrNotFound when there is no such target.
	Cause(ctx context.Context, id string) (wire.Cause, error)
}

// The graph routes' bodies (package wire).
type (
	Graph       = wire.Graph
	GraphNode   = wire.GraphNode
	GraphEdge   = wire.GraphEdge
	Impact      = wire.Impact
	CauseReport = wire.Cause
)

// TypeNoGraph is the problem type of the graph routes on a Backend that
// keeps no graph.
const TypeNoGraph = wire.TypeNoGraph

func (s *Server) graphs(w http.ResponseWriter) (GraphBackend, bool) {
	gb, ok := s.b.(GraphBackend)
	if !ok {
		writeProblem(w, problem(http.StatusNotImplemented, TypeNoGraph, "Dependency graph not supported",
			"this server keeps no dependency graph; run heck serve (a node) to use it"))
	}
	return gb, ok
}

func (s *Server) graph(w http.ResponseWriter, r *http.Request) {
	gb, ok := s.graphs(w)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, gb.Graph(r.Context()))
}

func (s *Server) graphAnswer(w http.ResponseWriter, r *http.Request, get func(GraphBackend, string) (any, error)) {
	gb, ok := s.graphs(w)
	if !ok {
		return
	}
	id := r.PathValue("id")
	out, err := get(gb, id)
	if errors.Is(err, store.ErrNotFound) {
		writeProblem(w, problem(http.StatusNotFound, TypeNotFound, "Target not found",
			fmt.Sprintf("no target with id %q; list them with GET /api/v1/targets (heck targets ls)", id)))
		return
	}
	if err != nil {
		s.internal(w, r, "dependency graph", err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) impact(w http.ResponseWriter, r *http.Request) {
	s.graphAnswer(w, r, func(gb GraphBackend, id string) (any, error) { return gb.Impact(r.Context(), id) })
}

func (s *Server) cause(w http.ResponseWriter, r *http.Request) {
	s.graphAnswer(w, r, func(gb GraphBackend, id string) (any, error) { return gb.Cause(r.Context(), id) })
}
