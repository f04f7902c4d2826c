// Package crdt holds heck's conflict-free replicated data types: a hybrid
// logical clock, a last-writer-wins map for the target registry (and later
// pools, users, incidents), and the version-vector bookkeeping that lets
// anti-entropy send only what a peer lacks, plus the compact binary codec
// (and its Reader) used on the wire. Every merge is commutative,
// associative and idempotent; the tests prove it by property.
package crdt
