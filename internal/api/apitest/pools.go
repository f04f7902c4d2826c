package apitest

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/heckhq/heck/internal/api"
	"github.com/heckhq/heck/internal/pool"
	"github.com/heckhq/heck/internal/store"
)

var _ api.PoolBackend = (*Backend)(nil)

type pools struct {
	mu     sync.Mutex
	m      map[string]pool.Spec
	picker pool.Picker
}

// view evaluates a pool over the backend's targets as they are set.
func (b *Backend) view(spec pool.Spec) pool.View {
	b.mu.Lock()
	var in []pool.Input
	for _, st := range b.targets {
		s := st.Spec
		if spec.Includes(&s) {
			in = append(in, pool.Input{Spec: &s, State: st.State, ErrorRate: -1})
		}
	}
	b.mu.Unlock()
	return pool.Evaluate(&spec, in)
}

// PoolViews evaluates every pool (api.PoolBackend).
func (b *Backend) PoolViews(context.Context) []pool.View {
	b.pl.mu.Lock()
	specs := make([]pool.Spec, 0, len(b.pl.m))
	for _, s := range b.pl.m {
		specs = append(specs, s)
	}
	b.pl.mu.Unlock()
	sort.Slice(specs, func(i, j int) bool { return specs[i].Name < specs[j].Name })
	out := make([]pool.View, len(specs))
	for i := range specs {
		out[i] = b.view(specs[i])
	}
	return out
}

// PoolView evaluates one pool (api.PoolBackend).
func (b *Backend) PoolView(name string) (pool.View, bool) {
	b.pl.mu.Lock()
	s, ok := b.pl.m[name]
	b.pl.mu.Unlock()
	if !ok {
		return pool.View{}, false
	}
	return b.view(s), true
}

// Pick picks a member (api.PoolBackend).
func (b *Backend) Pick(name string, s pool.Strategy, zone string) (pool.Member, pool.View, bool, bool) {
	v, ok := b.PoolView(name)
	if !ok {
		return pool.Member{}, v, false, false
	}
	m, picked := b.pl.picker.Pick(&v, s, zone)
	return m, v, true, picked
}

// PutPool stores a pool (api.PoolBackend).
func (b *Backend) PutPool(_ context.Context, spec pool.Spec) (bool, error) {
	b.pl.mu.Lock()
	defer b.pl.mu.Unlock()
	if b.pl.m == nil {
		b.pl.m = map[string]pool.Spec{}
	}
	_, exists := b.pl.m[spec.Name]
	b.pl.m[spec.Name] = spec
	return !exists, nil
}

// DeletePool removes a pool (api.PoolBackend).
func (b *Backend) DeletePool(_ context.Context, name string) error {
	b.pl.mu.Lock()
	defer b.pl.mu.Unlock()
	if _, ok := b.pl.m[name]; !ok {
		return fmt.Errorf("delete pool %s: %w", name, store.ErrNotFound)
	}
	delete(b.pl.m, name)
	return nil
}
