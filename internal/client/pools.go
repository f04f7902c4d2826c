package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/heckhq/heck/internal/wire"
)

// Pools lists every pool evaluated, by name.
func (c *Client) Pools(ctx context.Context) ([]wire.Pool, error) {
	var out []wire.Pool
	_, err := c.do(ctx, http.MethodGet, "/api/v1/pools", nil, nil, &out)
	return out, err
}

// Pool returns one pool with its members' states; IsNotFound(err) when
// there is none.
func (c *Client) Pool(ctx context.Context, name string) (wire.Pool, error) {
	var out wire.Pool
	_, err := c.do(ctx, http.MethodGet, "/api/v1/pools/"+url.PathEscape(name), nil, nil, &out)
	return out, err
}

// AddPool creates a pool; the server answers 409 when one has its name.
func (c *Client) AddPool(ctx context.Context, spec wire.PoolSpec) (wire.Pool, error) {
	var out wire.Pool
	_, err := c.do(ctx, http.MethodPost, "/api/v1/pools", nil, spec, &out)
	return out, err
}

// PutPool creates or replaces a pool.
func (c *Client) PutPool(ctx context.Context, spec wire.PoolSpec) (wire.Pool, error) {
	var out wire.Pool
	_, err := c.do(ctx, http.MethodPut, "/api/v1/pools/"+url.PathEscape(spec.Name), nil, spec, &out)
	return out, err
}

// DeletePool deletes a pool; IsNotFound(err) when there is none.
func (c *Client) DeletePool(ctx context.Context, name string) error {
	_, err := c.do(ctx, http.MethodDelete, "/api/v1/pools/"+url.PathEscape(name), nil, nil, nil)
	return err
}

// Healthy returns the members of a pool consumers should get now.
func (c *Client) Healthy(ctx context.Context, name string) (wire.Healthy, error) {
	var out wire.Healthy
	_, err := c.do(ctx, http.MethodGet, "/api/v1/pools/"+url.PathEscape(name)+"/healthy", nil, nil, &out)
	return out, err
}

// Pick asks for one member of a pool by strategy ("" is round_robin),
// preferring zone when given. A pool with nothing to pick answers an
// error whose problem type is wire.TypeNothingToPick.
func (c *Client) Pick(ctx context.Context, name, strategy, zone string) (wire.Pick, error) {
	q := url.Values{}
	if strategy != "" {
		q.Set("strategy", strategy)
	}
	if zone != "" {
		q.Set("zone", zone)
	}
	var out wire.Pick
	_, err := c.do(ctx, http.MethodGet, "/api/v1/pools/"+url.PathEscape(name)+"/pick", q, nil, &out)
	return out, err
}
