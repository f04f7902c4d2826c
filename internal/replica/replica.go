// Package replica owns how a node's replicated state crosses the cluster:
// the target registry (a last-writer-wins map) and the health table
// (observations and watermarks). It implements cluster.Replica.
//
// Local changes are queued and sent every 50 ms in batches. A small batch
// rides memberlist's gossip, which only reaches some members, so every node
// relays what was new to it, once. A larger batch, or any batch while the
// gossip queue is backed up (a cluster starting, a fleet-wide outage), goes
// straight to every member (Multicast: a packet each, or a reliable stream
// when large) and is not relayed; while backed up, a node relays nothing.
// Anti-entropy exchanges small digests at every push/pull and each side
// answers with only what the other lacks, as a repair that is never
// relayed. So a surge costs one copy per member, not one per member per
// relay, and gossip never overflows into repairs.
//
// Wire format of a payload: one kind byte, then the kind's encoding:
//   - kindRegistry, kindRegistryRepair: crdt.AppendEntries of target specs
//     (JSON values);
//   - kindHealth, kindHealthRepair, kindHealthDirect: health.AppendDelta;
//   - kindObjects, kindObjectsRepair, kindObjectsDigest: replicated objects
//     of any kind (see objects.go);
//   - kindHealthAsk: health.AppendSummary of one observer's entry, asking
//     that observer for the holes in it (see gaps.go);
//   - digest (LocalDigest): a version byte, 256 registry bucket hashes, then
//     the health table's summary (health.AppendSummary: per observer, what
//     it holds and the holes in it), so the answer carries only what the
//     peer lacks even while a lost message keeps its version vector low.
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
	"sync/atomic"
	"time"

	"github.com/heckhq/heck/internal/crdt"
	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/objects"
	"github.com/heckhq/heck/internal/registry"
	"github.com/heckhq/heck/internal/target"
)

const (
	kindRegistry       byte = 1
	kindHealth         byte = 2
	kindRegistryRepair byte = 3
	kindHealthRepair   byte = 4
	kindHealthDirect   byte = 5 // multicast to every member: not relayed

	digestVersion byte = 2
)

// buckets is how many parts the registry digest splits keys into.
const buckets = 256

// Transport is what the replica needs of the cluster.
type Transport interface {
	// Broadcast sends msg to every other member: by gossip when it fits
	// MaxBroadcastSize (reaching some members, who relay), else directly
	// to each.
	Broadcast(msg []byte)
	// Multicast sends msg straight to every other member, once each.
	Multicast(msg []byte)
	// Queued is how many messages wait in the gossip queue.
	Queued() int
	Send(ctx context.Context, node string, msg []byte) error
	MaxBroadcastSize() int
}

// Replica carries a node's registry and health table over a Transport.
type Replica struct {
	reg   *registry.Registry
	table *health.Table
	log   *slog.Logger
	codec crdt.JSONCodec[target.Spec]

	mu sync.RWMutex
	tr Transport

	in chan inbound

	// pending observations and watermarks, sent together every flushEvery
	// so a burst of changes is a few packets, not one per change.
	pmu            sync.Mutex
	pending        health.Delta // this node's own changes
	relays         health.Delta // others' changes that were new here
	pendingEntries []registry.Entry
	pendingObjects []objectBatch

	// colls are the replicated object collections by kind (AddCollection),
	// order their kinds in the order added; guarded by mu.
	colls map[string]objects.Replicated
	order []string

	sent [numFlows]flowCounter

	// onChange is told every remote observation that changed the table.
	onChange func([]health.Observation)

	// Gap repair (gaps.go): asked holds, per observer, the watermark
	// sequence at which this node last asked it for a hole; outbox the asks
	// and answers waiting to be sent, and outKick wakes their sender.
	// Guarded by pmu.
	asked   map[string]uint64
	checks  map[string]gapCheck // holes to look at again (checkSettled)
	flushes uint64              // flushes so far: the clock of checks
	outbox  []outMsg
	outKick chan struct{}
}

// OnObservations sets fn to be told, on the replica's goroutine, the
// remote observations that changed the table (the verdict stage of the
// node listens). Set it before Run.
func (r *Replica) OnObservations(fn func([]health.Observation)) { r.onChange = fn }

