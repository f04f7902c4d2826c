package node

// In-process cluster tests: 3 to 7 nodes in this process on 127.0.0.1,
// each with its own store, API and gossip transport (wrapped by a
// cluster.Partitioner so tests can cut links), probing counting loopback
// targets. Every assertion is made at the public surfaces: hits at the
// target server, each node's /metrics (heck_target_up lists what the node
// schedules) and /api/v1/targets.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"maps"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/heckhq/heck/internal/api"
	"github.com/heckhq/heck/internal/cluster"
	"github.com/heckhq/heck/internal/config"
	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/schedule"
	"github.com/heckhq/heck/internal/testkit"
)

// clInterval is every test target's probe interval.
const clInterval = 500 * time.Millisecond

// clFallback is how long an owner must be silent before a fallback takes
// over at clInterval: two intervals, but never under 2 s.
const clFallback = 2 * time.Second

// clFastTuning is testkit.FastGossip without compression (loopback: save
// the CPU): failures are detected in about a second.
func clFastTuning(mc *memberlist.Config) {
	testkit.FastGossip(mc)
	mc.EnableCompression = false
}

// clBlindTuning gossips as fast as clFastTuning but practically never
// declares a member dead (a suspicion lasts over a minute): any takeover a
// test sees must come from the node's own mechanisms (stale watermarks,
// leave announcements), not from memberlist's failure detector.
func clBlindTuning(mc *memberlist.Config) {
	clFastTuning(mc)
	mc.ProbeInterval = 20 * time.Second
	mc.ProbeTimeout = 5 * time.Second
	mc.SuspicionMult = 4
}

// clNode is one in-process node.
type clNode struct {
	name   string
	n      *Node
	base   string // http://host:port of the API
	gossip string
	dir    string // data directory
	config string // config file text
	cancel context.CancelFunc
	done   chan error
}

// clCluster is a set of in-process nodes sharing one Partitioner and one
// target server.
type clCluster struct {
	t       *testing.T
	part    *cluster.Partitioner
	tg      *testkit.Targets
	nodes   []*clNode
	stopped map[string]bool
	tuning  func(*memberlist.Config)
}

// clConfig is a node's config file, joining every node and probing
// targets. The config refuses port 0, so the listen and bind ports written
// here are placeholders: startCL sets both to 127.0.0.1:0 (the test
// transport replaces the bind anyway).
func clConfig(name, dir string, join []string, targets []string, tg *testkit.Targets) string {
	var b strings.Builder
	fmt.Fprintf(&b, "listen: 127.0.0.1:1\nnode:\n  name: %s\n  data_dir: %s\n", name, dir)
	fmt.Fprintf(&b, "cluster:\n  bind: 127.0.0.1:1\n  zone: z-%s\n  join:\n", name)
	for _, j := range join {
		fmt.Fprintf(&b, "    - %s\n", j)
	}
	fmt.Fprintf(&b, "defaults:\n  interval: %s\n", clInterval)
	b.WriteString("targets:\n")
	for _, id := range targets {
		fmt.Fprintf(&b, "  - id: %s\n    kind: http\n    url: %s\n", id, tg.URL(id))
	}
	return b.String()
}

// startCL starts size nodes named n0..n{size-1}, every one configured with
// the targets ids, and stops them all when the test ends.
func startCL(t *testing.T, size int, ids []string, tuning func(*memberlist.Config)) *clCluster {
	t.Helper()
	return startCLWith(t, size, ids, tuning, "")
}

