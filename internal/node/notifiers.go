package node

import (
	"context"
	"fmt"
	"time"

	"github.com/heckhq/heck/internal/api"
	"github.com/heckhq/heck/internal/notify"
	_ "github.com/heckhq/heck/internal/notify/all" // every channel kind
	"github.com/heckhq/heck/internal/objects"
)

// The node keeps notifiers: a replicated collection (kind "notifier").
var _ api.NotifierBackend = (*Node)(nil)

// NotifierKind is the registration of notifiers as replicated objects.
// A peer's notifier is checked for its shape only: the secrets it refers
// to live in each node's environment, checked when it is added and when
// a channel is built.
var NotifierKind = objects.Kind[notify.Spec]{
	Name: "notifier",
	Validate: func(key string, s notify.Spec) error {
		if s.ID != key {
			return fmt.Errorf("notifier %q stored under the key %q; store a notifier under its own id", s.ID, key)
		}
		if errs := s.Validate(nil); len(errs) > 0 {
			return errs
		}
		return nil
	},
}

// Notifiers lists the notifiers by id (api.NotifierBackend).
func (n *Node) Notifiers(context.Context) []notify.Spec {
	es := n.notifiers.List()
	out := make([]notify.Spec, len(es))
	for i, e := range es {
		out[i] = e.Value
	}
	return out
}

// Notifier returns one notifier.
func (n *Node) Notifier(_ context.Context, id string) (notify.Spec, bool) {
	return n.notifiers.Get(id)
}

// PutNotifier stores a notifier through the API; created says it is new.
func (n *Node) PutNotifier(ctx context.Context, s notify.Spec) (bool, error) {
	s.Origin = ""
	_, exists := n.notifiers.Get(s.ID)
	if err := n.notifiers.Put(ctx, s.ID, s); err != nil {
		return false, err
	}
	return !exists, nil
}

// DeleteNotifier deletes a notifier everywhere.
func (n *Node) DeleteNotifier(ctx context.Context, id string) error {
	return n.notifiers.Delete(ctx, id)
}

// TestNotifier sends a test message through a notifier from this node.
func (n *Node) TestNotifier(ctx context.Context, id string) error {
	s, ok := n.notifiers.Get(id)
	if !ok {
		return fmt.Errorf("notifier %s: %w", id, objects.ErrNotFound)
	}
	ch, err := notify.New(s, nil, notify.Options{Logger: n.log.With("notifier", id)})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return ch.Send(ctx, notify.NewTestMessage(n.name, time.Now()))
}
