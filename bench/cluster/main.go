// Command cluster benchmarks how heck shares checks over many nodes (issue 3).
//
//	go run ./bench/cluster -targets 10000 -nodes 5,10,20
//
// What it measures today, from internal/ring alone (pure functions, no
// network): ownership balance (max/mean owned targets over nodes; goal <=
// 1.10 with 10,000 targets on 10 nodes), the share of targets that move when
// one node joins or leaves (goal <= 1.2/N), and the cost of an ownership
// query.
//
// TODO(cluster harness): the figures that need running nodes, once
// internal/cluster and `heck serve --node-name --gossip --join` work:
//   - probe amplification (probes per target per interval, steady state and in
//     the minute after a join or a SIGKILL), counted at loopback target
//     servers as bench/core does (reuse its -serve mode: go run ./bench/core
//     -serve prints the listeners and a /count endpoint);
//   - convergence p50/p99 at 5, 20 and 50 nodes (flip a target server to
//     failing, poll GET /api/v1/targets/{id} on every node until all say down);
//   - failover time from SIGKILL to the dead node's targets being hit again;
//   - gossip bytes per node per second at 20 nodes x 20,000 targets (steady,
//     and with 1% flapping), from /proc/PID/net or memberlist's metrics.
//
// In-process nodes over loopback (or memberlist's mock transport for 50
// nodes) are acceptable for convergence and gossip bytes; amplification and
// failover should use real `heck serve` processes, like bench/core.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
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

func main() {
	if err := run(os.Args[1:]); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "bench/cluster:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("cluster", flag.ContinueOnError)
	targets := fs.Int("targets", 10000, "targets to place")
	nodesFlag := fs.String("nodes", "5,10,20", "node counts, comma separated")
	replicas := fs.Int("replicas", 1, "owners per target")
	asJSON := fs.Bool("json", false, "JSON lines instead of the table")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *targets < 1 || *replicas < 1 {
		return fmt.Errorf("-targets %d and -replicas %d must be positive", *targets, *replicas)
	}
	var counts []int
	for _, f := range strings.Split(*nodesFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 2 {
			return fmt.Errorf("-nodes %q: %q is not an integer >= 2; use e.g. -nodes 5,10", *nodesFlag, f)
		}
		counts = append(counts, n)
	}
	ids := make([]string, *targets)
	for i := range ids {
		ids[i] = fmt.Sprintf("t%d", i)
	}
	if !*asJSON {
		fmt.Printf("%6s %8s %4s %9s %9s %9s %9s %9s %10s\n", "nodes", "targets", "k", "max/mean", "min/mean", "moved+1", "moved-1", "goal", "ns/owners")
	}
	for _, n := range counts {
		r := measure(n, ids, *replicas)
		if *asJSON {
			b, _ := json.Marshal(r)
			fmt.Println(string(b))
			continue
		}
		fmt.Printf("%6d %8d %4d %9.3f %9.3f %9.4f %9.4f %9.4f %10.0f\n", r.Nodes, r.Targets, r.Replicas,
			r.BalanceMax, r.BalanceMin, r.MovedJoin, r.MovedLeave, r.MoveGoal, r.NsPerOwners)
	}
	return nil
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
