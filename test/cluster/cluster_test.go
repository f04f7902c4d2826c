// Package cluster_test runs a real three-node heck cluster: three `heck
// serve` processes on loopback ports, probing counting HTTP targets served
// by the test. It checks what the cluster promises from the outside: each
// target probed once per interval in steady state (counted at the
// targets), failover after a SIGKILL, no target lost, and a restarted node
// taking its targets back without a storm of duplicate probes.
package cluster_test

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/testkit"
)

// interval is every target's probe interval.
const interval = time.Second

// heck runs the binary TestMain builds.
var heck testkit.Heck

func TestMain(m *testing.M) {
	h, remove, err := testkit.BuildHeck()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	heck = h
	code := m.Run()
	remove()
	os.Exit(code)
}

// node is one `heck serve` process and its config.
type node struct {
	name, dir, cfg, base string
	proc                 *testkit.Proc
}

// start runs the node on its config.
func (n *node) start(t *testing.T) {
	t.Helper()
	n.proc = heck.Start(t, n.dir, nil, "serve", "--config", n.cfg)
}

// kill sends SIGKILL and waits for the process to be gone.
func (n *node) kill(t *testing.T) {
	t.Helper()
	n.proc.Signal(t, syscall.SIGKILL)
}

// startCluster writes three configs (same targets, every node joining
// every node) and starts the nodes.
func startCluster(t *testing.T, tg *testkit.Targets, ids []string) []*node {
	t.Helper()
	const n = 3
	gossip := make([]string, n)
	for i := range gossip {
		gossip[i] = fmt.Sprintf("127.0.0.1:%d", testkit.FreePort(t))
	}
	var nodes []*node
	for i := range n {
		nd := &node{name: fmt.Sprintf("node%d", i+1), dir: t.TempDir()}
		api := fmt.Sprintf("127.0.0.1:%d", testkit.FreePort(t))
		nd.base = "http://" + api
		var b strings.Builder
		fmt.Fprintf(&b, "listen: %s\nnode:\n  name: %s\n  data_dir: %s\n", api, nd.name, filepath.Join(nd.dir, "data"))
		fmt.Fprintf(&b, "cluster:\n  bind: %s\n  zone: zone-%d\n  join:\n", gossip[i], i+1)
		for _, g := range gossip {
			fmt.Fprintf(&b, "    - %s\n", g)
		}
		fmt.Fprintf(&b, "defaults:\n  interval: %s\n  timeout: 500ms\ntargets:\n", interval)
		for _, id := range ids {
			fmt.Fprintf(&b, "  - id: %s\n    kind: http\n    url: %s\n", id, tg.URL(id))
		}
		nd.cfg = filepath.Join(nd.dir, "heck.yaml")
		if err := os.WriteFile(nd.cfg, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, nd)
	}
	for _, nd := range nodes {
		nd.start(t)
	}
	return nodes
}

var client = &http.Client{Timeout: 5 * time.Second}

// listed returns the ids a node lists in /api/v1/targets, sorted.
func listed(n *node) ([]string, error) {
	list, err := testkit.Listed(context.Background(), client, n.base)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", n.name, err)
	}
	return slices.Sorted(maps.Keys(list)), nil
}

// split checks that the nodes probe every id, each on exactly one node,
// and that every node lists every id; it returns who probes what.
func split(nodes []*node, ids []string) (map[string]string, error) {
	var scheds []testkit.NodeSchedule
	for _, n := range nodes {
		if n.proc.Exited() {
			return nil, fmt.Errorf("%s exited", n.name)
		}
		got, err := listed(n)
		if err != nil {
			return nil, err
		}
		if !slices.Equal(got, ids) {
			return nil, fmt.Errorf("%s lists %v, want %v", n.name, got, ids)
		}
		set, err := testkit.Scheduled(client, n.base)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n.name, err)
		}
		scheds = append(scheds, testkit.NodeSchedule{Node: n.name, IDs: set})
	}
	return testkit.OneOwner(scheds, ids)
}

