package replica

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/crdt"
	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/registry"
	"github.com/heckhq/heck/internal/store"
	"github.com/heckhq/heck/internal/target"
)

type memStore struct {
	mu   sync.Mutex
	recs map[string]store.ObjectRecord
}

func (m *memStore) PutObjects(_ context.Context, _ string, recs []store.ObjectRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range recs {
		m.recs[r.Key] = r
	}
	return nil
}

func (m *memStore) Objects(context.Context, string) ([]store.ObjectRecord, error) { return nil, nil }

// net is an in-memory transport between named replicas that applies
// messages synchronously and counts what it carries.
type net struct {
	mu      sync.Mutex
	nodes   map[string]*Replica
	sent    map[string]int // bytes sent by node
	pending []delivery
	// queued is what every endpoint reports as its gossip queue length.
	queued int
	// broadcasts and multicasts count the messages of each path, by sender.
	broadcasts, multicasts map[string]int
}

type delivery struct {
	from string
	to   *Replica
	msg  []byte
}

// flush delivers queued messages (and those they cause) until none are left.
func (n *net) flush() {
	for {
		n.mu.Lock()
		if len(n.pending) == 0 {
			n.mu.Unlock()
			return
		}
		d := n.pending[0]
		n.pending = n.pending[1:]
		n.mu.Unlock()
		d.to.apply(context.Background(), d.from, d.msg)
	}
}

type endpoint struct {
	n    *net
	name string
}

func (e endpoint) Broadcast(msg []byte) {
	e.n.mu.Lock()
	e.n.broadcasts[e.name]++
	e.n.mu.Unlock()
	e.deliverAll(msg)
}

func (e endpoint) Multicast(msg []byte) {
	e.n.mu.Lock()
	e.n.multicasts[e.name]++
	e.n.mu.Unlock()
	e.deliverAll(msg)
}

func (e endpoint) Queued() int {
	e.n.mu.Lock()
	defer e.n.mu.Unlock()
	return e.n.queued
}

func (e endpoint) deliverAll(msg []byte) {
	e.n.mu.Lock()
	defer e.n.mu.Unlock()
	e.n.sent[e.name] += len(msg)
	for name, r := range e.n.nodes {
		if name != e.name {
			e.n.pending = append(e.n.pending, delivery{e.name, r, append([]byte(nil), msg...)})
		}
	}
}

func (e endpoint) MaxBroadcastSize() int { return 1400 }

func (e endpoint) Send(_ context.Context, node string, msg []byte) error {
	e.n.mu.Lock()
	defer e.n.mu.Unlock()
	e.n.sent[e.name] += len(msg)
	p := e.n.nodes[node]
	if p == nil {
		return fmt.Errorf("no node %s", node)
	}
	e.n.pending = append(e.n.pending, delivery{e.name, p, append([]byte(nil), msg...)})
	return nil
}

type node struct {
	name  string
	reg   *registry.Registry
	table *health.Table
	rep   *Replica
}

func newNode(n *net, name string, connected bool) *node {
	reg := registry.New(name, crdt.NewClock(nil), &memStore{recs: map[string]store.ObjectRecord{}})
	table := health.NewTable(health.TableOptions{})
	rep := New(reg, table, nil)
	nd := &node{name: name, reg: reg, table: table, rep: rep}
	if connected {
		connect(n, nd)
	}
	return nd
}

func connect(n *net, nd *node) {
	n.mu.Lock()
	n.nodes[nd.name] = nd.rep
	n.mu.Unlock()
	nd.rep.SetTransport(endpoint{n, nd.name})
}

func newNet() *net {
	return &net{nodes: map[string]*Replica{}, sent: map[string]int{}, broadcasts: map[string]int{}, multicasts: map[string]int{}}
}

func spec(id string) target.Spec {
	return target.Spec{ID: id, Kind: target.KindTCP, Address: "127.0.0.1:9"}
}

// exchange runs one push/pull between a and b in both directions.
func exchange(a, b *node) {
	da, db := a.rep.LocalDigest(), b.rep.LocalDigest()
	a.rep.MergeDigest(b.name, db)
	b.rep.MergeDigest(a.name, da)
	a.rep.transport().(endpoint).n.flush()
}

func TestBroadcastReachesPeersAndRelays(t *testing.T) {
	n := newNet()
	a, b, c := newNode(n, "a", true), newNode(n, "b", true), newNode(n, "c", true)
	ctx := context.Background()
	a.reg.Subscribe(func(es []registry.Entry, remote bool) {
		if !remote {
			a.rep.BroadcastEntries(es)
		}
	})
	if _, err := a.reg.Put(ctx, spec("t1")); err != nil {
		t.Fatal(err)
	}
	n.flush()
	for _, nd := range []*node{b, c} {
		if _, ok := nd.reg.Get("t1"); !ok {
			t.Fatalf("%s did not receive the broadcast target", nd.name)
		}
	}
	if err := a.reg.Delete(ctx, "t1"); err != nil {
		t.Fatal(err)
	}
	n.flush()
	for _, nd := range []*node{b, c} {
		if _, ok := nd.reg.Get("t1"); ok {
			t.Fatalf("%s still has the deleted target", nd.name)
		}
	}
}

