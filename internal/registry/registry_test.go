package registry

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/crdt"
	"github.com/heckhq/heck/internal/store"
	"github.com/heckhq/heck/internal/target"
)

type memStore struct {
	mu   sync.Mutex
	recs map[string]store.ObjectRecord
	fail error
}

func newMem() *memStore { return &memStore{recs: map[string]store.ObjectRecord{}} }

func (m *memStore) PutObjects(_ context.Context, kind string, recs []store.ObjectRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	if kind != store.KindTarget {
		return fmt.Errorf("registry wrote objects of kind %q", kind)
	}
	for _, r := range recs {
		m.recs[r.Key] = r
	}
	return nil
}

func (m *memStore) Objects(_ context.Context, kind string) ([]store.ObjectRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if kind != store.KindTarget {
		return nil, nil
	}
	var out []store.ObjectRecord
	for _, r := range m.recs {
		out = append(out, r)
	}
	return out, nil
}

func spec(id, url string) target.Spec {
	return target.Spec{ID: id, Kind: target.KindHTTP, URL: url}
}

func TestPutDeleteAndNotify(t *testing.T) {
	ctx := context.Background()
	r := New("n1", crdt.NewClock(nil), newMem())
	var got [][]Entry
	r.Subscribe(func(es []Entry, _ bool) { got = append(got, es) })

	created, err := r.Put(ctx, spec("a", "http://127.0.0.1:1/"))
	if err != nil || !created {
		t.Fatalf("first put: created=%v err=%v", created, err)
	}
	created, err = r.Put(ctx, spec("a", "http://127.0.0.1:1/"))
	if err != nil || created {
		t.Fatalf("same put: created=%v err=%v", created, err)
	}
	if len(got) != 1 {
		t.Fatalf("an unchanged put notified: %d batches", len(got))
	}
	if _, err := r.Put(ctx, spec("a", "http://127.0.0.1:2/")); err != nil {
		t.Fatal(err)
	}
	if s, _ := r.Get("a"); s.URL != "http://127.0.0.1:2/" {
		t.Fatalf("update not visible: %q", s.URL)
	}
	if err := r.Delete(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Get("a"); ok {
		t.Fatal("deleted target still visible")
	}
	if err := r.Delete(ctx, "a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v, want ErrNotFound", err)
	}
	if len(got) != 3 || !got[2][0].Deleted {
		t.Fatalf("notifications: %+v", got)
	}
	created, _ = r.Put(ctx, spec("a", "http://127.0.0.1:3/"))
	if !created {
		t.Fatal("re-adding a deleted target should report created")
	}
}

func TestPersistenceSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	st := newMem()
	r := New("n1", crdt.NewClock(nil), st)
	for _, id := range []string{"a", "b", "c"} {
		if _, err := r.Put(ctx, spec(id, "http://127.0.0.1:1/"+id)); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Delete(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	st.recs["bad"] = store.ObjectRecord{Key: "bad", Value: []byte("{not json"), Stamp: 1, Node: "n1"}

	r2 := New("n1", crdt.NewClock(nil), st)
	bad, err := r2.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(bad) != 1 {
		t.Fatalf("bad records: %v, want the one corrupt record", bad)
	}
	if _, ok := st.recs["bad"]; !ok {
		t.Fatal("a corrupt record must stay in the store")
	}
	ids := []string{}
	for _, s := range r2.List() {
		ids = append(ids, s.ID)
	}
	if len(ids) != 2 || ids[0] != "a" || ids[1] != "c" {
		t.Fatalf("after restart: %v, want [a c]", ids)
	}
	// The clock moved past the stored writes: a new write wins.
	if _, err := r2.Put(ctx, spec("a", "http://127.0.0.1:9/")); err != nil {
		t.Fatal(err)
	}
	e, _ := r2.m.Entry("a")
	old, _ := r.m.Entry("a")
	if e.TS <= old.TS {
		t.Fatalf("new write %v does not order after the stored one %v", e.TS, old.TS)
	}
}

func TestPersistFailureChangesNothing(t *testing.T) {
	ctx := context.Background()
	st := newMem()
	r := New("n1", crdt.NewClock(nil), st)
	st.fail = errors.New("disk full")
	if _, err := r.Put(ctx, spec("a", "http://127.0.0.1:1/")); err == nil {
		t.Fatal("put succeeded although the store failed")
	}
	if r.Len() != 0 {
		t.Fatal("a write that was not persisted became visible")
	}
}

func TestMergeConvergesAndTombstonesWin(t *testing.T) {
	ctx := context.Background()
	clock := func(ms int64) *crdt.Clock {
		return crdt.NewClock(func() time.Time { return time.UnixMilli(ms) })
	}
	a := New("a", clock(1000), newMem())
	b := New("b", clock(2000), newMem())
	if _, err := a.Put(ctx, spec("x", "http://127.0.0.1:1/a")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Put(ctx, spec("x", "http://127.0.0.1:1/b")); err != nil {
		t.Fatal(err)
	}
	// Exchange in both directions: b's later write wins everywhere.
	if _, err := a.Merge(ctx, b.Entries()); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Merge(ctx, a.Entries()); err != nil {
		t.Fatal(err)
	}
	sa, _ := a.Get("x")
	sb, _ := b.Get("x")
	if sa.URL != "http://127.0.0.1:1/b" || sb.URL != sa.URL {
		t.Fatalf("not converged: a=%q b=%q", sa.URL, sb.URL)
	}
	// a deletes (its clock has observed b's write, so the tombstone is later).
	if err := a.Delete(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	changed, err := b.Merge(ctx, a.Entries())
	if err != nil || len(changed) != 1 {
		t.Fatalf("merge of tombstone: %v %v", changed, err)
	}
	if _, ok := b.Get("x"); ok {
		t.Fatal("deleted target resurrected on b")
	}
	// Re-merging the old value changes nothing.
	if changed, _ := a.Merge(ctx, []Entry{{Key: "x", Value: sb, TS: 1, Node: "b"}}); len(changed) != 0 {
		t.Fatal("an old write beat a newer tombstone")
	}
}

func TestSyncConfig(t *testing.T) {
	ctx := context.Background()
	r := New("n1", crdt.NewClock(nil), newMem())
	if _, err := r.Put(ctx, spec("api-added", "http://127.0.0.1:1/")); err != nil {
		t.Fatal(err)
	}
	if err := r.SyncConfig(ctx, []target.Spec{spec("c1", "http://127.0.0.1:1/"), spec("c2", "http://127.0.0.1:2/")}); err != nil {
		t.Fatal(err)
	}
	if r.Len() != 3 {
		t.Fatalf("after first sync: %d targets", r.Len())
	}
	if err := r.SyncConfig(ctx, []target.Spec{spec("c2", "http://127.0.0.1:2/")}); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Get("c1"); ok {
		t.Fatal("a target removed from the config file stayed")
	}
	if _, ok := r.Get("api-added"); !ok {
		t.Fatal("a target added through the API was removed by a config sync")
	}
	if s, _ := r.Get("c2"); s.Origin != "config" {
		t.Fatalf("origin %q, want config", s.Origin)
	}
}

func TestStampsAreEntriesWithoutValues(t *testing.T) {
	ctx := context.Background()
	r := New("n1", crdt.NewClock(nil), newMem())
	for _, id := range []string{"a", "b", "c"} {
		if _, err := r.Put(ctx, target.Spec{ID: id, Kind: target.KindTCP, Address: "127.0.0.1:9"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Delete(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	want := map[string]Entry{}
	for _, e := range r.Entries() {
		e.Value = target.Spec{}
		want[e.Key] = e
	}
	got := r.Stamps()
	if len(got) != len(want) {
		t.Fatalf("Stamps = %d entries, want %d", len(got), len(want))
	}
	for _, s := range got {
		if w, ok := want[s.Key]; !ok || s.TS != w.TS || s.Node != w.Node || s.Deleted != w.Deleted || s.Value.ID != "" {
			t.Errorf("stamp %+v, want %+v", s, w)
		}
		if s.Key == "b" && !s.Deleted {
			t.Error("the tombstone of b is missing")
		}
	}
}