// Flow names what a replica sends, for its Stats.
type Flow int

// The flows of Stats: what a node gossips (its own changes and those it
// relays) through memberlist's broadcast queue, what it sends to every member directly
// because it is too large to gossip (Direct), and the anti-entropy answers
// (HealthRepair, RegistryRepair) it sends a peer after a push/pull.
const (
	FlowGossip Flow = iota
	FlowDirect
	FlowHealthRepair
	FlowRegistryRepair
	FlowObjectsRepair
	FlowHealthAsk
	numFlows
)

// String names the flow as metrics label it.
func (f Flow) String() string {
	switch f {
	case FlowGossip:
		return "gossip"
	case FlowDirect:
		return "direct"
	case FlowHealthRepair:
		return "health_repair"
	case FlowRegistryRepair:
		return "registry_repair"
	case FlowObjectsRepair:
		return "objects_repair"
	case FlowHealthAsk:
		return "health_ask"
	}
	return "unknown"
}

// Flows lists every flow, in order.
func Flows() []Flow {
	return []Flow{FlowGossip, FlowDirect, FlowHealthRepair, FlowRegistryRepair, FlowObjectsRepair, FlowHealthAsk}
}

type flowCounter struct{ msgs, bytes atomic.Uint64 }

// Sent is what a replica has handed its transport in one flow: messages
// and payload bytes. A gossiped message is then sent several times by
// memberlist (its retransmit limit), a direct one once per member.
type Sent struct{ Messages, Bytes uint64 }

// Stats returns what the replica has sent so far, per flow.
func (r *Replica) Stats() map[Flow]Sent {
	out := make(map[Flow]Sent, numFlows)
	for _, f := range Flows() {
		out[f] = Sent{Messages: r.sent[f].msgs.Load(), Bytes: r.sent[f].bytes.Load()}
	}
	return out
}

func (r *Replica) count(f Flow, n int) {
	r.sent[f].msgs.Add(1)
	r.sent[f].bytes.Add(uint64(n))
}

// flushEvery is how long local health changes wait to be batched.
const flushEvery = 50 * time.Millisecond

// maxBatch bounds the observations in one broadcast so it fits a gossip
// packet (about 50 bytes each encoded).
const maxBatch = 20

// burst is the number of pending observations above which they are sent
// as one large message to every member instead of gossiped.
const burst = 5 * maxBatch

// backlog is the gossip queue length above which gossip is behind: this
// node then sends its own changes straight to every member (Multicast)
// and stops relaying others' (their origins multicast too, and
// anti-entropy repairs what is missed), so a surge of changes (a cluster
// starting, a fleet-wide outage) costs one copy per member instead of
// overflowing the gossip queue and being repaired member by member. In
// steady state the queue holds only the watermarks in flight, one small
// message per member per second for a few gossip rounds.
const backlog = 64

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
	return &Replica{reg: reg, table: table, log: log, in: make(chan inbound, 4096), outKick: make(chan struct{}, 1)}
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
// receive path never waits on the store) and sends batched local health
// changes, until ctx is done.
func (r *Replica) Run(ctx context.Context) {
	t := time.NewTicker(flushEvery)
	defer t.Stop()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		r.runOutbox(ctx)
	}()
	defer wg.Wait()
	for {
		select {
		case <-ctx.Done():
			r.flush()
			return
		case m := <-r.in:
			r.apply(ctx, m.from, m.msg)
		case <-t.C:
			r.flush()
		}
	}
}

// Publish queues this node's new observations and watermarks; Run sends
// them in batches.
func (r *Replica) Publish(d health.Delta) {
	r.pmu.Lock()
	r.pending.Observations = append(r.pending.Observations, d.Observations...)
	r.pending.Watermarks = append(r.pending.Watermarks, d.Watermarks...)
	r.pmu.Unlock()
}

// PublishEntries queues registry changes; Run sends them in batches.
func (r *Replica) PublishEntries(es []registry.Entry) {
	r.pmu.Lock()
	r.pendingEntries = append(r.pendingEntries, es...)
	r.pmu.Unlock()
}

