package health

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/quick"
	"time"

	"github.com/heckhq/heck/internal/crdt"
)

var t0 = time.Unix(1_700_000_000, 0)

func check(t *testing.T, name string, f any) { checkN(t, name, 300, f) }

func checkN(t *testing.T, name string, n int, f any) {
	t.Helper()
	if testing.Short() {
		n /= 5
	}
	if err := quick.Check(f, &quick.Config{MaxCount: n}); err != nil {
		t.Errorf("%s: %v", name, err)
	}
}

// obsOf is the observation that observer o published as sequence seq: in
// a real cluster a sequence identifies one publication, so content is a
// function of (observer, seq).
func obsOf(target, observer string, seq uint64) Observation {
	return Observation{
		TargetID: target, Observer: observer, Seq: seq,
		State: State(seq%3 + 1), At: t0.Add(time.Duration(seq) * time.Second),
		Since: t0, Latency: time.Duration(seq) * time.Millisecond, Message: fmt.Sprint(seq), Interval: time.Second,
	}
}

type batch struct {
	obs []Observation
	wms []Watermark
}

func genBatch(seed uint64) batch {
	r := rand.New(rand.NewPCG(seed, 99))
	var b batch
	for range r.IntN(25) {
		o := fmt.Sprintf("o%d", r.IntN(3))
		seq := uint64(r.IntN(30) + 1)
		if r.IntN(5) == 0 {
			b.wms = append(b.wms, Watermark{Observer: o, Seq: seq, At: t0.Add(time.Duration(seq) * time.Second)})
			continue
		}
		// Sequence decides the target as well: one publication, one target.
		b.obs = append(b.obs, obsOf(fmt.Sprintf("t%d", seq%7), o, seq))
	}
	return b
}

func tableOf(bs ...batch) *Table {
	t := NewTable(TableOptions{})
	for _, b := range bs {
		t.Apply(b.obs...)
		t.ApplyWatermarks(b.wms...)
	}
	return t
}

// snapshot is the table's observable state.
type snapshot struct {
	Obs    []Observation
	WMs    []Watermark
	Digest crdt.VersionVector
}

func snap(t *Table) snapshot {
	var s snapshot
	for _, id := range t.Targets() {
		s.Obs = append(s.Obs, t.Get(id)...)
	}
	s.WMs = t.DeltaFor(nil).Watermarks
	s.Digest = t.Digest()
	return s
}

// upTo is the summary of a table that holds everything up to vv and
// nothing above it.
func upTo(vv crdt.VersionVector) Summary {
	s := Summary{}
	for o, seq := range vv {
		s[o] = ObserverSummary{Complete: seq, Max: seq}
	}
	return s
}

func joinTables(a, b *Table) *Table {
	c := NewTable(TableOptions{})
	c.Merge(a.DeltaFor(nil))
	c.Merge(b.DeltaFor(nil))
	return c
}

