package main

import (
	"fmt"
	"slices"
	"time"

	"github.com/heckhq/heck/internal/ring"
)

type row struct {
	Nodes        int     `json:"nodes"`
	Targets      int     `json:"targets"`
	Replicas     int     `json:"replicas"`
	BalanceMax   float64 `json:"balance_max_over_mean"`
	BalanceMin   float64 `json:"balance_min_over_mean"`
	MovedJoin    float64 `json:"moved_share_on_join"`
	MovedLeave   float64 `json:"moved_share_on_leave"`
	MoveGoal     float64 `json:"moved_share_goal"` // 1.2/N
	NsPerOwners  float64 `json:"ns_per_owners_query"`
	OwnersPerSec float64 `json:"owners_queries_per_s"`
}

func members(n int) []ring.Member {
	ms := make([]ring.Member, n)
	for i := range ms {
		ms[i] = ring.Member{Name: fmt.Sprintf("node-%02d", i), Weight: 1}
	}
	return ms
}

// owners maps each target to its sorted owner set under ring r.
func owners(r *ring.Ring, ids []string, k int) [][]string {
	out := make([][]string, len(ids))
	for i, id := range ids {
		o := r.Owners(id, k)
		slices.Sort(o)
		out[i] = o
	}
	return out
}

func moved(a, b [][]string) float64 {
	m := 0
	for i := range a {
		if !slices.Equal(a[i], b[i]) {
			m++
		}
	}
	return float64(m) / float64(len(a))
}

func measure(n int, ids []string, k int) row {
	ms := members(n)
	r := ring.New(ms)
	start := time.Now()
	base := owners(r, ids, k)
	el := time.Since(start)

	load := map[string]int{}
	for _, o := range base {
		for _, name := range o {
			load[name]++
		}
	}
	mean := float64(len(ids)*min(k, n)) / float64(n)
	maxL, minL := 0, len(ids)
	for _, m := range ms {
		maxL = max(maxL, load[m.Name])
		minL = min(minL, load[m.Name])
	}
	joined := ring.New(append(members(n), ring.Member{Name: "node-new", Weight: 1}))
	left := ring.New(ms[1:])
	return row{
		Nodes: n, Targets: len(ids), Replicas: k,
		BalanceMax:   float64(maxL) / mean,
		BalanceMin:   float64(minL) / mean,
		MovedJoin:    moved(base, owners(joined, ids, k)),
		MovedLeave:   moved(base, owners(left, ids, k)),
		MoveGoal:     1.2 / float64(n),
		NsPerOwners:  float64(el.Nanoseconds()) / float64(len(ids)),
		OwnersPerSec: float64(len(ids)) / el.Seconds(),
	}
}
