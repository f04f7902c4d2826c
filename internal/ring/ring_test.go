package ring

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func equalMembers(n int) []Member {
	ms := make([]Member, n)
	for i := range ms {
		ms[i] = Member{Name: fmt.Sprintf("node-%02d", i)}
	}
	return ms
}

func targets(n int) []string {
	ts := make([]string, n)
	for i := range ts {
		ts[i] = fmt.Sprintf("target-%d", i)
	}
	return ts
}

func owners1(r *Ring, ts []string) map[string]string {
	out := make(map[string]string, len(ts))
	for _, t := range ts {
		out[t] = r.Owners(t, 1)[0]
	}
	return out
}

// The hash must be FNV-1a (checked against the standard library) through
// the MurmurHash3 finalizer, and the golden owners below must never change:
// a change would make old and new nodes disagree on owners in a rolling
// upgrade.
func TestHashIsStable(t *testing.T) {
	for _, s := range []string{"", "a", "target-1", "node-07", "\x00\xff"} {
		h := fnv.New64a()
		h.Write([]byte(s))
		if got, want := hashString(s), fmix64(h.Sum64()); got != want {
			t.Errorf("hashString(%q) = %#x, want fnv1a+fmix64 %#x", s, got, want)
		}
	}
	if got := hashString("target-1"); got != 0x228b7dd44709f2d3 {
		t.Errorf("hashString(target-1) = %#x, want 0x228b7dd44709f2d3", got)
	}
	r := New(equalMembers(5))
	golden := map[string]string{}
	for _, tg := range []string{"target-0", "target-1", "target-2", "web", "db"} {
		golden[tg] = strings.Join(r.Rank(tg), ",")
	}
	want := map[string]string{
		"target-0": "node-04,node-02,node-01,node-00,node-03",
		"target-1": "node-00,node-01,node-04,node-02,node-03",
		"target-2": "node-04,node-02,node-01,node-03,node-00",
		"web":      "node-00,node-02,node-03,node-01,node-04",
		"db":       "node-03,node-04,node-00,node-01,node-02",
	}
	for tg, w := range want {
		if golden[tg] != w {
			t.Errorf("Rank(%s) = %q, want %q", tg, golden[tg], w)
		}
	}
	// The weighted path goes through the float score; pin it too.
	wr := New([]Member{{Name: "a", Weight: 1}, {Name: "b", Weight: 2.5}, {Name: "c", Weight: 0.3}, {Name: "d", Weight: 7}})
	var got []string
	for _, tg := range targets(8) {
		got = append(got, wr.Owners(tg, 1)[0])
	}
	t.Logf("weighted owners: %q, score(target-0, a) = %.17g", got, Score("target-0", "a", 1))
	if w := "d,c,d,a,d,d,d,d"; strings.Join(got, ",") != w {
		t.Errorf("weighted owners = %q, want %q", strings.Join(got, ","), w)
	}
	if s := Score("target-0", "a", 1); s != 1.3417100121316341 {
		t.Errorf("Score(target-0, a, 1) = %.17g, want 1.3417100121316341", s)
	}
}