// waitFor polls cond every 200 ms until it has held for hold, failing at
// the deadline; it returns how long cond took to start holding.
func waitFor(t *testing.T, what string, timeout, hold time.Duration, cond func() error) time.Duration {
	t.Helper()
	return testkit.Wait{Timeout: timeout, Hold: hold, Every: 200 * time.Millisecond}.Until(t, what, cond)
}

// steady measures probes per target per interval over k intervals and
// checks it is close to one: no target probed by two nodes.
func steady(t *testing.T, tg *testkit.Targets, ids []string, what string) {
	t.Helper()
	const k = 5
	from := time.Now()
	time.Sleep(k * interval) // a measurement window
	_, mean, hi := tg.Rates(ids, from, time.Now(), interval)
	t.Logf("%s: %.3f probes per target per interval (highest %.2f) over %d intervals", what, mean, hi, k)
	if mean < 0.9 || mean > 1.1 {
		t.Errorf("%s: %.3f probes per target per interval, want 1.00 +-10%%", what, mean)
	}
	if hi > 1+1.5/k {
		t.Errorf("%s: a target got %.2f probes per interval: probed by more than one node", what, hi)
	}
}

func TestKillAndRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three heck processes")
	}
	var ids []string
	for i := range 12 {
		ids = append(ids, fmt.Sprintf("t%02d", i))
	}
	tg := testkit.NewTargets(t)
	nodes := startCluster(t, tg, ids)
	var owner map[string]string
	took := waitFor(t, "one prober per target", 30*time.Second, 2*interval, func() (err error) {
		owner, err = split(nodes, ids)
		return err
	})
	t.Logf("cluster settled %v after start: %v", took.Round(time.Millisecond), testkit.Counts(owner))
	steady(t, tg, ids, "steady state")

	victim := nodes[0]
	for _, n := range nodes {
		if len(testkit.Owned(owner, n.name)) > len(testkit.Owned(owner, victim.name)) {
			victim = n
		}
	}
	lost := testkit.Owned(owner, victim.name)
	victim.kill(t)
	killed := time.Now()
	failover := tg.Reprobed(t, testkit.Wait{Timeout: 15 * time.Second, Every: 200 * time.Millisecond},
		"killed node's targets probed again", lost, killed)
	t.Logf("SIGKILL of %s (%d targets): failover %v (interval %v)", victim.name, len(lost), failover.Round(time.Millisecond), interval)
	if limit := 3*interval + 3*time.Second; failover > limit {
		t.Errorf("failover took %v, want under %v", failover, limit)
	}
	var survivors []*node
	for _, n := range nodes {
		if n != victim {
			survivors = append(survivors, n)
		}
	}
	// No target lost: both survivors list every target, and they share
	// them with one prober each.
	waitFor(t, "survivors probe every target once", 15*time.Second, 2*interval, func() (err error) {
		_, err = split(survivors, ids)
		return err
	})
	steady(t, tg, ids, "after the kill")

	victim.start(t)
	restarted := time.Now()
	took = waitFor(t, "restarted node takes its targets back", 30*time.Second, 2*interval, func() error {
		o, err := split(nodes, ids)
		if err != nil {
			return err
		}
		if got := testkit.Owned(o, victim.name); !slices.Equal(got, lost) {
			return fmt.Errorf("%s probes %v, want %v", victim.name, got, lost)
		}
		return nil
	})
	// The hand-back window: the restart and the next five intervals. A
	// hand-back costs at most one extra probe of a moved target.
	const k = 5
	if d := time.Until(restarted.Add(k * interval)); d > 0 {
		time.Sleep(d) // the rest of the measurement window
	}
	_, mean, hi := tg.Rates(ids, restarted, restarted.Add(k*interval), interval)
	t.Logf("restart of %s: its targets back %v after the restart; %.3f probes per target per interval over the %d intervals from the restart (highest %.2f)",
		victim.name, took.Round(time.Millisecond), mean, k, hi)
	if mean > 1.2 || hi > 1+2.0/k {
		t.Errorf("restart: %.3f probes per target per interval (highest %.2f) while the node came back: duplicate probes", mean, hi)
	}
	steady(t, tg, ids, "after the restart")
}
