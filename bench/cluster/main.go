// Command cluster benchmarks how heck shares checks over many nodes (issue
// 3). Results and the exact commands are recorded in RESULTS.md here.
//
//	go run ./bench/cluster                       # ring figures only (no network)
//	go run ./bench/cluster -run live,conv,gossip  # running nodes (minutes)
//
// Scenarios (-run, comma separated):
//
//   - ring: from internal/ring alone (pure functions): ownership balance
//     (max/mean owned targets over nodes; goal <= 1.10 with 10,000 targets
//     on 10 nodes), the share of targets that move when one node joins or
//     leaves (goal <= 1.2/N), and the cost of an ownership query.
//   - live: -live-nodes in-process nodes probing -live-targets counting
//     loopback HTTP targets. Prints probe amplification (hits counted per
//     target at the target servers, per interval) in steady state and in
//     the window after a node joins, dies (its gossip cut both ways, then
//     stopped: no leave reaches anyone) and leaves gracefully; balance
//     from the ring, from what each node schedules and from the checks
//     each node ran; the share of targets whose prober changed on join,
//     death and leave; failover time from the kill to each of the dead
//     node's targets being probed by another node.
//   - conv: for each of -conv-nodes, flips counting targets between up and
//     down and measures the time from the transition at the owner (its
//     state's Since) to every other node reporting the new state (each
//     node's target status polled in-process every -conv-poll).
//   - gossip: -gossip-nodes nodes, -gossip-targets cheap targets; bytes
//     sent per node per second through a cluster.CountingTransport (UDP
//     gossip and TCP streams, memberlist's own probes and push/pull
//     included), steady and with -flap of the targets flapping. With
//     -gossip-procs each node is its own `heck serve` process and the
//     bytes come from its heck_gossip_sent_bytes_total.
//
// Nodes are in-process (internal/node) over loopback UDP/TCP (real
// memberlist transports, LAN timings unless -ml fast). Every wait is
// bounded, the whole run by -timeout; everything listens on 127.0.0.1 and
// is torn down on exit, Ctrl-C included. Node logs go to <tmp>/nodes.log
// (kept with -keep).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/memberlist"
)

func main() {
	if err := run(os.Args[1:]); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "bench/cluster:", err)
		os.Exit(1)
	}
}

func parseCounts(name, v string, minimum int) ([]int, error) {
	var out []int
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < minimum {
			return nil, fmt.Errorf("-%s %q: %q is not an integer >= %d; use e.g. -%s 5,10", name, v, f, minimum, name)
		}
		out = append(out, n)
	}
	return out, nil
}

