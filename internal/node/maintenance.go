package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/heckhq/heck/internal/api"
	"github.com/heckhq/heck/internal/maintenance"
	"github.com/heckhq/heck/internal/objects"
	"github.com/heckhq/heck/internal/target"
)

// The node keeps maintenance windows: a replicated collection.
var _ api.MaintenanceBackend = (*Node)(nil)

// Windows lists the maintenance windows by id (api.MaintenanceBackend).
func (n *Node) Windows(context.Context) []maintenance.Window {
	es := n.windows.List()
	out := make([]maintenance.Window, len(es))
	for i, e := range es {
		out[i] = e.Value
	}
	return out
}

// PutWindow stores a window; created says it is new.
func (n *Node) PutWindow(ctx context.Context, w maintenance.Window) (bool, error) {
	_, exists := n.windows.Get(w.ID)
	if err := n.windows.Put(ctx, w.ID, w); err != nil {
		return false, err
	}
	return !exists, nil
}

// DeleteWindow deletes a window everywhere.
func (n *Node) DeleteWindow(ctx context.Context, id string) error {
	return n.windows.Delete(ctx, id)
}

// inMaintenanceAt returns whether a target is in a maintenance window in
// force at now; with no windows it costs nothing per target.
func (n *Node) inMaintenanceAt(now time.Time) func(*target.Spec) bool {
	if n.windows.Len() == 0 {
		return func(*target.Spec) bool { return false }
	}
	var active []maintenance.Window
	for _, e := range n.windows.List() {
		if e.Value.Active(now) {
			active = append(active, e.Value)
		}
	}
	return func(spec *target.Spec) bool { return maintenance.Covering(active, spec, now) }
}

// syncConfigWindows makes the windows of the config file, by id, the ones
// this node wrote from it.
func (n *Node) syncConfigWindows(ctx context.Context, ws []maintenance.Window) error {
	want := map[string]bool{}
	var errs []error
	for _, w := range ws {
		w.Origin = "config"
		want[w.ID] = true
		if cur, ok := n.windows.Get(w.ID); ok && sameJSON(cur, w) {
			continue
		}
		if err := n.windows.Put(ctx, w.ID, w); err != nil {
			errs = append(errs, fmt.Errorf("maintenance window %s: %w", w.ID, err))
		}
	}
	for _, e := range n.windows.List() {
		if e.Value.Origin == "config" && e.Node == n.name && !want[e.Key] {
			if err := n.windows.Delete(ctx, e.Key); err != nil && !errors.Is(err, objects.ErrNotFound) {
				errs = append(errs, fmt.Errorf("maintenance window %s: %w", e.Key, err))
			}
		}
	}
	return errors.Join(errs...)
}
