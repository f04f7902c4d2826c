package node

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heckhq/heck/internal/api"
	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/listing"
	"github.com/heckhq/heck/internal/registry"
	"github.com/heckhq/heck/internal/target"
	"github.com/heckhq/heck/internal/wire"
)

// The node lists its targets without building every status.
var _ api.Lister = (*Node)(nil)

// idIndex keeps the live target ids sorted, sorted again only after the
// registry changed: a page of the listing then costs its own targets, not
// a sort of the fleet.
type idIndex struct {
	stale atomic.Bool // set by the registry's subscription
	mu    sync.Mutex
	ids   []string // sorted; replaced, never modified
}

// changed is the registry subscription: cheap, under the registry's lock.
func (x *idIndex) changed([]registry.Entry, bool) { x.stale.Store(true) }

// sorted returns the sorted ids, rebuilding them after a change. The
// flag is cleared before the ids are read, so a change that races the
// rebuild marks them stale again.
func (x *idIndex) sorted(reg *registry.Registry) []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.ids == nil || x.stale.Load() {
		x.stale.Store(false)
		ids := reg.IDs()
		slices.Sort(ids)
		x.ids = ids
	}
	return x.ids
}

// Listing returns a listing.Source over a snapshot of the target ids, whose
// specs and statuses are read when the listing asks for them.
func (n *Node) Listing(ctx context.Context) listing.Source {
	now := time.Now()
	return &nodeSource{n: n, ids: n.ids.sorted(n.reg), now: now,
		silenced: n.silencedAt(now), inMaint: n.inMaintenanceAt(now), specAt: -1, statusAt: -1}
}

// nodeSource is one listing's view of the node. It keeps the last spec and
// status it built: the listing asks for Spec, State and Status of one
// target in turn.
type nodeSource struct {
	n                 *Node
	ids               []string
	now               time.Time
	silenced, inMaint func(*target.Spec) bool

	specAt   int
	spec     target.Spec
	specOK   bool
	statusAt int
	status   wire.TargetStatus
}

func (s *nodeSource) Len() int        { return len(s.ids) }
func (s *nodeSource) ID(i int) string { return s.ids[i] }

func (s *nodeSource) Spec(i int) *target.Spec {
	if s.specAt != i {
		s.specAt = i
		s.spec, s.specOK = s.n.reg.Get(s.ids[i])
	}
	if !s.specOK {
		return nil
	}
	return &s.spec
}

func (s *nodeSource) State(i int) health.State {
	ts, _ := s.Status(i)
	return ts.State
}

func (s *nodeSource) Status(i int) (wire.TargetStatus, bool) {
	if s.statusAt == i {
		return s.status, true
	}
	spec := s.Spec(i)
	if spec == nil {
		return wire.TargetStatus{}, false
	}
	st, local := s.n.sched.Status(spec.ID)
	ts := s.n.status(*spec, st, local, s.now)
	ts.Silenced = s.silenced(spec)
	ts.Maintenance = s.inMaint(spec)
	s.statusAt, s.status = i, ts
	return ts, true
}