func TestAntiEntropySendsOnlyTheDifference(t *testing.T) {
	n := newNet()
	a := newNode(n, "a", true)
	b := newNode(n, "b", false) // partitioned: nothing reaches it by broadcast
	ctx := context.Background()
	for i := 0; i < 2000; i++ {
		if _, err := a.reg.Put(ctx, spec(fmt.Sprintf("t%04d", i))); err != nil {
			t.Fatal(err)
		}
	}
	connect(n, b)
	exchange(a, b)
	if b.reg.Len() != 2000 {
		t.Fatalf("b has %d targets after the first exchange, want 2000", b.reg.Len())
	}
	// Converged: a second exchange sends nothing but... nothing.
	before := n.sent["a"] + n.sent["b"]
	exchange(a, b)
	if got := n.sent["a"] + n.sent["b"] - before; got != 0 {
		t.Fatalf("a converged exchange sent %d bytes, want 0", got)
	}
	// One change on b: the repair carries about one bucket, not the registry.
	b.rep.SetTransport(nil)
	if _, err := b.reg.Put(ctx, spec("new-on-b")); err != nil {
		t.Fatal(err)
	}
	b.rep.SetTransport(endpoint{n, "b"})
	before = n.sent["a"] + n.sent["b"]
	exchange(a, b)
	if _, ok := a.reg.Get("new-on-b"); !ok {
		t.Fatal("anti-entropy did not repair a's missing target")
	}
	full := n.sent["a"]
	if got := n.sent["a"] + n.sent["b"] - before; got > 2000 {
		t.Fatalf("repairing one target sent %d bytes (a's first full sync took %d)", got, full)
	}
}

func TestHealthConvergesByDigest(t *testing.T) {
	n := newNet()
	a := newNode(n, "a", true)
	b := newNode(n, "b", false)
	now := time.Now()
	for i := 0; i < 100; i++ {
		a.table.Apply(health.Observation{TargetID: fmt.Sprintf("t%d", i), Observer: "a",
			Seq: health.MakeSeq(1, uint32(i+1)), State: health.Up, At: now, Since: now, Interval: time.Second})
	}
	connect(n, b)
	exchange(a, b)
	if !b.table.Digest().Equal(a.table.Digest()) {
		t.Fatalf("digests differ after exchange: a=%v b=%v", a.table.Digest(), b.table.Digest())
	}
	v := b.table.Verdict("t42", []string{"a"}, now)
	if v.State != health.Up || v.Observer != "a" {
		t.Fatalf("b's verdict %+v, want up observed by a", v)
	}
}

func TestInvalidPeerTargetIgnored(t *testing.T) {
	n := newNet()
	a, b := newNode(n, "a", true), newNode(n, "b", true)
	bad := target.Spec{ID: "bad", Kind: "nonsense"}
	a.rep.BroadcastEntries([]registry.Entry{{Key: "bad", Value: bad, TS: 1, Node: "a"}})
	n.flush()
	if _, ok := b.reg.Get("bad"); ok {
		t.Fatal("an invalid target from a peer was accepted")
	}
	b.rep.apply(context.Background(), "a", []byte{kindRegistry, 0xff, 0xff}) // garbage: no panic
	b.rep.apply(context.Background(), "a", []byte{99})
	b.rep.MergeDigest("a", []byte{1, 2, 3})
}

func observations(observer string, n int, at time.Time) []health.Observation {
	out := make([]health.Observation, n)
	for i := range out {
		out[i] = health.Observation{TargetID: fmt.Sprintf("t%d", i), Observer: observer,
			Seq: health.MakeSeq(1, uint32(i+1)), State: health.Up, At: at, Since: at, Interval: time.Second}
	}
	return out
}

