package crdt

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
)

func genVV(seed uint64) VersionVector {
	r := rand.New(rand.NewPCG(seed, 11))
	v := VersionVector{}
	for range r.IntN(6) {
		v[fmt.Sprintf("o%d", r.IntN(5))] = uint64(r.IntN(10))
	}
	return v
}

func merged(vs ...VersionVector) VersionVector {
	out := VersionVector{}
	for _, v := range vs {
		out.Merge(v)
	}
	return out
}

func TestVersionVectorLaws(t *testing.T) {
	check(t, "commutative", func(a, b uint64) bool {
		return merged(genVV(a), genVV(b)).Equal(merged(genVV(b), genVV(a)))
	})
	check(t, "associative", func(a, b, c uint64) bool {
		x, y, z := genVV(a), genVV(b), genVV(c)
		return merged(merged(x, y), z).Equal(merged(x, merged(y, z)))
	})
	check(t, "idempotent", func(a uint64) bool {
		x := genVV(a)
		return merged(x, x).Equal(x)
	})
	check(t, "merge is the least upper bound", func(a, b uint64) bool {
		x, y := genVV(a), genVV(b)
		m := merged(x, y)
		if !m.Covers(x) || !m.Covers(y) {
			return false
		}
		for k, s := range m { // nothing above both inputs
			if s != max(x[k], y[k]) {
				return false
			}
		}
		return true
	})
	check(t, "missing is exactly what covers lacks", func(a, b uint64) bool {
		x, y := genVV(a), genVV(b)
		gaps := x.Missing(y)
		if (len(gaps) == 0) != y.Covers(x) {
			return false
		}
		// Filling the gaps makes y cover x.
		z := y.Clone()
		for _, g := range gaps {
			if g.After != y[g.Observer] || g.Upto != x[g.Observer] || g.After >= g.Upto {
				return false
			}
			z.Observe(g.Observer, g.Upto)
		}
		return z.Covers(x)
	})
}

func TestVersionVectorBasics(t *testing.T) {
	var nilVV VersionVector
	if nilVV.Get("x") != 0 || !nilVV.Covers(nil) || len(nilVV.Missing(VersionVector{"a": 1})) != 0 {
		t.Error("nil vector should read as empty")
	}
	v := nilVV.Clone()
	if !v.Observe("a", 3) || v.Observe("a", 2) || v.Get("a") != 3 {
		t.Errorf("Observe: %v", v)
	}
	w := VersionVector{"a": 1, "b": 5, "c": 0}
	if v.Covers(w) || !(VersionVector{"a": 3, "b": 5}).Covers(w) {
		t.Error("Covers wrong")
	}
	gaps := (VersionVector{"b": 9, "a": 4, "c": 1}).Missing(w)
	want := []Gap{{"a", 1, 4}, {"b", 5, 9}, {"c", 0, 1}}
	if !reflect.DeepEqual(gaps, want) {
		t.Errorf("Missing = %v, want %v", gaps, want)
	}
	c := w.Clone()
	c["a"] = 100
	if w["a"] != 1 {
		t.Error("Clone shares storage")
	}
}
