package sim

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/hashicorp/memberlist"
)

// What memberlist (v0.7, LAN defaults, as internal/cluster configures it)
// does on the wire, reproduced by the simulated network.
const (
	gossipInterval    = 200 * time.Millisecond
	gossipNodes       = 3
	retransmitMult    = 4
	udpBufferSize     = 1400
	compoundHeader    = 2 // memberlist compoundHeaderOverhead
	compoundOverhead  = 2 // per message in a compound packet
	userMsgOverhead   = 1 // memberlist userMsg type byte
	probeInterval     = time.Second
	suspicionMult     = 4
	pushPullBase      = 30 * time.Second
	packetHeadroom    = 64 // internal/cluster: memberlist header + encryption
	maxQueued         = 4096
	pingBytes         = 60 // a ping as memberlist encodes it (msgpack)
	ackBytes          = 20
	aliveBytes        = 80 // an alive message with heck's node metadata
	deadBytes         = 30
	memberStateBytes  = 110 // one member's entry in a push/pull state
	maxBroadcastFrame = udpBufferSize - packetHeadroom
)

// Message types of a frame, as internal/cluster frames them.
const (
	msgDelta  byte = 1
	msgDirect byte = 2
	msgLeave  byte = 4
	msgMember byte = 0xF0 // a memberlist membership message (alive, dead)
)

// Byte categories counted per node.
const (
	catGossip   = iota // gossip packets (memberlist's own messages and heck's deltas)
	catDirect          // heck multicast, one UDP packet per member
	catReliable        // reliable streams: large deltas, repairs, leave notices
	catPushPull        // push/pull: member state and heck's digest
	catProbe           // SWIM pings and acks
	numCats
)

var catNames = [numCats]string{"gossip", "direct", "reliable", "pushpull", "probe"}

// frame is [type][uvarint len(from)][from][payload], as internal/cluster.
func frame(typ byte, from string, payload []byte) []byte {
	b := make([]byte, 0, 2+len(from)+len(payload))
	b = append(b, typ)
	b = binary.AppendUvarint(b, uint64(len(from)))
	b = append(b, from...)
	return append(b, payload...)
}

func parseFrame(b []byte) (typ byte, from string, payload []byte, err error) {
	if len(b) < 2 {
		return 0, "", nil, errors.New("short frame")
	}
	n, w := binary.Uvarint(b[1:])
	if w <= 0 || uint64(len(b)-1-w) < n {
		return 0, "", nil, errors.New("bad frame")
	}
	return b[0], string(b[1+w : 1+w+int(n)]), b[1+w+int(n):], nil
}

// bcast is one queued broadcast. Membership messages about the same node
// invalidate older ones, as memberlist's do; deltas never do.
type bcast struct {
	msg    []byte
	member int // -1 for a delta
}

func (b *bcast) Invalidates(o memberlist.Broadcast) bool {
	ob, ok := o.(*bcast)
	return ok && b.member >= 0 && ob.member == b.member
}
func (b *bcast) Message() []byte { return b.msg }
func (b *bcast) Finished()       {}

// membership message kinds.
const (
	memAlive byte = 1
	memDead  byte = 2
)

func memberMsg(kind byte, m int, inc uint32) []byte {
	size := deadBytes
	if kind == memAlive {
		size = aliveBytes
	}
	b := make([]byte, size)
	b[0], b[1] = msgMember, kind
	binary.LittleEndian.PutUint16(b[2:], uint16(m))
	binary.LittleEndian.PutUint32(b[4:], inc)
	return b
}

// reachable reports whether a packet from a gets to b now: both running
// and not on different sides of a partition.
func (s *Sim) reachable(a, b int) bool {
	if !s.nodes[b].up || !s.nodes[a].up {
		return false
	}
	if s.partitioned != nil && s.partitioned[s.nodes[a].zone] != s.partitioned[s.nodes[b].zone] {
		return false
	}
	return true
}

