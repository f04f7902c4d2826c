package wire

import "github.com/heckhq/heck/internal/user"

// Problem types of access and of the user and token routes.
const (
	TypeForbidden   = problemBase + "forbidden"
	TypeCSRF        = problemBase + "csrf"
	TypeRateLimited = problemBase + "rate-limited"
	TypeInvalidUser = problemBase + "invalid-user"
	TypeNoUsers     = problemBase + "users-unsupported"
)

// UserRequest is the body of POST /api/v1/users: a user with a password,
// or (invite: true, no password) an invitation whose token the answer
// carries.
type UserRequest struct {
	Name     string    `json:"name"`
	Role     user.Role `json:"role"`
	Password string    `json:"password,omitempty"`
	Invite   bool      `json:"invite,omitempty"`
}

// UserResponse answers POST /api/v1/users: the user and, for an invite,
// the one-time invite token to hand over.
type UserResponse struct {
	User        user.User `json:"user"`
	InviteToken string    `json:"invite_token,omitempty"`
}

// TokenRequest is the body of POST /api/v1/tokens: whose token (default:
// the caller) and what it is for.
type TokenRequest struct {
	User string `json:"user,omitempty"`
	Name string `json:"name,omitempty"`
}

// TokenResponse answers POST /api/v1/tokens: the token as stored (no
// hash) and its text, shown this once.
type TokenResponse struct {
	user.Token
	Secret string `json:"token"`
}
