// Package registry owns the set of targets a node knows: a last-writer-wins
// map of target specs (crdt.LWWMap) ordered by a hybrid logical clock and
// node name, persisted in the store as objects of kind "target"
// (store.KindTarget) so a restart loses nothing, and
// replicated by merging entries from other nodes. Local writes (from the
// config file or the API) and remote merges go through the same path:
// persist, merge, then tell the subscribers what changed.
//
// The registry holds specs as users wrote them: ${VAR} references stay
// unexpanded, so secrets never reach the store or other nodes.
package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/heckhq/heck/internal/crdt"
	"github.com/heckhq/heck/internal/store"
	"github.com/heckhq/heck/internal/target"
)

// Entry is one registry entry: a spec, or a tombstone.
type Entry = crdt.Entry[target.Spec]

// Persister is the part of the store the registry uses.
type Persister interface {
	PutObjects(ctx context.Context, kind string, recs []store.ObjectRecord) error
	Objects(ctx context.Context, kind string) ([]store.ObjectRecord, error)
}

// ErrNotFound is returned when deleting an absent target.
var ErrNotFound = store.ErrNotFound

// Registry is the replicated set of targets. Safe for concurrent use.
type Registry struct {
	node  string
	clock *crdt.Clock
	st    Persister
	m     *crdt.LWWMap[packed]

	// mu serialises writes so that persist-then-merge is atomic with
	// respect to other writers and subscribers see changes in order.
	mu      sync.Mutex
	subs    []func(changed []Entry, remote bool)
	ctxSubs []func(ctx context.Context, changed []Entry, prior Prior, remote bool)
}

// Prior answers, for the i-th changed entry of a batch, the entry it
// replaced; held is false for a key this registry never had.
type Prior func(i int) (e Entry, held bool)

// New returns an empty registry for node, stamping writes with clock.
func New(node string, clock *crdt.Clock, st Persister) *Registry {
	return &Registry{node: node, clock: clock, st: st, m: crdt.NewLWWMap[packed]()}
}

// Subscribe registers f to be called, in order and under the registry's
// write lock, with every batch of entries that changed the map; remote is
// set when they came from another node (Merge) rather than a local write.
// f must not call back into the registry's write methods.
func (r *Registry) Subscribe(f func(changed []Entry, remote bool)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.subs = append(r.subs, f)
}

// SubscribeContext is Subscribe for subscribers that want the context of
// the write (the audit reads the principal who made a local change) and
// the entries the changes replaced (the audit's before value).
func (r *Registry) SubscribeContext(f func(ctx context.Context, changed []Entry, prior Prior, remote bool)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ctxSubs = append(r.ctxSubs, f)
}

