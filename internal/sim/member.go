package sim

import (
	"fmt"
	"time"

	"github.com/heckhq/heck/internal/cluster"
)

// Membership, as memberlist's SWIM does it in outline: each node probes one
// member a second; a member that does not answer is declared dead by its
// prober after the suspicion timeout (memberlist's, taken as confirmed
// quickly: with N probers one probes it about every second); alive and
// dead messages spread by gossip, each node passing on what changed its
// view; a node that hears itself declared dead refutes it with a higher
// incarnation. Push/pull exchanges the whole member state (and heck's
// digest). Suspect messages are modelled only as a push/pull's merge
// raises them (suspect.go); suspicion timers and indirect probes are not:
// loss is low and a probe of a reachable node always succeeds.

// onMember applies a membership message about m; gossiped says whether to
// pass a change on by gossip.
func (n *node) onMember(kind byte, m int, inc uint32, gossiped bool) {
	if m < 0 || m >= len(n.alive) {
		return
	}
	if m == n.id {
		if kind == memDead && inc >= n.myInc {
			n.myInc = inc + 1 // refute
			n.mq.QueueBroadcast(&bcast{msg: memberMsg(memAlive, n.id, n.myInc), member: n.id})
		}
		return
	}
	switch kind {
	case memAlive:
		if n.known[m] && inc <= n.inc[m] {
			return
		}
		n.known[m], n.inc[m] = true, inc
		if !n.alive[m] {
			n.alive[m] = true
			n.nAlive++
			n.dirty = true
		}
	case memDead:
		if !n.known[m] || inc < n.inc[m] || !n.alive[m] {
			return
		}
		if n.s.debug != nil {
			n.s.debug(fmt.Sprintf("%.2fs %s marks %s dead inc %d (gossiped %v)", time.Duration(n.s.loop.now).Seconds(), n.name, n.s.names[m], inc, gossiped))
		}
		n.inc[m] = inc
		n.deadAt[m] = n.s.loop.now
		n.alive[m] = false
		n.nAlive--
		n.dirty = true
		delete(n.suspect, m)
	default:
		return
	}
	_ = gossiped
	n.mq.QueueBroadcast(&bcast{msg: memberMsg(kind, m, inc), member: m})
}

// probeMember is one SWIM probe of a random member.
func (n *node) probeMember() {
	ms := n.randomMembers(1, n.s.rng)
	if len(ms) == 0 {
		return
	}
	m := ms[0]
	n.sent[catProbe] += pingBytes
	if n.s.reachable(n.id, m) {
		n.s.nodes[m].sent[catProbe] += ackBytes
		return
	}
	if n.suspect[m] {
		return
	}
	n.suspect[m] = true
	inc, life := n.inc[m], n.life
	n.s.loop.after(suspicionTimeout(n.s.cfg.Nodes), func() {
		if !n.up || n.life != life || !n.suspect[m] {
			return
		}
		delete(n.suspect, m)
		if n.alive[m] && n.inc[m] == inc && !n.s.reachable(n.id, m) {
			n.onMember(memDead, m, inc, true)
		}
	})
}

// rejoin is internal/cluster's rejoin loop: a join (push/pull) with up to
// cluster.RejoinMax random members this node knows but sees dead (all of
// them when there are no more); it reports whether one answered (which
// makes the next round come after cluster.RejoinBurst). Join addresses are
// not modelled: every simulated node knows every member from the start.
func (n *node) rejoin() bool {
	var dead []int
	for m, k := range n.known {
		if k && !n.alive[m] && m != n.id {
			dead = append(dead, m)
		}
	}
	ok := false
	for i := range min(cluster.RejoinMax, len(dead)) {
		j := i + n.s.rng.IntN(len(dead)-i)
		dead[i], dead[j] = dead[j], dead[i]
		n.s.rejoinTries++
		if n.s.pushPull(n.id, dead[i], true) {
			ok = true
		}
	}
	return ok
}

// pushPull is a memberlist push/pull between a and b: each sends its member
// state and heck's digest; each merges the other's state and answers the
// other's digest (replica.MergeDigest) with what it lacks. It fails when b
// cannot be reached.
func (s *Sim) pushPull(a, b int, join bool) bool {
	if !s.reachable(a, b) {
		return false
	}
	na, nb := s.nodes[a], s.nodes[b]
	if s.debug != nil {
		s.debug(fmt.Sprintf("%.2fs pushpull %s %s join %v", time.Duration(s.loop.now).Seconds(), na.name, nb.name, join))
	}
	da, db := na.rep.LocalDigest(), nb.rep.LocalDigest()
	na.sent[catPushPull] += uint64(memberStateBytes*na.knownCount() + len(da) + len(na.name) + 2)
	nb.sent[catPushPull] += uint64(memberStateBytes*nb.knownCount() + len(db) + len(nb.name) + 2)
	if join {
		s.joins++
	} else {
		s.pushPulls++
	}
	stA, stB := na.state(), nb.state()
	la, lb := na.life, nb.life
	lat := 2 * s.latency(a, b)
	s.loop.after(lat, func() {
		if na.up && na.life == la {
			na.mergeState(stB)
			na.rep.MergeDigest(nb.name, db)
		}
		if nb.up && nb.life == lb {
			nb.mergeState(stA)
			nb.rep.MergeDigest(na.name, da)
		}
	})
	return true
}

func (n *node) knownCount() int {
	c := 0
	for _, k := range n.known {
		if k {
			c++
		}
	}
	return c
}

type memberState struct {
	m     int
	alive bool
	inc   uint32
}

func (n *node) state() []memberState {
	out := make([]memberState, 0, n.nAlive)
	for m, k := range n.known {
		if !k {
			continue
		}
		inc := n.inc[m]
		if m == n.id {
			inc = n.myInc
		}
		out = append(out, memberState{m: m, alive: n.alive[m], inc: inc})
	}
	return out
}

// mergeState is memberlist's mergeState: alive entries as alive messages;
// a remote dead entry only matters about this node itself, which refutes
// it (memberlist merely suspects others on such an entry, and this node's
// own probes decide).
func (n *node) mergeState(st []memberState) {
	for _, e := range st {
		if e.alive {
			n.onMember(memAlive, e.m, e.inc, true)
		} else if e.m == n.id {
			n.onMember(memDead, e.m, e.inc, true)
		} else {
			n.onSuspect(e.m, e.inc) // suspect.go
		}
	}
}