func (r *Replica) flush() {
	r.checkSettled()
	r.pmu.Lock()
	own, relays := r.pending, r.relays
	r.pending, r.relays = health.Delta{}, health.Delta{}
	es := r.pendingEntries
	r.pendingEntries = nil
	obs := r.pendingObjects
	r.pendingObjects = nil
	r.pmu.Unlock()
	r.BroadcastEntries(es)
	r.flushObjects(obs)
	t := r.transport()
	if t == nil || own.Empty() && relays.Empty() {
		return
	}
	behind := t.Queued() > backlog
	if !behind && len(own.Observations) <= maxBatch && !multicastOwn(t) {
		// The usual case: a few changes, gossiped with the relays.
		relays.Observations = append(own.Observations, relays.Observations...)
		relays.Watermarks = newestWatermarks(append(own.Watermarks, relays.Watermarks...))
		r.gossipBatches(relays)
		return
	}
	own.Watermarks = newestWatermarks(own.Watermarks)
	relays.Watermarks = newestWatermarks(relays.Watermarks)
	if behind {
		if n := len(relays.Observations) + len(relays.Watermarks); n > 0 {
			r.log.Debug("gossip behind; not relaying", "changes", n, "queued", t.Queued())
		}
	} else {
		r.gossipBatches(relays)
	}
	// This node's own changes go straight to every member: as one large
	// message when they are a burst, else in packet-sized messages.
	if len(own.Observations) > burst {
		r.multicast(t, own)
		return
	}
	for len(own.Observations) > maxBatch {
		r.multicast(t, health.Delta{Observations: own.Observations[:maxBatch]})
		own.Observations = own.Observations[maxBatch:]
	}
	r.multicast(t, own)
}

// gossipBatches gossips d in packet-sized batches.
func (r *Replica) gossipBatches(d health.Delta) {
	for len(d.Observations) > maxBatch {
		r.BroadcastHealth(health.Delta{Observations: d.Observations[:maxBatch]})
		d.Observations = d.Observations[maxBatch:]
	}
	r.BroadcastHealth(d)
}

func (r *Replica) multicast(t Transport, d health.Delta) {
	if d.Empty() {
		return
	}
	d.Digest = nil
	msg := health.AppendDelta([]byte{kindHealthDirect}, &d)
	r.count(FlowDirect, len(msg))
	t.Multicast(msg)
}

