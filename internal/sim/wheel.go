package sim

import "time"

// wheelSlot is the probe wheel's resolution.
const wheelSlot = 10 * time.Millisecond

type wheelEntry struct {
	due  int64
	t    int32
	node int16
	gen  uint32
}

// wheel holds every node's next probes in slots of wheelSlot covering one
// interval and a bit: the simulation's stand-in for each node's scheduler
// timer heap (internal/schedule), one event per slot instead of one per
// probe.
type wheel struct {
	slots [][]wheelEntry
}

func newWheel(interval time.Duration) *wheel {
	n := int(interval/wheelSlot) + 2
	return &wheel{slots: make([][]wheelEntry, n)}
}

func (w *wheel) index(t int64) int { return int((t / int64(wheelSlot)) % int64(len(w.slots))) }

func (w *wheel) add(due int64, t int32, node int, gen uint32) {
	i := w.index(due)
	w.slots[i] = append(w.slots[i], wheelEntry{due: due, t: t, node: int16(node), gen: gen})
}

// fire runs the probes due in the slot of now and reschedules each one an
// interval on, while its node still probes the target.
func (s *Sim) fireSlot() {
	w := s.wheel
	i := w.index(s.loop.now)
	due := w.slots[i]
	w.slots[i] = nil
	keep := due[:0]
	for _, e := range due {
		if e.due >= s.loop.now+int64(wheelSlot) {
			keep = append(keep, e) // a later turn
			continue
		}
		n := s.nodes[e.node]
		if !n.up || n.probing == nil || n.probing[e.t] != e.gen {
			continue
		}
		n.probe(e.t)
		s.lastProbe[e.t] = s.loop.now
		if n.up && n.probing[e.t] == e.gen {
			next := e.due + int64(s.cfg.Interval)
			j := w.index(next)
			if j == i {
				keep = append(keep, wheelEntry{due: next, t: e.t, node: e.node, gen: e.gen})
			} else {
				w.slots[j] = append(w.slots[j], wheelEntry{due: next, t: e.t, node: e.node, gen: e.gen})
			}
		}
	}
	w.slots[i] = append(w.slots[i], keep...)
}