// A few changes are gossiped, relays included; more than a packet's worth
// of this node's own go straight to every member in packet-sized messages,
// which nobody relays.
func TestPublishGossipsFewAndMulticastsMore(t *testing.T) {
	n := newNet()
	a, b, c := newNode(n, "a", true), newNode(n, "b", true), newNode(n, "c", true)
	now := time.Now()
	few := observations("a", 5, now)
	a.table.Apply(few...)
	a.rep.Publish(health.Delta{Observations: few})
	a.rep.flush()
	if n.broadcasts["a"] != 1 || n.multicasts["a"] != 0 {
		t.Fatalf("5 observations: %d broadcasts, %d multicasts; want 1 gossiped", n.broadcasts["a"], n.multicasts["a"])
	}
	n.flush()
	b.rep.flush() // b relays what was new to it, by gossip
	if n.broadcasts["b"] != 1 {
		t.Fatalf("b relayed in %d broadcasts, want 1", n.broadcasts["b"])
	}
	n.flush()
	c.rep.flush()
	n.flush()
	cBefore := n.broadcasts["c"] + n.multicasts["c"]

	many := observations("b", 50, now)
	b.table.Apply(many...)
	b.rep.Publish(health.Delta{Observations: many,
		Watermarks: []health.Watermark{{Observer: "b", Seq: health.MakeSeq(1, 51), At: now}, {Observer: "b", Seq: health.MakeSeq(1, 52), At: now}}})
	b.rep.flush()
	if got := n.multicasts["b"]; got != 3 {
		t.Fatalf("50 observations went out in %d multicasts, want 3 (batches of %d)", got, maxBatch)
	}
	n.flush()
	c.rep.flush()
	if c.table.Len() != 55 || a.table.Len() != 55 {
		t.Fatalf("a holds %d observations, c %d; want 55", a.table.Len(), c.table.Len())
	}
	if wm, ok := c.table.Watermark("b"); !ok || wm.Seq != health.MakeSeq(1, 52) {
		t.Fatalf("c's watermark of b: %+v, want the newest", wm)
	}
	if got := n.broadcasts["c"] + n.multicasts["c"] - cBefore; got != 0 {
		t.Fatalf("c relayed a multicast (%d messages): every member got it directly", got)
	}
}

// While the gossip queue is backed up, even a few own changes go straight
// to every member, and others' changes are not relayed.
func TestBackloggedGossipMulticastsAndStopsRelaying(t *testing.T) {
	n := newNet()
	a, b, _ := newNode(n, "a", true), newNode(n, "b", true), newNode(n, "c", true)
	now := time.Now()
	obs := observations("a", 3, now)
	a.table.Apply(obs...)
	a.rep.Publish(health.Delta{Observations: obs})
	n.queued = backlog + 1
	a.rep.flush()
	if n.broadcasts["a"] != 0 || n.multicasts["a"] != 1 {
		t.Fatalf("backlogged: %d broadcasts, %d multicasts; want 1 multicast", n.broadcasts["a"], n.multicasts["a"])
	}
	// A gossiped change reaching b while b's queue is backed up is applied
	// but not relayed.
	n.queued = 0
	other := observations("c", 2, now)
	msg := health.AppendDelta([]byte{kindHealth}, &health.Delta{Observations: other})
	b.rep.apply(context.Background(), "c", msg)
	n.queued = backlog + 1
	n.flush()
	b.rep.flush()
	if b.table.Len() != 5 {
		t.Fatalf("b holds %d observations, want 5", b.table.Len())
	}
	if n.broadcasts["b"]+n.multicasts["b"] != 0 {
		t.Fatalf("b relayed while backlogged: %d broadcasts, %d multicasts", n.broadcasts["b"], n.multicasts["b"])
	}
}

func TestRepairsAndLargeBroadcastsAreNotRelayed(t *testing.T) {
	n := newNet()
	a, b, _ := newNode(n, "a", true), newNode(n, "b", true), newNode(n, "c", true)
	ctx := context.Background()
	var many []registry.Entry
	for i := 0; i < 200; i++ {
		many = append(many, registry.Entry{Key: fmt.Sprintf("t%03d", i), Value: spec(fmt.Sprintf("t%03d", i)), TS: crdt.Timestamp(i + 1), Node: "a"})
	}
	a.rep.BroadcastEntries(many) // far larger than a gossip packet
	n.flush()
	b.rep.flush() // anything b queued to relay goes out now
	before := n.sent["b"]
	n.flush()
	if b.reg.Len() != 200 {
		t.Fatalf("b has %d targets, want 200", b.reg.Len())
	}
	if n.sent["b"] != before || n.sent["b"] != 0 {
		t.Fatalf("b relayed a large broadcast (%d bytes): every member got it directly", n.sent["b"])
	}
	// A repair answering b's digest is not relayed either.
	if _, err := a.reg.Put(ctx, spec("late")); err != nil {
		t.Fatal(err)
	}
	a.rep.MergeDigest("b", b.rep.LocalDigest())
	n.flush()
	b.rep.flush()
	n.flush()
	if _, ok := b.reg.Get("late"); !ok {
		t.Fatal("the repair did not reach b")
	}
	if n.sent["b"] != 0 {
		t.Fatalf("b relayed a repair meant for it alone (%d bytes)", n.sent["b"])
	}
}