func (s *Sim) latency(a, b int) time.Duration {
	base := s.cfg.LatencyZone
	if s.nodes[a].zone != s.nodes[b].zone {
		base = s.cfg.LatencyCross
	}
	return base + time.Duration(s.rng.Int64N(int64(base/4)+1))
}

// udp sends one packet of msgs (each a frame or a membership message)
// from a to b, counting its bytes in cat at a; it may be lost.
func (s *Sim) udp(a, b int, cat int, msgs [][]byte) {
	size := 0
	for _, m := range msgs {
		size += len(m)
	}
	if len(msgs) > 1 {
		size += compoundHeader + compoundOverhead*len(msgs)
	}
	s.nodes[a].sent[cat] += uint64(size)
	if !s.reachable(a, b) || s.cfg.Loss > 0 && s.rng.Float64() < s.cfg.Loss {
		return
	}
	to, life := s.nodes[b], s.nodes[b].life
	s.loop.after(s.latency(a, b), func() {
		if to.up && to.life == life {
			for _, m := range msgs {
				to.receive(m)
			}
		}
	})
}

var errUnreachable = errors.New("unreachable")

// tcp sends msg from a to b reliably (no loss), counting it in cat at a;
// it fails when b cannot be reached.
func (s *Sim) tcp(a, b int, cat int, msg []byte) error {
	if !s.reachable(a, b) {
		return fmt.Errorf("send %s -> %s: %w", s.nodes[a].name, s.nodes[b].name, errUnreachable)
	}
	s.nodes[a].sent[cat] += uint64(len(msg))
	to, life := s.nodes[b], s.nodes[b].life
	s.loop.after(2*s.latency(a, b), func() {
		if to.up && to.life == life {
			to.receive(msg)
		}
	})
	return nil
}

// The replica.Transport of a node.

func (n *node) Broadcast(msg []byte) {
	f := frame(msgDelta, n.name, msg)
	if len(f) <= maxBroadcastFrame {
		n.q.QueueBroadcast(&bcast{msg: f, member: -1})
		if n.q.NumQueued() > maxQueued {
			n.q.Prune(maxQueued)
		}
		return
	}
	n.eachMember(func(m int) { _ = n.s.tcp(n.id, m, catReliable, f) })
}

func (n *node) Multicast(msg []byte) {
	f := frame(msgDirect, n.name, msg)
	if len(f) > maxBroadcastFrame {
		n.eachMember(func(m int) { _ = n.s.tcp(n.id, m, catReliable, f) })
		return
	}
	n.s.multicastUDP(n.id, f)
}

// NumMembers is this node's view of the cluster size (replica asks).
func (n *node) NumMembers() int { return n.nAlive }

// multicastUDP sends f from a to every member a sees alive, a packet each
// (each may be lost), delivered in one event per latency class.
func (s *Sim) multicastUDP(a int, f []byte) {
	from := s.nodes[a]
	type dest struct {
		n    *node
		life int
	}
	var near, far []dest
	from.eachMember(func(m int) {
		from.sent[catDirect] += uint64(len(f))
		if !s.reachable(a, m) || s.cfg.Loss > 0 && s.rng.Float64() < s.cfg.Loss {
			return
		}
		d := dest{s.nodes[m], s.nodes[m].life}
		if d.n.zone == from.zone {
			near = append(near, d)
		} else {
			far = append(far, d)
		}
	})
	deliver := func(ds []dest, lat time.Duration) {
		if len(ds) == 0 {
			return
		}
		s.loop.after(lat+time.Duration(s.rng.Int64N(int64(lat/4)+1)), func() {
			for _, d := range ds {
				if d.n.up && d.n.life == d.life {
					d.n.receive(f)
				}
			}
		})
	}
	deliver(near, s.cfg.LatencyZone)
	deliver(far, s.cfg.LatencyCross)
}

func (n *node) Queued() int { return n.q.NumQueued() }