func TestTableMergeLaws(t *testing.T) {
	check(t, "commutative", func(x, y uint64) bool {
		a, b := genBatch(x), genBatch(y)
		return reflect.DeepEqual(snap(tableOf(a, b)), snap(tableOf(b, a)))
	})
	check(t, "associative", func(x, y, z uint64) bool {
		a, b, c := tableOf(genBatch(x)), tableOf(genBatch(y)), tableOf(genBatch(z))
		if !reflect.DeepEqual(snap(tableOf(genBatch(x), genBatch(y), genBatch(z))), snap(tableOf(genBatch(y), genBatch(z), genBatch(x)))) {
			return false
		}
		// Whole-state joins agree on content. Their digests may differ,
		// as a join carries held observations and digests but not the
		// superseded sequences each side saw; both must be sound.
		l, r := joinTables(joinTables(a, b), c), joinTables(a, joinTables(b, c))
		sl, sr := snap(l), snap(r)
		all := []batch{genBatch(x), genBatch(y), genBatch(z)}
		return reflect.DeepEqual(sl.Obs, sr.Obs) && reflect.DeepEqual(sl.WMs, sr.WMs) &&
			sound(l, all...) && sound(r, all...)
	})
	check(t, "idempotent", func(x uint64) bool {
		a := tableOf(genBatch(x))
		before := snap(a)
		d := a.Merge(a.DeltaFor(nil))
		return d.Empty() && reflect.DeepEqual(snap(a), before) && reflect.DeepEqual(snap(tableOf(genBatch(x), genBatch(x))), before)
	})
	check(t, "order of single deltas", func(x, shuffle uint64) bool {
		b := genBatch(x)
		r := rand.New(rand.NewPCG(shuffle, 1))
		a := tableOf(b)
		c := NewTable(TableOptions{})
		obs, wms := slices.Clone(b.obs), slices.Clone(b.wms)
		r.Shuffle(len(obs), func(i, j int) { obs[i], obs[j] = obs[j], obs[i] })
		for _, o := range obs {
			c.Apply(o, o) // duplicates too
		}
		for i := len(wms) - 1; i >= 0; i-- {
			c.ApplyWatermarks(wms[i])
		}
		return reflect.DeepEqual(snap(a), snap(c))
	})
	check(t, "apply returns the delta", func(x, y uint64) bool {
		a := tableOf(genBatch(x))
		old := joinTables(a, NewTable(TableOptions{}))
		b := genBatch(y)
		old.Apply(a.Apply(b.obs...)...)
		old.ApplyWatermarks(a.ApplyWatermarks(b.wms...)...)
		sa, so := snap(a), snap(old)
		sa.Digest, so.Digest = nil, nil // digests count arrivals, not wins
		return reflect.DeepEqual(sa, so)
	})
	check(t, "higher seq wins", func(x uint64) bool {
		b := genBatch(x)
		a := tableOf(b)
		for _, o := range b.obs {
			got := a.Get(o.TargetID)
			i := slices.IndexFunc(got, func(g Observation) bool { return g.Observer == o.Observer })
			if i < 0 || got[i].Seq < o.Seq {
				return false
			}
		}
		return true
	})
}

// sound reports whether t's digest claims nothing it lacks: every
// publication in bs at or below the digest is held or superseded in t.
func sound(t *Table, bs ...batch) bool {
	d := t.Digest()
	for _, b := range bs {
		for _, o := range b.obs {
			if o.Seq > d[o.Observer] {
				continue
			}
			got := t.Get(o.TargetID)
			i := slices.IndexFunc(got, func(g Observation) bool { return g.Observer == o.Observer })
			if i < 0 || got[i].Seq < o.Seq {
				return false
			}
		}
		for _, w := range b.wms {
			if got, ok := t.Watermark(w.Observer); w.Seq <= d[w.Observer] && (!ok || got.Seq < w.Seq) {
				return false
			}
		}
	}
	return true
}

func TestDigestIsContiguous(t *testing.T) {
	tb := NewTable(TableOptions{})
	e := uint32(100)
	tb.Apply(obsOf("a", "n1", MakeSeq(e, 1)), obsOf("b", "n1", MakeSeq(e, 2)))
	if got := tb.Digest()["n1"]; got != MakeSeq(e, 2) {
		t.Fatalf("digest = %#x, want %#x", got, MakeSeq(e, 2))
	}
	// 3 is lost, 4 and 5 arrive: the digest must not claim 5.
	tb.Apply(obsOf("c", "n1", MakeSeq(e, 4)))
	tb.ApplyWatermarks(Watermark{Observer: "n1", Seq: MakeSeq(e, 5), At: t0})
	if got := tb.Digest()["n1"]; got != MakeSeq(e, 2) {
		t.Fatalf("digest after a gap = %#x, want %#x", got, MakeSeq(e, 2))
	}
	// A peer that holds everything answers our digest, filling the gap.
	peer := NewTable(TableOptions{})
	for i := uint32(1); i <= 5; i++ {
		peer.Apply(obsOf(fmt.Sprint("t", i), "n1", MakeSeq(e, i)))
	}
	d := peer.DeltaFor(tb.Summary())
	if len(d.Observations) != 1 || SeqCounter(d.Observations[0].Seq) != 3 {
		t.Fatalf("peer answered a summary with the hole at 3 with %+v, want only 3", d.Observations)
	}
	tb.Merge(d)
	if got := tb.Digest()["n1"]; got != MakeSeq(e, 5) {
		t.Fatalf("digest after sync = %#x, want %#x", got, MakeSeq(e, 5))
	}
	// The late 3 fills the gap by itself too.
	tc := NewTable(TableOptions{})
	tc.Apply(obsOf("a", "n1", MakeSeq(e, 1)), obsOf("c", "n1", MakeSeq(e, 4)), obsOf("x", "n1", MakeSeq(e, 3)))
	tc.Apply(obsOf("b", "n1", MakeSeq(e, 2)))
	if got := tc.Digest()["n1"]; got != MakeSeq(e, 4) {
		t.Fatalf("digest after late arrivals = %#x, want %#x", got, MakeSeq(e, 4))
	}
	// A restarted observer starts a new epoch at counter 1: the digest
	// follows it even across an old gap.
	tc.Apply(obsOf("a", "n1", MakeSeq(e, 9)))
	tc.Apply(obsOf("a", "n1", MakeSeq(e+5, 1)))
	if got := tc.Digest()["n1"]; got != MakeSeq(e+5, 1) {
		t.Fatalf("digest after a new epoch = %#x, want %#x", got, MakeSeq(e+5, 1))
	}
}

