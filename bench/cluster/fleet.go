package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/heckhq/heck/internal/api"
	"github.com/heckhq/heck/internal/cluster"
	"github.com/heckhq/heck/internal/config"
	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/node"
	"github.com/heckhq/heck/internal/target"
)

// fleet is a set of in-process heck nodes over loopback UDP/TCP (real
// memberlist transports), each wrapped by a Partitioner (to kill a node
// abruptly: all its traffic is dropped, both ways) and a CountingTransport
// (gossip bytes sent).
type fleet struct {
	dir    string
	log    *slog.Logger
	part   *cluster.Partitioner
	tuning func(*memberlist.Config)

	mu    sync.Mutex
	nodes []*member
	wg    sync.WaitGroup
}

type member struct {
	name   string
	n      *node.Node
	ct     *cluster.CountingTransport
	gossip string // gossip address
	api    string // API address
	cancel context.CancelFunc
	done   chan error
	gone   bool // killed or stopped
	// killedAt is when kill cut it off (zero otherwise).
	killedAt time.Time
}

func newFleet(dir string, log *slog.Logger, tuning func(*memberlist.Config)) *fleet {
	return &fleet{dir: dir, log: log, part: cluster.NewPartitioner(), tuning: tuning}
}

// lanTuning keeps memberlist's LAN defaults (what a deployment runs).
func lanTuning(*memberlist.Config) {}

// alive returns the members not killed or stopped.
func (f *fleet) alive() []*member {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*member
	for _, m := range f.nodes {
		if !m.gone {
			out = append(out, m)
		}
	}
	return out
}

// start starts one node named name, joining the first live member (none
// for the first node). specs become its config targets.
func (f *fleet) start(ctx context.Context, name string, specs []target.Spec) (*member, error) {
	var join []string
	if al := f.alive(); len(al) > 0 {
		join = []string{al[0].gossip}
	}
	cfg := config.Default()
	cfg.Node.Name = name
	cfg.Node.DataDir = filepath.Join(f.dir, name)
	cfg.Store.Path = filepath.Join(cfg.Node.DataDir, "heck.db")
	if err := os.MkdirAll(cfg.Node.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("data dir of %s: %w", name, err)
	}
	cfg.Listen = "127.0.0.1:0"
	off := false
	cfg.API.PerTargetMetrics = &off
	cfg.Cluster.Bind = "127.0.0.1:0"
	cfg.Cluster.Join = join
	cfg.Targets = specs

	pt, err := f.part.Loopback(name, f.log)
	if err != nil {
		return nil, err
	}
	ip, port, err := pt.FinalAdvertiseAddr("", 0)
	if err != nil {
		_ = pt.Shutdown()
		return nil, fmt.Errorf("gossip address of %s: %w", name, err)
	}
	ct := cluster.NewCountingTransport(pt)
	log := f.log.With("node", name)
	n, err := node.New(ctx, cfg, log, node.WithClusterTransport(ct), node.WithClusterTuning(f.tuning))
	if err != nil {
		_ = ct.Shutdown()
		return nil, fmt.Errorf("node %s: %w", name, err)
	}
	nctx, cancel := context.WithCancel(ctx)
	m := &member{name: name, n: n, ct: ct, cancel: cancel, done: make(chan error, 1),
		gossip: net.JoinHostPort(ip.String(), strconv.Itoa(port))}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		m.done <- n.Run(nctx)
	}()
	actx, acancel := context.WithTimeout(ctx, 30*time.Second)
	defer acancel()
	a := n.Addr(actx)
	if a == nil {
		cancel()
		return nil, fmt.Errorf("node %s: API not listening within 30s: %w", name, ctx.Err())
	}
	m.api = a.String()
	f.mu.Lock()
	f.nodes = append(f.nodes, m)
	f.mu.Unlock()
	return m, nil
}

// kill stops m as a crash would look to the others: every packet and
// stream between it and the rest is dropped from now on (so its graceful
// leave never arrives), then its context is cancelled (its probes stop).
func (f *fleet) kill(m *member) time.Time {
	var others []string
	f.mu.Lock()
	for _, o := range f.nodes {
		if o != m {
			others = append(others, o.name)
		}
	}
	m.gone = true
	f.mu.Unlock()
	f.part.Partition([]string{m.name}, others)
	m.killedAt = time.Now()
	m.cancel()
	return m.killedAt
}

// stop cancels every node and waits for them (bounded).
func (f *fleet) stop() {
	f.mu.Lock()
	for _, m := range f.nodes {
		m.gone = true
		m.cancel()
	}
	f.mu.Unlock()
	done := make(chan struct{})
	go func() { f.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		fmt.Fprintln(os.Stderr, "bench/cluster: some nodes did not stop within 30s")
	}
}