func (n *node) Send(_ context.Context, to string, msg []byte) error {
	m, ok := n.s.index[to]
	if !ok {
		return fmt.Errorf("send to %s: no such member", to)
	}
	return n.s.tcp(n.id, m, catReliable, frame(msgDirect, n.name, msg))
}

func (n *node) MaxBroadcastSize() int { return maxBroadcastFrame - len(frame(msgDelta, n.name, nil)) }

// eachMember calls fn for every other member this node sees alive.
func (n *node) eachMember(fn func(m int)) {
	for m, a := range n.alive {
		if a && m != n.id {
			fn(m)
		}
	}
}

// randomMembers picks up to k distinct other members this node sees alive.
func (n *node) randomMembers(k int, rng *rand.Rand) []int {
	if n.nAlive <= 1 {
		return nil
	}
	out := make([]int, 0, k)
	for tries := 0; len(out) < k && tries < 8*k; tries++ {
		m := rng.IntN(len(n.alive))
		if m == n.id || !n.alive[m] {
			continue
		}
		dup := false
		for _, x := range out {
			dup = dup || x == m
		}
		if !dup {
			out = append(out, m)
		}
	}
	return out
}

// gossipToTheDead is memberlist's GossipToTheDeadTime: members declared
// dead are still gossiped to for this long, which is how a member
// declared dead by mistake hears it and refutes.
const gossipToTheDead = 30 * time.Second

// gossipTargets picks up to k distinct other members, alive or dead for
// less than gossipToTheDead, as memberlist's gossip does.
func (n *node) gossipTargets(k int) []int {
	rng := n.s.rng
	out := make([]int, 0, k)
	for tries := 0; len(out) < k && tries < 8*k; tries++ {
		m := rng.IntN(len(n.alive))
		if m == n.id || !n.known[m] || !n.alive[m] && n.s.loop.now-n.deadAt[m] > int64(gossipToTheDead) {
			continue
		}
		dup := false
		for _, x := range out {
			dup = dup || x == m
		}
		if !dup {
			out = append(out, m)
		}
	}
	return out
}

// gossip is one memberlist gossip round: a packet to each of gossipNodes
// random members, filled with membership messages first, then deltas.
func (n *node) gossip() {
	for _, m := range n.gossipTargets(gossipNodes) {
		limit := udpBufferSize - compoundHeader
		msgs := n.mq.GetBroadcasts(compoundOverhead, limit)
		for _, b := range msgs {
			limit -= len(b) + compoundOverhead
		}
		if limit > compoundOverhead+userMsgOverhead {
			for _, b := range n.q.GetBroadcasts(compoundOverhead+userMsgOverhead, limit) {
				msgs = append(msgs, append([]byte{0}, b...)) // the userMsg byte
			}
		}
		if len(msgs) == 0 {
			return
		}
		n.s.udp(n.id, m, catGossip, msgs)
	}
}

// receive handles one message arriving at n.
func (n *node) receive(msg []byte) {
	if len(msg) == 0 {
		return
	}
	if msg[0] == 0 { // a user message inside a gossip packet
		msg = msg[1:]
	}
	if msg[0] == msgMember && len(msg) >= 8 && msg[1] == memSuspect {
		n.onSuspect(int(binary.LittleEndian.Uint16(msg[2:])), binary.LittleEndian.Uint32(msg[4:]))
		return
	}
	if msg[0] == msgMember && len(msg) >= 8 {
		n.onMember(msg[1], int(binary.LittleEndian.Uint16(msg[2:])), binary.LittleEndian.Uint32(msg[4:]), true)
		return
	}
	typ, from, payload, err := parseFrame(msg)
	if err != nil {
		n.s.errs++
		return
	}
	switch typ {
	case msgDelta, msgDirect:
		n.rep.Apply(context.Background(), from, payload)
	case msgLeave:
		if m, ok := n.s.index[from]; ok {
			n.onMember(memDead, m, binary.LittleEndian.Uint32(payload), false)
		}
	}
}
