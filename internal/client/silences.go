package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/heckhq/heck/internal/wire"
)

// Silences lists the silences (expired ones included), by id.
func (c *Client) Silences(ctx context.Context) ([]wire.Silence, error) {
	var out []wire.Silence
	_, err := c.do(ctx, http.MethodGet, "/api/v1/silences", nil, nil, &out)
	return out, err
}

// AddSilence adds a silence; the server validates the request and chooses
// the id.
func (c *Client) AddSilence(ctx context.Context, req wire.SilenceRequest) (wire.Silence, error) {
	var out wire.Silence
	_, err := c.do(ctx, http.MethodPost, "/api/v1/silences", nil, req, &out)
	return out, err
}

// DeleteSilence deletes a silence; IsNotFound(err) when there is none.
func (c *Client) DeleteSilence(ctx context.Context, id string) error {
	_, err := c.do(ctx, http.MethodDelete, "/api/v1/silences/"+url.PathEscape(id), nil, nil, nil)
	return err
}
