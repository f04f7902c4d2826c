package crdt

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/quick"
	"time"
)

// entrySet is a random batch of writes over a small key, node and time
// space, so that conflicts and exact ties (same timestamp, different node;
// value against tombstone) are common. Within a set, (TS, Node) identifies
// a write, as a real HLC guarantees: the value is derived from it.
type entrySet []Entry[string]

func genEntries(r *rand.Rand, size int) entrySet {
	n := r.IntN(size + 1)
	es := make(entrySet, n)
	for i := range es {
		es[i] = genEntry(r)
	}
	return es
}

func genEntry(r *rand.Rand) Entry[string] {
	e := Entry[string]{
		Key:  fmt.Sprintf("k%d", r.IntN(6)),
		TS:   Timestamp(r.IntN(8)),
		Node: fmt.Sprintf("n%d", r.IntN(3)),
	}
	// The write (key, TS, node) decides the value, as it would in a real
	// cluster where a node never reuses a timestamp. The tombstone flag is
	// free, to exercise the value-against-tombstone tie-break.
	e.Deleted = r.IntN(4) == 0
	if !e.Deleted {
		e.Value = fmt.Sprintf("%s@%d/%s", e.Key, e.TS, e.Node)
	}
	return e
}

func state(m *LWWMap[string]) []Entry[string] {
	es := m.Entries()
	slices.SortFunc(es, func(a, b Entry[string]) int { return strings.Compare(a.Key, b.Key) })
	return es
}

func mapOf(sets ...entrySet) *LWWMap[string] {
	m := NewLWWMap[string]()
	for _, s := range sets {
		m.Merge(s...)
	}
	return m
}

// join merges two whole states into a new one.
func join(a, b *LWWMap[string]) *LWWMap[string] {
	m := NewLWWMap[string]()
	m.Merge(a.Entries()...)
	m.Merge(b.Entries()...)
	return m
}

var quickCfg = &quick.Config{MaxCount: 300}

func check(t *testing.T, name string, f any) {
	t.Helper()
	cfg := *quickCfg
	if err := quick.Check(f, &cfg); err != nil {
		t.Errorf("%s: %v", name, err)
	}
}

// testing/quick supplies the seeds; the generators above build states.
func TestLWWMergeLaws(t *testing.T) {
	check(t, "commutative", func(seedA, seedB uint64) bool {
		a, b := mapOf(gen(seedA)), mapOf(gen(seedB))
		return reflect.DeepEqual(state(join(a, b)), state(join(b, a)))
	})
	check(t, "associative", func(sa, sb, sc uint64) bool {
		a, b, c := mapOf(gen(sa)), mapOf(gen(sb)), mapOf(gen(sc))
		return reflect.DeepEqual(state(join(join(a, b), c)), state(join(a, join(b, c))))
	})
	check(t, "idempotent", func(sa uint64) bool {
		a := mapOf(gen(sa))
		before := state(a)
		changed := a.Merge(a.Entries()...)
		return len(changed) == 0 && reflect.DeepEqual(state(a), before) &&
			reflect.DeepEqual(state(join(a, a)), before)
	})
	check(t, "merge returns the delta", func(sa, sb uint64) bool {
		// Applying only the returned changes to the old state gives the
		// new state: the delta is enough to gossip.
		a := mapOf(gen(sa))
		old := mapOf(entrySet(a.Entries()))
		delta := a.Merge(gen(sb)...)
		old.Merge(delta...)
		return reflect.DeepEqual(state(old), state(a))
	})
	check(t, "winner is the maximum", func(sa uint64) bool {
		es := gen(sa)
		m := mapOf(es)
		for _, e := range es {
			cur, ok := m.Entry(e.Key)
			if !ok || e.Newer(&cur) {
				return false
			}
		}
		return true
	})
}

func gen(seed uint64) entrySet {
	return genEntries(rand.New(rand.NewPCG(seed, seed^0x5bd1e995)), 20)
}

