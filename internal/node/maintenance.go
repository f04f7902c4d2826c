package node

import (
	"context"
	"time"

	"github.com/heckhq/heck/internal/api"
	"github.com/heckhq/heck/internal/maintenance"
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