func TestDeltaForFollowsTheDifference(t *testing.T) {
	tb := NewTable(TableOptions{})
	e := uint32(7)
	for i := uint32(1); i <= 1000; i++ {
		tb.Apply(obsOf(fmt.Sprint("t", i%100), "n1", MakeSeq(e, i)))
	}
	// Only the last write of each of 100 targets is live.
	if n := tb.Len(); n != 100 {
		t.Fatalf("Len = %d, want 100", n)
	}
	got := tb.DeltaFor(upTo(crdt.VersionVector{"n1": MakeSeq(e, 995)})).Observations
	var seqs []uint32
	for _, o := range got {
		seqs = append(seqs, SeqCounter(o.Seq))
	}
	if !slices.Equal(seqs, []uint32{996, 997, 998, 999, 1000}) {
		t.Errorf("DeltaFor after 995 = %v", seqs)
	}
	if n := len(tb.DeltaFor(nil).Observations); n != 100 {
		t.Errorf("DeltaFor(nil) = %d observations, want 100", n)
	}
	if n := len(tb.DeltaFor(tb.Summary()).Observations); n != 0 {
		t.Errorf("DeltaFor(own summary) = %d, want 0", n)
	}
	// Compaction kept the index near the live size.
	tb.mu.RLock()
	idx := len(tb.observers["n1"].index)
	tb.mu.RUnlock()
	if idx > 2*100+65 {
		t.Errorf("index holds %d entries for 100 live observations", idx)
	}
}

func TestForget(t *testing.T) {
	tb := NewTable(TableOptions{})
	tb.Apply(obsOf("gone", "n1", 5), obsOf("gone", "n2", 3), obsOf("kept", "n1", 6))
	tb.Forget("gone")
	if got := tb.Get("gone"); len(got) != 0 {
		t.Fatalf("Get after Forget = %v", got)
	}
	for _, o := range tb.DeltaFor(nil).Observations {
		if o.TargetID == "gone" {
			t.Fatal("DeltaFor returns a forgotten target")
		}
	}
	// A peer resending the old observations does not bring them back...
	if ch := tb.Apply(obsOf("gone", "n1", 5), obsOf("gone", "n2", 2)); len(ch) != 0 {
		t.Errorf("forgotten observations came back: %v", ch)
	}
	// ...but a recreated target's new observations are taken.
	if ch := tb.Apply(obsOf("gone", "n1", 9)); len(ch) != 1 {
		t.Errorf("newer observation of a recreated target refused")
	}
	tb.Forget("never-seen") // no-op
	tb.ForgetTombstones("gone")
	if ch := tb.Apply(obsOf("gone", "n2", 3)); len(ch) != 1 {
		t.Error("after ForgetTombstones, the table should take observations again")
	}
}