func TestDeterministicAndOrderIndependent(t *testing.T) {
	ms := []Member{
		{Name: "a", Zone: "z1", Weight: 1}, {Name: "b", Zone: "z2", Weight: 2},
		{Name: "c", Zone: "z1", Weight: 1}, {Name: "d", Zone: "z3", Weight: 0.5},
		{Name: "e", Zone: "z2"}, {Name: "f", Zone: "z3", Weight: 3},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, spread := range []bool{false, true} {
		base := New(ms).WithSpreadZones(spread)
		for i := range 20 {
			shuffled := slices.Clone(ms)
			rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
			other := New(shuffled).WithSpreadZones(spread)
			for _, tg := range targets(500) {
				a, b := base.Rank(tg), other.Rank(tg)
				if !slices.Equal(a, b) {
					t.Fatalf("spread=%v shuffle %d: Rank(%s) = %v, then %v", spread, i, tg, a, b)
				}
				for k := 1; k <= 4; k++ {
					if o := other.Owners(tg, k); !slices.Equal(o, a[:k]) {
						t.Fatalf("spread=%v Owners(%s, %d) = %v, want prefix of rank %v", spread, tg, k, o, a)
					}
				}
			}
		}
	}
}

func TestDuplicateNamesAreOrderIndependent(t *testing.T) {
	a := New([]Member{{Name: "x", Zone: "z2"}, {Name: "x", Zone: "z1"}, {Name: "y"}})
	b := New([]Member{{Name: "y"}, {Name: "x", Zone: "z1"}, {Name: "x", Zone: "z2"}})
	if a.Len() != 2 || b.Len() != 2 {
		t.Fatalf("Len = %d, %d; want 2 (duplicates collapsed)", a.Len(), b.Len())
	}
	for _, tg := range targets(200) {
		if !slices.Equal(a.Rank(tg), b.Rank(tg)) {
			t.Fatalf("Rank(%s) differs with duplicate order", tg)
		}
	}
}

func TestEdgeCases(t *testing.T) {
	empty := New(nil)
	if got := empty.Owners("t", 3); len(got) != 0 {
		t.Errorf("Owners on empty ring = %v", got)
	}
	if empty.Owns("a", "t", 1) {
		t.Error("empty ring owns something")
	}
	r := New(equalMembers(3))
	if got := r.Owners("t", 0); len(got) != 1 {
		t.Errorf("Owners(replicas 0) = %v, want 1 owner", got)
	}
	if got := r.Owners("t", 10); len(got) != 3 {
		t.Errorf("Owners(replicas 10) on 3 members = %v, want all 3", got)
	}
	if got := r.Owners("t", 20); !slices.Equal(got, r.Rank("t")) {
		t.Errorf("Owners(all) = %v, Rank = %v", got, r.Rank("t"))
	}
	// Owns agrees with Owners.
	for _, tg := range targets(300) {
		for k := 1; k <= 3; k++ {
			own := r.Owners(tg, k)
			for _, m := range r.Members() {
				if r.Owns(m, tg, k) != slices.Contains(own, m) {
					t.Fatalf("Owns(%s, %s, %d) disagrees with Owners %v", m, tg, k, own)
				}
			}
		}
	}
	// Package-level helpers match the Ring.
	ms := equalMembers(5)
	if !slices.Equal(Rank("t", ms), New(ms).Rank("t")) {
		t.Error("Rank differs from Ring.Rank")
	}
	if !slices.Equal(Owners("t", ms, 2, false), New(ms).Owners("t", 2)) {
		t.Error("Owners differs from Ring.Owners")
	}
}

func shares(r *Ring, ts []string) map[string]int {
	n := map[string]int{}
	for _, tg := range ts {
		n[r.Owners(tg, 1)[0]]++
	}
	return n
}

func TestBalance(t *testing.T) {
	ts := targets(10000)
	r := New(equalMembers(10))
	n := shares(r, ts)
	mx := 0
	for _, c := range n {
		mx = max(mx, c)
	}
	mean := float64(len(ts)) / 10
	ratio := float64(mx) / mean
	t.Logf("balance: 10000 targets on 10 nodes: max/mean = %.3f (%v)", ratio, n)
	if ratio > 1.10 {
		t.Errorf("max/mean = %.3f, want <= 1.10", ratio)
	}
	if len(n) != 10 {
		t.Errorf("only %d nodes own targets", len(n))
	}
}

func TestWeightsProportional(t *testing.T) {
	ms := []Member{{Name: "w1", Weight: 1}, {Name: "w2", Weight: 2}, {Name: "w3", Weight: 3}, {Name: "w4", Weight: 4}}
	ts := targets(40000)
	n := shares(New(ms), ts)
	for _, m := range ms {
		want := float64(len(ts)) * m.Weight / 10
		got := float64(n[m.Name])
		t.Logf("weight %.0f: %d targets (want %.0f, %.3f)", m.Weight, n[m.Name], want, got/want)
		if got < want*0.95 || got > want*1.05 {
			t.Errorf("%s (weight %v) owns %v, want %v +-5%%", m.Name, m.Weight, got, want)
		}
	}
	// Non-positive weights count as 1.
	a := New([]Member{{Name: "a"}, {Name: "b", Weight: -2}, {Name: "c", Weight: 1}})
	b := New([]Member{{Name: "a", Weight: 1}, {Name: "b", Weight: 1}, {Name: "c", Weight: 1}})
	for _, tg := range targets(200) {
		if !slices.Equal(a.Rank(tg), b.Rank(tg)) {
			t.Fatal("weight 0 and -2 should count as 1")
		}
	}
}

func TestMinimalMovement(t *testing.T) {
	ts := targets(10000)
	ms := equalMembers(10)
	before := owners1(New(ms), ts)

	joined := append(slices.Clone(ms), Member{Name: "node-new"})
	afterJoin := owners1(New(joined), ts)
	moved := 0
	for _, tg := range ts {
		if before[tg] != afterJoin[tg] {
			moved++
			if afterJoin[tg] != "node-new" {
				t.Fatalf("join: %s moved %s -> %s, not to the new node", tg, before[tg], afterJoin[tg])
			}
		}
	}
	share := float64(moved) / float64(len(ts))
	t.Logf("join 10->11: moved %.4f of targets (bound 1.2/11 = %.4f)", share, 1.2/11)
	if share > 1.2/11 {
		t.Errorf("join moved %.4f, want <= %.4f", share, 1.2/11)
	}

	left := slices.Delete(slices.Clone(ms), 3, 4) // node-03 leaves
	afterLeave := owners1(New(left), ts)
	moved = 0
	for _, tg := range ts {
		if before[tg] != afterLeave[tg] {
			moved++
			if before[tg] != "node-03" {
				t.Fatalf("leave: %s moved %s -> %s, but only node-03 left", tg, before[tg], afterLeave[tg])
			}
		}
	}
	share = float64(moved) / float64(len(ts))
	t.Logf("leave 10->9: moved %.4f of targets (bound 1.2/10 = %.4f)", share, 1.2/10)
	if share > 1.2/10 {
		t.Errorf("leave moved %.4f, want <= %.4f", share, 1.2/10)
	}
}

// With replicas, a leave only changes the owner sets that held the node,
// and the fallback order of the others keeps its relative order.
func TestLeaveKeepsRelativeOrder(t *testing.T) {
	ms := equalMembers(7)
	full, less := New(ms), New(slices.Delete(slices.Clone(ms), 2, 3))
	for _, tg := range targets(500) {
		want := slices.DeleteFunc(full.Rank(tg), func(s string) bool { return s == "node-02" })
		if got := less.Rank(tg); !slices.Equal(got, want) {
			t.Fatalf("Rank(%s) after leave = %v, want %v", tg, got, want)
		}
	}
}

func TestZoneSpread(t *testing.T) {
	var ms []Member
	for z := range 3 {
		for i := range 3 {
			ms = append(ms, Member{Name: fmt.Sprintf("z%d-n%d", z, i), Zone: fmt.Sprintf("zone-%d", z)})
		}
	}
	zoneOf := map[string]string{}
	for _, m := range ms {
		zoneOf[m.Name] = m.Zone
	}
	r := New(ms).WithSpreadZones(true)
	plain := New(ms)
	sameZonePlain := 0
	for _, tg := range targets(2000) {
		for k := 1; k <= 5; k++ {
			own := r.Owners(tg, k)
			zs := map[string]int{}
			for _, o := range own {
				zs[zoneOf[o]]++
			}
			if want := min(k, 3); len(zs) != want {
				t.Fatalf("Owners(%s, %d) = %v span %d zones, want %d", tg, k, own, len(zs), want)
			}
			for _, c := range zs { // round-robin: no zone holds 2 more than another
				if c > (k+2)/3 {
					t.Fatalf("Owners(%s, %d) = %v: zone holds %d", tg, k, own, c)
				}
			}
			if !slices.Equal(own, Owners(tg, ms, k, true)) {
				t.Fatalf("Owners func and Ring disagree for %s", tg)
			}
		}
		// Primary owner is the plain top-ranked member: spreading does not
		// change who owns a target with one replica.
		if r.Owners(tg, 1)[0] != plain.Owners(tg, 1)[0] {
			t.Fatalf("spread changed the primary owner of %s", tg)
		}
		p := plain.Owners(tg, 2)
		if zoneOf[p[0]] == zoneOf[p[1]] {
			sameZonePlain++
		}
	}
	if sameZonePlain == 0 {
		t.Error("without spreading some owner pairs should share a zone; the test proves nothing")
	}
	// A single zone: spreading is a no-op.
	one := []Member{{Name: "a", Zone: "z"}, {Name: "b", Zone: "z"}, {Name: "c", Zone: "z"}}
	for _, tg := range targets(100) {
		if !slices.Equal(New(one).WithSpreadZones(true).Rank(tg), New(one).Rank(tg)) {
			t.Fatal("spreading over one zone changed the order")
		}
	}
}

func TestConcurrentQueries(t *testing.T) {
	r := New(equalMembers(10))
	want := owners1(r, targets(1000))
	done := make(chan bool)
	for range 4 {
		go func() {
			ok := true
			for tg, o := range want {
				if r.Owners(tg, 1)[0] != o || !r.Owns(o, tg, 1) {
					ok = false
				}
			}
			done <- ok
		}()
	}
	for range 4 {
		if !<-done {
			t.Error("concurrent query disagreed")
		}
	}
}

func BenchmarkOwners(b *testing.B) {
	for _, n := range []int{3, 10, 50} {
		for _, k := range []int{1, 3} {
			r := New(equalMembers(n))
			ts := targets(1024)
			b.Run(fmt.Sprintf("members=%d/replicas=%d", n, k), func(b *testing.B) {
				b.ReportAllocs()
				for i := 0; b.Loop(); i++ {
					_ = r.Owners(ts[i&1023], k)
				}
			})
		}
	}
	ms := equalMembers(10)
	ms[0].Weight = 2
	rw := New(ms)
	b.Run("members=10/weighted", func(b *testing.B) {
		ts := targets(1024)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			_ = rw.Owners(ts[i&1023], 1)
		}
	})
	b.Run("members=10/owns", func(b *testing.B) {
		ts := targets(1024)
		r := New(equalMembers(10))
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			_ = r.Owns("node-03", ts[i&1023], 1)
		}
	})
	zm := equalMembers(10)
	for i := range zm {
		zm[i].Zone = fmt.Sprintf("zone-%d", i%3)
	}
	rz := New(zm).WithSpreadZones(true)
	b.Run("members=10/replicas=3/spread", func(b *testing.B) {
		ts := targets(1024)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			_ = rz.Owners(ts[i&1023], 3)
		}
	})
}

