// Package replica owns how a node's replicated state crosses the cluster:
// the target registry (a last-writer-wins map) and the health table
// (observations and watermarks). It implements cluster.Replica: deltas are
// broadcast when they happen and relayed once by each node they are new to;
// anti-entropy exchanges small digests at every push/pull and each side
// sends only what the other lacks.
//
// Wire format of a payload: one kind byte, then the kind's encoding:
//   - kindRegistry: crdt.AppendEntries of target specs (JSON values);
//   - kindHealth: health.AppendDelta;
//   - digest (LocalDigest): a version byte, 256 registry bucket hashes, then
//     a health.Delta carrying only the health table's version vector.
//
// The registry digest splits keys into 256 buckets by a hash of the key and
// XORs a hash of every entry (key, timestamp, node, tombstone) into its
// bucket; a bucket whose hash differs from the peer's is sent whole. With
// few differences that is a few entries, whatever the registry's size.
package replica

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync"
	"time"

	"github.com/heckhq/heck/internal/crdt"
	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/registry"
	"github.com/heckhq/heck/internal/target"
)

const (
	kindRegistry byte = 1
	kindHealth   byte = 2

	digestVersion byte = 1
)

// buckets is how many parts the registry digest splits keys into.
const buckets = 256

// Transport is what the replica needs of the cluster.
type Transport interface {
	Broadcast(msg []byte)
	Send(ctx context.Context, node string, msg []byte) error
}

// Replica carries a node's registry and health table over a Transport.
type Replica struct {
	reg   *registry.Registry
	table *health.Table
	log   *slog.Logger
	codec crdt.JSONCodec[target.Spec]

	mu sync.RWMutex
	tr Transport

	in   chan inbound
	stop chan struct{}
	done chan struct{}
}

type inbound struct {
	from string
	msg  []byte
}

// New returns a replica of reg and table. Call SetTransport before the
// cluster starts delivering, and Run to apply incoming deltas.
func New(reg *registry.Registry, table *health.Table, log *slog.Logger) *Replica {
	if log == nil {
		log = slog.Default()
	}
	return &Replica{reg: reg, table: table, log: log,
		in: make(chan inbound, 4096), stop: make(chan struct{}), done: make(chan struct{})}
}

// SetTransport sets the cluster the replica talks through.
func (r *Replica) SetTransport(t Transport) {
	r.mu.Lock()
	r.tr = t
	r.mu.Unlock()
}

func (r *Replica) transport() Transport {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.tr
}

// Run applies incoming deltas on its own goroutine (so memberlist's
// receive path never waits on the store) until ctx is done.
func (r *Replica) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-r.in:
			r.apply(ctx, m.from, m.msg)
		}
	}
}

// HandleDelta queues a delta from a peer (cluster.Replica).
func (r *Replica) HandleDelta(from string, msg []byte) {
	select {
	case r.in <- inbound{from, msg}:
	default:
		// Anti-entropy repairs what is dropped here.
		r.log.Warn("replication queue full; dropping a delta until anti-entropy repairs it", "from", from)
	}
}

func (r *Replica) apply(ctx context.Context, from string, msg []byte) {
	if len(msg) == 0 {
		return
	}
	switch msg[0] {
	case kindRegistry:
		entries, err := crdt.DecodeEntries(msg[1:], r.codec)
		if err != nil {
			r.log.Warn("bad registry delta", "from", from, "err", err)
			return
		}
		entries = validEntries(entries, r.log, from)
		changed, err := r.reg.Merge(ctx, entries)
		if err != nil {
			r.log.Error("merge registry delta", "from", from, "err", err)
			return
		}
		if len(changed) > 0 {
			r.BroadcastEntries(changed) // relay what was new here
		}
	case kindHealth:
		d, err := health.DecodeDelta(msg[1:])
		if err != nil {
			r.log.Warn("bad health delta", "from", from, "err", err)
			return
		}
		changed := r.table.Merge(d)
		if !changed.Empty() {
			r.BroadcastHealth(changed)
		}
	default:
		r.log.Warn("unknown replication message", "from", from, "kind", msg[0])
	}
}

