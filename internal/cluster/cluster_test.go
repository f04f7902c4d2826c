package cluster

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/heckhq/heck/internal/testkit"
)

// drainEvents collects events from ch until cond holds on what was seen.
func drainEvents(t *testing.T, ch <-chan Event, timeout time.Duration, what string, cond func([]Event) bool) []Event {
	t.Helper()
	var seen []Event
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for !cond(seen) {
		select {
		case e, ok := <-ch:
			if !ok {
				t.Fatalf("events closed while waiting for %s; saw %v", what, seen)
			}
			seen = append(seen, e)
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s; saw %v", what, seen)
		}
	}
	return seen
}

func hasEvent(typ EventType, name, state string) func([]Event) bool {
	return func(es []Event) bool {
		for _, e := range es {
			if e.Type == typ && e.Member.Name == name && (state == "" || e.Member.State == state) {
				return true
			}
		}
		return false
	}
}

func TestJoinListsMembersWithMetadata(t *testing.T) {
	t.Parallel()
	nodes := startCluster(t, nil, 3, func(i int, cfg *Config) {
		cfg.Zone = fmt.Sprintf("zone-%d", i%2)
		cfg.Weight = float64(i) + 0.5
		cfg.APIAddr = fmt.Sprintf("127.0.0.1:78%02d", i)
		cfg.Version = "v1.2.3-test"
	})
	for _, n := range nodes {
		if n.c.LocalName() != n.name {
			t.Errorf("LocalName = %q, want %q", n.c.LocalName(), n.name)
		}
	}
	// Every node sees the same metadata for every member.
	for _, viewer := range nodes {
		ms := viewer.c.Members()
		if len(ms) != 3 {
			t.Fatalf("%s sees %d members, want 3: %+v", viewer.name, len(ms), ms)
		}
		for i, m := range ms { // sorted by name: n0, n1, n2
			want := Member{
				Name:    fmt.Sprintf("n%d", i),
				Addr:    nodes[i].c.Addr(),
				APIAddr: fmt.Sprintf("127.0.0.1:78%02d", i),
				Zone:    fmt.Sprintf("zone-%d", i%2),
				Weight:  float64(i) + 0.5,
				State:   StateAlive,
				Version: "v1.2.3-test",
			}
			if m != want {
				t.Errorf("%s sees %+v, want %+v", viewer.name, m, want)
			}
		}
	}
	// n0's events report both joiners (and itself).
	drainEvents(t, nodes[0].c.Events(), 5*time.Second, "join events for n1 and n2", func(es []Event) bool {
		return hasEvent(EventJoin, "n1", StateAlive)(es) && hasEvent(EventJoin, "n2", StateAlive)(es)
	})
}

