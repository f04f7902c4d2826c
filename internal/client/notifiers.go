package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/heckhq/heck/internal/notify"
)

// Notifiers lists the notifiers (secrets redacted), by id.
func (c *Client) Notifiers(ctx context.Context) ([]notify.Spec, error) {
	var out []notify.Spec
	_, err := c.do(ctx, http.MethodGet, "/api/v1/notifiers", nil, nil, &out)
	return out, err
}

// AddNotifier creates a notifier; the server answers 409 when one has its
// id.
func (c *Client) AddNotifier(ctx context.Context, s notify.Spec) (notify.Spec, error) {
	var out notify.Spec
	_, err := c.do(ctx, http.MethodPost, "/api/v1/notifiers", nil, s, &out)
	return out, err
}

// PutNotifier creates or replaces a notifier.
func (c *Client) PutNotifier(ctx context.Context, s notify.Spec) (notify.Spec, error) {
	var out notify.Spec
	_, err := c.do(ctx, http.MethodPut, "/api/v1/notifiers/"+url.PathEscape(s.ID), nil, s, &out)
	return out, err
}

// DeleteNotifier deletes a notifier; IsNotFound(err) when there is none.
func (c *Client) DeleteNotifier(ctx context.Context, id string) error {
	_, err := c.do(ctx, http.MethodDelete, "/api/v1/notifiers/"+url.PathEscape(id), nil, nil, nil)
	return err
}

// TestNotifier has the node send a test message through a notifier.
func (c *Client) TestNotifier(ctx context.Context, id string) error {
	_, err := c.do(ctx, http.MethodPost, "/api/v1/notifiers/"+url.PathEscape(id)+"/test", nil, nil, nil)
	return err
}
