package sim

import (
	"hash/fnv"
	"time"
)

// The simulated prober: a probe's result is a pure function of the target
// and the virtual time, following the scenario's script.
//
//   - every target answers in a steady latency of its own (so the
//     publisher's latency buckets never move);
//   - flapping: Flapping of the targets (by hash) are down for half of
//     every FlapPeriod, at a phase of their own;
//   - a zone outage: the targets of zone 0 (a target's zone is its hash
//     modulo Zones) fail from the event for OutageFor;
//   - a shared-dependency outage: DependencyShare of the targets (by hash)
//     depend on one thing that fails from the event for OutageFor.
func (s *Sim) script(t int32, now int64) (ok bool, latency time.Duration) {
	h := s.thash[t]
	latency = time.Duration(2+h%7) * time.Millisecond
	if s.flapFrom > 0 && now >= s.flapFrom && float64(h%100000) < s.cfg.Flapping*100000 {
		p := int64(s.cfg.FlapPeriod)
		if (now+int64(h>>20)%p)%p < p/2 {
			return false, latency
		}
	}
	if s.outageFrom > 0 && now >= s.outageFrom && now < s.outageFrom+int64(s.cfg.OutageFor) {
		switch s.cfg.Scenario {
		case ZoneOutage:
			if int(h>>8)%s.cfg.Zones == 0 {
				return false, latency
			}
		case DependencyOutage:
			if float64((h>>24)%100000) < s.cfg.DependencyShare*100000 {
				return false, latency
			}
		}
	}
	return true, latency
}

func hash64(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	x := h.Sum64()
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	return x
}
