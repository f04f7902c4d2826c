package replica

import (
	"context"
	"fmt"
	"testing"

	"github.com/heckhq/heck/internal/crdt"
	"github.com/heckhq/heck/internal/objects"
)

var noteKind = objects.Kind[string]{Name: "note"}

func withNotes(nd *node) *objects.Collection[string] {
	c := objects.New(noteKind, nd.name, crdt.NewClock(nil), nil)
	nd.rep.AddCollection(c)
	return c
}

func TestObjectsBroadcastAndRelay(t *testing.T) {
	n := newNet()
	a, b, c := newNode(n, "a", true), newNode(n, "b", true), newNode(n, "c", true)
	na, nb, nc := withNotes(a), withNotes(b), withNotes(c)
	ctx := context.Background()
	if err := na.Put(ctx, "k1", "hello"); err != nil {
		t.Fatal(err)
	}
	a.rep.flush()
	n.flush()
	b.rep.flush() // relays
	c.rep.flush()
	n.flush()
	for name, coll := range map[string]*objects.Collection[string]{"b": nb, "c": nc} {
		if v, ok := coll.Get("k1"); !ok || v != "hello" {
			t.Fatalf("%s: k1 = %q %v, want hello", name, v, ok)
		}
	}
	if err := nb.Delete(ctx, "k1"); err != nil {
		t.Fatal(err)
	}
	b.rep.flush()
	n.flush()
	if _, ok := na.Get("k1"); ok {
		t.Fatal("a still has the deleted note")
	}
}

func TestObjectsAntiEntropy(t *testing.T) {
	n := newNet()
	a := newNode(n, "a", true)
	b := newNode(n, "b", false) // partitioned
	na, nb := withNotes(a), withNotes(b)
	ctx := context.Background()
	for i := 0; i < 300; i++ {
		if err := na.Put(ctx, fmt.Sprintf("a%03d", i), "x"); err != nil {
			t.Fatal(err)
		}
	}
	if err := nb.Put(ctx, "only-b", "y"); err != nil {
		t.Fatal(err)
	}
	a.rep.flush()
	b.rep.flush() // nobody hears either
	n.flush()
	connect(n, b)
	exchange(a, b)
	if na.Digest() != nb.Digest() || na.Len() != 301 || nb.Len() != 301 {
		t.Fatalf("after one exchange: a %d, b %d notes, digests equal %v", na.Len(), nb.Len(), na.Digest() == nb.Digest())
	}
	// Converged: another exchange sends no repair.
	exchange(a, b)
	repairs := a.rep.Stats()[FlowObjectsRepair].Messages + b.rep.Stats()[FlowObjectsRepair].Messages
	if repairs != 2+2+2 { // a digest each per exchange, one repair each in the first
		t.Errorf("objects repair messages = %d, want 6", repairs)
	}
}

// A node that does not know a kind (an older binary, or the kind not
// registered) ignores its messages and digests without harm.
func TestObjectsUnknownKindIgnored(t *testing.T) {
	n := newNet()
	a, b := newNode(n, "a", true), newNode(n, "b", true)
	na := withNotes(a)
	if err := na.Put(context.Background(), "k", "v"); err != nil {
		t.Fatal(err)
	}
	a.rep.flush()
	exchange(a, b)
	n.flush()
	b.rep.apply(context.Background(), "a", []byte{kindObjects})       // truncated
	b.rep.apply(context.Background(), "a", []byte{kindObjectsDigest}) // truncated
	b.rep.apply(context.Background(), "a", []byte{kindObjectsDigest, 5, 1, 'x'})
	if b.reg.Len() != 0 {
		t.Fatal("b's registry changed")
	}
}
