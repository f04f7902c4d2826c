package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/heckhq/heck/internal/pool"
	"github.com/heckhq/heck/internal/store"
	"github.com/heckhq/heck/internal/target"
	"github.com/heckhq/heck/internal/wire"
)

// PoolBackend is optionally implemented by a Backend that keeps pools
// (internal/node does: a replicated collection, evaluated against the
// cluster's verdicts). It serves /api/v1/pools; a Backend without it
// answers 501 there. Every method must be safe for concurrent use.
type PoolBackend interface {
	// PoolViews lists every pool evaluated, by name.
	PoolViews(ctx context.Context) []pool.View
	// PoolView returns one pool evaluated; false when there is none.
	PoolView(name string) (pool.View, bool)
	// Pick chooses a member: ok false when the pool does not exist,
	// picked false when it has nothing consumers may get.
	Pick(name string, s pool.Strategy, zone string) (m pool.Member, v pool.View, ok, picked bool)
	// PutPool stores a validated pool; created says it is new.
	PutPool(ctx context.Context, spec pool.Spec) (created bool, err error)
	// DeletePool deletes a pool; an error wrapping store.ErrNotFound when
	// there is none.
	DeletePool(ctx context.Context, name string) error
}

// The pool routes' bodies and problem types (package wire).
type (
	Pool    = wire.Pool
	Healthy = wire.Healthy
	Pick    = wire.Pick
)

const (
	TypeInvalidPool   = wire.TypeInvalidPool
	TypeNoPools       = wire.TypeNoPools
	TypeNothingToPick = wire.TypeNothingToPick
)

func (s *Server) pools(w http.ResponseWriter) (PoolBackend, bool) {
	pb, ok := s.b.(PoolBackend)
	if !ok {
		writeProblem(w, problem(http.StatusNotImplemented, TypeNoPools, "Pools not supported",
			"this server keeps no pools; run heck serve (a node) to use them"))
	}
	return pb, ok
}

func poolNotFound(name string) *Problem {
	return problem(http.StatusNotFound, TypeNotFound, "Pool not found",
		fmt.Sprintf("no pool named %q; list them with GET /api/v1/pools (heck pools ls)", name))
}

func (s *Server) listPools(w http.ResponseWriter, r *http.Request) {
	pb, ok := s.pools(w)
	if !ok {
		return
	}
	out := pb.PoolViews(r.Context())
	if out == nil {
		out = []pool.View{}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getPool(w http.ResponseWriter, r *http.Request) {
	pb, ok := s.pools(w)
	if !ok {
		return
	}
	name := r.PathValue("pool")
	v, ok := pb.PoolView(name)
	if !ok {
		writeProblem(w, poolNotFound(name))
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) healthyMembers(w http.ResponseWriter, r *http.Request) {
	pb, ok := s.pools(w)
	if !ok {
		return
	}
	name := r.PathValue("pool")
	v, ok := pb.PoolView(name)
	if !ok {
		writeProblem(w, poolNotFound(name))
		return
	}
	writeJSON(w, http.StatusOK, Healthy{Pool: v.Name, Panic: v.Panic, Members: v.ServingMembers()})
}

// pick answers one member. A pool with nothing to pick (empty, or nothing
// healthy with panic off) is 503 with a problem saying why, so a consumer
// that only reads status codes backs off.
func (s *Server) pick(w http.ResponseWriter, r *http.Request) {
	pb, ok := s.pools(w)
	if !ok {
		return
	}
	name := r.PathValue("pool")
	q := r.URL.Query()
	strategy, err := pool.ParseStrategy(q.Get("strategy"))
	if err != nil {
		fes, _ := target.AsFieldErrors(err)
		p := problem(http.StatusBadRequest, TypeInvalidQuery, "Invalid query", err.Error())
		p.Errors = fieldProblems(fes)
		writeProblem(w, p)
		return
	}
	zone := q.Get("zone")
	m, v, ok, picked := pb.Pick(name, strategy, zone)
	if !ok {
		writeProblem(w, poolNotFound(name))
		return
	}
	if !picked {
		detail := fmt.Sprintf("pool %q has no members; add targets to it (heck pools add %s --targets ID,...)", name, name)
		if len(v.Members) > 0 {
			detail = fmt.Sprintf("no member of pool %q is healthy (%d members) and its panic threshold is 0, so it does not fail open; "+
				"fix the members or set panic_threshold above 0", name, len(v.Members))
		}
		w.Header().Set("Retry-After", "1")
		writeProblem(w, problem(http.StatusServiceUnavailable, TypeNothingToPick, "Nothing to pick", detail))
		return
	}
	writeJSON(w, http.StatusOK, Pick{Pool: v.Name, Strategy: string(strategy), Zone: zone, Panic: v.Panic, Member: m})
}

func (s *Server) addPool(w http.ResponseWriter, r *http.Request) {
	s.writePool(w, r, "", true)
}

func (s *Server) putPool(w http.ResponseWriter, r *http.Request) {
	s.writePool(w, r, r.PathValue("pool"), false)
}

// writePool stores the pool in the body: under the path's name (PUT, which
// creates or replaces), or under its own name when new (POST, 409 when it
// exists).
func (s *Server) writePool(w http.ResponseWriter, r *http.Request, name string, create bool) {
	pb, ok := s.pools(w)
	if !ok {
		return
	}
	var spec pool.Spec
	if !decodeStrict(w, r, &spec, "pool", `{"name":"web", "targets":["id",...] or "selector":{"k":"v"}}`) {
		return
	}
	if name != "" {
		if spec.Name == "" {
			spec.Name = name
		}
		if spec.Name != name {
			writeProblem(w, problem(http.StatusUnprocessableEntity, TypeInvalidPool, "Invalid pool",
				fmt.Sprintf("the body names pool %q but the path %q; use the same name, or leave name out", spec.Name, name)))
			return
		}
	}
	if err := spec.Validate(); err != nil {
		fes, _ := target.AsFieldErrors(err)
		writeInvalid(w, TypeInvalidPool, "pool", fes)
		return
	}
	if create {
		if _, exists := pb.PoolView(spec.Name); exists {
			writeProblem(w, problem(http.StatusConflict, TypeConflict, "Pool exists",
				fmt.Sprintf("a pool named %q exists; replace it with PUT /api/v1/pools/%s or delete it first", spec.Name, spec.Name)))
			return
		}
	}
	created, err := pb.PutPool(r.Context(), spec)
	if err != nil {
		s.internal(w, r, "store pool "+spec.Name, err)
		return
	}
	code := http.StatusOK
	if created {
		code = http.StatusCreated
		w.Header().Set("Location", "/api/v1/pools/"+url.PathEscape(spec.Name))
	}
	v, ok := pb.PoolView(spec.Name)
	if !ok {
		v = pool.Evaluate(&spec, nil)
	}
	writeJSON(w, code, v)
}

func (s *Server) deletePool(w http.ResponseWriter, r *http.Request) {
	pb, ok := s.pools(w)
	if !ok {
		return
	}
	name := r.PathValue("pool")
	if err := pb.DeletePool(r.Context(), name); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			writeProblem(w, poolNotFound(name))
			return
		}
		s.internal(w, r, "delete pool "+name, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
