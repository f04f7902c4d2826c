package health

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/heckhq/heck/internal/crdt"
)

func TestSummaryListsHoles(t *testing.T) {
	tb := NewTable(TableOptions{})
	for _, s := range []uint64{1, 2, 3, 5, 6, 9, 10, 14} {
		tb.Apply(obsOf(fmt.Sprint("t", s), "a", s))
	}
	tb.ApplyWatermarks(Watermark{Observer: "b", Seq: 1})
	got := tb.Summary()
	want := Summary{
		"a": {Complete: 3, Max: 14, Holes: []SeqRange{{4, 4}, {7, 8}, {11, 13}}},
		"b": {Complete: 1, Max: 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Summary = %+v\nwant %+v", got, want)
	}
	for seq, lacks := range map[uint64]bool{1: false, 3: false, 4: true, 5: false, 7: true, 8: true, 9: false, 12: true, 14: false, 15: true} {
		e := want["a"]
		if e.lacks(seq) != lacks {
			t.Errorf("lacks(%d) = %v, want %v", seq, !lacks, lacks)
		}
	}
}

func TestSummaryTruncatesHoles(t *testing.T) {
	tb := NewTable(TableOptions{})
	tb.Apply(obsOf("t0", "a", 1))
	for i := range maxHoles + 5 {
		s := uint64(3 + 2*i) // every other sequence missing
		tb.Apply(obsOf(fmt.Sprint("t", s), "a", s))
	}
	e := tb.Summary()["a"]
	if len(e.Holes) != maxHoles || e.Complete != 1 {
		t.Fatalf("holes %d complete %d", len(e.Holes), e.Complete)
	}
	// Max stops below the first hole left out: the peer resends from there.
	if last := e.Holes[maxHoles-1]; e.Max != last.Hi+1 {
		t.Errorf("Max = %d, last hole %+v", e.Max, last)
	}
}

// The cost bug this replaces: two tables that both hold everything above a
// hole nobody can fill (a lost message that was superseded) exchanged
// everything above the hole at every round. With summaries they exchange
// nothing.
func TestDeltaForSendsOnlyWhatIsMissing(t *testing.T) {
	a, b := NewTable(TableOptions{}), NewTable(TableOptions{})
	var all []Observation
	for s := uint64(1); s <= 500; s++ {
		o := obsOf(fmt.Sprint("t", s%50), "x", s)
		all = append(all, o)
		if s != 7 { // lost everywhere but at x; superseded later by seq 57
			a.Apply(o)
			b.Apply(o)
		}
	}
	if d := a.DeltaFor(b.Summary()); len(d.Observations) != 0 || len(d.Watermarks) != 0 {
		t.Fatalf("answer to an equal table carries %d observations", len(d.Observations))
	}
	// b misses two live ones: exactly those come back.
	c := NewTable(TableOptions{})
	for _, o := range all {
		if o.Seq != 7 && o.Seq != 480 && o.Seq != 499 {
			c.Apply(o)
		}
	}
	d := a.DeltaFor(c.Summary())
	if len(d.Observations) != 2 || d.Observations[0].Seq != 480 || d.Observations[1].Seq != 499 {
		t.Fatalf("answer = %+v, want seqs 480 and 499", d.Observations)
	}
	c.Merge(d)
	if !reflect.DeepEqual(snap(c).Obs, snap(a).Obs) {
		t.Error("after the answer c differs from a")
	}
	// x itself holds 7's successor and a complete log: its answer raises
	// the others' digests past the hole.
	x := NewTable(TableOptions{})
	x.Apply(all...)
	a.Merge(x.DeltaFor(a.Summary()))
	if got := a.Digest()["x"]; got != 500 {
		t.Errorf("after an answer from x, digest = %d, want 500", got)
	}
}

func TestSummaryCodec(t *testing.T) {
	for _, s := range []Summary{
		{},
		{"a": {Complete: 3, Max: 14, Holes: []SeqRange{{4, 4}, {7, 8}, {11, 13}}}, "node-b": {Complete: 1 << 40, Max: 1 << 40}},
		{"x": {Complete: 0, Max: ^uint64(0), Holes: []SeqRange{{1, 1 << 63}}}},
	} {
		b := AppendSummary(nil, s)
		got, err := DecodeSummary(b)
		if err != nil {
			t.Fatalf("decode %+v: %v", s, err)
		}
		if len(got) != len(s) || (len(s) > 0 && !reflect.DeepEqual(got, s)) {
			t.Errorf("round trip = %+v, want %+v", got, s)
		}
		for i := range len(b) - 1 {
			if _, err := DecodeSummary(b[:i]); err == nil && i > 0 {
				t.Errorf("truncated to %d of %d bytes: no error", i, len(b))
			}
		}
	}
	bad := [][]byte{
		{2, 0},                        // version
		{1, 1, 1, 'a', 5, 2, 1, 0, 3}, // hole beyond max
		{1, 1, 1, 'a', 5, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0}, // max overflows
	}
	for _, b := range bad {
		if _, err := DecodeSummary(b); !errors.Is(err, crdt.ErrCorrupt) {
			t.Errorf("DecodeSummary(%v) = %v, want ErrCorrupt", b, err)
		}
	}
}

func FuzzDecodeSummary(f *testing.F) {
	f.Add(AppendSummary(nil, Summary{"a": {Complete: 3, Max: 14, Holes: []SeqRange{{4, 4}, {7, 8}}}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeSummary(b)
		if err != nil {
			return
		}
		for o, e := range s {
			if e.Max < e.Complete {
				t.Fatalf("%s: max %d < complete %d", o, e.Max, e.Complete)
			}
			prev := e.Complete
			for _, h := range e.Holes {
				if h.Lo <= prev || h.Hi < h.Lo || h.Hi > e.Max {
					t.Fatalf("%s: bad hole %+v", o, h)
				}
				prev = h.Hi
			}
		}
	})
}
