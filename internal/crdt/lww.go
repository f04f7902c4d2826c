package crdt

import (
	"sync"
)

// Entry is one key of a last-writer-wins map: a value, the timestamp and
// node of the write that set it, and a tombstone flag for deletes.
type Entry[V any] struct {
	Key     string    `json:"key"`
	Value   V         `json:"value"`
	TS      Timestamp `json:"ts"`
	Node    string    `json:"node"`
	Deleted bool      `json:"deleted,omitempty"`
}

// Newer reports whether e wins over o: a later timestamp, or on a tie the
// larger node name, or on a full tie a tombstone over a value. Both entries
// must have the same key.
func (e *Entry[V]) Newer(o *Entry[V]) bool {
	if e.TS != o.TS {
		return e.TS > o.TS
	}
	if e.Node != o.Node {
		return e.Node > o.Node
	}
	return e.Deleted && !o.Deleted
}

// LWWMap is a last-writer-wins map from string keys to values of V. A delete
// leaves a tombstone that wins over older writes until it is collected.
// Merge is commutative, associative and idempotent. Safe for concurrent use.
type LWWMap[V any] struct {
	mu      sync.RWMutex
	entries map[string]*slot[V]
}

// slot is an entry as the map holds it: without its key, which the map
// already holds (16 bytes less per key).
type slot[V any] struct {
	value   V
	ts      Timestamp
	node    string
	deleted bool
}

func (s *slot[V]) entry(key string) Entry[V] {
	return Entry[V]{Key: key, Value: s.value, TS: s.ts, Node: s.node, Deleted: s.deleted}
}

// NewLWWMap returns an empty map.
func NewLWWMap[V any]() *LWWMap[V] {
	return &LWWMap[V]{entries: map[string]*slot[V]{}}
}

// Merge folds entries in and returns those that changed the map: the delta
// to hand on to others and to apply locally.
func (m *LWWMap[V]) Merge(in ...Entry[V]) []Entry[V] {
	m.mu.Lock()
	defer m.mu.Unlock()
	var changed []Entry[V]
	for i := range in {
		e := &in[i]
		if cur, ok := m.entries[e.Key]; ok {
			if c := cur.entry(e.Key); !e.Newer(&c) {
				continue
			}
		}
		m.entries[e.Key] = &slot[V]{value: e.Value, ts: e.TS, node: e.Node, deleted: e.Deleted}
		changed = append(changed, *e)
	}
	return changed
}

// Get returns the live value of key; ok is false when absent or deleted.
func (m *LWWMap[V]) Get(key string) (v V, ok bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	e, found := m.entries[key]
	if !found || e.deleted {
		return v, false
	}
	return e.value, true
}

// Entry returns the entry of key, tombstone included.
func (m *LWWMap[V]) Entry(key string) (Entry[V], bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	e, ok := m.entries[key]
	if !ok {
		return Entry[V]{}, false
	}
	return e.entry(key), true
}

// Entries returns every entry, tombstones included, in no order.
func (m *LWWMap[V]) Entries() []Entry[V] {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]Entry[V], 0, len(m.entries))
	for k, e := range m.entries {
		out = append(out, e.entry(k))
	}
	return out
}

// LiveKeys returns the keys that are not deleted, in no order: cheaper
// than Entries when only the keys are wanted.
func (m *LWWMap[V]) LiveKeys() []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]string, 0, len(m.entries))
	for k, e := range m.entries {
		if !e.deleted {
			out = append(out, k)
		}
	}
	return out
}

// Len returns the number of live (not deleted) keys.
func (m *LWWMap[V]) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	n := 0
	for _, e := range m.entries {
		if !e.deleted {
			n++
		}
	}
	return n
}

// Collect drops tombstones written before horizon and returns their keys.
// Collection is safe once every node has seen the tombstone; the horizon
// must exceed the longest partition the cluster should heal from without
// resurrecting deleted keys.
func (m *LWWMap[V]) Collect(horizon Timestamp) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var keys []string
	for k, e := range m.entries {
		if e.deleted && e.ts < horizon {
			delete(m.entries, k)
			keys = append(keys, k)
		}
	}
	return keys
}
