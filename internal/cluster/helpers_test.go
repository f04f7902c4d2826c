package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/heckhq/heck/internal/testkit"
)

// testLogger discards logs unless HECK_TEST_LOG is set.
func testLogger(name string) *slog.Logger { return testkit.Logger(name) }

// fastTuning shortens memberlist's timings for tests while leaving enough
// slack for -race on two busy cores.
func fastTuning(mc *memberlist.Config) {
	testkit.FastGossip(mc)
	mc.GossipInterval = 20 * time.Millisecond
}

// noPushPull is fastTuning without periodic anti-entropy (joins still
// push/pull), so a test can tell which path carried data.
func noPushPull(mc *memberlist.Config) {
	fastTuning(mc)
	mc.PushPullInterval = 0
	// Each delta is sent RetransmitMult*ceil(log10(N+1)) times in all,
	// and probes piggyback on the same budget, so at the default (4) a
	// peer is sometimes missed: in production anti-entropy (or a relaying
	// Replica) covers that; here the test isolates the gossip path.
	mc.RetransmitMult = 16
}

// fakeReplica is a set of "key=value" items. Its digest is the sorted list
// of keys; it answers a digest with exactly the items the peer lacks and
// counts what it sends.
type fakeReplica struct {
	c atomic.Pointer[Cluster]

	mu        sync.Mutex
	items     map[string]string
	deltaFrom map[string]string // item key -> sender of the delta that brought it
	sentItems int
	sentBytes int
	digests   int
	sendErrs  []error
	passive   bool // never answer digests: only gossip moves data
}

func newFakeReplica(items map[string]string) *fakeReplica {
	if items == nil {
		items = map[string]string{}
	}
	return &fakeReplica{items: items, deltaFrom: map[string]string{}}
}

func encodeItems(kv map[string]string, keys []string) []byte {
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s\n", k, kv[k])
	}
	return []byte(b.String())
}

func (r *fakeReplica) HandleDelta(from string, msg []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for line := range strings.Lines(string(msg)) {
		k, v, ok := strings.Cut(strings.TrimSuffix(line, "\n"), "=")
		if !ok {
			continue
		}
		r.items[k] = v
		r.deltaFrom[k] = from
	}
}

func (r *fakeReplica) LocalDigest() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return []byte(strings.Join(slices.Sorted(maps.Keys(r.items)), "\n"))
}

func (r *fakeReplica) MergeDigest(from string, digest []byte) {
	has := map[string]bool{}
	for _, k := range strings.Split(string(digest), "\n") {
		has[k] = true
	}
	r.mu.Lock()
	var missing []string
	for k := range r.items {
		if !has[k] {
			missing = append(missing, k)
		}
	}
	sort.Strings(missing)
	msg := encodeItems(r.items, missing)
	r.digests++
	passive := r.passive
	r.mu.Unlock()
	if len(missing) == 0 || passive {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := r.c.Load().Send(ctx, from, msg)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.sendErrs = append(r.sendErrs, err)
		return
	}
	r.sentItems += len(missing)
	r.sentBytes += len(msg)
}

func (r *fakeReplica) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.items)
}

func (r *fakeReplica) get(k string) (v, from string, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok = r.items[k]
	return v, r.deltaFrom[k], ok
}

func (r *fakeReplica) stats() (items, bytes, digests int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sentItems, r.sentBytes, r.digests
}

type testNode struct {
	name string
	c    *Cluster
	r    *fakeReplica
}

// newTestNode builds and starts a node on 127.0.0.1 with a free port,
// through p when p is not nil. mod adjusts the config before New.
func newTestNode(t *testing.T, p *Partitioner, name string, items map[string]string, mod func(*Config)) *testNode {
	t.Helper()
	n, err := startTestNode(t, p, name, items, mod)
	if err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	return n
}

func startTestNode(t *testing.T, p *Partitioner, name string, items map[string]string, mod func(*Config)) (*testNode, error) {
	t.Helper()
	cfg := Config{
		NodeName: name,
		Bind:     "127.0.0.1:0",
		Logger:   testLogger(name),
		Tuning:   fastTuning,
	}
	if p != nil {
		tr, err := p.Loopback(name, cfg.Logger)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Transport = tr
	}
	if mod != nil {
		mod(&cfg)
	}
	r := newFakeReplica(items)
	r.passive = passiveReplica(cfg)
	c, err := New(cfg, r)
	if err != nil {
		t.Fatalf("New %s: %v", name, err)
	}
	r.c.Store(c)
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		return nil, err
	}
	return &testNode{name: name, c: c, r: r}, nil
}

// waitFor polls cond every 20 ms until it holds, failing the test with
// what the dumps say at the deadline.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool, dump ...func() string) {
	t.Helper()
	_, err := testkit.Wait{Timeout: timeout, Every: 20 * time.Millisecond}.Poll(what, testkit.True(cond))
	if err != nil {
		msg := ""
		for _, d := range dump {
			msg += "\n" + d()
		}
		t.Fatalf("%v%s", err, msg)
	}
}

// states maps member name to state as seen by c.
func states(c *Cluster) map[string]string {
	out := map[string]string{}
	for _, m := range c.Members() {
		out[m.Name] = m.State
	}
	return out
}

// sees reports whether c lists exactly want (name -> state) for those names.
func sees(c *Cluster, want map[string]string) bool {
	got := states(c)
	for n, s := range want {
		if got[n] != s {
			return false
		}
	}
	return true
}

func allAlive(names ...string) map[string]string {
	m := map[string]string{}
	for _, n := range names {
		m[n] = StateAlive
	}
	return m
}

func dumpStates(nodes ...*testNode) func() string {
	return func() string {
		var b strings.Builder
		for _, n := range nodes {
			fmt.Fprintf(&b, "%s sees %v\n", n.name, states(n.c))
		}
		return b.String()
	}
}

// allSee waits until every node sees want.
func allSee(t *testing.T, timeout time.Duration, want map[string]string, nodes ...*testNode) {
	t.Helper()
	waitFor(t, timeout, fmt.Sprintf("all of %d nodes to see %v", len(nodes), want), func() bool {
		return !slices.ContainsFunc(nodes, func(n *testNode) bool { return !sees(n.c, want) })
	}, dumpStates(nodes...))
}

// startCluster starts n nodes named n0.., each joining those before it.
func startCluster(t *testing.T, p *Partitioner, n int, mod func(i int, cfg *Config)) []*testNode {
	t.Helper()
	nodes := make([]*testNode, 0, n)
	names := make([]string, 0, n)
	for i := range n {
		name := fmt.Sprintf("n%d", i)
		names = append(names, name)
		nodes = append(nodes, newTestNode(t, p, name, nil, func(cfg *Config) {
			for _, prev := range nodes { // join all: a full view at once
				cfg.Join = append(cfg.Join, prev.c.Addr())
			}
			if mod != nil {
				mod(i, cfg)
			}
		}))
	}
	allSee(t, 15*time.Second, allAlive(names...), nodes...)
	return nodes
}

// passiveTag in Config.Version marks a test node whose replica never
// answers digests.
const passiveTag = "passive"

func passiveReplica(cfg Config) bool { return cfg.Version == passiveTag }
