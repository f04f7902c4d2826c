package cluster

import (
	"bytes"
	"context"
	"sync"

	"github.com/hashicorp/memberlist"
)

// delegate is memberlist's view of the cluster: metadata, user messages,
// the broadcast queue and push/pull state.
type delegate struct{ c *Cluster }

var _ memberlist.Delegate = (*delegate)(nil)

// NodeMeta returns the encoded metadata (checked against MetaMaxSize in New).
func (d *delegate) NodeMeta(limit int) []byte {
	b := *d.c.meta.Load()
	if len(b) > limit {
		return nil
	}
	return b
}

// NotifyMsg receives gossiped broadcasts and reliable messages. b is reused
// by memberlist after the call, so the payload is copied.
func (d *delegate) NotifyMsg(b []byte) {
	typ, from, payload, err := parseFrame(b)
	if err != nil {
		d.c.log.Debug("cluster: dropping malformed message", "err", err, "bytes", len(b))
		return
	}
	switch typ {
	case msgDelta, msgDirect:
		if from == d.c.cfg.NodeName {
			return
		}
		d.c.replica.HandleDelta(from, bytes.Clone(payload))
	case msgLeave:
		d.c.markLeaving(from)
	default:
		d.c.log.Debug("cluster: dropping message of unknown type (newer peer?)", "type", typ, "from", from)
	}
}

// GetBroadcasts hands memberlist queued deltas for the next gossip packet.
func (d *delegate) GetBroadcasts(overhead, limit int) [][]byte {
	return d.c.broadcasts.GetBroadcasts(overhead, limit)
}

// LocalState is our side of a push/pull: our digest.
func (d *delegate) LocalState(join bool) []byte {
	dig := d.c.replica.LocalDigest()
	return appendFrame(make([]byte, 0, frameSize(d.c.cfg.NodeName, dig)), msgDigest, d.c.cfg.NodeName, dig)
}

// MergeRemoteState receives the peer's digest and queues it for the
// Replica, so memberlist's push/pull is never held up by the answer.
func (d *delegate) MergeRemoteState(buf []byte, join bool) {
	typ, from, payload, err := parseFrame(buf)
	if err != nil || typ != msgDigest {
		d.c.log.Debug("cluster: dropping push/pull state", "type", typ, "err", err)
		return
	}
	if from == d.c.cfg.NodeName {
		return
	}
	d.c.digest.put(from, bytes.Clone(payload))
}

// deltaBroadcast is one queued delta frame. Deltas never invalidate each
// other: each is a distinct change.
type deltaBroadcast []byte

func (b deltaBroadcast) Invalidates(memberlist.Broadcast) bool { return false }
func (b deltaBroadcast) Message() []byte                       { return b }
func (b deltaBroadcast) Finished()                             {}

// eventDelegate records membership changes; it never blocks memberlist.
type eventDelegate struct{ c *Cluster }

var _ memberlist.EventDelegate = (*eventDelegate)(nil)

func (e *eventDelegate) NotifyJoin(n *memberlist.Node) {
	e.c.events.push(Event{Type: EventJoin, Member: e.c.recordMember(n, StateAlive)})
}

// NotifyLeave records a dead or left member. memberlist's Node.State is
// not kept up to date (its nodeState shadows it), so "left" is known from
// the member's own leave announcement (msgLeave).
func (e *eventDelegate) NotifyLeave(n *memberlist.Node) {
	state := StateDead
	e.c.mu.Lock()
	if _, ok := e.c.leaving[n.Name]; ok {
		state = StateLeft
	}
	e.c.mu.Unlock()
	e.c.events.push(Event{Type: EventLeave, Member: e.c.recordMember(n, state)})
}

func (e *eventDelegate) NotifyUpdate(n *memberlist.Node) {
	e.c.events.push(Event{Type: EventUpdate, Member: e.c.recordMember(n, StateAlive)})
}

// conflictDelegate reports two nodes using one name.
type conflictDelegate struct{ c *Cluster }

func (d *conflictDelegate) NotifyConflict(existing, other *memberlist.Node) {
	d.c.log.Error("cluster: two nodes use the same name: give each node a unique node name",
		"name", existing.Name, "addr", existing.Address(), "other_addr", other.Address())
}

// EventType says what happened to a member.
type EventType uint8

// Event types.
const (
	EventJoin   EventType = iota + 1 // a member is alive (new, or back)
	EventLeave                       // a member died or left (Member.State says which)
	EventUpdate                      // a member's metadata changed
)

func (t EventType) String() string {
	switch t {
	case EventJoin:
		return "join"
	case EventLeave:
		return "leave"
	case EventUpdate:
		return "update"
	}
	return "unknown"
}

// Event is one membership change.
type Event struct {
	Type   EventType
	Member Member
}

// eventQueue coalesces events per member until the reader takes them.
type eventQueue struct {
	mu      sync.Mutex
	pending map[string]Event
	order   []string
	kick    chan struct{}
	out     chan Event
}

func newEventQueue() *eventQueue {
	return &eventQueue{pending: map[string]Event{}, kick: make(chan struct{}, 1), out: make(chan Event, 64)}
}

// push records e, replacing a pending event of the same member; a pending
// join stays a join when updates follow it.
func (q *eventQueue) push(e Event) {
	q.mu.Lock()
	name := e.Member.Name
	if prev, ok := q.pending[name]; ok {
		if prev.Type == EventJoin && e.Type == EventUpdate {
			e.Type = EventJoin
		}
	} else {
		q.order = append(q.order, name)
	}
	q.pending[name] = e
	q.mu.Unlock()
	select {
	case q.kick <- struct{}{}:
	default:
	}
}

// take returns the pending events, oldest member first.
func (q *eventQueue) take() []Event {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.order) == 0 {
		return nil
	}
	out := make([]Event, 0, len(q.order))
	for _, name := range q.order {
		out = append(out, q.pending[name])
	}
	q.order = q.order[:0]
	clear(q.pending)
	return out
}

// run moves pending events to out until ctx ends.
func (q *eventQueue) run(ctx context.Context, wg *sync.WaitGroup) {
	defer wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case <-q.kick:
		}
		for batch := q.take(); len(batch) > 0; batch = q.take() {
			for _, e := range batch {
				select {
				case q.out <- e:
				case <-ctx.Done():
					return
				}
			}
		}
	}
}

func (q *eventQueue) close() { close(q.out) }

// digestQueue keeps the latest unprocessed digest of each peer.
type digestQueue struct {
	mu    sync.Mutex
	m     map[string][]byte
	order []string
	kick  chan struct{}
}

func newDigestQueue() *digestQueue {
	return &digestQueue{m: map[string][]byte{}, kick: make(chan struct{}, 1)}
}

func (q *digestQueue) put(from string, d []byte) {
	q.mu.Lock()
	if _, ok := q.m[from]; !ok {
		q.order = append(q.order, from)
	}
	q.m[from] = d
	q.mu.Unlock()
	select {
	case q.kick <- struct{}{}:
	default:
	}
}

// next waits for a digest; ok is false when ctx ends.
func (q *digestQueue) next(ctx context.Context) (from string, d []byte, ok bool) {
	for {
		q.mu.Lock()
		if len(q.order) > 0 {
			from = q.order[0]
			q.order = q.order[1:]
			d = q.m[from]
			delete(q.m, from)
			q.mu.Unlock()
			return from, d, true
		}
		q.mu.Unlock()
		select {
		case <-ctx.Done():
			return "", nil, false
		case <-q.kick:
		}
	}
}
