package apitest

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/heckhq/heck/internal/api"
	"github.com/heckhq/heck/internal/notify"
	"github.com/heckhq/heck/internal/store"
)

var _ api.NotifierBackend = (*Backend)(nil)

type notifiers struct {
	mu   sync.Mutex
	m    map[string]notify.Spec
	sent []string // ids tested
	fail error    // what TestNotifier answers when set
}

// SetNotifyError makes TestNotifier fail with err.
func (b *Backend) SetNotifyError(err error) {
	b.nt.mu.Lock()
	defer b.nt.mu.Unlock()
	b.nt.fail = err
}

// Tested returns the ids TestNotifier was called with.
func (b *Backend) Tested() []string {
	b.nt.mu.Lock()
	defer b.nt.mu.Unlock()
	return append([]string(nil), b.nt.sent...)
}

// Notifiers implements api.NotifierBackend.
func (b *Backend) Notifiers(context.Context) []notify.Spec {
	b.nt.mu.Lock()
	defer b.nt.mu.Unlock()
	out := make([]notify.Spec, 0, len(b.nt.m))
	for _, s := range b.nt.m {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Notifier implements api.NotifierBackend.
func (b *Backend) Notifier(_ context.Context, id string) (notify.Spec, bool) {
	b.nt.mu.Lock()
	defer b.nt.mu.Unlock()
	s, ok := b.nt.m[id]
	return s, ok
}

// PutNotifier implements api.NotifierBackend.
func (b *Backend) PutNotifier(_ context.Context, s notify.Spec) (bool, error) {
	b.nt.mu.Lock()
	defer b.nt.mu.Unlock()
	if b.nt.m == nil {
		b.nt.m = map[string]notify.Spec{}
	}
	_, exists := b.nt.m[s.ID]
	b.nt.m[s.ID] = s
	return !exists, nil
}

// DeleteNotifier implements api.NotifierBackend.
func (b *Backend) DeleteNotifier(_ context.Context, id string) error {
	b.nt.mu.Lock()
	defer b.nt.mu.Unlock()
	if _, ok := b.nt.m[id]; !ok {
		return fmt.Errorf("notifier %s: %w", id, store.ErrNotFound)
	}
	delete(b.nt.m, id)
	return nil
}

// TestNotifier implements api.NotifierBackend: it records the call.
func (b *Backend) TestNotifier(_ context.Context, id string) error {
	b.nt.mu.Lock()
	defer b.nt.mu.Unlock()
	if _, ok := b.nt.m[id]; !ok {
		return fmt.Errorf("notifier %s: %w", id, store.ErrNotFound)
	}
	b.nt.sent = append(b.nt.sent, id)
	return b.nt.fail
}