// Several nodes publish their own observations, gossip deltas to random
// peers with loss, reordering and duplication, and run occasional
// anti-entropy by summaries; every table stays sound throughout, and after
// a final round of anti-entropy every table is equal.
func TestTableConvergence(t *testing.T) {
	checkN(t, "convergence", 100, func(seed uint64) bool {
		r := rand.New(rand.NewPCG(seed, 5))
		const n = 4
		tables := make([]*Table, n)
		pubs := make([]*Publisher, n)
		for i := range tables {
			tables[i] = NewTable(TableOptions{})
			now := func() time.Time { return t0 }
			pubs[i] = NewPublisher(fmt.Sprint("n", i), tables[i], PublisherOptions{Now: now})
		}
		type msg struct {
			to int
			d  Delta
		}
		var inflight []msg
		var all batch // every publication, to check digests are sound
		at := t0
		for range 80 {
			switch k := r.IntN(10); {
			case k < 4:
				i := r.IntN(n)
				at = at.Add(time.Duration(r.IntN(3)) * time.Second)
				o, ok := pubs[i].Record(Outcome{
					TargetID: fmt.Sprint("t", r.IntN(6)), State: State(r.IntN(3) + 1),
					At: at, Since: t0, Interval: time.Second, Latency: time.Duration(r.IntN(100)) * time.Millisecond,
				})
				if ok {
					all.obs = append(all.obs, o)
					for j := range n {
						if j != i && r.IntN(4) != 0 { // gossip loses some
							inflight = append(inflight, msg{j, Delta{Observations: []Observation{o}}})
						}
					}
				}
			case k < 5 && r.IntN(3) == 0:
				i := r.IntN(n)
				if o, ok := pubs[i].Release(fmt.Sprint("t", r.IntN(6)), at); ok {
					all.obs = append(all.obs, o)
					inflight = append(inflight, msg{r.IntN(n), Delta{Observations: []Observation{o}}})
				}
			case k < 5:
				i := r.IntN(n)
				if w, ok := pubs[i].Tick(at.Add(time.Hour*time.Duration(r.IntN(9))), at); ok {
					all.wms = append(all.wms, w)
					inflight = append(inflight, msg{r.IntN(n), Delta{Watermarks: []Watermark{w}}})
				}
			case k < 8 && len(inflight) > 0:
				j := r.IntN(len(inflight))
				m := inflight[j]
				tables[m.to].Merge(m.d)
				if r.IntN(3) != 0 {
					inflight = slices.Delete(inflight, j, j+1)
				}
			default: // anti-entropy between two nodes
				a, b := r.IntN(n), r.IntN(n)
				tables[a].Merge(tables[b].DeltaFor(tables[a].Summary()))
			}
			for _, tb := range tables {
				if !sound(tb, all) {
					return false
				}
			}
		}
		// Heal: pairwise anti-entropy around the ring, twice.
		for range 2 {
			for i := range n {
				a, b := i, (i+1)%n
				tables[a].Merge(tables[b].DeltaFor(tables[a].Summary()))
				tables[b].Merge(tables[a].DeltaFor(tables[b].Summary()))
			}
		}
		want := snap(tables[0])
		for _, tb := range tables[1:] {
			got := snap(tb)
			// Digests may legitimately differ in sequences of
			// lost-then-superseded publications only if content differs;
			// content must be equal.
			if !reflect.DeepEqual(got.Obs, want.Obs) || !reflect.DeepEqual(got.WMs, want.WMs) {
				return false
			}
			if !got.Digest.Equal(want.Digest) {
				return false
			}
		}
		// Converged tables answer each other's summaries with nothing.
		d := tables[0].DeltaFor(tables[1].Summary())
		return len(d.Observations) == 0 && len(d.Watermarks) == 0
	})
}

func TestConcurrentUse(t *testing.T) {
	tb := NewTable(TableOptions{})
	p := NewPublisher("self", tb, PublisherOptions{})
	done := make(chan struct{})
	for g := range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range 500 {
				p.Record(Outcome{TargetID: fmt.Sprint("t", i%50), State: State(i%2 + 1), At: t0.Add(time.Duration(i) * time.Second), Interval: time.Second})
				tb.Apply(obsOf(fmt.Sprint("t", i%50), fmt.Sprint("peer", g), uint64(i+1)))
				_ = tb.Verdict(fmt.Sprint("t", i%50), []string{"self"}, t0)
				_ = tb.DeltaFor(upTo(crdt.VersionVector{"self": uint64(i)}))
			}
		}()
	}
	for range 4 {
		<-done
	}
	if !strings.Contains(fmt.Sprint(tb.Digest()), "self") {
		t.Error("digest lacks the local observer")
	}
}
