package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/heckhq/heck/internal/store"
	"github.com/heckhq/heck/internal/target"
	"github.com/heckhq/heck/internal/user"
	"github.com/heckhq/heck/internal/wire"
)

// UserAdmin serves /api/v1/users and /api/v1/tokens; internal/auth
// implements it. Without one those routes answer 501.
type UserAdmin interface {
	ListUsers(ctx context.Context) ([]user.User, error)
	AddUser(ctx context.Context, name string, role user.Role, password, by string) (user.User, error)
	Invite(ctx context.Context, name string, role user.Role, by string) (string, error)
	DeleteUser(ctx context.Context, name, by string) error
	SetRole(ctx context.Context, name string, role user.Role, by string) error
	CreateToken(ctx context.Context, userName, name, by string) (user.Token, string, error)
	// Tokens lists userName's tokens, or every token when "".
	Tokens(ctx context.Context, userName string) []user.Token
	Token(id string) (user.Token, bool)
	DeleteToken(ctx context.Context, id string) error
}

// The bodies of the user and token routes (package wire).
type (
	UserRequest   = wire.UserRequest
	UserResponse  = wire.UserResponse
	TokenRequest  = wire.TokenRequest
	TokenResponse = wire.TokenResponse
)

func (s *Server) userRoutes() {
	m := s.mux
	m.Handle("GET /api/v1/users", s.admin(http.HandlerFunc(s.listUsers)))
	m.Handle("POST /api/v1/users", s.admin(http.HandlerFunc(s.addUser)))
	m.Handle("DELETE /api/v1/users/{name}", s.admin(http.HandlerFunc(s.deleteUser)))
	m.Handle("PUT /api/v1/users/{name}/role", s.admin(http.HandlerFunc(s.setRole)))
	m.Handle("GET /api/v1/tokens", s.access(user.Viewer, false, http.HandlerFunc(s.listTokens)))
	m.Handle("POST /api/v1/tokens", s.access(user.Viewer, true, http.HandlerFunc(s.createToken)))
	m.Handle("DELETE /api/v1/tokens/{id}", s.access(user.Viewer, false, http.HandlerFunc(s.deleteToken)))
	m.HandleFunc("/api/v1/users", methodNotAllowed("GET, POST"))
	m.HandleFunc("/api/v1/users/{name}", methodNotAllowed("DELETE"))
	m.HandleFunc("/api/v1/users/{name}/role", methodNotAllowed("PUT"))
	m.HandleFunc("/api/v1/tokens", methodNotAllowed("GET, POST"))
	m.HandleFunc("/api/v1/tokens/{id}", methodNotAllowed("DELETE"))
}

func (s *Server) users(w http.ResponseWriter) (UserAdmin, bool) {
	if s.opts.Users == nil {
		writeProblem(w, problem(http.StatusNotImplemented, wire.TypeNoUsers, "Users not supported",
			"this server keeps no users; run heck serve (a node) to use them"))
		return nil, false
	}
	return s.opts.Users, true
}

// actor names who makes a change: the principal, or "api" for an
// anonymous change on loopback (before any user exists).
func actor(r *http.Request) string {
	if p, ok := user.FromContext(r.Context()); ok && p.Name != "" {
		return p.Name
	}
	return "api"
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) {
	ua, ok := s.users(w)
	if !ok {
		return
	}
	us, err := ua.ListUsers(r.Context())
	if err != nil {
		s.internal(w, r, "list users", err)
		return
	}
	if us == nil {
		us = []user.User{}
	}
	writeJSON(w, http.StatusOK, us)
}

func (s *Server) addUser(w http.ResponseWriter, r *http.Request) {
	ua, ok := s.users(w)
	if !ok {
		return
	}
	var req UserRequest
	if !decodeStrict(w, r, &req, "user", `{"name":"alice","role":"editor","password":"..."} or {"name":"alice","role":"editor","invite":true}`) {
		return
	}
	var resp UserResponse
	var err error
	switch {
	case req.Invite && req.Password != "":
		writeInvalid(w, wire.TypeInvalidUser, "user", target.FieldErrors{{Field: "password", Problem: "is set on an invite",
			Fix: "leave the password out: the invitee sets it with the invite token"}})
		return
	case req.Invite:
		resp.InviteToken, err = ua.Invite(r.Context(), req.Name, req.Role, actor(r))
		resp.User = user.User{Name: req.Name, Role: req.Role, CreatedBy: actor(r), Pending: true}
	default:
		resp.User, err = ua.AddUser(r.Context(), req.Name, req.Role, req.Password, actor(r))
	}
	if err != nil {
		s.userErr(w, r, "add user "+req.Name, err)
		return
	}
	w.Header().Set("Location", "/api/v1/users/"+url.PathEscape(req.Name))
	writeJSON(w, http.StatusCreated, resp)
}

