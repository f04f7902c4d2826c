package pool

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heckhq/heck/internal/target"
)

// Strategy is how Pick chooses among the members consumers may get.
type Strategy string

// Strategies.
const (
	// RoundRobin takes the members in turn.
	RoundRobin Strategy = "round_robin"
	// Weighted chooses at random in proportion to each member's weight
	// times its health quotient (see Quotient).
	Weighted Strategy = "weighted"
	// LeastLatency takes the member with the lowest recent latency, in
	// turn among equals (within a fifth of the lowest).
	LeastLatency Strategy = "least_latency"
	// Random chooses uniformly.
	Random Strategy = "random"
)

// Strategies lists every strategy, the default first.
var Strategies = []Strategy{RoundRobin, Weighted, LeastLatency, Random}

// ParseStrategy returns the strategy named s ("" is round_robin).
func ParseStrategy(s string) (Strategy, error) {
	if s == "" {
		return RoundRobin, nil
	}
	for _, x := range Strategies {
		if string(x) == s {
			return x, nil
		}
	}
	return "", target.FieldError{Field: "strategy", Value: s, Problem: "is not a picking strategy",
		Fix: "use round_robin (default), weighted, least_latency or random"}
}

// Picker chooses one member of a pool per call. It keeps a round-robin
// position per pool; safe for concurrent use.
type Picker struct {
	turns sync.Map // pool name -> *atomic.Uint64
}

func (p *Picker) turn(pool string) uint64 {
	c, ok := p.turns.Load(pool)
	if !ok {
		c, _ = p.turns.LoadOrStore(pool, new(atomic.Uint64))
	}
	return c.(*atomic.Uint64).Add(1) - 1
}

// Forget drops a deleted pool's round-robin position.
func (p *Picker) Forget(pool string) { p.turns.Delete(pool) }

// Pick chooses one member of v that consumers may get (Serving) by
// strategy s, preferring zone when it is given (see Candidates). It
// returns false when no member may be picked: an empty pool, or nothing
// healthy and panic off (or failing open over nothing).
func (p *Picker) Pick(v *View, s Strategy, zone string) (Member, bool) {
	var buf [256]int
	c := Candidates(v, zone, buf[:0])
	if len(c) == 0 {
		return Member{}, false
	}
	switch s {
	case Random:
		return v.Members[c[rand.IntN(len(c))]], true
	case Weighted:
		return v.Members[pickWeighted(v, c)], true
	case LeastLatency:
		return v.Members[p.pickLeastLatency(v, c)], true
	}
	return v.Members[c[p.turn(v.Name)%uint64(len(c))]], true
}

// Candidates appends to dst the indexes in v.Members of the members a pick
// chooses from: the serving members, only those of zone when zone is given
// and enough of the zone is healthy. A zone has enough when its healthy
// members are at least the pool's panic threshold of its members (at least
// one when panic is off); otherwise picks spill over to every zone, as
// Envoy's zone-aware routing does, so a zone's outage does not pile its
// traffic on its last survivor.
func Candidates(v *View, zone string, dst []int) []int {
	if zone != "" {
		total, healthy := 0, 0
		for i := range v.Members {
			if v.Members[i].Zone == zone {
				total++
				if v.Members[i].Healthy {
					healthy++
				}
			}
		}
		if healthy > 0 && !InPanic(healthy, total, v.Threshold) {
			for i := range v.Members {
				if m := &v.Members[i]; m.Zone == zone && m.Healthy {
					dst = append(dst, i)
				}
			}
			return dst
		}
	}
	for i := range v.Members {
		if v.Members[i].Serving {
			dst = append(dst, i)
		}
	}
	return dst
}

// Quotient is a member's health quotient for weighted picks, in (0, 1]:
// its recent success rate times how its latency compares with the
// median's of the candidates (1 at or below the median, median/latency
// above it). A member with no latency known counts as at the median; the
// quotient never drops below 0.01, so a struggling member still gets a
// trickle and can show that it recovered.
func Quotient(m *Member, median time.Duration) float64 {
	q := 1.0
	if m.ErrorRate > 0 {
		q = 1 - m.ErrorRate
	}
	if m.Latency > 0 && median > 0 && m.Latency > median {
		q *= float64(median) / float64(m.Latency)
	}
	return max(q, 0.01)
}

func pickWeighted(v *View, c []int) int {
	med := v.MedianLatency
	if med == 0 {
		med = medianLatency(v, c)
	}
	var buf [256]float64
	w := buf[:0]
	sum := 0.0
	for _, i := range c {
		m := &v.Members[i]
		x := float64(m.Weight) * Quotient(m, med)
		sum += x
		w = append(w, x)
	}
	r := rand.Float64() * sum
	for k, x := range w {
		if r < x {
			return c[k]
		}
		r -= x
	}
	return c[len(c)-1]
}

func (p *Picker) pickLeastLatency(v *View, c []int) int {
	lat := func(i int) time.Duration {
		if l := v.Members[i].Latency; l > 0 {
			return l
		}
		return time.Duration(1<<63 - 1) // unknown: last
	}
	best := lat(c[0])
	for _, i := range c[1:] {
		best = min(best, lat(i))
	}
	// Latencies within a fifth of the best are equals, taken in turn: one
	// host a hair faster than the rest must not get all the traffic.
	limit := best + best/5
	if limit < best { // overflow: every latency unknown
		limit = best
	}
	var buf [256]int
	ties := buf[:0]
	for _, i := range c {
		if lat(i) <= limit {
			ties = append(ties, i)
		}
	}
	return ties[p.turn(v.Name)%uint64(len(ties))]
}

func medianLatency(v *View, c []int) time.Duration {
	var buf [256]time.Duration
	ls := buf[:0]
	for _, i := range c {
		if l := v.Members[i].Latency; l > 0 {
			ls = append(ls, l)
		}
	}
	if len(ls) == 0 {
		return 0
	}
	sort.Slice(ls, func(i, j int) bool { return ls[i] < ls[j] })
	return ls[len(ls)/2]
}

// String names the strategy.
func (s Strategy) String() string { return string(s) }

var _ fmt.Stringer = Strategy("")
