package apitest

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/heckhq/heck/internal/api"
	"github.com/heckhq/heck/internal/silence"
	"github.com/heckhq/heck/internal/store"
)

var _ api.SilenceBackend = (*Backend)(nil)

type silences struct {
	mu sync.Mutex
	m  map[string]silence.Silence
}

// Silences lists the stored silences by id (api.SilenceBackend).
func (b *Backend) Silences(context.Context) []silence.Silence {
	b.sil.mu.Lock()
	defer b.sil.mu.Unlock()
	out := make([]silence.Silence, 0, len(b.sil.m))
	for _, s := range b.sil.m {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// AddSilence stores s (api.SilenceBackend).
func (b *Backend) AddSilence(_ context.Context, s silence.Silence) error {
	b.sil.mu.Lock()
	defer b.sil.mu.Unlock()
	if b.sil.m == nil {
		b.sil.m = map[string]silence.Silence{}
	}
	b.sil.m[s.ID] = s
	return nil
}

// DeleteSilence removes a silence (api.SilenceBackend).
func (b *Backend) DeleteSilence(_ context.Context, id string) error {
	b.sil.mu.Lock()
	defer b.sil.mu.Unlock()
	if _, ok := b.sil.m[id]; !ok {
		return fmt.Errorf("silence %s: %w", id, store.ErrNotFound)
	}
	delete(b.sil.m, id)
	return nil
}