// waitMembers waits until every live node sees exactly want alive members.
func (f *fleet) waitMembers(ctx context.Context, want int, timeout time.Duration) error {
	// Members costs O(targets x members) per call (it counts what each
	// member owns), so this polls slowly.
	return pollUntil(ctx, timeout, time.Second, func() (bool, string) {
		for _, m := range f.alive() {
			if got := aliveMembers(ctx, m.n); got != want {
				return false, fmt.Sprintf("%s sees %d alive members, want %d", m.name, got, want)
			}
		}
		return true, ""
	})
}

func aliveMembers(ctx context.Context, n *node.Node) int {
	c := 0
	for _, m := range n.Members(ctx) {
		if m.State == api.MemberAlive {
			c++
		}
	}
	return c
}

// assignment is who schedules what right now.
type assignment struct {
	perNode  map[string]int // node -> targets it schedules
	probers  []int8         // target index -> how many nodes schedule it
	byTarget []string       // target index -> the (last seen) node scheduling it
}

func (f *fleet) assignment(targets int) assignment {
	a := assignment{perNode: map[string]int{}, probers: make([]int8, targets), byTarget: make([]string, targets)}
	for _, m := range f.alive() {
		c := 0
		m.n.EachState(func(id string, _ health.State) {
			c++
			if i, ok := index(id); ok && i < targets {
				if a.probers[i] < 127 {
					a.probers[i]++
				}
				a.byTarget[i] = m.name
			}
		})
		a.perNode[m.name] = c
	}
	return a
}

// settled reports whether every target is scheduled on exactly one node.
func (a assignment) settled() (bool, string) {
	zero, many := 0, 0
	for _, p := range a.probers {
		switch {
		case p == 0:
			zero++
		case p > 1:
			many++
		}
	}
	if zero == 0 && many == 0 {
		return true, ""
	}
	top, most := "", -1
	for name, c := range a.perNode {
		if c > most || c == most && name < top {
			top, most = name, c
		}
	}
	return false, fmt.Sprintf("%d targets unscheduled, %d scheduled on several nodes (most on %s: %d of %d)", zero, many, top, most, len(a.probers))
}

// waitSettled waits until every target is scheduled exactly once.
func (f *fleet) waitSettled(ctx context.Context, targets int, timeout time.Duration) (assignment, error) {
	var a assignment
	err := pollUntil(ctx, timeout, 250*time.Millisecond, func() (bool, string) {
		a = f.assignment(targets)
		return a.settled()
	})
	return a, err
}

// pollUntil calls cond every step until it holds, ctx ends or timeout
// passes; the error carries cond's last explanation.
func pollUntil(ctx context.Context, timeout, step time.Duration, cond func() (bool, string)) error {
	start := time.Now()
	deadline, lastSaid := start.Add(timeout), start
	why := ""
	for {
		ok, w := cond()
		if ok {
			return nil
		}
		why = w
		if time.Since(lastSaid) >= 20*time.Second {
			lastSaid = time.Now()
			fmt.Printf("  still waiting after %v: %s\n", time.Since(start).Round(time.Second), why)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not reached within %v: %s", timeout, why)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (waiting: %s)", ctx.Err(), why)
		case <-time.After(step):
		}
	}
}

// checksTotal reads heck_checks_total (all labels summed) from a node's
// /metrics.
func checksTotal(ctx context.Context, apiAddr string) (float64, error) {
	m, err := scrape(ctx, apiAddr)
	if err != nil {
		return 0, err
	}
	sum, found := 0.0, false
	for series, v := range m {
		if series == "heck_checks_total" || strings.HasPrefix(series, "heck_checks_total{") {
			sum += v
			found = true
		}
	}
	if !found {
		return 0, errors.New("heck_checks_total not found in /metrics")
	}
	return sum, nil
}

// scrape reads a node's /metrics: every series (name and labels, as
// written) to its value.
func scrape(ctx context.Context, apiAddr string) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+apiAddr+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("metrics of %s: %w", apiAddr, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil, fmt.Errorf("metrics of %s: %s", apiAddr, resp.Status)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		sp := strings.LastIndexByte(line, ' ')
		if sp < 0 {
			continue
		}
		if v, err := strconv.ParseFloat(line[sp+1:], 64); err == nil {
			out[line[:sp]] = v
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("metrics of %s: %w", apiAddr, err)
	}
	return out, nil
}
