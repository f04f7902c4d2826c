// Command sim runs heck's cluster simulation (internal/sim): N nodes and T
// targets in one process, in virtual time, through the scenarios, and
// prints one table row per run (bench/sim/RESULTS.md has the figures).
//
//	go run ./bench/sim -nodes 100 -targets 10000 -scenario all
//	go run ./bench/sim -nodes 1000 -targets 1000000 -scenario steady,kill -wall-limit 10m
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/heckhq/heck/internal/sim"
)

func main() {
	nodes := flag.String("nodes", "100", "node counts, comma separated")
	targets := flag.String("targets", "10000", "target counts, comma separated")
	scenarios := flag.String("scenario", "all", "scenarios, comma separated, or all: "+fmt.Sprint(sim.Scenarios()))
	interval := flag.Duration("interval", 10*time.Second, "every target's probe interval")
	warm := flag.Duration("warm", 20*time.Second, "virtual time before anything is measured")
	steady := flag.Duration("steady", 0, "measured steady window before the event (0: 3 intervals)")
	duration := flag.Duration("duration", 90*time.Second, "virtual time after the event")
	zones := flag.Int("zones", 10, "zones (datacenters) the nodes are spread over")
	loss := flag.Float64("loss", 0.001, "UDP packet loss")
	restarts := flag.Int("restarts", 0, "rolling: how many nodes restart (0: all)")
	restartEvery := flag.Duration("restart-every", 2*time.Second, "rolling: time between two restarts")
	full := flag.Bool("full-tables", false, "start every node's table full (real memory) instead of sparse")
	wall := flag.Duration("wall-limit", 0, "stop a run after this much real time (0: none)")
	detail := flag.Bool("v", false, "print the byte breakdown of each run")
	wm := flag.Duration("watermark-every", 0, "fix each node's watermark period (0: heck's, scaled with the cluster: max(1s, N/400 s))")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.Parse()

	ns, err := ints(*nodes)
	if err != nil {
		fail("nodes", err)
	}
	ts, err := ints(*targets)
	if err != nil {
		fail("targets", err)
	}
	scs := sim.Scenarios()
	if *scenarios != "all" {
		scs = nil
		for _, s := range strings.Split(*scenarios, ",") {
			scs = append(scs, sim.Scenario(strings.TrimSpace(s)))
		}
	}
	fmt.Println(sim.Header)
	for _, n := range ns {
		for _, t := range ts {
			for _, sc := range scs {
				s, err := sim.New(sim.Config{Nodes: n, Targets: t, Zones: *zones, Interval: *interval, Scenario: sc,
					Warm: *warm, Steady: *steady, Duration: *duration, Loss: *loss, Restarts: *restarts, RestartEvery: *restartEvery,
					FullTables: *full, WatermarkEvery: *wm, WallLimit: *wall, Seed: *seed})
				if err != nil {
					fail("setup", err)
				}
				r, err := s.Run()
				if err != nil {
					fmt.Fprintln(os.Stderr, "sim:", err)
				}
				fmt.Println(r.Row())
				if *detail {
					r.Detail(os.Stdout)
				}
			}
		}
	}
}

func ints(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("%q: want a whole number (e.g. 100,300,1000)", f)
		}
		out = append(out, v)
	}
	return out, nil
}

func fail(what string, err error) {
	fmt.Fprintf(os.Stderr, "sim: %s: %v\n", what, err)
	os.Exit(2)
}
