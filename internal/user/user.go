// Package user owns the people who use heck's web UI and API: users with a
// role (admin, editor, viewer), their hashed passwords and API tokens, and
// the principal a request acts as. Users and tokens are replicated kinds
// (internal/objects), so every node accepts the same logins and tokens.
package user

import "context"

// Role is what a user may do.
type Role string

// The roles, least to most.
const (
	Viewer Role = "viewer" // read everything
	Editor Role = "editor" // and change targets, pools, incidents, status pages, silences
	Admin  Role = "admin"  // and users, tokens, notifiers, keys, members, settings
)

// Allows reports whether r may do what need requires.
func (r Role) Allows(need Role) bool { return rank(r) >= rank(need) && rank(need) > 0 }

func rank(r Role) int {
	switch r {
	case Viewer:
		return 1
	case Editor:
		return 2
	case Admin:
		return 3
	}
	return 0
}

// Principal is who a request acts as: a user through a session or a token,
// or the node's configured api.token (Name "api-token", Role Admin).
type Principal struct {
	Name string `json:"name"`
	Role Role   `json:"role"`
	// Via is how it authenticated: "session", "token" or "api-token".
	Via string `json:"via"`
}

type ctxKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// FromContext returns the principal ctx carries, if any.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(ctxKey{}).(Principal)
	return p, ok
}