func TestLn(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 100000 {
		u := (float64(rng.Uint64()>>11) + 0.5) / (1 << 53)
		got, want := ln(u), math.Log(u)
		if math.Abs(got-want) > 4e-16*math.Max(1, math.Abs(want)) {
			t.Fatalf("ln(%v) = %v, math.Log = %v", u, got, want)
		}
	}
	for _, u := range []float64{1e-300, 0.5, 0.70710678, 0.7071068, 0.9999999999} {
		if got, want := ln(u), math.Log(u); math.Abs(got-want) > 4e-16*math.Max(1, math.Abs(want)) {
			t.Errorf("ln(%v) = %v, math.Log = %v", u, got, want)
		}
	}
	// Monotone on neighbours, which ranking relies on.
	for _, u := range []float64{0.3, 0.7071067811865476, 0.999} {
		if ln(math.Nextafter(u, 1)) < ln(u) {
			t.Errorf("ln not monotone at %v", u)
		}
	}
}

func TestWalkMatchesRank(t *testing.T) {
	ms := equalMembers(9)
	ms[2].Weight, ms[5].Weight = 3, 0.5
	zoned := slices.Clone(ms)
	for i := range zoned {
		zoned[i].Zone = fmt.Sprintf("z%d", i%3)
	}
	big := equalMembers(70) // more than Walk's stack buffer
	for name, r := range map[string]*Ring{
		"weighted": New(ms), "equal": New(equalMembers(9)), "spread": New(zoned).WithSpreadZones(true),
		"big": New(big), "one": New(equalMembers(1)), "empty": New(nil),
	} {
		for _, id := range targets(200) {
			got := slices.Collect(r.Walk(id))
			if want := r.Rank(id); !slices.Equal(got, want) {
				t.Fatalf("%s: Walk(%s) = %v, Rank = %v", name, id, got, want)
			}
			// Stopping early yields a prefix.
			var first []string
			for m := range r.Walk(id) {
				first = append(first, m)
				if len(first) == 2 {
					break
				}
			}
			if want := r.Rank(id); len(want) >= 2 && !slices.Equal(first, want[:2]) {
				t.Fatalf("%s: first two of Walk(%s) = %v, want %v", name, id, first, want[:2])
			}
		}
	}
}

func BenchmarkWalkFirst(b *testing.B) {
	r := New(equalMembers(20))
	ts := targets(1024)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		for m := range r.Walk(ts[i%len(ts)]) {
			_ = m
			break
		}
	}
}

func BenchmarkRank20(b *testing.B) {
	r := New(equalMembers(20))
	ts := targets(1024)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_ = r.Rank(ts[i%len(ts)])
	}
}
