// Package node assembles one heck node from its parts: registry, scheduler,
// probes, health table, history recorder, store, API and (when configured)
// the cluster. cmd/heck stays thin; everything a node does is wired here.
package node

import (
	"context"
	"errors"
	"log/slog"

	"github.com/heckhq/heck/internal/config"
)

// Run runs a node until ctx is cancelled, then drains in-flight probes,
// flushes the store and returns.
func Run(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	_ = cfg
	_ = log
	<-ctx.Done()
	return errors.New("node: not yet wired")
}