// userErr answers an error of the user admin: field problems 422, an
// existing name 409, an absent one 404, the last admin 409.
func (s *Server) userErr(w http.ResponseWriter, r *http.Request, what string, err error) {
	if fes, ok := target.AsFieldErrors(err); ok {
		writeInvalid(w, wire.TypeInvalidUser, "user", fes)
		return
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeProblem(w, problem(http.StatusNotFound, TypeNotFound, "Not found", err.Error()+"; list users with GET /api/v1/users (heck user ls)"))
	case isConflict(err):
		writeProblem(w, problem(http.StatusConflict, TypeConflict, "Conflict", what+": "+err.Error()))
	default:
		s.internal(w, r, what, err)
	}
}

// isConflict reports a refusal of the admin that the caller can fix (a
// name taken, the last admin): an error with Conflict() true, as
// auth.ErrExists and auth.ErrLastAdmin are.
func isConflict(err error) bool {
	var c interface{ Conflict() bool }
	return errors.As(err, &c) && c.Conflict()
}

func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request) {
	ua, ok := s.users(w)
	if !ok {
		return
	}
	name := r.PathValue("name")
	if err := ua.DeleteUser(r.Context(), name, actor(r)); err != nil {
		s.userErr(w, r, "delete user "+name, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// RoleRequest is the body of PUT /api/v1/users/{name}/role.
type RoleRequest struct {
	Role user.Role `json:"role"`
}

func (s *Server) setRole(w http.ResponseWriter, r *http.Request) {
	ua, ok := s.users(w)
	if !ok {
		return
	}
	var req RoleRequest
	if !decodeStrict(w, r, &req, "role", `{"role":"editor"}`) {
		return
	}
	name := r.PathValue("name")
	if err := ua.SetRole(r.Context(), name, req.Role, actor(r)); err != nil {
		s.userErr(w, r, "set the role of "+name, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// mayActFor reports whether the request's principal may handle userName's
// tokens: an admin anyone's, a user their own; anonymous (a fresh install
// on loopback, where changes are open) anyone's.
func mayActFor(r *http.Request, userName string) bool {
	p, ok := user.FromContext(r.Context())
	return !ok || p.Role.Allows(user.Admin) || p.Name == userName
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) {
	ua, ok := s.users(w)
	if !ok {
		return
	}
	var req TokenRequest
	if !decodeStrict(w, r, &req, "token request", `{"user":"alice","name":"ci"}`) {
		return
	}
	p, signed := user.FromContext(r.Context())
	if req.User == "" {
		req.User = p.Name
	}
	if !signed && !s.openTo(user.Admin) {
		s.refuse(w, r, user.Viewer, false)
		return
	}
	if req.User == "" || req.User == "api-token" {
		writeInvalid(w, wire.TypeInvalidUser, "token request", target.FieldErrors{{Field: "user", Value: req.User,
			Problem: "names no user", Fix: "name the user the token acts as (--user NAME)"}})
		return
	}
	if !mayActFor(r, req.User) {
		writeProblem(w, problem(http.StatusForbidden, wire.TypeForbidden, "Forbidden",
			fmt.Sprintf("%s may create tokens only for themselves; a token for %s needs the admin role", p.Name, req.User)))
		return
	}
	t, text, err := ua.CreateToken(r.Context(), req.User, req.Name, actor(r))
	if err != nil {
		s.userErr(w, r, "create token for "+req.User, err)
		return
	}
	w.Header().Set("Location", "/api/v1/tokens/"+url.PathEscape(t.ID))
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, TokenResponse{Token: t, Secret: text})
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) {
	ua, ok := s.users(w)
	if !ok {
		return
	}
	p, signed := user.FromContext(r.Context())
	if !signed && !s.openTo(user.Admin) {
		s.refuse(w, r, user.Viewer, false)
		return
	}
	who := r.URL.Query().Get("user")
	if signed && !p.Role.Allows(user.Admin) {
		if who != "" && who != p.Name {
			writeProblem(w, problem(http.StatusForbidden, wire.TypeForbidden, "Forbidden",
				fmt.Sprintf("%s may list only their own tokens; another user's need the admin role", p.Name)))
			return
		}
		who = p.Name
	}
	writeJSON(w, http.StatusOK, ua.Tokens(r.Context(), who))
}

func (s *Server) deleteToken(w http.ResponseWriter, r *http.Request) {
	ua, ok := s.users(w)
	if !ok {
		return
	}
	id := r.PathValue("id")
	t, found := ua.Token(id)
	_, signed := user.FromContext(r.Context())
	if !signed && !s.openTo(user.Admin) {
		s.refuse(w, r, user.Viewer, false)
		return
	}
	if !found || !mayActFor(r, t.User) {
		// Another user's token is as good as absent.
		writeProblem(w, problem(http.StatusNotFound, TypeNotFound, "Token not found",
			fmt.Sprintf("no token of yours has id %q; list them with GET /api/v1/tokens", id)))
		return
	}
	if err := ua.DeleteToken(r.Context(), id); err != nil {
		s.userErr(w, r, "delete token "+id, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
