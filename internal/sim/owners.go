package sim

import (
	"fmt"

	"github.com/heckhq/heck/internal/ring"
)

// topK is how many members of each target's ranking the simulation keeps.
// A node decides what it probes with the real ownership.Policy; the
// ranking only tells the simulation which targets a membership change or a
// silent member can move, so that it asks the policy about those alone
// (the real node walks every target on such a change). A target moves to a
// node ranked below topK only if every node above it is gone at once,
// which the scenarios never make (counted in Result.BeyondTopK).
const topK = 8

// ranks holds, per target, its topK members by rendezvous rank over every
// node the simulation has (the real ring over all of them), and per
// member the targets it ranks for.
type ranks struct {
	n     int
	top   [][topK]int16 // target -> members, best first
	lists [][]int32     // member -> targets where it is in top
}

func buildRanks(names []string, ids []string) (*ranks, error) {
	members := make([]ring.Member, len(names))
	idx := make(map[string]int16, len(names))
	for i, nm := range names {
		members[i] = ring.Member{Name: nm, Weight: 1}
		idx[nm] = int16(i)
	}
	r := ring.New(members)
	k := min(topK, len(names))
	rk := &ranks{n: len(names), top: make([][topK]int16, len(ids)), lists: make([][]int32, len(names))}
	for t, id := range ids {
		owners := r.Owners(id, k)
		for j := range topK {
			rk.top[t][j] = -1
		}
		for j, o := range owners {
			m, ok := idx[o]
			if !ok {
				return nil, fmt.Errorf("ring returned unknown member %q for target %s", o, id)
			}
			rk.top[t][j] = m
			rk.lists[m] = append(rk.lists[m], int32(t))
		}
	}
	return rk, nil
}

// owner returns the first member of t's ranking for which alive is true,
// or -1.
func (rk *ranks) owner(t int32, alive func(int) bool) int {
	for _, m := range rk.top[t] {
		if m < 0 {
			return -1
		}
		if alive(int(m)) {
			return int(m)
		}
	}
	return -1
}

// ahead returns the targets where member m ranks ahead of member self,
// both within topK: the only targets whose owner, as self sees it, a
// change of m can move to or from self.
func (rk *ranks) ahead(self, m int) []int32 {
	var out []int32
	for _, t := range rk.lists[m] {
		seenM := false
		for _, x := range rk.top[t] {
			if int(x) == m {
				seenM = true
			} else if int(x) == self {
				if seenM {
					out = append(out, t)
				}
				break
			}
		}
	}
	return out
}

// truth is the ownership over the real set of running members, kept
// incrementally: what the cluster converges to, against which balance and
// moved targets are measured.
type truth struct {
	rk    *ranks
	alive []bool
	own   []int16 // target -> owner
	count []int   // member -> targets owned
	lost  int     // targets with no live member in topK
}

func newTruth(rk *ranks, alive []bool) *truth {
	tr := &truth{rk: rk, alive: alive, own: make([]int16, len(rk.top)), count: make([]int, rk.n)}
	for t := range rk.top {
		o := rk.owner(int32(t), tr.isAlive)
		tr.own[t] = int16(o)
		if o >= 0 {
			tr.count[o]++
		} else {
			tr.lost++
		}
	}
	return tr
}

func (tr *truth) isAlive(m int) bool { return tr.alive[m] }

// set marks m alive or not and returns how many targets changed owner.
func (tr *truth) set(m int, alive bool) int {
	if tr.alive[m] == alive {
		return 0
	}
	tr.alive[m] = alive
	moved := 0
	for _, t := range tr.rk.lists[m] {
		o := tr.rk.owner(t, tr.isAlive)
		if int(tr.own[t]) == o {
			continue
		}
		if p := tr.own[t]; p >= 0 {
			tr.count[p]--
		} else {
			tr.lost--
		}
		if o >= 0 {
			tr.count[o]++
		} else {
			tr.lost++
		}
		tr.own[t] = int16(o)
		moved++
	}
	return moved
}

// balance is the most targets any live member owns over the mean.
func (tr *truth) balance() float64 {
	total, n, most := 0, 0, 0
	for m, c := range tr.count {
		if !tr.alive[m] {
			continue
		}
		total += c
		n++
		most = max(most, c)
	}
	if total == 0 {
		return 0
	}
	return float64(most) / (float64(total) / float64(n))
}
