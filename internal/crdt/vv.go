package crdt

import (
	"maps"
	"slices"
)

// VersionVector maps an observer (a node writing its own sequence of
// updates) to the highest sequence number known from it. It is the digest
// of a replica in anti-entropy: a peer sends its vector, and the replica
// answers with what the vector does not cover. Merge is a pointwise
// maximum: commutative, associative and idempotent. An absent observer
// reads as 0. The zero value (nil) is an empty vector for reading; use
// make or Clone before writing.
type VersionVector map[string]uint64

// Get returns the sequence known for observer (0 when absent).
func (v VersionVector) Get(observer string) uint64 { return v[observer] }

// Observe raises the entry of observer to seq if seq is higher and
// reports whether it did.
func (v VersionVector) Observe(observer string, seq uint64) bool {
	if seq > v[observer] {
		v[observer] = seq
		return true
	}
	return false
}

// Merge raises every entry of v to at least the entry of o.
func (v VersionVector) Merge(o VersionVector) {
	for k, s := range o {
		if s > v[k] {
			v[k] = s
		}
	}
}

// Clone returns an independent copy (never nil).
func (v VersionVector) Clone() VersionVector {
	if v == nil {
		return VersionVector{}
	}
	return maps.Clone(v)
}

// Covers reports whether v has seen everything o has: v[k] >= o[k] for
// every observer.
func (v VersionVector) Covers(o VersionVector) bool {
	for k, s := range o {
		if v[k] < s {
			return false
		}
	}
	return true
}

// Equal reports whether v and o hold the same sequences, treating absent
// and zero entries alike.
func (v VersionVector) Equal(o VersionVector) bool { return v.Covers(o) && o.Covers(v) }

// Gap is the range of one observer's sequences that a replica holds and a
// peer lacks: After (exclusive, what the peer has) to Upto (inclusive).
type Gap struct {
	Observer string
	After    uint64
	Upto     uint64
}

// Missing returns, sorted by observer, the gaps of a peer whose vector is
// peer: every observer for which v is ahead of it.
func (v VersionVector) Missing(peer VersionVector) []Gap {
	var gaps []Gap
	for k, s := range v {
		if p := peer[k]; s > p {
			gaps = append(gaps, Gap{Observer: k, After: p, Upto: s})
		}
	}
	slices.SortFunc(gaps, func(a, b Gap) int {
		switch {
		case a.Observer < b.Observer:
			return -1
		case a.Observer > b.Observer:
			return 1
		}
		return 0
	})
	return gaps
}
