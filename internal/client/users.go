package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/heckhq/heck/internal/user"
	"github.com/heckhq/heck/internal/wire"
)

// WithPassword returns a copy of c that authenticates as a user with
// their name and password (HTTP Basic) instead of a token: the API takes
// it only to create a token (CreateToken).
func (c *Client) WithPassword(name, password string) *Client {
	cp := *c
	cp.basic = &[2]string{name, password}
	return &cp
}

// Users lists the users (and pending invites), by name.
func (c *Client) Users(ctx context.Context) ([]user.User, error) {
	var out []user.User
	_, err := c.do(ctx, http.MethodGet, "/api/v1/users", nil, nil, &out)
	return out, err
}

// AddUser adds a user with a password, or invites one (req.Invite), and
// returns the user and the invite token.
func (c *Client) AddUser(ctx context.Context, req wire.UserRequest) (wire.UserResponse, error) {
	var out wire.UserResponse
	_, err := c.do(ctx, http.MethodPost, "/api/v1/users", nil, req, &out)
	return out, err
}

// DeleteUser deletes a user with their tokens.
func (c *Client) DeleteUser(ctx context.Context, name string) error {
	_, err := c.do(ctx, http.MethodDelete, "/api/v1/users/"+url.PathEscape(name), nil, nil, nil)
	return err
}

// CreateToken creates an API token for a user; the answer's Secret is the
// token, shown this once.
func (c *Client) CreateToken(ctx context.Context, req wire.TokenRequest) (wire.TokenResponse, error) {
	var out wire.TokenResponse
	_, err := c.do(ctx, http.MethodPost, "/api/v1/tokens", nil, req, &out)
	return out, err
}

// Tokens lists the tokens the caller may see (an admin: all), no hashes.
func (c *Client) Tokens(ctx context.Context) ([]user.Token, error) {
	var out []user.Token
	_, err := c.do(ctx, http.MethodGet, "/api/v1/tokens", nil, nil, &out)
	return out, err
}

// DeleteToken revokes a token.
func (c *Client) DeleteToken(ctx context.Context, id string) error {
	_, err := c.do(ctx, http.MethodDelete, "/api/v1/tokens/"+url.PathEscape(id), nil, nil, nil)
	return err
}
