package sim

// Suspect messages, as far as a healed partition needs them. In memberlist
// a push/pull merges the peer's dead (and suspect) entries as suspicions
// (mergeState -> suspectNode): a member this node sees alive but the peer
// sees dead becomes suspect, and the suspect message is gossiped; the
// member, hearing it, refutes with a higher incarnation. So one join across
// a healed partition tells the whole of this node's side that the other
// side holds them dead, and they all refute, and the next push/pull across
// carries the new incarnations over. Without this, a member learns of its
// own death only from its own push/pulls, and internal/cluster's rejoin
// loop no longer joins every dead member (cluster.RejoinMax).
//
// Not modelled: the suspicion timer that declares an unrefuted suspect
// dead (probes already find unreachable members) and confirmations.

// memSuspect is memberlist's suspect message, next to memAlive and memDead.
const memSuspect byte = 3

// onSuspect applies a suspect message about member m at incarnation inc,
// as memberlist's suspectNode: about this node, it refutes; about a member
// seen alive at no higher incarnation, it passes the suspicion on once.
func (n *node) onSuspect(m int, inc uint32) {
	if m < 0 || m >= len(n.alive) {
		return
	}
	if m == n.id {
		if inc >= n.myInc {
			n.myInc = inc + 1 // refute
			n.mq.QueueBroadcast(&bcast{msg: memberMsg(memAlive, n.id, n.myInc), member: n.id})
		}
		return
	}
	if !n.known[m] || !n.alive[m] || inc < n.inc[m] || n.suspected[m] == inc+1 {
		return
	}
	n.suspected[m] = inc + 1 // passed on at inc
	n.mq.QueueBroadcast(&bcast{msg: memberMsg(memSuspect, m, inc), member: m})
}
