package node

import (
	"context"
	"time"

	"github.com/heckhq/heck/internal/api"
	"github.com/heckhq/heck/internal/silence"
	"github.com/heckhq/heck/internal/target"
)

// The node keeps silences: a replicated collection persisted in the store.
var _ api.SilenceBackend = (*Node)(nil)

// Silences lists every silence not deleted, by id (api.SilenceBackend).
func (n *Node) Silences(context.Context) []silence.Silence {
	es := n.silences.List()
	out := make([]silence.Silence, len(es))
	for i, e := range es {
		out[i] = e.Value
	}
	return out
}

// AddSilence stores a silence and replicates it (api.SilenceBackend).
func (n *Node) AddSilence(ctx context.Context, s silence.Silence) error {
	return n.silences.Put(ctx, s.ID, s)
}

// DeleteSilence deletes a silence everywhere (api.SilenceBackend).
func (n *Node) DeleteSilence(ctx context.Context, id string) error {
	return n.silences.Delete(ctx, id)
}

// silencedAt returns whether a target is covered by a silence in force at
// now; with no silences it costs nothing per target.
func (n *Node) silencedAt(now time.Time) func(*target.Spec) bool {
	if n.silences.Len() == 0 {
		return func(*target.Spec) bool { return false }
	}
	var active []silence.Silence
	for _, e := range n.silences.List() {
		if e.Value.Active(now) {
			active = append(active, e.Value)
		}
	}
	return func(spec *target.Spec) bool { return silence.Covering(active, spec, now) }
}
