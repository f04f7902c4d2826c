package objects_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/quick"

	"github.com/heckhq/heck/internal/crdt"
	"github.com/heckhq/heck/internal/objects"
	"github.com/heckhq/heck/internal/store/sqlite"
)

// val is the generic value type of the property tests.
type val struct {
	N int
	S string
}

var kind = objects.Kind[val]{
	Name: "val",
	Validate: func(key string, v val) error {
		if v.N < 0 {
			return fmt.Errorf("val %s: n %d is negative; use 0 or more", key, v.N)
		}
		return nil
	},
}

func newColl(node string) *objects.Collection[val] {
	return objects.New(kind, node, crdt.NewClock(nil), nil)
}

// entries is a random batch of writes over a few keys, stamps and nodes, so
// that ties happen. A write is identified by (key, stamp, node, tombstone),
// as in a cluster, so its value is derived from them.
type entries []objects.Entry[val]

func (entries) Generate(r *rand.Rand, size int) reflect.Value {
	n := r.Intn(size + 1)
	es := make(entries, n)
	for i := range es {
		e := objects.Entry[val]{
			Key:     fmt.Sprintf("k%d", r.Intn(6)),
			TS:      crdt.Timestamp(1 + r.Intn(20)),
			Node:    []string{"a", "b", "c"}[r.Intn(3)],
			Deleted: r.Intn(3) == 0,
		}
		if !e.Deleted {
			e.Value = val{N: int(e.TS), S: e.Key + "@" + e.Node}
		}
		es[i] = e
	}
	return reflect.ValueOf(es)
}

func merge(t *testing.T, c *objects.Collection[val], es []objects.Entry[val]) {
	t.Helper()
	if _, refused, err := c.Merge(context.Background(), es); err != nil || len(refused) > 0 {
		t.Fatalf("merge: %v, refused %v", err, refused)
	}
}

func state(c *objects.Collection[val]) []objects.Entry[val] { return c.Entries() }

func check(t *testing.T, f any) {
	t.Helper()
	if err := quick.Check(f, &quick.Config{MaxCount: 500}); err != nil {
		t.Fatal(err)
	}
}

func TestMergeCommutative(t *testing.T) {
	check(t, func(a, b entries) bool {
		x, y := newColl("x"), newColl("y")
		merge(t, x, a)
		merge(t, x, b)
		merge(t, y, b)
		merge(t, y, a)
		return reflect.DeepEqual(state(x), state(y))
	})
}

func TestMergeAssociative(t *testing.T) {
	check(t, func(a, b, c entries) bool {
		// (a ∪ b) ∪ c
		ab := newColl("ab")
		merge(t, ab, a)
		merge(t, ab, b)
		left := newColl("l")
		merge(t, left, ab.Entries())
		merge(t, left, c)
		// a ∪ (b ∪ c)
		bc := newColl("bc")
		merge(t, bc, b)
		merge(t, bc, c)
		right := newColl("r")
		merge(t, right, a)
		merge(t, right, bc.Entries())
		return reflect.DeepEqual(state(left), state(right))
	})
}

func TestMergeIdempotent(t *testing.T) {
	check(t, func(a entries) bool {
		x := newColl("x")
		merge(t, x, a)
		before := state(x)
		changed, _, err := x.Merge(context.Background(), a)
		if err != nil || len(changed) != 0 {
			return false
		}
		changed, _, err = x.Merge(context.Background(), x.Entries())
		return err == nil && len(changed) == 0 && reflect.DeepEqual(before, state(x))
	})
}

func TestMergeOrderFree(t *testing.T) {
	check(t, func(a entries, seed int64) bool {
		x, y := newColl("x"), newColl("y")
		merge(t, x, a)
		p := append(entries(nil), a...)
		rand.New(rand.NewSource(seed)).Shuffle(len(p), func(i, j int) { p[i], p[j] = p[j], p[i] })
		for _, e := range p {
			merge(t, y, []objects.Entry[val]{e})
		}
		return reflect.DeepEqual(state(x), state(y))
	})
}

// TestTombstoneHorizon: after Collect(h) no tombstone older than h is kept,
// a late copy of any write older than h is refused (so a collected delete
// is never resurrected), and replicas that collected at the same horizon
// still converge whatever order they hear writes in.
func TestTombstoneHorizon(t *testing.T) {
	check(t, func(a, b entries, hr uint8) bool {
		h := crdt.Timestamp(hr%22 + 1)
		x := newColl("x")
		merge(t, x, a)
		x.Collect(h)
		before := state(x)
		for _, e := range before {
			if e.Deleted && e.TS < h {
				t.Logf("tombstone %+v older than horizon %d kept", e, h)
				return false
			}
		}
		// A late delta of everything: changes nothing older than h.
		changed, refused, err := x.Merge(context.Background(), a)
		if err != nil {
			return false
		}
		for _, e := range changed {
			if e.TS < h {
				t.Logf("write %+v older than horizon %d taken", e, h)
				return false
			}
		}
		for _, r := range refused {
			if !errors.Is(r, objects.ErrBeforeHorizon) {
				return false
			}
		}
		if !reflect.DeepEqual(before, state(x)) {
			return false
		}
		// Convergence past the horizon.
		y, z := newColl("y"), newColl("z")
		y.Collect(h)
		z.Collect(h)
		_, _, _ = y.Merge(context.Background(), a)
		_, _, _ = y.Merge(context.Background(), b)
		_, _, _ = z.Merge(context.Background(), b)
		_, _, _ = z.Merge(context.Background(), a)
		return reflect.DeepEqual(state(y), state(z))
	})
}