// Load reads the persisted entries into the map without notifying
// subscribers (read List afterwards). A record that cannot be decoded is
// skipped, left untouched in the store, and reported in bad; err is set
// only when the store cannot be read.
func (r *Registry) Load(ctx context.Context) (bad []error, err error) {
	recs, err := r.st.Objects(ctx, store.KindTarget)
	if err != nil {
		return nil, fmt.Errorf("load targets: %w", err)
	}
	entries := make([]packedEntry, 0, len(recs))
	for _, rec := range recs {
		e, err := fromRecord(rec)
		if err != nil {
			bad = append(bad, fmt.Errorf("load target %s: %w", rec.Key, err))
			continue
		}
		entries = append(entries, packEntry(&e))
		r.clock.Observe(e.TS)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.m.Merge(entries...)
	return bad, nil
}

// Put writes spec as a local change. It reports whether the target is new
// (absent or deleted before). Writing a spec equal to the current one is a
// no-op. The caller validates spec first.
func (r *Registry) Put(ctx context.Context, spec target.Spec) (created bool, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	cur, ok := r.m.Entry(spec.ID)
	if ok && !cur.Deleted && equalSpecs(cur.Value.spec(cur.Key), spec) {
		return false, nil
	}
	e := Entry{Key: spec.ID, Value: spec.Clone(), TS: r.clock.Now(), Node: r.node}
	if err := r.apply(ctx, []Entry{e}, []priorEntry{{cur, ok}}, false); err != nil {
		return false, err
	}
	return !ok || cur.Deleted, nil
}

// Delete removes a target, leaving a tombstone that wins over older writes.
func (r *Registry) Delete(ctx context.Context, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	cur, ok := r.m.Entry(id)
	if !ok || cur.Deleted {
		return fmt.Errorf("delete target %s: %w", id, ErrNotFound)
	}
	e := Entry{Key: id, TS: r.clock.Now(), Node: r.node, Deleted: true}
	return r.apply(ctx, []Entry{e}, []priorEntry{{cur, ok}}, false)
}

// Merge folds in entries from another node and returns those that changed
// this registry (to pass on).
func (r *Registry) Merge(ctx context.Context, entries []Entry) ([]Entry, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var winners []Entry
	var priors []priorEntry
	for _, e := range entries {
		r.clock.Observe(e.TS)
		cur, ok := r.m.Entry(e.Key)
		if s := stamp(&e); !ok || s.Newer(&cur) {
			winners = append(winners, e)
			priors = append(priors, priorEntry{cur, ok})
		}
	}
	if len(winners) == 0 {
		return nil, nil
	}
	if err := r.apply(ctx, winners, priors, true); err != nil {
		return nil, err
	}
	return winners, nil
}

// priorEntry is what an entry about to be applied replaces.
type priorEntry struct {
	e    packedEntry
	held bool
}

// apply persists entries, merges them and notifies; priors[i] is what
// entries[i] replaces. Called with mu held.
func (r *Registry) apply(ctx context.Context, entries []Entry, priors []priorEntry, remote bool) error {
	recs := make([]store.ObjectRecord, len(entries))
	for i, e := range entries {
		rec, err := toRecord(e)
		if err != nil {
			return err
		}
		recs[i] = rec
	}
	if err := r.st.PutObjects(ctx, store.KindTarget, recs); err != nil {
		return fmt.Errorf("persist targets: %w", err)
	}
	in := make([]packedEntry, len(entries))
	for i := range entries {
		in[i] = packEntry(&entries[i])
	}
	if changed := r.m.Merge(in...); len(changed) > 0 {
		out := make([]Entry, len(changed))
		for i := range changed {
			out[i] = unpackEntry(&changed[i])
		}
		for _, f := range r.subs {
			f(out, remote)
		}
		prior := func(i int) (Entry, bool) {
			// Under mu every entry applied is newer than what was held, so
			// changed is entries in order; a search only if that ever
			// differs.
			j := i
			if len(changed) != len(entries) {
				j = slices.IndexFunc(entries, func(e Entry) bool { return e.Key == out[i].Key })
			}
			if j < 0 || !priors[j].held {
				return Entry{}, false
			}
			return unpackEntry(&priors[j].e), true
		}
		for _, f := range r.ctxSubs {
			f(ctx, out, prior, remote)
		}
	}
	return nil
}

// Entry returns the entry of id, tombstone included.
func (r *Registry) Entry(id string) (Entry, bool) {
	e, ok := r.m.Entry(id)
	if !ok {
		return Entry{}, false
	}
	return unpackEntry(&e), true
}

// Get returns the live spec of id.
func (r *Registry) Get(id string) (target.Spec, bool) {
	p, ok := r.m.Get(id)
	if !ok {
		return target.Spec{}, false
	}
	return p.spec(id), true
}

// List returns every live spec, sorted by id.
func (r *Registry) List() []target.Spec {
	entries := r.m.Entries()
	out := make([]target.Spec, 0, len(entries))
	for i := range entries {
		if e := &entries[i]; !e.Deleted {
			out = append(out, e.Value.spec(e.Key))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// IDs returns the ids of the live targets, in no order.
func (r *Registry) IDs() []string { return r.m.LiveKeys() }

// Entries returns every entry, tombstones included (for anti-entropy).
func (r *Registry) Entries() []Entry {
	entries := r.m.Entries()
	out := make([]Entry, len(entries))
	for i := range entries {
		out[i] = unpackEntry(&entries[i])
	}
	return out
}

// Stamps returns every entry's write without its value (Key, TS, Node,
// Deleted), tombstones included: what anti-entropy digests are made of,
// without rebuilding a spec per entry.
func (r *Registry) Stamps() []Entry {
	entries := r.m.Entries()
	out := make([]Entry, len(entries))
	for i, e := range entries {
		out[i] = Entry{Key: e.Key, TS: e.TS, Node: e.Node, Deleted: e.Deleted}
	}
	return out
}

// Len returns the number of live targets.
func (r *Registry) Len() int { return r.m.Len() }

// CollectTombstones forgets tombstones older than horizon. They are kept
// in the store too long enough for a restarted node to learn of deletes.
func (r *Registry) CollectTombstones(now time.Time, horizon time.Duration) []string {
	return r.m.Collect(crdt.MakeTimestamp(now.Add(-horizon), 0))
}

// SyncConfig makes the registry hold exactly the config file's targets among
// those of origin "config" that this node wrote: new or changed ones are
// put, ones that left the file are deleted. Targets added through the API
// are left alone.
func (r *Registry) SyncConfig(ctx context.Context, specs []target.Spec) error {
	want := make(map[string]bool, len(specs))
	var errs []error
	for _, s := range specs {
		s.Origin = "config"
		want[s.ID] = true
		if _, err := r.Put(ctx, s); err != nil {
			errs = append(errs, err)
		}
	}
	for _, e := range r.m.Entries() {
		if !e.Deleted && e.Value.spec(e.Key).Origin == "config" && e.Node == r.node && !want[e.Key] {
			if err := r.Delete(ctx, e.Key); err != nil && !errors.Is(err, ErrNotFound) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

func equalSpecs(a, b target.Spec) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}

func toRecord(e Entry) (store.ObjectRecord, error) {
	rec := store.ObjectRecord{Key: e.Key, Stamp: uint64(e.TS), Node: e.Node, Deleted: e.Deleted}
	if !e.Deleted {
		b, err := json.Marshal(e.Value)
		if err != nil {
			return rec, fmt.Errorf("encode target %s: %w", e.Key, err)
		}
		rec.Value = b
	}
	return rec, nil
}

func fromRecord(rec store.ObjectRecord) (Entry, error) {
	e := Entry{Key: rec.Key, TS: crdt.Timestamp(rec.Stamp), Node: rec.Node, Deleted: rec.Deleted}
	if !rec.Deleted {
		if err := json.Unmarshal(rec.Value, &e.Value); err != nil {
			return e, fmt.Errorf("decode spec: %w", err)
		}
	}
	return e, nil
}
