package replica

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/heckhq/heck/internal/crdt"
	"github.com/heckhq/heck/internal/objects"
)

// Replicated objects of any kind (internal/objects) travel on their own
// message kinds, so that a node that does not know them (an older binary,
// or one without the kind registered) logs and ignores them:
//   - kindObjects, kindObjectsRepair: the kind's name (crdt.AppendString),
//     then crdt.AppendEntries of its entries in the kind's codec; a
//     kindObjects that changed the receiver is relayed once, like the
//     registry's;
//   - kindObjectsDigest: a count, then per kind its name and its
//     objects.Buckets bucket hashes. It is sent straight to the peer at
//     every push/pull (MergeDigest), beside the registry and health digest
//     whose format stays as it was; the receiver answers each kind it
//     holds with the entries of the buckets that differ, as a repair.
const (
	kindObjects       byte = 6
	kindObjectsRepair byte = 7
	kindObjectsDigest byte = 8
)

type objectBatch struct {
	kind    string
	entries []byte // crdt.AppendEntries encoding
}

// AddCollection makes the replica carry c: its local changes are
// broadcast, peers' merged, and its digest exchanged at every push/pull.
// Call it before Run and before the cluster starts delivering.
func (r *Replica) AddCollection(c objects.Replicated) {
	r.mu.Lock()
	if r.colls == nil {
		r.colls = map[string]objects.Replicated{}
	}
	r.colls[c.Kind()] = c
	r.order = append(r.order, c.Kind())
	r.mu.Unlock()
	c.WatchLocal(func(b []byte) { r.queueObjects(c.Kind(), b) })
}

func (r *Replica) collection(kind string) objects.Replicated {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.colls[kind]
}

func (r *Replica) queueObjects(kind string, b []byte) {
	r.pmu.Lock()
	r.pendingObjects = append(r.pendingObjects, objectBatch{kind, b})
	r.pmu.Unlock()
}

// flushObjects broadcasts the queued object changes.
func (r *Replica) flushObjects(batches []objectBatch) {
	t := r.transport()
	if t == nil {
		return
	}
	for _, b := range batches {
		msg := crdt.AppendString([]byte{kindObjects}, b.kind)
		r.broadcast(t, append(msg, b.entries...))
	}
}

// applyObjects merges an objects message from a peer.
func (r *Replica) applyObjects(ctx context.Context, from string, msg []byte, relay bool) {
	rd := crdt.NewReader(msg[1:])
	kind := rd.String()
	if err := rd.Err(); err != nil {
		r.log.Warn("bad objects delta", "from", from, "err", err)
		return
	}
	c := r.collection(kind)
	if c == nil {
		r.log.Debug("ignoring objects of a kind this node does not know", "from", from, "kind", kind)
		return
	}
	changed, refused, err := c.MergeEncoded(ctx, msg[len(msg)-rd.Len():])
	if err != nil {
		r.log.Error("merge objects delta", "from", from, "kind", kind, "err", err)
		return
	}
	for _, e := range refused {
		r.log.Warn("ignoring an object from a peer", "from", from, "kind", kind, "err", e)
	}
	if changed != nil && relay && msg[0] == kindObjects {
		r.queueObjects(kind, changed) // relay what was new here
	}
}

// sendObjectsDigest sends this node's per-kind digests to a peer.
func (r *Replica) sendObjectsDigest(ctx context.Context, t Transport, to string) {
	r.mu.RLock()
	kinds := append([]string(nil), r.order...)
	r.mu.RUnlock()
	if len(kinds) == 0 {
		return
	}
	msg := binary.AppendUvarint([]byte{kindObjectsDigest}, uint64(len(kinds)))
	for _, k := range kinds {
		msg = crdt.AppendString(msg, k)
		d := r.collection(k).Digest()
		for _, s := range d {
			msg = binary.LittleEndian.AppendUint64(msg, s)
		}
	}
	r.count(FlowObjectsRepair, len(msg))
	if err := t.Send(ctx, to, msg); err != nil {
		r.log.Debug("send objects digest", "to", to, "err", err)
	}
}

// answerObjectsDigest sends a peer, for each kind both hold, the entries of
// the buckets whose hashes differ.
func (r *Replica) answerObjectsDigest(ctx context.Context, from string, msg []byte) {
	t := r.transport()
	if t == nil {
		return
	}
	rd := crdt.NewReader(msg[1:])
	n := rd.Count(1 + objects.Buckets*8)
	for i := 0; i < n && rd.Err() == nil; i++ {
		kind := rd.String()
		var theirs objects.Digest
		for j := range theirs {
			var b [8]byte
			for k := range b {
				b[k] = rd.Byte()
			}
			theirs[j] = binary.LittleEndian.Uint64(b[:])
		}
		if rd.Err() != nil {
			break
		}
		c := r.collection(kind)
		if c == nil {
			continue
		}
		mine := c.Digest()
		var differ [objects.Buckets]bool
		anyDiffer := false
		for j := range mine {
			if mine[j] != theirs[j] {
				differ[j], anyDiffer = true, true
			}
		}
		if !anyDiffer {
			continue
		}
		out, cnt, err := c.AppendBuckets(crdt.AppendString([]byte{kindObjectsRepair}, kind), &differ)
		if err != nil {
			r.log.Error("encode objects repair", "kind", kind, "err", err)
			continue
		}
		if cnt == 0 {
			continue
		}
		r.count(FlowObjectsRepair, len(out))
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if err := t.Send(sctx, from, out); err != nil {
			r.log.Debug("send objects repair", "to", from, "kind", kind, "err", err)
		}
		cancel()
	}
	if err := rd.Err(); err != nil {
		r.log.Warn("bad objects digest", "from", from, "err", fmt.Errorf("%w", err))
	}
}