func TestGracefulLeaveSeenAsLeft(t *testing.T) {
	t.Parallel()
	nodes := startCluster(t, nil, 3, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := nodes[2].c.Leave(ctx); err != nil {
		t.Fatalf("leave: %v", err)
	}
	if err := nodes[2].c.Leave(ctx); err != nil {
		t.Errorf("second leave: %v, want nil", err)
	}
	_ = nodes[2].c.Close()
	allSee(t, 5*time.Second, map[string]string{"n0": StateAlive, "n1": StateAlive, "n2": StateLeft}, nodes[:2]...)
	drainEvents(t, nodes[0].c.Events(), 5*time.Second, "leave event with state left", hasEvent(EventLeave, "n2", StateLeft))
}

func TestKilledNodeDetectedDead(t *testing.T) {
	t.Parallel()
	nodes := startCluster(t, nil, 3, nil)
	_ = nodes[2].c.Close() // no leave: a crash
	allSee(t, 10*time.Second, map[string]string{"n0": StateAlive, "n1": StateAlive, "n2": StateDead}, nodes[:2]...)
	drainEvents(t, nodes[1].c.Events(), 5*time.Second, "leave event with state dead", hasEvent(EventLeave, "n2", StateDead))
	// Sending to a dead member fails clearly.
	err := nodes[0].c.Send(context.Background(), "n2", []byte("x"))
	if !errors.Is(err, ErrUnknownMember) {
		t.Errorf("Send to dead member: %v, want ErrUnknownMember", err)
	}
}

func TestBroadcastReachesAll(t *testing.T) {
	t.Parallel()
	nodes := startCluster(t, nil, 4, func(_ int, cfg *Config) {
		cfg.Tuning = noPushPull
		cfg.Version = passiveTag // digests at the joins must not carry data
	})
	large := strings.Repeat("L", 3*nodes[0].c.MaxBroadcastSize())
	for _, n := range nodes {
		n.c.Broadcast([]byte("from-" + n.name + "=hello\n"))
	}
	nodes[0].c.Broadcast([]byte("large=" + large + "\n"))
	for _, n := range nodes {
		want := len(nodes) // the other nodes' items and the large one
		if n == nodes[0] {
			want = len(nodes) - 1 // its own deltas are not delivered to itself
		}
		waitFor(t, 10*time.Second, n.name+" to receive every delta", func() bool {
			return n.r.count() == want
		}, func() string { return string(n.r.LocalDigest()) })
	}
	for _, n := range nodes {
		for _, origin := range nodes {
			if origin == n {
				continue
			}
			v, from, ok := n.r.get("from-" + origin.name)
			if !ok || v != "hello" || from != origin.name {
				t.Errorf("%s has from-%s = %q from %q (ok %v), want hello from %s", n.name, origin.name, v, from, ok, origin.name)
			}
		}
		if n == nodes[0] {
			continue
		}
		if v, from, _ := n.r.get("large"); v != large || from != "n0" {
			t.Errorf("%s: large delta of %d bytes from %q, want %d bytes from n0", n.name, len(v), from, len(large))
		}
	}
	waitFor(t, 5*time.Second, "n0 to count one large delta sent", func() bool { return nodes[0].c.Stats().LargeSent == 1 })
	if st := nodes[0].c.Stats(); st.LargeDropped != 0 || st.Pruned != 0 {
		t.Errorf("n0 stats = %+v, want nothing dropped", st)
	}
}

func itemRange(prefix string, from, to int) map[string]string {
	m := map[string]string{}
	for i := from; i < to; i++ {
		m[fmt.Sprintf("%s%03d", prefix, i)] = "v" + strconv.Itoa(i)
	}
	return m
}

// A cluster that binds its own transport counts what it sends, so the node
// can export gossip bytes as metrics.
func TestOwnTransportCountsTraffic(t *testing.T) {
	t.Parallel()
	nodes := startCluster(t, nil, 2, nil)
	for _, n := range nodes {
		waitFor(t, 10*time.Second, n.name+" to count gossip", func() bool {
			tr := n.c.Traffic()
			return tr.Packets > 0 && tr.PacketBytes > 0 && tr.StreamBytes > 0 // probes, and the join's push/pull
		}, func() string { return fmt.Sprintf("%+v", n.c.Traffic()) })
	}
}

func TestMulticastReachesAllOnce(t *testing.T) {
	t.Parallel()
	nodes := startCluster(t, nil, 3, func(_ int, cfg *Config) {
		cfg.Tuning = noPushPull
		cfg.Version = passiveTag
	})
	if q := nodes[0].c.Queued(); q != 0 {
		t.Fatalf("Queued = %d on an idle node", q)
	}
	nodes[0].c.Multicast([]byte("direct=small\n"))
	large := strings.Repeat("M", 2*nodes[0].c.MaxBroadcastSize())
	nodes[0].c.Multicast([]byte("big=" + large + "\n"))
	for _, n := range nodes[1:] {
		waitFor(t, 10*time.Second, n.name+" to receive both multicasts", func() bool {
			v, from, ok := n.r.get("direct")
			b, _, okb := n.r.get("big")
			return ok && okb && v == "small" && from == "n0" && b == large
		}, func() string { return string(n.r.LocalDigest()) })
	}
	if st := nodes[0].c.Stats(); st.Multicast != 1 || st.LargeDropped != 0 {
		t.Errorf("n0 stats = %+v, want one small multicast, nothing dropped", st)
	}
	// A multicast is not queued for gossip: nothing to retransmit.
	if q := nodes[0].c.Queued(); q != 0 {
		t.Errorf("Queued = %d after multicasts, want 0", q)
	}
}

func TestAntiEntropySendsOnlyWhatThePeerLacks(t *testing.T) {
	t.Parallel()
	a := newTestNode(t, nil, "a", itemRange("k", 0, 100), func(cfg *Config) { cfg.Tuning = noPushPull })
	b := newTestNode(t, nil, "b", itemRange("k", 50, 120), func(cfg *Config) {
		cfg.Tuning = noPushPull
		cfg.Join = []string{a.c.Addr()}
	})
	for _, n := range []*testNode{a, b} {
		waitFor(t, 10*time.Second, n.name+" to hold all 120 items", func() bool { return n.r.count() == 120 })
	}
	wantA := encodeItems(itemRange("k", 0, 50), sortedKeys(itemRange("k", 0, 50)))
	wantB := encodeItems(itemRange("k", 100, 120), sortedKeys(itemRange("k", 100, 120)))
	check := func(stage string) (int, int) {
		t.Helper()
		ai, ab, ad := a.r.stats()
		bi, bb, bd := b.r.stats()
		if ai != 50 || ab != len(wantA) {
			t.Errorf("%s: a sent %d items in %d bytes, want 50 in %d", stage, ai, ab, len(wantA))
		}
		if bi != 20 || bb != len(wantB) {
			t.Errorf("%s: b sent %d items in %d bytes, want 20 in %d", stage, bi, bb, len(wantB))
		}
		return ad, bd
	}
	ad, bd := check("after join")
	// Another exchange, now in sync, sends nothing.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if n, err := b.c.Join(ctx, a.c.Addr()); n != 1 || err != nil {
		t.Fatalf("Join = %d, %v", n, err)
	}
	waitFor(t, 5*time.Second, "both digests of the second exchange to be merged", func() bool {
		_, _, ad2 := a.r.stats()
		_, _, bd2 := b.r.stats()
		return ad2 > ad && bd2 > bd
	})
	check("after second exchange")
	for _, r := range []*fakeReplica{a.r, b.r} {
		r.mu.Lock()
		if len(r.sendErrs) > 0 {
			t.Errorf("send errors: %v", r.sendErrs)
		}
		r.mu.Unlock()
	}
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func key(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func TestWrongKeyIsRefusedClearly(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		seed, join [][]byte
	}{
		{"different key", [][]byte{key(1)}, [][]byte{key(2)}},
		{"joiner has no key", [][]byte{key(1)}, nil},
		{"seed has no key", nil, [][]byte{key(2)}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			seed := newTestNode(t, nil, fmt.Sprintf("seed%d", i), nil, func(cfg *Config) { cfg.Keys = tt.seed })
			_, err := startTestNode(t, nil, fmt.Sprintf("joiner%d", i), nil, func(cfg *Config) {
				cfg.Keys = tt.join
				cfg.Join = []string{seed.c.Addr()}
			})
			if err == nil {
				t.Fatal("Start succeeded, want a key mismatch error")
			}
			if !errors.Is(err, ErrKeyMismatch) {
				t.Errorf("error %v is not ErrKeyMismatch", err)
			}
			for _, want := range []string{"join " + seed.c.Addr(), "no peer accepted us", "gossip encryption key mismatch", "cluster.keys"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
			if got := len(seed.c.Members()); got != 1 {
				t.Errorf("seed lists %d members, want only itself", got)
			}
		})
	}
}

func TestKeyRotationKeepsClusterTogether(t *testing.T) {
	t.Parallel()
	k1, k2 := key(1), key(2)
	nodes := startCluster(t, nil, 3, func(_ int, cfg *Config) { cfg.Keys = [][]byte{k1} })
	names := []string{"n0", "n1", "n2"}
	round := 0
	// stillTogether checks that a broadcast from every node reaches every
	// other and that no member was lost.
	stillTogether := func(stage string) {
		t.Helper()
		round++
		for _, n := range nodes {
			n.c.Broadcast(fmt.Appendf(nil, "%s-%d=%s\n", n.name, round, stage))
		}
		for _, n := range nodes {
			waitFor(t, 10*time.Second, fmt.Sprintf("%s: %s to receive round %d", stage, n.name, round), func() bool {
				for _, o := range nodes {
					if o == n {
						continue
					}
					if _, _, ok := n.r.get(fmt.Sprintf("%s-%d", o.name, round)); !ok {
						return false
					}
				}
				return true
			})
		}
		allSee(t, 5*time.Second, allAlive(names...), nodes...)
	}
	steps := []struct {
		stage string
		do    func(c *Cluster) error
	}{
		{"install k2", func(c *Cluster) error { return c.InstallKey(k2) }},
		{"use k2", func(c *Cluster) error { return c.UseKey(k2) }},
		{"remove k1", func(c *Cluster) error { return c.RemoveKey(k1) }},
	}
	for _, s := range steps {
		for _, n := range nodes {
			if err := s.do(n.c); err != nil {
				t.Fatalf("%s on %s: %v", s.stage, n.name, err)
			}
		}
		stillTogether(s.stage)
	}
	for _, n := range nodes {
		if ks := n.c.Keys(); len(ks) != 1 || !bytes.Equal(ks[0], k2) {
			t.Errorf("%s keys after rotation = %x, want only k2", n.name, ks)
		}
	}
	if err := nodes[0].c.RemoveKey(k2); err == nil {
		t.Error("removing the primary key succeeded, want an error")
	}
	// The old key no longer gets in; the new one does.
	if _, err := startTestNode(t, nil, "old", nil, func(cfg *Config) {
		cfg.Keys = [][]byte{k1}
		cfg.Join = []string{nodes[0].c.Addr()}
	}); !errors.Is(err, ErrKeyMismatch) {
		t.Errorf("node with the removed key: %v, want ErrKeyMismatch", err)
	}
	newNode := newTestNode(t, nil, "new", nil, func(cfg *Config) {
		cfg.Keys = [][]byte{k2}
		cfg.Join = []string{nodes[1].c.Addr()}
	})
	allSee(t, 10*time.Second, allAlive("n0", "n1", "n2", "new"), append(nodes, newNode)...)
}

func TestPartitionHeals(t *testing.T) {
	t.Parallel()
	// run forms a cluster of size nodes, partitions it in halves past the
	// dead-gossip window, heals, and reports whether the halves met again.
	// With runtimeJoin the nodes join by Cluster.Join, so no join address
	// is configured and only the dead members' addresses can be retried.
	run := func(t *testing.T, size int, rejoin time.Duration, runtimeJoin bool) (healed bool) {
		start := time.Now()
		p := NewPartitioner()
		var names []string
		for i := range size {
			names = append(names, fmt.Sprintf("n%d", i))
		}
		half := func(aliveFirst bool) map[string]string {
			want := map[string]string{}
			for i, name := range names {
				want[name] = StateDead
				if (i < size/2) == aliveFirst {
					want[name] = StateAlive
				}
			}
			return want
		}
		var nodes []*testNode
		if runtimeJoin {
			for i := range size {
				n := newTestNode(t, p, fmt.Sprintf("n%d", i), nil, func(cfg *Config) { cfg.RejoinInterval = rejoin })
				if i > 0 {
					if _, err := n.c.Join(context.Background(), nodes[0].c.Addr()); err != nil {
						t.Fatal(err)
					}
				}
				nodes = append(nodes, n)
			}
			allSee(t, 15*time.Second, allAlive(names...), nodes...)
		} else {
			nodes = startCluster(t, p, size, func(_ int, cfg *Config) { cfg.RejoinInterval = rejoin })
		}
		t.Logf("%v: cluster formed", time.Since(start))
		p.Partition(names[:size/2], names[size/2:])
		allSee(t, 15*time.Second, half(true), nodes[:size/2]...)
		allSee(t, 15*time.Second, half(false), nodes[size/2:]...)
		t.Logf("%v: partition detected", time.Since(start))
		// Outlast memberlist's gossip-to-the-dead window (500ms in
		// fastTuning) several times over, so only a rejoin can heal; the
		// rejoin attempts meanwhile must not cross the partition.
		until := time.Now().Add(1200 * time.Millisecond)
		waitFor(t, 5*time.Second, "the dead-gossip window to pass", func() bool {
			if sees(nodes[0].c, allAlive(names...)) || sees(nodes[size/2].c, allAlive(names...)) {
				t.Fatal("halves met through the partition")
			}
			return time.Now().After(until)
		})
		p.Heal()
		t.Logf("%v: healed", time.Since(start))
		deadline := time.Now().Add(10 * time.Second)
		if rejoin < 0 {
			deadline = time.Now().Add(1500 * time.Millisecond)
		}
		for time.Now().Before(deadline) {
			all := true
			for _, n := range nodes {
				all = all && sees(n.c, allAlive(names...))
			}
			if all {
				t.Logf("%v: halves met again", time.Since(start))
				return true
			}
			time.Sleep(20 * time.Millisecond)
		}
		if rejoin > 0 {
			t.Fatalf("halves did not find each other after heal:\n%s", dumpStates(nodes...)())
		}
		return false
	}
	t.Run("with rejoin loop", func(t *testing.T) {
		t.Parallel()
		if !run(t, 4, 200*time.Millisecond, false) {
			t.Fatal("not healed")
		}
	})
	t.Run("with rejoin loop, dead members only", func(t *testing.T) {
		t.Parallel()
		if !run(t, 4, 200*time.Millisecond, true) {
			t.Fatal("not healed")
		}
	})
	// Each node sees more than RejoinMax members dead, so a round tries
	// only some of them: gossip must bring the rest.
	t.Run("with rejoin loop, more dead members than RejoinMax", func(t *testing.T) {
		t.Parallel()
		if !run(t, 2*(RejoinMax+2), 200*time.Millisecond, true) {
			t.Fatal("not healed")
		}
	})
	t.Run("memberlist alone stays apart", func(t *testing.T) {
		t.Parallel()
		if run(t, 4, -1, false) {
			t.Fatal("healed without the rejoin loop: the test no longer proves the loop is needed")
		}
	})
}

func TestJoinResolvesLocalhost(t *testing.T) {
	t.Parallel()
	seed := newTestNode(t, nil, "seed", nil, nil)
	_, port, _ := net.SplitHostPort(seed.c.Addr())
	joiner := newTestNode(t, nil, "joiner", nil, func(cfg *Config) { cfg.Join = []string{"localhost:" + port} })
	allSee(t, 10*time.Second, allAlive("seed", "joiner"), seed, joiner)
}

// TestJoinResolvesEveryAddress joins a name that resolves to three seeds
// that do not know each other, as a Kubernetes headless Service would: all
// three must be contacted.
func TestJoinResolvesEveryAddress(t *testing.T) {
	t.Parallel()
	ips := []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"}
	var seeds []*testNode
	for attempt := 0; ; attempt++ {
		port := freePort(t, ips[0])
		seeds = seeds[:0]
		var err error
		for i, ip := range ips {
			var n *testNode
			n, err = startTestNode(t, nil, fmt.Sprintf("pod%d", i), nil, func(cfg *Config) {
				cfg.Bind = net.JoinHostPort(ip, strconv.Itoa(port))
			})
			if err != nil {
				break
			}
			seeds = append(seeds, n)
		}
		if err == nil {
			break
		}
		for _, s := range seeds {
			_ = s.c.Close()
		}
		if attempt == 3 {
			t.Fatalf("cannot bind seeds on %v: %v", ips, err)
		}
	}
	_, port, _ := net.SplitHostPort(seeds[0].c.Addr())
	const svc = "heck.default.svc.cluster.test"
	var lookups []string
	resolve := func(ctx context.Context, host string) ([]net.IP, error) {
		lookups = append(lookups, host)
		if host != svc {
			return nil, fmt.Errorf("no such host %s", host)
		}
		out := make([]net.IP, 0, len(ips))
		for _, ip := range ips {
			out = append(out, net.ParseIP(ip))
		}
		return out, nil
	}
	joiner := newTestNode(t, nil, "joiner", nil, func(cfg *Config) {
		cfg.Resolve = resolve
		cfg.RejoinInterval = -1 // keep lookups to the Start join
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n, err := joiner.c.Join(ctx, svc+":"+port)
	if err != nil || n != 3 {
		t.Fatalf("Join(%s) = %d, %v; want all 3 addresses contacted", svc, n, err)
	}
	if len(lookups) != 1 || lookups[0] != svc {
		t.Errorf("lookups = %v, want one of %s", lookups, svc)
	}
	allSee(t, 10*time.Second, allAlive("pod0", "pod1", "pod2", "joiner"), append(seeds, joiner)...)

	if _, err := joiner.c.Join(ctx, "nowhere.test:1"); err == nil || !strings.Contains(err.Error(), "nowhere.test") {
		t.Errorf("join of an unresolvable name: %v, want an error naming it", err)
	}
}

func freePort(t *testing.T, ip string) int {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Skipf("cannot listen on %s (loopback aliases unavailable): %v", ip, err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func TestStartWithUnreachableJoinKeepsRetrying(t *testing.T) {
	t.Parallel()
	// Reserve a port nobody listens on, start a node that joins it, then
	// start the seed there: the rejoin loop must find it.
	port := freePort(t, "127.0.0.1")
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	var logs testkit.SyncBuffer
	late := newTestNode(t, nil, "late", nil, func(cfg *Config) {
		cfg.Join = []string{addr}
		cfg.RejoinInterval = 100 * time.Millisecond
		cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	})
	if got := len(late.c.Members()); got != 1 {
		t.Fatalf("members before the seed is up: %d, want 1", got)
	}
	if !late.c.Waiting() {
		t.Error("Waiting() = false before any join address answered")
	}
	seed := newTestNode(t, nil, "seed", nil, func(cfg *Config) { cfg.Bind = addr })
	allSee(t, 10*time.Second, allAlive("late", "seed"), late, seed)
	// The warning was logged once and said it keeps retrying; then one
	// "cluster: joined" counted both members.
	waitFor(t, 5*time.Second, `"cluster: joined" in the log`, func() bool { return strings.Contains(logs.String(), `msg="cluster: joined"`) },
		func() string { return logs.String() })
	out := logs.String()
	if n := strings.Count(out, "no join address answered"); n != 1 {
		t.Errorf("the join warning was logged %d times, want once:\n%s", n, out)
	}
	if !strings.Contains(out, "retrying in the background") || !strings.Contains(out, "logged once") {
		t.Errorf("the join warning does not say it keeps retrying in the background, logged once:\n%s", out)
	}
	if !strings.Contains(out, `msg="cluster: joined" addr=`+addr+" members=2") {
		t.Errorf(`want "cluster: joined" with members=2:\n%s`, out)
	}
	if late.c.Waiting() {
		t.Error("Waiting() = true after the join")
	}
}

func TestLifecycleErrors(t *testing.T) {
	t.Parallel()
	r := newFakeReplica(nil)
	c, err := New(Config{NodeName: "x", Bind: "127.0.0.1:0", Logger: testLogger("x"), Tuning: fastTuning}, r)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Send(context.Background(), "y", nil); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Send before Start: %v, want ErrNotRunning", err)
	}
	if err := c.Leave(context.Background()); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Leave before Start: %v, want ErrNotRunning", err)
	}
	if c.Members() != nil || c.Addr() != "" {
		t.Error("Members/Addr before Start should be empty")
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(context.Background()); !errors.Is(err, ErrNotRunning) {
		t.Errorf("second Start: %v, want ErrNotRunning", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Leave(context.Background()); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Leave after Close: %v, want ErrNotRunning", err)
	}
	if err := c.Start(context.Background()); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Start after Close: %v, want ErrNotRunning", err)
	}
	for range c.Events() { // this node's own join, then closed
	}
	if err := c.InstallKey(key(1)); err == nil || !strings.Contains(err.Error(), "encryption is off") {
		t.Errorf("InstallKey without encryption: %v", err)
	}
}

var _ memberlist.Transport = (*PartitionTransport)(nil)

func TestCountingTransportCountsWhatIsSent(t *testing.T) {
	t.Parallel()
	counting := map[string]*CountingTransport{}
	withCounter := func(name string) func(*Config) {
		return func(cfg *Config) {
			nt, err := memberlist.NewNetTransport(&memberlist.NetTransportConfig{
				BindAddrs: []string{"127.0.0.1"}, Logger: newStdLogger(cfg.Logger),
			})
			if err != nil {
				t.Fatal(err)
			}
			counting[name] = NewCountingTransport(nt)
			cfg.Transport = counting[name]
		}
	}
	a := newTestNode(t, nil, "a", nil, withCounter("a"))
	b := newTestNode(t, nil, "b", nil, func(cfg *Config) {
		withCounter("b")(cfg)
		cfg.Join = []string{a.c.Addr()}
	})
	allSee(t, 10*time.Second, allAlive("a", "b"), a, b)
	before := counting["a"].Traffic()
	if before.StreamBytes == 0 {
		t.Errorf("a answered b's join push/pull but counted no stream bytes: %+v", before)
	}
	// Random hex: memberlist compresses, so the stream must carry at least
	// the 5000 bytes of entropy behind it.
	raw := make([]byte, 5000)
	_, _ = rand.Read(raw)
	big := []byte(hex.EncodeToString(raw))
	if err := a.c.Send(context.Background(), "b", append([]byte("big="), big...)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "b to get the big message", func() bool { _, _, ok := b.r.get("big"); return ok })
	waitFor(t, 5*time.Second, "a to gossip", func() bool { return counting["a"].Traffic().Packets > before.Packets })
	after := counting["a"].Traffic()
	if d := after.StreamBytes - before.StreamBytes; d < int64(len(raw)) {
		t.Errorf("a's stream bytes grew by %d after sending %d bytes of entropy", d, len(raw))
	}
	if after.Total() <= before.Total() || after.PacketBytes <= before.PacketBytes {
		t.Errorf("traffic did not grow: before %+v after %+v", before, after)
	}
}

func TestSetMetaIsSeenAsUpdate(t *testing.T) {
	t.Parallel()
	nodes := startCluster(t, nil, 2, func(_ int, cfg *Config) { cfg.Zone = "a" })
	want := Meta{Zone: "b", APIAddr: "127.0.0.1:7999", Version: "v2", Weight: 3}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := nodes[1].c.SetMeta(ctx, want); err != nil {
		t.Fatal(err)
	}
	if got := nodes[1].c.LocalMeta(); got != want {
		t.Errorf("LocalMeta = %+v, want %+v", got, want)
	}
	drainEvents(t, nodes[0].c.Events(), 5*time.Second, "an update carrying the new zone", func(es []Event) bool {
		for _, e := range es {
			if e.Type == EventUpdate && e.Member.Name == "n1" && e.Member.Zone == "b" && e.Member.Weight == 3 {
				return true
			}
		}
		return false
	})
	waitFor(t, 5*time.Second, "n0 to list n1's new metadata", func() bool {
		for _, m := range nodes[0].c.Members() {
			if m.Name == "n1" {
				return m.Zone == want.Zone && m.APIAddr == want.APIAddr && m.Version == want.Version && m.Weight == want.Weight
			}
		}
		return false
	})
	if err := nodes[1].c.SetMeta(ctx, Meta{Weight: 0}); err == nil || !strings.Contains(err.Error(), "cluster.weight") {
		t.Errorf("SetMeta with weight 0: %v, want a cluster.weight error", err)
	}
}