// startCLWith is startCL with extra appended to every node's config (a
// store section, say).
func startCLWith(t *testing.T, size int, ids []string, tuning func(*memberlist.Config), extra string) *clCluster {
	t.Helper()
	c := &clCluster{t: t, part: cluster.NewPartitioner(), tg: testkit.NewTargets(t), stopped: map[string]bool{}}
	// All nodes share this process: a stop-the-world pause stalls every
	// node at once, and on a busy machine such a pause can outlast an
	// interval. Collect less often.
	old := debug.SetGCPercent(800)
	t.Cleanup(func() { debug.SetGCPercent(old) })
	trs := make([]*cluster.PartitionTransport, size)
	addrs := make([]string, size)
	for i := range size {
		name := fmt.Sprintf("n%d", i)
		tr, err := c.part.Loopback(name, testkit.Logger(name))
		if err != nil {
			t.Fatal(err)
		}
		ip, port, err := tr.FinalAdvertiseAddr("", 0)
		if err != nil {
			t.Fatal(err)
		}
		trs[i], addrs[i] = tr, fmt.Sprintf("%s:%d", ip, port)
	}
	t.Cleanup(c.stopAll)
	c.tuning = tuning
	for i := range size {
		name := fmt.Sprintf("n%d", i)
		dir := t.TempDir()
		cn := &clNode{name: name, gossip: addrs[i], dir: dir, config: clConfig(name, dir, addrs, ids, c.tg) + extra}
		c.boot(cn, trs[i])
		c.nodes = append(c.nodes, cn)
	}
	return c
}

// boot starts cn's node on transport tr and waits until it listens.
func (c *clCluster) boot(cn *clNode, tr *cluster.PartitionTransport) {
	t := c.t
	t.Helper()
	name := cn.name
	cfg, err := config.Parse(filepath.Join(cn.dir, "heck.yaml"), []byte(cn.config))
	if err != nil {
		t.Fatalf("config of %s: %v", name, err)
	}
	cfg.Listen, cfg.Cluster.Bind = "127.0.0.1:0", "127.0.0.1:0"
	ctx := t.Context()
	n, err := New(ctx, cfg, testkit.Logger(name), WithClusterTuning(c.tuning),
		WithClusterTransport(tr), WithRejoinInterval(300*time.Millisecond))
	if err != nil {
		t.Fatalf("new %s: %v", name, err)
	}
	nctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	cn.n, cn.cancel, cn.done = n, cancel, make(chan error, 1)
	go func() { cn.done <- n.Run(nctx) }()
	actx, acancel := context.WithTimeout(ctx, 10*time.Second)
	addr := n.Addr(actx)
	acancel()
	if addr == nil {
		select {
		case err := <-cn.done:
			t.Fatalf("node %s did not start: %v", name, err)
		default:
			t.Fatalf("node %s did not listen within 10s", name)
		}
	}
	cn.base = "http://" + addr.String()
}