// validEntries drops entries whose spec does not validate: a node running
// a newer or broken version must not push a target this node cannot probe.
func validEntries(es []registry.Entry, log *slog.Logger, from string) []registry.Entry {
	out := es[:0]
	for _, e := range es {
		if !e.Deleted {
			if errs := e.Value.Validate(); len(errs) > 0 || e.Value.ID != e.Key {
				log.Warn("ignoring an invalid target from a peer", "from", from, "target", e.Key, "err", errs)
				continue
			}
		}
		out = append(out, e)
	}
	return out
}

// BroadcastEntries sends registry entries to every other node.
func (r *Replica) BroadcastEntries(es []registry.Entry) {
	t := r.transport()
	if t == nil || len(es) == 0 {
		return
	}
	msg, err := crdt.AppendEntries([]byte{kindRegistry}, r.codec, es)
	if err != nil {
		r.log.Error("encode registry delta", "err", err)
		return
	}
	t.Broadcast(msg)
}

// BroadcastHealth sends observations and watermarks to every other node.
func (r *Replica) BroadcastHealth(d health.Delta) {
	t := r.transport()
	if t == nil || d.Empty() {
		return
	}
	d.Digest = nil
	t.Broadcast(health.AppendDelta([]byte{kindHealth}, &d))
}

// LocalDigest summarises the registry and the health table (cluster.Replica).
func (r *Replica) LocalDigest() []byte {
	b := make([]byte, 0, 1+buckets*8+64)
	b = append(b, digestVersion)
	sums := r.registrySums()
	for _, s := range sums {
		b = binary.LittleEndian.AppendUint64(b, s)
	}
	return health.AppendDelta(b, &health.Delta{Digest: r.table.Digest()})
}

// MergeDigest answers a peer's digest with what it lacks (cluster.Replica).
func (r *Replica) MergeDigest(from string, digest []byte) {
	t := r.transport()
	if t == nil {
		return
	}
	theirs, vv, err := decodeDigest(digest)
	if err != nil {
		r.log.Warn("bad digest", "from", from, "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	mine := r.registrySums()
	var differ [buckets]bool
	anyDiffer := false
	for i := range mine {
		if mine[i] != theirs[i] {
			differ[i], anyDiffer = true, true
		}
	}
	if anyDiffer {
		var send []registry.Entry
		for _, e := range r.reg.Entries() {
			if differ[bucketOf(e.Key)] {
				send = append(send, e)
			}
		}
		if len(send) > 0 {
			msg, err := crdt.AppendEntries([]byte{kindRegistry}, r.codec, send)
			if err == nil {
				err = t.Send(ctx, from, msg)
			}
			if err != nil {
				r.log.Debug("send registry repair", "to", from, "err", err)
			}
		}
	}
	d := r.table.Delta(vv)
	if len(d.Observations) > 0 || len(d.Watermarks) > 0 {
		if err := t.Send(ctx, from, health.AppendDelta([]byte{kindHealth}, &d)); err != nil {
			r.log.Debug("send health repair", "to", from, "err", err)
		}
	}
}

func (r *Replica) registrySums() [buckets]uint64 {
	var sums [buckets]uint64
	for _, e := range r.reg.Entries() {
		sums[bucketOf(e.Key)] ^= entryHash(e)
	}
	return sums
}

func bucketOf(key string) int {
	h := fnv.New32a()
	h.Write([]byte(key))
	return int(h.Sum32() % buckets)
}

func entryHash(e registry.Entry) uint64 {
	h := fnv.New64a()
	h.Write([]byte(e.Key))
	var b [9]byte
	binary.LittleEndian.PutUint64(b[:8], uint64(e.TS))
	if e.Deleted {
		b[8] = 1
	}
	h.Write(b[:])
	h.Write([]byte(e.Node))
	// A finaliser so that XOR of many entries does not cancel structure.
	x := h.Sum64()
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	return x
}

var errDigest = errors.New("malformed digest")

func decodeDigest(b []byte) (sums [buckets]uint64, vv crdt.VersionVector, err error) {
	if len(b) < 1+buckets*8 || b[0] != digestVersion {
		return sums, nil, fmt.Errorf("%w: %d bytes", errDigest, len(b))
	}
	p := b[1:]
	for i := range sums {
		sums[i] = binary.LittleEndian.Uint64(p[i*8:])
	}
	d, err := health.DecodeDelta(p[buckets*8:])
	if err != nil {
		return sums, nil, fmt.Errorf("digest version vector: %w", err)
	}
	return sums, d.Digest, nil
}
