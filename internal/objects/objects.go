// Package objects owns replicated collections: for each kind of object
// (silences now; pools, notifiers, users... next) a last-writer-wins map of
// typed values keyed by string, stamped by the node's hybrid logical clock,
// with tombstones for deletes and horizon collection, persisted in the store
// under the kind's name (store.PutObjects) and carried between nodes by
// internal/replica through the kind-agnostic Replicated interface.
//
// Adding a kind is one registration: a Kind[T] (name, validator, codec) and
// New. Local writes and remote merges take the same path: validate, persist,
// merge, tell the subscribers.
//
// # Tombstone horizon
//
// A delete leaves a tombstone so that older writes of the key still arriving
// lose to it. Tombstones cannot be kept forever, so Collect(h) drops those
// stamped before the horizon h, and from then on the collection refuses any
// write stamped before h: such a write could only be an old one that every
// node has already seen (or one the tombstone beat), and taking it back in
// would resurrect a deleted key. The horizon must therefore exceed the
// longest time a write takes to reach every node (the longest partition the
// cluster heals from); the node uses cluster.tombstone_horizon, 7 days by
// default, and the store prunes its copies on the same horizon.
package objects

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/heckhq/heck/internal/crdt"
	"github.com/heckhq/heck/internal/store"
)

// Entry is one key of a collection: a value or a tombstone, with its stamp.
type Entry[T any] = crdt.Entry[T]

// Kind describes one kind of replicated object.
type Kind[T any] struct {
	// Name is the kind's name in the store and on the wire ("silence").
	Name string
	// Validate checks a value written under key, locally or by a peer; nil
	// accepts every value. Errors should name the field, value and fix.
	Validate func(key string, v T) error
	// Codec encodes values for the store and the wire; nil is JSON.
	Codec crdt.ValueCodec[T]
}

// Persister is the part of the store a collection uses.
type Persister interface {
	PutObjects(ctx context.Context, kind string, recs []store.ObjectRecord) error
	Objects(ctx context.Context, kind string) ([]store.ObjectRecord, error)
}

// ErrNotFound is returned when deleting an absent key.
var ErrNotFound = store.ErrNotFound

// ErrBeforeHorizon is wrapped by the error of a write stamped before the
// collection's tombstone horizon.
var ErrBeforeHorizon = errors.New("stamped before the tombstone horizon")

// Collection is a replicated collection of one kind. Safe for concurrent use.
type Collection[T any] struct {
	kind  Kind[T]
	codec crdt.ValueCodec[T]
	node  string
	clock *crdt.Clock
	st    Persister // nil: memory only

	// mu serialises writes so that persist-then-merge is atomic and
	// subscribers see changes in order.
	mu      sync.Mutex
	m       *crdt.LWWMap[T]
	horizon crdt.Timestamp
	subs    []func(changed []Entry[T], remote bool)
	ctxSubs []func(ctx context.Context, changed []Entry[T], remote bool)
}

// New returns an empty collection of kind on node, stamping local writes
// with clock and persisting in st (nil keeps it in memory only).
func New[T any](kind Kind[T], node string, clock *crdt.Clock, st Persister) *Collection[T] {
	c := &Collection[T]{kind: kind, codec: kind.Codec, node: node, clock: clock, st: st, m: crdt.NewLWWMap[T]()}
	if c.codec == nil {
		c.codec = crdt.JSONCodec[T]{}
	}
	if c.clock == nil {
		c.clock = crdt.NewClock(nil)
	}
	return c
}

// Kind returns the kind's name.
func (c *Collection[T]) Kind() string { return c.kind.Name }

// Subscribe registers f to be called, in order and under the write lock,
// with every batch of entries that changed the collection; remote is set
// for merges from peers. f must not call back into the write methods.
func (c *Collection[T]) Subscribe(f func(changed []Entry[T], remote bool)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.subs = append(c.subs, f)
}

// SubscribeContext is Subscribe for subscribers that want the context of
// the write (the audit reads the principal who made a local change).
func (c *Collection[T]) SubscribeContext(f func(ctx context.Context, changed []Entry[T], remote bool)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ctxSubs = append(c.ctxSubs, f)
}