// Several replicas make random writes and deletes with their own clocks,
// deliver each other's deltas in random interleavings with duplicates and
// gossip relays, and must end equal.
func TestLWWConvergence(t *testing.T) {
	check(t, "convergence", func(seed uint64) bool {
		r := rand.New(rand.NewPCG(seed, 77))
		const replicas = 4
		ms := make([]*LWWMap[string], replicas)
		clocks := make([]*Clock, replicas)
		wall := int64(1_700_000_000_000)
		for i := range ms {
			ms[i] = NewLWWMap[string]()
			skew := int64(r.IntN(5))
			clocks[i] = NewClock(func() time.Time { return time.UnixMilli(wall + skew) })
		}
		type msg struct {
			to int
			es []Entry[string]
		}
		var inflight []msg
		send := func(from int, es []Entry[string]) {
			for to := range replicas {
				if to != from && len(es) > 0 {
					inflight = append(inflight, msg{to, es})
				}
			}
		}
		for range 60 {
			switch k := r.IntN(10); {
			case k < 5: // a local write or delete
				i := r.IntN(replicas)
				e := Entry[string]{Key: fmt.Sprintf("k%d", r.IntN(5)), Node: fmt.Sprintf("n%d", i), TS: clocks[i].Now()}
				if r.IntN(3) == 0 {
					e.Deleted = true
				} else {
					e.Value = fmt.Sprint(r.Uint32())
				}
				send(i, ms[i].Merge(e))
			case k < 9 && len(inflight) > 0: // deliver a random message, maybe twice
				j := r.IntN(len(inflight))
				m := inflight[j]
				for _, e := range m.es {
					clocks[m.to].Observe(e.TS)
				}
				changed := ms[m.to].Merge(m.es...)
				if r.IntN(2) == 0 {
					send(m.to, changed) // relay, as gossip does
				}
				if r.IntN(4) != 0 {
					inflight = slices.Delete(inflight, j, j+1)
				}
			default:
				wall += int64(r.IntN(3))
			}
		}
		r.Shuffle(len(inflight), func(i, j int) { inflight[i], inflight[j] = inflight[j], inflight[i] })
		for _, m := range inflight {
			ms[m.to].Merge(m.es...)
		}
		// Every write was sent to every other replica, and all messages
		// are now delivered.
		want := state(ms[0])
		for _, m := range ms[1:] {
			if !reflect.DeepEqual(state(m), want) {
				return false
			}
		}
		return true
	})
}

func TestLWWGetLenCollect(t *testing.T) {
	m := NewLWWMap[string]()
	m.Merge(Entry[string]{Key: "a", Value: "1", TS: 10, Node: "n1"},
		Entry[string]{Key: "b", Value: "2", TS: 10, Node: "n1"},
		Entry[string]{Key: "b", TS: 20, Node: "n2", Deleted: true},
		Entry[string]{Key: "c", TS: 40, Node: "n2", Deleted: true})
	if v, ok := m.Get("a"); !ok || v != "1" {
		t.Errorf("Get(a) = %q, %v", v, ok)
	}
	if _, ok := m.Get("b"); ok {
		t.Error("Get(b) found a deleted key")
	}
	if m.Len() != 1 {
		t.Errorf("Len = %d, want 1", m.Len())
	}
	// An older write does not resurrect a tombstone.
	if ch := m.Merge(Entry[string]{Key: "b", Value: "old", TS: 15, Node: "n9"}); len(ch) != 0 {
		t.Errorf("older write changed the map: %v", ch)
	}
	got := m.Collect(30)
	if !slices.Equal(got, []string{"b"}) {
		t.Errorf("Collect(30) = %v, want [b]", got)
	}
	if _, ok := m.Entry("c"); !ok {
		t.Error("Collect removed a tombstone newer than the horizon")
	}
}

func TestLiveKeysSkipsTombstones(t *testing.T) {
	m := NewLWWMap[int]()
	m.Merge(Entry[int]{Key: "a", Value: 1, TS: 1}, Entry[int]{Key: "b", TS: 2, Deleted: true})
	if keys := m.LiveKeys(); len(keys) != 1 || keys[0] != "a" {
		t.Fatalf("LiveKeys = %v, want [a]", keys)
	}
}
