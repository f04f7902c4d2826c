package objects

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"

	"github.com/heckhq/heck/internal/crdt"
)

// Buckets is how many parts a collection's digest splits its keys into.
const Buckets = 64

// Digest is a collection's anti-entropy summary: per bucket of keys, the
// XOR of a hash of every entry (key, stamp, node, tombstone). Two replicas
// holding the same entries have the same digest; a bucket that differs is
// sent whole.
type Digest [Buckets]uint64

// Replicated is a collection as the replica sees it, whatever its value
// type: entries travel as crdt.AppendEntries encodings of the kind's codec.
type Replicated interface {
	// Kind is the kind's name, which prefixes its messages.
	Kind() string
	// Digest summarises the entries held.
	Digest() Digest
	// AppendBuckets appends the encoding of every entry (tombstones
	// included) whose key falls in a bucket where differ is set; n is how
	// many entries it wrote.
	AppendBuckets(dst []byte, differ *[Buckets]bool) (out []byte, n int, err error)
	// MergeEncoded merges encoded entries from a peer and returns the
	// encoding of those that changed this replica (nil when none), to relay.
	MergeEncoded(ctx context.Context, b []byte) (changed []byte, refused []error, err error)
	// WatchLocal registers f to be given the encoding of every local change.
	WatchLocal(f func(encoded []byte))
}

var _ Replicated = (*Collection[int])(nil)

// BucketOf is the digest bucket of key.
func BucketOf(key string) int {
	h := fnv.New32a()
	h.Write([]byte(key))
	return int(h.Sum32() % Buckets)
}

func entryHash[T any](e *Entry[T]) uint64 {
	h := fnv.New64a()
	h.Write([]byte(e.Key))
	var b [9]byte
	binary.LittleEndian.PutUint64(b[:8], uint64(e.TS))
	if e.Deleted {
		b[8] = 1
	}
	h.Write(b[:])
	h.Write([]byte(e.Node))
	// A finaliser so that the XOR of many entries does not cancel structure.
	x := h.Sum64()
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	return x
}

// Digest summarises the collection's entries (Replicated).
func (c *Collection[T]) Digest() Digest {
	var d Digest
	for _, e := range c.m.Entries() {
		d[BucketOf(e.Key)] ^= entryHash(&e)
	}
	return d
}

// AppendBuckets encodes the entries in the buckets marked in differ
// (Replicated).
func (c *Collection[T]) AppendBuckets(dst []byte, differ *[Buckets]bool) ([]byte, int, error) {
	var send []Entry[T]
	for _, e := range c.m.Entries() {
		if differ[BucketOf(e.Key)] {
			send = append(send, e)
		}
	}
	if len(send) == 0 {
		return dst, 0, nil
	}
	out, err := crdt.AppendEntries(dst, c.codec, send)
	if err != nil {
		return dst, 0, fmt.Errorf("encode %s entries: %w", c.kind.Name, err)
	}
	return out, len(send), nil
}

// MergeEncoded decodes and merges a peer's entries (Replicated).
func (c *Collection[T]) MergeEncoded(ctx context.Context, b []byte) ([]byte, []error, error) {
	es, err := crdt.DecodeEntries(b, c.codec)
	if err != nil {
		return nil, nil, fmt.Errorf("decode %s entries: %w", c.kind.Name, err)
	}
	changed, refused, err := c.Merge(ctx, es)
	if err != nil || len(changed) == 0 {
		return nil, refused, err
	}
	out, err := crdt.AppendEntries(nil, c.codec, changed)
	if err != nil {
		return nil, refused, fmt.Errorf("encode %s entries: %w", c.kind.Name, err)
	}
	return out, refused, nil
}

// WatchLocal hands f the encoding of every local change (Replicated).
func (c *Collection[T]) WatchLocal(f func(encoded []byte)) {
	c.Subscribe(func(changed []Entry[T], remote bool) {
		if remote {
			return
		}
		b, err := crdt.AppendEntries(nil, c.codec, changed)
		if err != nil {
			return // the value was encoded for the store a moment ago
		}
		f(b)
	})
}