// restart starts a stopped (crashed or left) node again on its data
// directory and gossip address, as a process restarted by systemd would
// be, after healing every partition.
func (c *clCluster) restart(name string) {
	c.t.Helper()
	cn := c.node(name)
	select {
	case err := <-cn.done:
		if err != nil {
			c.t.Fatalf("node %s: %v", name, err)
		}
	case <-time.After(15 * time.Second):
		c.t.Fatalf("node %s did not stop within 15s", name)
	}
	_, port, err := net.SplitHostPort(cn.gossip)
	if err != nil {
		c.t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	nt, err := memberlist.NewNetTransport(&memberlist.NetTransportConfig{BindAddrs: []string{"127.0.0.1"}, BindPort: p,
		Logger: log.New(io.Discard, "", 0)})
	if err != nil {
		c.t.Fatalf("transport of %s: %v", name, err)
	}
	tr, err := c.part.Wrap(name, nt)
	if err != nil {
		c.t.Fatal(err)
	}
	c.part.Heal()
	c.boot(cn, tr)
	delete(c.stopped, name)
}

// stopAll stops every node still running and waits. The nodes are cut
// from each other first: nodes leaving all at once otherwise wait out
// their 5 s leave timeout (memberlist's Leave waits to gossip its leave to
// peers that are themselves gone).
func (c *clCluster) stopAll() {
	var names []string
	for _, cn := range c.nodes {
		names = append(names, cn.name)
	}
	for _, n := range names {
		c.part.Partition([]string{n}, names)
	}
	for _, cn := range c.nodes {
		cn.cancel()
	}
	for _, cn := range c.nodes {
		select {
		case err := <-cn.done:
			if err != nil {
				c.t.Errorf("node %s: %v", cn.name, err)
			}
		case <-time.After(15 * time.Second):
			c.t.Errorf("node %s did not stop within 15s", cn.name)
		}
	}
}

// cpu returns the process's user+system CPU time.
func cpu() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// live returns the nodes not stopped by the test.
func (c *clCluster) live() []*clNode {
	var out []*clNode
	for _, cn := range c.nodes {
		if !c.stopped[cn.name] {
			out = append(out, cn)
		}
	}
	return out
}

func (c *clCluster) node(name string) *clNode {
	for _, cn := range c.nodes {
		if cn.name == name {
			return cn
		}
	}
	c.t.Fatalf("no node %s", name)
	return nil
}

// crash simulates a crash: the node is cut off from every other node (so
// its leave announcement is lost) and stopped.
func (c *clCluster) crash(name string) {
	var others []string
	for _, cn := range c.nodes {
		if cn.name != name {
			others = append(others, cn.name)
		}
	}
	c.part.Partition([]string{name}, others)
	c.stopped[name] = true
	c.node(name).cancel()
}

// leave stops a node gracefully (Run announces the leave).
func (c *clCluster) leave(name string) {
	c.stopped[name] = true
	c.node(name).cancel()
}

// --- reading nodes ---

var clClient = &http.Client{Timeout: 5 * time.Second}

// scheduled returns the targets cn probes, from heck_target_up on its
// /metrics; CL_STACKS names a file for the process's stacks when the node
// does not answer.
func scheduled(cn *clNode) (map[string]bool, error) {
	set, err := testkit.Scheduled(clClient, cn.base)
	if err != nil {
		if f := os.Getenv("CL_STACKS"); f != "" {
			buf := make([]byte, 1<<24)
			os.WriteFile(f, buf[:runtime.Stack(buf, true)], 0o644)
		}
		return nil, fmt.Errorf("%s: %w", cn.name, err)
	}
	return set, nil
}

// listTargets returns what cn lists in /api/v1/targets, by id.
func listTargets(cn *clNode) (map[string]api.TargetStatus, error) {
	list, err := testkit.Listed(context.Background(), clClient, cn.base)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cn.name, err)
	}
	return list, nil
}