// newestWatermarks keeps the newest watermark of each observer: only it
// matters.
func newestWatermarks(ws []health.Watermark) []health.Watermark {
	if len(ws) < 2 {
		return ws
	}
	newest := map[string]int{}
	for i, w := range ws {
		if j, ok := newest[w.Observer]; !ok || w.Seq > ws[j].Seq {
			newest[w.Observer] = i
		}
	}
	keep := ws[:0:0]
	for i, w := range ws {
		if newest[w.Observer] == i {
			keep = append(keep, w)
		}
	}
	return keep
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
	t := r.transport()
	// Relay only what came by gossip: a small broadcast. Repairs and large
	// broadcasts reached their receivers directly.
	relay := t != nil && len(msg) <= t.MaxBroadcastSize()
	switch msg[0] {
	case kindRegistry, kindRegistryRepair:
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
		if len(changed) > 0 && relay && msg[0] == kindRegistry {
			r.PublishEntries(changed) // relay what was new here
		}
	case kindHealth, kindHealthRepair, kindHealthDirect:
		d, err := health.DecodeDelta(msg[1:])
		if err != nil {
			r.log.Warn("bad health delta", "from", from, "err", err)
			return
		}
		var prev map[string]uint64
		for _, w := range d.Watermarks {
			if p, ok := r.table.Watermark(w.Observer); ok && p.Seq < w.Seq {
				if prev == nil {
					prev = map[string]uint64{}
				}
				prev[w.Observer] = max(prev[w.Observer], gapBound(p, w, r.table.MinStale()))
			}
		}
		changed := r.table.Merge(d)
		if prev != nil {
			r.noteWatermarks(prev)
		}
		if len(changed.Observations) > 0 && r.onChange != nil {
			r.onChange(changed.Observations)
		}
		if !changed.Empty() && relay && msg[0] == kindHealth {
			// Relay what was new here.
			r.pmu.Lock()
			r.relays.Observations = append(r.relays.Observations, changed.Observations...)
			r.relays.Watermarks = append(r.relays.Watermarks, changed.Watermarks...)
			r.pmu.Unlock()
		}
	case kindObjects, kindObjectsRepair:
		r.applyObjects(ctx, from, msg, relay)
	case kindObjectsDigest:
		r.answerObjectsDigest(ctx, from, msg)
	case kindHealthAsk:
		r.answerAsk(from, msg[1:])
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
	r.broadcast(t, msg)
}

// BroadcastHealth gossips observations and watermarks to every other node.
func (r *Replica) BroadcastHealth(d health.Delta) {
	t := r.transport()
	if t == nil || d.Empty() {
		return
	}
	d.Digest = nil
	r.broadcast(t, health.AppendDelta([]byte{kindHealth}, &d))
}

func (r *Replica) broadcast(t Transport, msg []byte) {
	if len(msg) <= t.MaxBroadcastSize() {
		r.count(FlowGossip, len(msg))
	} else {
		r.count(FlowDirect, len(msg))
	}
	t.Broadcast(msg)
}

// LocalDigest summarises the registry and the health table (cluster.Replica).
func (r *Replica) LocalDigest() []byte {
	b := make([]byte, 0, 1+buckets*8+64)
	b = append(b, digestVersion)
	sums := r.registrySums()
	for _, s := range sums {
		b = binary.LittleEndian.AppendUint64(b, s)
	}
	return health.AppendSummary(b, r.table.Summary())
}

// MergeDigest answers a peer's digest with what it lacks (cluster.Replica).
func (r *Replica) MergeDigest(from string, digest []byte) {
	t := r.transport()
	if t == nil {
		return
	}
	theirs, sum, err := decodeDigest(digest)
	if err != nil {
		r.log.Warn("bad digest", "from", from, "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r.sendObjectsDigest(ctx, t, from)

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
		for _, st := range r.reg.Stamps() {
			if differ[bucketOf(st.Key)] {
				if e, ok := r.reg.Entry(st.Key); ok {
					send = append(send, e)
				}
			}
		}
		if len(send) > 0 {
			msg, err := crdt.AppendEntries([]byte{kindRegistryRepair}, r.codec, send)
			if err == nil {
				r.count(FlowRegistryRepair, len(msg))
				err = t.Send(ctx, from, msg)
			}
			if err != nil {
				r.log.Debug("send registry repair", "to", from, "err", err)
			}
		}
	}
	d := r.table.DeltaFor(sum)
	if len(d.Observations) > 0 || len(d.Watermarks) > 0 {
		msg := health.AppendDelta([]byte{kindHealthRepair}, &d)
		r.count(FlowHealthRepair, len(msg))
		if r.log.Enabled(ctx, slog.LevelDebug) {
			per := map[string]int{}
			for _, o := range d.Observations {
				per[o.Observer]++
			}
			lag := map[string]string{}
			for o, n := range per {
				lag[o] = fmt.Sprintf("%d obs; theirs complete %d max %d holes %d; my complete %d", n, health.SeqCounter(sum[o].Complete),
					health.SeqCounter(sum[o].Max), len(sum[o].Holes), health.SeqCounter(d.Digest[o]))
			}
			r.log.Debug("health repair", "to", from, "observations", len(d.Observations), "watermarks", len(d.Watermarks), "bytes", len(msg), "per_observer", lag)
		}
		if err := t.Send(ctx, from, msg); err != nil {
			r.log.Debug("send health repair", "to", from, "err", err)
		}
	}
}

func (r *Replica) registrySums() [buckets]uint64 {
	var sums [buckets]uint64
	for _, e := range r.reg.Stamps() {
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

func decodeDigest(b []byte) (sums [buckets]uint64, sum health.Summary, err error) {
	if len(b) < 1+buckets*8 || b[0] != digestVersion {
		return sums, nil, fmt.Errorf("%w: %d bytes", errDigest, len(b))
	}
	p := b[1:]
	for i := range sums {
		sums[i] = binary.LittleEndian.Uint64(p[i*8:])
	}
	sum, err = health.DecodeSummary(p[buckets*8:])
	if err != nil {
		return sums, nil, fmt.Errorf("digest summary: %w", err)
	}
	return sums, sum, nil
}