// Load reads the persisted entries without notifying subscribers. A record
// that cannot be decoded is skipped, left in the store, and reported in bad;
// err is set only when the store cannot be read.
func (c *Collection[T]) Load(ctx context.Context) (bad []error, err error) {
	if c.st == nil {
		return nil, nil
	}
	recs, err := c.st.Objects(ctx, c.kind.Name)
	if err != nil {
		return nil, fmt.Errorf("load %s objects: %w", c.kind.Name, err)
	}
	es := make([]Entry[T], 0, len(recs))
	for _, r := range recs {
		e := Entry[T]{Key: r.Key, TS: crdt.Timestamp(r.Stamp), Node: r.Node, Deleted: r.Deleted}
		if !r.Deleted {
			v, err := c.codec.DecodeValue(r.Value)
			if err != nil {
				bad = append(bad, fmt.Errorf("load %s %s: %w", c.kind.Name, r.Key, err))
				continue
			}
			e.Value = v
		}
		c.clock.Observe(e.TS)
		es = append(es, e)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m.Merge(es...)
	return bad, nil
}

// Put writes v under key as a local change, after validating it.
func (c *Collection[T]) Put(ctx context.Context, key string, v T) error {
	if err := c.validate(key, v); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.apply(ctx, []Entry[T]{{Key: key, Value: v, TS: c.clock.Now(), Node: c.node}}, false)
}

// PutAll writes every value of vs as one local change: one store write and
// one batch for the subscribers and the replica. A value that does not
// validate fails the whole call, and nothing is written.
func (c *Collection[T]) PutAll(ctx context.Context, vs map[string]T) error {
	if len(vs) == 0 {
		return nil
	}
	keys := make([]string, 0, len(vs))
	for k, v := range vs {
		if err := c.validate(k, v); err != nil {
			return err
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	c.mu.Lock()
	defer c.mu.Unlock()
	es := make([]Entry[T], len(keys))
	for i, k := range keys {
		es[i] = Entry[T]{Key: k, Value: vs[k], TS: c.clock.Now(), Node: c.node}
	}
	return c.apply(ctx, es, false)
}

// Delete removes key, leaving a tombstone that wins over older writes.
func (c *Collection[T]) Delete(ctx context.Context, key string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cur, ok := c.m.Entry(key); !ok || cur.Deleted {
		return fmt.Errorf("delete %s %s: %w", c.kind.Name, key, ErrNotFound)
	}
	return c.apply(ctx, []Entry[T]{{Key: key, TS: c.clock.Now(), Node: c.node, Deleted: true}}, false)
}

// Merge folds in entries from a peer and returns those that changed the
// collection (to relay). Entries that do not validate, or are stamped before
// the horizon, are left out and reported in refused; err is set only when
// the store fails, and then nothing changed.
func (c *Collection[T]) Merge(ctx context.Context, in []Entry[T]) (changed []Entry[T], refused []error, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var winners []Entry[T]
	for i := range in {
		e := in[i]
		if e.Key == "" {
			refused = append(refused, fmt.Errorf("%s with an empty key", c.kind.Name))
			continue
		}
		if e.TS < c.horizon {
			refused = append(refused, fmt.Errorf("%s %s: %w", c.kind.Name, e.Key, ErrBeforeHorizon))
			continue
		}
		if !e.Deleted {
			if err := c.validate(e.Key, e.Value); err != nil {
				refused = append(refused, err)
				continue
			}
		}
		c.clock.Observe(e.TS)
		if cur, ok := c.m.Entry(e.Key); ok && !e.Newer(&cur) {
			continue
		}
		winners = append(winners, e)
	}
	if len(winners) == 0 {
		return nil, refused, nil
	}
	if err := c.apply(ctx, winners, true); err != nil {
		return nil, refused, err
	}
	return winners, refused, nil
}

// apply persists entries, merges them and notifies. Called with mu held.
func (c *Collection[T]) apply(ctx context.Context, es []Entry[T], remote bool) error {
	if c.st != nil {
		recs := make([]store.ObjectRecord, len(es))
		for i, e := range es {
			r := store.ObjectRecord{Key: e.Key, Stamp: uint64(e.TS), Node: e.Node, Deleted: e.Deleted}
			if !e.Deleted {
				b, err := c.codec.AppendValue(nil, e.Value)
				if err != nil {
					return fmt.Errorf("encode %s %s: %w", c.kind.Name, e.Key, err)
				}
				r.Value = b
			}
			recs[i] = r
		}
		if err := c.st.PutObjects(ctx, c.kind.Name, recs); err != nil {
			return fmt.Errorf("persist %s objects: %w", c.kind.Name, err)
		}
	}
	if changed := c.m.Merge(es...); len(changed) > 0 {
		for _, f := range c.subs {
			f(changed, remote)
		}
		for _, f := range c.ctxSubs {
			f(ctx, changed, remote)
		}
	}
	return nil
}

func (c *Collection[T]) validate(key string, v T) error {
	if key == "" {
		return fmt.Errorf("%s: key is empty; give it an id", c.kind.Name)
	}
	if c.kind.Validate == nil {
		return nil
	}
	return c.kind.Validate(key, v)
}

// Get returns the live value of key; ok is false when absent or deleted.
func (c *Collection[T]) Get(key string) (T, bool) { return c.m.Get(key) }

// Entry returns the entry of key, tombstone included.
func (c *Collection[T]) Entry(key string) (Entry[T], bool) { return c.m.Entry(key) }

// List returns the live entries by key.
func (c *Collection[T]) List() []Entry[T] {
	var out []Entry[T]
	for _, e := range c.m.Entries() {
		if !e.Deleted {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// Entries returns every entry, tombstones included, by key.
func (c *Collection[T]) Entries() []Entry[T] {
	out := c.m.Entries()
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// Len is the number of live keys.
func (c *Collection[T]) Len() int { return c.m.Len() }

// Collect moves the horizon to h (it never moves back), drops the tombstones
// stamped before it and returns their keys. From then on a write stamped
// before h is refused (see the package comment).
func (c *Collection[T]) Collect(h crdt.Timestamp) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if h > c.horizon {
		c.horizon = h
	}
	return c.m.Collect(c.horizon)
}

// Horizon returns the current tombstone horizon.
func (c *Collection[T]) Horizon() crdt.Timestamp {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.horizon
}