func run(args []string) error {
	fs := flag.NewFlagSet("cluster", flag.ContinueOnError)
	runFlag := fs.String("run", "ring", "scenarios, comma separated: ring, live, conv, gossip")
	timeout := fs.Duration("timeout", 30*time.Minute, "bound on the whole run")
	keep := fs.Bool("keep", false, "keep the temp dir (node data and nodes.log)")
	logLevel := fs.String("log-level", "warn", "level of the nodes' log (written to <tmp>/nodes.log): debug, info, warn, error")
	ml := fs.String("ml", "lan", "memberlist timings: lan (memberlist.DefaultLANConfig, what heck runs) or fast (DefaultLocalConfig's gossip/probe/push-pull timings)")
	settle := fs.Duration("settle", 5*time.Minute, "bound on waiting for membership and ownership to settle")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the running scenarios (everything is in-process) to this file")
	listeners := fs.Int("listeners", 16, "loopback listeners of the counting HTTP target servers")

	// ring
	targets := fs.Int("targets", 10000, "ring: targets to place")
	nodesFlag := fs.String("nodes", "5,10,20", "ring: node counts, comma separated")
	replicas := fs.Int("replicas", 1, "ring: owners per target")
	asJSON := fs.Bool("json", false, "ring: JSON lines instead of the table")

	// live
	lo := liveOpts{}
	fs.IntVar(&lo.nodes, "live-nodes", 10, "live: nodes (one more joins, then one dies and one leaves)")
	fs.IntVar(&lo.targets, "live-targets", 10000, "live: http targets")
	fs.DurationVar(&lo.interval, "live-interval", 10*time.Second, "live: interval of every target")
	fs.DurationVar(&lo.window, "window", 60*time.Second, "live: each measuring window (steady, after join, after kill, after leave)")
	fs.DurationVar(&lo.grace, "grace", 200*time.Millisecond, "live: hits this soon after a kill are the victim's own in-flight probes, not failover")

	// conv
	co := convOpts{}
	convNodes := fs.String("conv-nodes", "5,20,50", "conv: node counts, comma separated")
	fs.IntVar(&co.targets, "conv-targets", 20, "conv: http targets")
	fs.DurationVar(&co.interval, "conv-interval", time.Second, "conv: interval of every target")
	fs.IntVar(&co.rounds, "conv-rounds", 25, "conv: rounds of flips")
	fs.IntVar(&co.batch, "conv-batch", 4, "conv: targets flipped at once per round")
	fs.DurationVar(&co.poll, "conv-poll", 5*time.Millisecond, "conv: how often every node's view is polled")
	fs.DurationVar(&co.roundMax, "conv-round-max", 20*time.Second, "conv: give up on a round's stragglers after this")

	// gossip
	gopt := gossipOpts{}
	fs.IntVar(&gopt.nodes, "gossip-nodes", 20, "gossip: nodes")
	fs.IntVar(&gopt.targets, "gossip-targets", 20000, "gossip: targets")
	fs.DurationVar(&gopt.interval, "gossip-interval", time.Second, "gossip: interval of every target")
	fs.DurationVar(&gopt.window, "gossip-window", 60*time.Second, "gossip: each measuring window")
	fs.DurationVar(&gopt.warm, "gossip-warm", 30*time.Second, "gossip: wait after ownership settles before measuring")
	fs.Float64Var(&gopt.flap, "flap", 0.01, "gossip: share of targets flapping in the second window")
	fs.DurationVar(&gopt.flapEvery, "flap-every", 2*time.Second, "gossip: a flapping target changes state this often")
	fs.IntVar(&gopt.listeners, "tcp-listeners", 16, "gossip: loopback listeners for the tcp targets")
	procs := fs.Bool("gossip-procs", false, "gossip: run each node as its own `heck serve` process (bytes from its /metrics) instead of in-process")
	heckBin := fs.String("heck-bin", "", "gossip -gossip-procs: the heck binary (default: go build ./cmd/heck into the temp dir)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q; every setting is a flag (see -h)", fs.Args())
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("-log-level %q: use debug, info, warn or error", *logLevel)
	}
	var tuning func(*memberlist.Config)
	switch *ml {
	case "lan":
		tuning = lanTuning
	case "fast":
		tuning = func(c *memberlist.Config) {
			l := memberlist.DefaultLocalConfig()
			c.GossipInterval, c.ProbeInterval, c.ProbeTimeout = l.GossipInterval, l.ProbeInterval, l.ProbeTimeout
			c.PushPullInterval, c.SuspicionMult, c.TCPTimeout = l.PushPullInterval, l.SuspicionMult, l.TCPTimeout
		}
	default:
		return fmt.Errorf("-ml %q: use lan or fast", *ml)
	}
	scen := map[string]bool{}
	for _, s := range strings.Split(*runFlag, ",") {
		s = strings.TrimSpace(s)
		switch s {
		case "ring", "live", "conv", "gossip":
			scen[s] = true
		default:
			return fmt.Errorf("-run %q: unknown scenario %q; use ring, live, conv and/or gossip", *runFlag, s)
		}
	}
	var err error
	if co.nodes, err = parseCounts("conv-nodes", *convNodes, 2); err != nil {
		return err
	}
	counts, err := parseCounts("nodes", *nodesFlag, 2)
	if err != nil {
		return err
	}
	if lo.nodes < 3 || lo.targets < 1 || gopt.nodes < 2 || gopt.targets < 0 || co.targets < 1 || co.batch < 1 || co.batch > co.targets {
		return errors.New("need -live-nodes >= 3, -live-targets >= 1, -gossip-nodes >= 2, -conv-targets >= 1 and 1 <= -conv-batch <= -conv-targets")
	}
	if gopt.flap < 0 || gopt.flap > 1 {
		return fmt.Errorf("-flap %g: want a share between 0 and 1, e.g. 0.01", gopt.flap)
	}
	lo.listeners, co.listeners = *listeners, *listeners
	lo.settle, co.settle, gopt.settle = *settle, *settle, *settle

	if scen["ring"] {
		if err := runRing(*targets, counts, *replicas, *asJSON); err != nil {
			return err
		}
	}
	if !scen["live"] && !scen["conv"] && !scen["gossip"] {
		return nil
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	dir, err := os.MkdirTemp("", "heck-bench-cluster-")
	if err != nil {
		return fmt.Errorf("temp dir: %w", err)
	}
	if *keep {
		fmt.Println("keeping", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	logf, err := os.Create(dir + "/nodes.log")
	if err != nil {
		return fmt.Errorf("node log: %w", err)
	}
	defer logf.Close()
	log := slog.New(slog.NewTextHandler(logf, &slog.HandlerOptions{Level: lvl}))
	sub := 0
	newF := func() *fleet {
		sub++
		d := fmt.Sprintf("%s/run%d", dir, sub)
		return newFleet(d, log, tuning)
	}
	if *cpuprofile != "" {
		pf, err := os.Create(*cpuprofile)
		if err != nil {
			return fmt.Errorf("-cpuprofile: %w", err)
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return fmt.Errorf("-cpuprofile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	start := time.Now()
	fmt.Printf("bench/cluster: memberlist timings %q, GOMAXPROCS %d, started %s\n", *ml, runtimeProcs(), start.UTC().Format(time.RFC3339))

	step := func(name string, fn func(f *fleet) error) error {
		f := newF()
		defer f.stop()
		if err := fn(f); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	}
	if scen["live"] {
		if err := step("live", func(f *fleet) error { return runLive(ctx, f, lo) }); err != nil {
			return err
		}
	}
	if scen["conv"] {
		if err := runConv(ctx, co, newF); err != nil {
			return err
		}
	}
	if scen["gossip"] && *procs {
		bin := *heckBin
		if bin == "" {
			bin = filepath.Join(dir, "heck")
			out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/heck").CombinedOutput()
			if err != nil {
				return fmt.Errorf("go build ./cmd/heck (run from the repository root, or pass -heck-bin): %v\n%s", err, out)
			}
		}
		pf := &procFleet{bin: bin, dir: filepath.Join(dir, "procs")}
		err := runGossip(ctx, pf, gopt)
		pf.stop()
		if err != nil {
			return fmt.Errorf("gossip: %w", err)
		}
	} else if scen["gossip"] {
		if err := step("gossip", func(f *fleet) error { return runGossip(ctx, inProcess{f}, gopt) }); err != nil {
			return err
		}
	}
	fmt.Printf("\ndone in %v\n", time.Since(start).Round(time.Second))
	return nil
}

func runRing(targets int, counts []int, replicas int, asJSON bool) error {
	if targets < 1 || replicas < 1 {
		return fmt.Errorf("-targets %d and -replicas %d must be positive", targets, replicas)
	}
	ids := make([]string, targets)
	for i := range ids {
		ids[i] = fmt.Sprintf("t%d", i)
	}
	if !asJSON {
		fmt.Printf("%6s %8s %4s %9s %9s %9s %9s %9s %10s\n", "nodes", "targets", "k", "max/mean", "min/mean", "moved+1", "moved-1", "goal", "ns/owners")
	}
	for _, n := range counts {
		r := measure(n, ids, replicas)
		if asJSON {
			b, _ := json.Marshal(r)
			fmt.Println(string(b))
			continue
		}
		fmt.Printf("%6d %8d %4d %9.3f %9.3f %9.4f %9.4f %9.4f %10.0f\n", r.Nodes, r.Targets, r.Replicas,
			r.BalanceMax, r.BalanceMin, r.MovedJoin, r.MovedLeave, r.MoveGoal, r.NsPerOwners)
	}
	return nil
}