func (c *clCluster) put(cn *clNode, id string, interval time.Duration) {
	c.t.Helper()
	body := fmt.Sprintf(`{"id":%q,"kind":"http","url":%q,"interval":%q}`, id, c.tg.URL(id), interval.String())
	req, _ := http.NewRequestWithContext(c.t.Context(), http.MethodPut, cn.base+"/api/v1/targets/"+id, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	c.do(req, http.StatusCreated)
}

func (c *clCluster) del(cn *clNode, id string) {
	c.t.Helper()
	req, _ := http.NewRequestWithContext(c.t.Context(), http.MethodDelete, cn.base+"/api/v1/targets/"+id, nil)
	c.do(req, http.StatusNoContent, http.StatusOK)
}

func (c *clCluster) do(req *http.Request, want ...int) {
	c.t.Helper()
	resp, err := clClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if !slices.Contains(want, resp.StatusCode) {
		c.t.Fatalf("%s %s: %s: %s", req.Method, req.URL, resp.Status, bytes.TrimSpace(b))
	}
}

// --- conditions ---

// waitFor polls cond every 150ms until it returns nil for hold (zero:
// once), failing the test with cond's last error at the deadline. It
// returns how long it took until cond started holding.
func waitFor(t *testing.T, what string, timeout, hold time.Duration, cond func() error) time.Duration {
	t.Helper()
	return testkit.Wait{Timeout: timeout, Hold: hold, Every: 150 * time.Millisecond}.Until(t, what, cond)
}

// partitioned checks that the nodes' scheduled sets cover want exactly,
// each target on exactly one node.
func partitioned(nodes []*clNode, want []string) (map[string]string, error) {
	var scheds []testkit.NodeSchedule
	for _, cn := range nodes {
		set, err := scheduled(cn)
		if err != nil {
			return nil, err
		}
		scheds = append(scheds, testkit.NodeSchedule{Node: cn.name, IDs: set})
	}
	owner, err := testkit.OneOwner(scheds, want)
	if dup := (*testkit.DoubleProbeError)(nil); errors.As(err, &dup) {
		return nil, fmt.Errorf("%w%s", err, explain(nodes, dup.ID))
	}
	return owner, err
}

// explain says how each node sees id's owners: its ranking and, for each
// node ranked ahead, how old its watermark is (for failure messages).
func explain(nodes []*clNode, id string) string {
	var b strings.Builder
	now := time.Now()
	for _, cn := range nodes {
		r := cn.n.own.Ring()
		if r == nil {
			continue
		}
		var late time.Duration
		cn.n.sched.Each(func(_ string, st *schedule.Status) bool {
			if !st.Next.IsZero() {
				late = max(late, now.Sub(st.Next))
			}
			return true
		})
		fmt.Fprintf(&b, "\n  %s (most overdue run %v) sees %v:", cn.name, late.Round(time.Millisecond), r.Members())
		for _, m := range r.Rank(id) {
			if wm, ok := cn.n.table.Watermark(m); ok {
				fmt.Fprintf(&b, " %s(wm %v ago)", m, now.Sub(wm.At).Round(time.Millisecond))
			} else {
				fmt.Fprintf(&b, " %s(no wm)", m)
			}
			if m == cn.name {
				break
			}
		}
	}
	return b.String()
}

// wantState is the state a target settles in: down for "down-" ids.
func wantState(id string) health.State {
	if strings.HasPrefix(id, "down-") {
		return health.Down
	}
	return health.Up
}

// agree checks that every node lists exactly want, each target with its
// settled state, not stale, observed by the node that probes it (prober,
// when given); the verdicts of the ids in except are not checked.
func agree(nodes []*clNode, want []string, prober map[string]string, except ...string) error {
	for _, cn := range nodes {
		list, err := listTargets(cn)
		if err != nil {
			return err
		}
		if got := slices.Sorted(maps.Keys(list)); !slices.Equal(got, want) {
			return fmt.Errorf("%s lists %v, want %v", cn.name, got, want)
		}
		for _, id := range want {
			if slices.Contains(except, id) {
				continue
			}
			s := list[id]
			if s.State != wantState(id) || s.Stale {
				return fmt.Errorf("%s says %s is %s (stale %v, observer %q, owners %v), want %s", cn.name, id, s.State, s.Stale, s.Observer, s.Owners, wantState(id))
			}
			if p := prober[id]; p != "" && s.Observer != p {
				return fmt.Errorf("%s says %s was observed by %q, but %s probes it", cn.name, id, s.Observer, p)
			}
		}
	}
	return nil
}

// amplification counts hits over window for each id and returns probes
// per target per interval, for each and on average.
func (c *clCluster) amplification(ids []string, window time.Duration) (map[string]float64, float64) {
	from, cpu0 := time.Now(), cpu()
	time.Sleep(window) // a measurement window, not a wait for a condition
	to := time.Now()
	c.t.Logf("window: process CPU %.0f%% of one core", 100*float64(cpu()-cpu0)/float64(to.Sub(from)))
	if os.Getenv("CL_DEBUG") != "" {
		for _, id := range ids {
			c.t.Logf("%s: %d hits", id, c.tg.Count(id, from, to))
		}
	}
	per, mean, _ := c.tg.Rates(ids, from, to, clInterval)
	return per, mean
}

// checkOnce asserts probes per target per interval near want (1 for a
// cluster in steady state) over a window of several intervals.
func (c *clCluster) checkOnce(ids []string, want float64) float64 {
	c.t.Helper()
	const k = 4
	per, mean := c.amplification(ids, k*clInterval)
	// Phase alone moves a target's count by one probe in k intervals, a
	// late run under -race by one more; a second prober doubles it.
	lo, hi := want-2.5/k, want+1.5/k
	for _, id := range ids {
		if per[id] < lo || per[id] > hi {
			c.t.Errorf("%s: %.2f probes per interval, want %.2f (%.2f..%.2f)", id, per[id], want, lo, hi)
		}
	}
	if math.Abs(mean-want) > 0.1*want {
		c.t.Errorf("mean %.3f probes per target per interval, want %.2f +-10%%", mean, want)
	}
	return mean
}

func clIDs(prefix string, n, down int) []string {
	var ids []string
	for i := range n {
		p := prefix
		if i < down {
			p = "down-" + prefix
		}
		ids = append(ids, fmt.Sprintf("%s%02d", p, i))
	}
	sort.Strings(ids)
	return ids
}

// --- tests ---

// raceEnabled reports whether the test binary was built with -race.
func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// settle waits until the live nodes probe every one of ids exactly once,
// steadily, and returns who probes what.
func (c *clCluster) settle(what string, ids []string) map[string]string {
	c.t.Helper()
	var prober map[string]string
	// One interval of stability: the measurement windows that follow
	// catch any second prober.
	took := waitFor(c.t, what, 15*time.Second, clInterval, func() (err error) {
		prober, err = partitioned(c.live(), ids)
		return err
	})
	c.t.Logf("%s: settled in %v", what, took.Round(time.Millisecond))
	return prober
}

// TestClusterSteadyState: every target is probed by exactly one node, about
// once per interval, and every node gives the same verdict for every
// target, naming the node that probes it.
func TestClusterSteadyState(t *testing.T) {
	sizes := []int{3, 7}
	if raceEnabled() {
		// 7 nodes under -race need more than two busy cores to keep their
		// watermarks fresh; 5 still exercises a larger ring.
		sizes = []int{3, 5}
	}
	for _, size := range sizes {
		t.Run(fmt.Sprintf("%d nodes", size), func(t *testing.T) {
			ids := clIDs("t", 21, 3)
			c := startCL(t, size, ids, clFastTuning)
			prober := c.settle("one prober per target", ids)
			counts := testkit.Counts(prober)
			t.Logf("targets per node: %v", counts)
			if len(counts) < 2 {
				t.Errorf("one node probes everything: %v", counts)
			}
			took := waitFor(t, "same verdict on every node", 10*time.Second, 0, func() error {
				return agree(c.live(), ids, prober)
			})
			t.Logf("verdicts agreed after %v more", took.Round(time.Millisecond))
			mean := c.checkOnce(ids, 1)
			t.Logf("%d nodes: %.3f probes per target per interval", size, mean)
			if _, err := partitioned(c.live(), ids); err != nil {
				t.Errorf("after the window: %v", err)
			}
			if size == 3 {
				c.put(c.nodes[0], "fast", 200*time.Millisecond)
				all := slices.Sorted(slices.Values(append(slices.Clone(ids), "fast")))
				prober := c.settle("fast target probed by one node", all)
				waitFor(t, "same verdict on every node for 3 s", 10*time.Second, 3*time.Second, func() error {
					return agree(c.live(), all, prober)
				})
			}
		})
	}
}

// TestClusterAddDelete: a target added through one node reaches every node
// and is probed once; deleted through another, it stops being probed
// everywhere and does not come back.
func TestClusterAddDelete(t *testing.T) {
	ids := clIDs("t", 12, 0)
	c := startCL(t, 3, ids, clFastTuning)
	c.settle("one prober per target", ids)

	const added = "added"
	c.put(c.nodes[0], added, clInterval)
	all := slices.Sorted(slices.Values(append(slices.Clone(ids), added)))
	took := waitFor(t, "added target everywhere", 5*time.Second, 0, func() error {
		for _, cn := range c.live() {
			list, err := listTargets(cn)
			if err != nil {
				return err
			}
			if _, ok := list[added]; !ok {
				return fmt.Errorf("%s does not list %s", cn.name, added)
			}
		}
		return nil
	})
	t.Logf("added target reached every node in %v", took.Round(time.Millisecond))
	prober := c.settle("added target probed by one node", all)
	waitFor(t, "same verdict on every node", 5*time.Second, 0, func() error { return agree(c.live(), all, prober) })
	c.checkOnce(all, 1)

	// Delete through a node that does not probe it.
	var via *clNode
	for _, cn := range c.live() {
		if cn.name != prober[added] {
			via = cn
			break
		}
	}
	c.del(via, added)
	took = waitFor(t, "deleted target gone everywhere", 5*time.Second, 0, func() error {
		if _, err := partitioned(c.live(), ids); err != nil {
			return err
		}
		return agree(c.live(), ids, nil)
	})
	t.Logf("deletion reached every node in %v", took.Round(time.Millisecond))
	// Let a probe in flight land; then no probe at all while anti-entropy
	// runs several rounds (push/pull every 500ms).
	time.Sleep(clInterval)
	from := time.Now()
	c.checkOnce(ids, 1)
	if n := c.tg.Count(added, from, time.Now()); n != 0 {
		t.Errorf("deleted target probed %d times after its deletion reached every node", n)
	}
	if err := agree(c.live(), ids, nil); err != nil {
		t.Errorf("deleted target resurrected? %v", err)
	}
}

// reprobed waits until every one of ids has been probed since at and
// returns how long after at the last of them was.
func (c *clCluster) reprobed(what string, ids []string, at time.Time, timeout time.Duration) time.Duration {
	c.t.Helper()
	return c.tg.Reprobed(c.t, testkit.Wait{Timeout: timeout, Every: 150 * time.Millisecond}, what, ids, at)
}

// TestClusterCrashAndLeave: a node that dies without a word loses no
// target: the next node in each target's fallback order probes it again
// once the owner has been silent for two intervals (2 s at least). The
// failure detector is slowed down here so that memberlist could not be
// what moved them. Then a node that leaves gracefully hands its targets off
// at once: its watermark is made to look fresh for an hour, so only the
// leave can move them.
func TestClusterCrashAndLeave(t *testing.T) {
	ids := clIDs("t", 20, 2)
	c := startCL(t, 5, ids, clBlindTuning)
	prober := c.settle("one prober per target", ids)

	victim := prober[ids[len(ids)-1]]
	lost := testkit.Owned(prober, victim)
	c.crash(victim)
	// A probe already running at the crash may land just after it.
	crashed := time.Now().Add(50 * time.Millisecond)
	failover := c.reprobed("crashed node's targets probed again", lost, crashed, clFallback+3*clInterval+5*time.Second)
	t.Logf("crash of %s (%d targets): all probed again %v after the crash (interval %v, fallback after %v of silence)",
		victim, len(lost), failover.Round(time.Millisecond), clInterval, clFallback)
	if limit := clFallback + 3*clInterval + time.Second; failover > limit {
		t.Errorf("failover took %v, want under %v", failover, limit)
	}
	prober = c.settle("survivors share every target", ids)
	mean := c.checkOnce(ids, 1)
	t.Logf("after the crash: %.3f probes per target per interval", mean)
	// No target lost: every survivor lists every target, with the same
	// verdict for those the crash did not move.
	waitFor(t, "same verdict on every survivor", 5*time.Second, 0, func() error { return agree(c.live(), ids, prober, lost...) })
	waitFor(t, "same verdict for the crashed node's targets", 5*time.Second, 0, func() error { return agree(c.live(), ids, prober) })

	leaver := prober[ids[0]]
	moved := testkit.Owned(prober, leaver)
	for _, cn := range c.live() {
		if cn.name == leaver {
			continue
		}
		wm, _ := cn.n.table.Watermark(leaver)
		cn.n.table.ApplyWatermarks(health.Watermark{Observer: leaver,
			Seq: health.MakeSeq(health.SeqEpoch(wm.Seq)+1000, 1), At: time.Now().Add(time.Hour)})
	}
	c.leave(leaver)
	left := time.Now().Add(50 * time.Millisecond)
	handoff := c.reprobed("leaver's targets probed again", moved, left, 10*time.Second)
	t.Logf("leave of %s (%d targets): all probed again %v after the leave", leaver, len(moved), handoff.Round(time.Millisecond))
	if limit := clInterval + 1500*time.Millisecond; handoff > limit {
		t.Errorf("hand-off took %v, want under %v (at once: an interval plus gossip)", handoff, limit)
	}
	prober = c.settle("remaining nodes share every target", ids)
	mean = c.checkOnce(ids, 1)
	t.Logf("after the leave: %.3f probes per target per interval", mean)
	waitFor(t, "same verdict on every remaining node", 5*time.Second, 0, func() error {
		return agree(c.live(), ids, prober, lost...)
	})
}

// TestClusterPartition: with the links between two groups cut, each side
// probes every target and answers reads; a target deleted on one side and
// one added on the other are, after healing, deleted and present
// everywhere, and the cluster is back to one prober per target.
func TestClusterPartition(t *testing.T) {
	ids := clIDs("t", 16, 2)
	c := startCL(t, 5, ids, clFastTuning)
	c.settle("one prober per target", ids)
	a, b := c.nodes[:2], c.nodes[2:]
	names := func(ns []*clNode) []string {
		var out []string
		for _, cn := range ns {
			out = append(out, cn.name)
		}
		return out
	}
	c.part.Partition(names(a), names(b))
	cut := time.Now()
	for _, side := range [][]*clNode{a, b} {
		var prober map[string]string
		start := time.Now()
		took := waitFor(t, fmt.Sprintf("side %v probes everything", names(side)), 10*time.Second, 2*clInterval, func() (err error) {
			prober, err = partitioned(side, ids)
			return err
		})
		t.Logf("side %v probed every target %v after the cut", names(side), (start.Sub(cut) + took).Round(time.Millisecond))
		waitFor(t, fmt.Sprintf("side %v answers for every target", names(side)), 10*time.Second, 0, func() error {
			return agree(side, ids, prober)
		})
	}
	// Both sides probe everything: two probes per target per interval.
	mean := c.checkOnce(ids, 2)
	t.Logf("partitioned: %.3f probes per target per interval (2 sides)", mean)

	// Deleted on side a, added on side b.
	deleted, added := ids[len(ids)-1], "added"
	c.del(a[0], deleted)
	c.put(b[1], added, clInterval)
	idsA := slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return id == deleted })
	idsB := slices.Sorted(slices.Values(append(slices.Clone(ids), added)))
	waitFor(t, "each side sees its own change", 10*time.Second, clInterval, func() error {
		pa, err := partitioned(a, idsA)
		if err != nil {
			return fmt.Errorf("side a: %w", err)
		}
		pb, err := partitioned(b, idsB)
		if err != nil {
			return fmt.Errorf("side b: %w", err)
		}
		if err := agree(a, idsA, pa); err != nil {
			return err
		}
		return agree(b, idsB, pb)
	})

	c.part.Heal()
	final := slices.DeleteFunc(slices.Clone(idsB), func(id string) bool { return id == deleted })
	var prober map[string]string
	took := waitFor(t, "converged after healing", 15*time.Second, 2*clInterval, func() (err error) {
		if prober, err = partitioned(c.live(), final); err != nil {
			return err
		}
		return agree(c.live(), final, prober)
	})
	t.Logf("converged %v after healing (one prober per target, same registry and verdicts on all 5 nodes)", took.Round(time.Millisecond))
	time.Sleep(clInterval) // a probe of the deleted target in flight at heal
	from := time.Now()
	mean = c.checkOnce(final, 1)
	t.Logf("healed: %.3f probes per target per interval", mean)
	if n := c.tg.Count(deleted, from, time.Now()); n != 0 {
		t.Errorf("target deleted during the partition probed %d times after healing", n)
	}
	if err := agree(c.live(), final, prober); err != nil {
		t.Errorf("after healing: %v", err)
	}
}