func TestNoResurrection(t *testing.T) {
	ctx := context.Background()
	x := newColl("x")
	value := objects.Entry[val]{Key: "k", Value: val{N: 1}, TS: 10, Node: "a"}
	merge(t, x, []objects.Entry[val]{value, {Key: "k", TS: 20, Node: "b", Deleted: true}})
	if got := x.Collect(30); len(got) != 1 || got[0] != "k" {
		t.Fatalf("Collect = %v, want [k]", got)
	}
	changed, refused, err := x.Merge(ctx, []objects.Entry[val]{value})
	if err != nil || len(changed) != 0 || len(refused) != 1 || !errors.Is(refused[0], objects.ErrBeforeHorizon) {
		t.Fatalf("late old write: changed %v refused %v err %v", changed, refused, err)
	}
	if _, ok := x.Get("k"); ok {
		t.Fatal("deleted key resurrected")
	}
	// The horizon never moves back.
	x.Collect(5)
	if x.Horizon() != 30 {
		t.Fatalf("horizon %d, want 30", x.Horizon())
	}
}

func TestValidation(t *testing.T) {
	ctx := context.Background()
	x := newColl("x")
	if err := x.Put(ctx, "k", val{N: -1}); err == nil || !strings.Contains(err.Error(), "n -1 is negative") {
		t.Fatalf("Put invalid: %v", err)
	}
	if err := x.Put(ctx, "", val{}); err == nil {
		t.Fatal("Put with an empty key: no error")
	}
	_, refused, err := x.Merge(ctx, []objects.Entry[val]{{Key: "k", Value: val{N: -2}, TS: 1, Node: "p"}})
	if err != nil || len(refused) != 1 || x.Len() != 0 {
		t.Fatalf("invalid remote value: refused %v, err %v, len %d", refused, err, x.Len())
	}
	if err := x.Delete(ctx, "absent"); !errors.Is(err, objects.ErrNotFound) {
		t.Fatalf("Delete absent: %v", err)
	}
}

func TestPersisted(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "heck.db")
	st, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	clock := crdt.NewClock(nil)
	x := objects.New(kind, "n1", clock, st)
	var seen []string
	x.Subscribe(func(changed []objects.Entry[val], remote bool) {
		for _, e := range changed {
			seen = append(seen, fmt.Sprintf("%s:%v:%v", e.Key, e.Deleted, remote))
		}
	})
	for i, k := range []string{"a", "b", "c"} {
		if err := x.Put(ctx, k, val{N: i, S: k}); err != nil {
			t.Fatal(err)
		}
	}
	if err := x.Delete(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if want := "a:false:false b:false:false c:false:false b:true:false"; strings.Join(seen, " ") != want {
		t.Fatalf("subscriber saw %q, want %q", strings.Join(seen, " "), want)
	}
	want := x.Entries()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st, err = sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	y := objects.New(kind, "n1", crdt.NewClock(nil), st)
	if bad, err := y.Load(ctx); err != nil || len(bad) > 0 {
		t.Fatalf("Load: %v %v", err, bad)
	}
	if !reflect.DeepEqual(y.Entries(), want) {
		t.Fatalf("after reload %+v, want %+v", y.Entries(), want)
	}
	if v, ok := y.Get("c"); !ok || v.S != "c" || y.Len() != 2 {
		t.Fatalf("Get c = %+v %v, len %d", v, ok, y.Len())
	}
}

// TestAntiEntropy: two replicas that diverged exchange only the buckets
// whose digests differ and end up equal.
func TestAntiEntropy(t *testing.T) {
	check(t, func(a, b entries) bool {
		ctx := context.Background()
		x, y := newColl("x"), newColl("y")
		merge(t, x, a)
		merge(t, y, b)
		for _, pair := range [][2]*objects.Collection[val]{{x, y}, {y, x}} {
			from, to := pair[0], pair[1]
			mine, theirs := from.Digest(), to.Digest()
			var differ [objects.Buckets]bool
			for i := range mine {
				differ[i] = mine[i] != theirs[i]
			}
			msg, _, err := from.AppendBuckets(nil, &differ)
			if err != nil {
				return false
			}
			if len(msg) > 0 {
				if _, _, err := to.MergeEncoded(ctx, msg); err != nil {
					return false
				}
			}
		}
		return x.Digest() == y.Digest() && reflect.DeepEqual(state(x), state(y))
	})
}

// PutAll writes every value in one batch, or nothing when one is invalid.
func TestPutAll(t *testing.T) {
	ctx := context.Background()
	x := newColl("x")
	var batches [][]string
	x.Subscribe(func(changed []objects.Entry[val], remote bool) {
		var ks []string
		for _, e := range changed {
			ks = append(ks, e.Key)
		}
		batches = append(batches, ks)
	})
	if err := x.PutAll(ctx, map[string]val{"b": {N: 2}, "a": {N: 1}, "c": {N: 3}}); err != nil {
		t.Fatal(err)
	}
	if len(batches) != 1 || strings.Join(batches[0], ",") != "a,b,c" || x.Len() != 3 {
		t.Fatalf("batches %v, len %d", batches, x.Len())
	}
	if err := x.PutAll(ctx, map[string]val{"d": {N: 4}, "e": {N: -1}}); err == nil || x.Len() != 3 {
		t.Fatalf("PutAll with an invalid value: %v, len %d", err, x.Len())
	}
	if err := x.PutAll(ctx, nil); err != nil || len(batches) != 1 {
		t.Fatalf("empty PutAll: %v, %d batches", err, len(batches))
	}
}
