package events_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/events"
	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/store"
	"github.com/heckhq/heck/internal/store/sqlite"
)

func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "heck.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func tr(id, target string, sec int, from, to health.State) events.Transition {
	return events.Transition{ID: id, TargetID: target, From: from, To: to, At: t0.Add(time.Duration(sec) * time.Second), Cause: id, Observer: "n1"}
}

func runLog(t *testing.T, st events.LogStore, opts events.LogOptions) (*events.Log, func()) {
	t.Helper()
	l, err := events.OpenLog(context.Background(), st, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); l.Run(ctx) }()
	stop := func() { cancel(); <-done }
	t.Cleanup(stop)
	return l, sync.OnceFunc(stop)
}

func TestLogKeepsEachChangeOnce(t *testing.T) {
	l, _ := runLog(t, openStore(t), events.LogOptions{})
	c := context.Background()
	steps := []struct {
		t    events.Transition
		want bool
	}{
		{tr("a1", "a", 1, health.Unknown, health.Up), true},
		{tr("a1", "a", 1, health.Unknown, health.Up), false}, // the same id again
		{tr("b2", "a", 2, health.Unknown, health.Up), false}, // another node judged the same change
		{tr("a3", "a", 3, health.Up, health.Down), true},
		{tr("b3", "a", 4, health.Up, health.Down), false}, // a take-over seeing the same outage
		{tr("a0", "a", 0, health.Down, health.Up), true},  // history heard late is kept
		{tr("x1", "x", 1, health.Unknown, health.Down), true},
	}
	for i, s := range steps {
		if _, ok := l.Append(c, s.t); ok != s.want {
			t.Errorf("step %d: Append(%s) = %v, want %v", i, s.t.ID, ok, s.want)
		}
	}
	if h, _ := l.Head("a"); h != health.Down {
		t.Errorf("head of a = %v, want down (the late older change does not move it)", h)
	}
	got, err := l.Query(c, store.TransitionQuery{TargetID: "a"})
	if err != nil {
		t.Fatal(err)
	}
	if ids := idsOf(got); fmt.Sprint(ids) != "[a3 a1 a0]" {
		t.Errorf("Query(a) = %v, want [a3 a1 a0] newest first", ids)
	}
}

func idsOf(ts []events.Transition) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.ID
	}
	return out
}

// A reader that stops reading for a while loses nothing: it reads on from
// memory, then from the store once memory has moved on.
func TestLogSlowReaderLosesNothing(t *testing.T) {
	st := openStore(t)
	l, _ := runLog(t, st, events.LogOptions{Keep: 8, FlushEvery: time.Millisecond})
	c := context.Background()
	const n = 200
	for i := range n {
		to := health.Down
		if i%2 == 1 {
			to = health.Up
		}
		if _, ok := l.Append(c, tr(fmt.Sprintf("t%d", i), "a", i, 0, to)); !ok {
			t.Fatalf("append %d refused", i)
		}
	}
	var cursor int64
	var got []string
	for cursor < int64(n) {
		wctx, cancel := context.WithTimeout(c, 10*time.Second)
		if err := l.Wait(wctx, cursor); err != nil {
			t.Fatalf("wait after %d: %v", cursor, err)
		}
		cancel()
		ts, err := l.Read(c, cursor, 7)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range ts {
			if x.Seq != cursor+1 {
				t.Fatalf("read seq %d after %d: a gap or a duplicate", x.Seq, cursor)
			}
			cursor = x.Seq
			got = append(got, x.ID)
		}
	}
	for i, id := range got {
		if id != fmt.Sprintf("t%d", i) {
			t.Fatalf("read %d = %s, want t%d", i, id, i)
		}
	}
}

// flakyStore fails writes while down is set.
type flakyStore struct {
	*sqlite.Store
	mu   sync.Mutex
	down bool
}

func (f *flakyStore) AddTransitions(ctx context.Context, ts []store.Transition) error {
	f.mu.Lock()
	down := f.down
	f.mu.Unlock()
	if down {
		return errors.New("store down")
	}
	return f.Store.AddTransitions(ctx, ts)
}

// While the store is down, appends wait in memory; past MaxPending they
// block instead of dropping, and go on once the store is back.
func TestLogBackPressure(t *testing.T) {
	fs := &flakyStore{Store: openStore(t), down: true}
	l, stop := runLog(t, fs, events.LogOptions{MaxPending: 4, FlushEvery: time.Millisecond})
	c := context.Background()
	for i := range 4 {
		l.Append(c, tr(fmt.Sprintf("t%d", i), fmt.Sprint(i), 0, 0, health.Down))
	}
	appended := make(chan bool)
	go func() {
		_, ok := l.Append(c, tr("t4", "4", 0, 0, health.Down))
		appended <- ok
	}()
	select {
	case <-appended:
		t.Fatal("the fifth append did not wait for the store")
	case <-time.After(50 * time.Millisecond):
	}
	fs.mu.Lock()
	fs.down = false
	fs.mu.Unlock()
	if ok := <-appended; !ok {
		t.Fatal("the fifth append was refused once the store was back")
	}
	stop() // the final flush writes the rest
	rows, err := fs.TransitionsAfter(c, 0, 0)
	if err != nil || len(rows) != 5 {
		t.Fatalf("stored %d transitions (%v), want 5", len(rows), err)
	}
	// Reopened, the log continues its sequence and knows the heads.
	l2, _ := runLog(t, fs, events.LogOptions{})
	if l2.Last() != 5 {
		t.Errorf("reopened log's last seq = %d, want 5", l2.Last())
	}
	if _, ok := l2.Append(c, tr("again", "4", 9, health.Unknown, health.Down)); ok {
		t.Error("reopened log took a change to the state the target is already in")
	}
	if seq, ok := l2.SeqOf(c, "t2"); !ok || seq != 3 {
		t.Errorf("SeqOf(t2) = %d, %v; want 3 from the store", seq, ok)
	}
}

// countingStore counts the store reads Append makes to know a change is
// not a repeat.
type countingStore struct {
	*sqlite.Store
	mu    sync.Mutex
	reads int
}

func (c *countingStore) TransitionByID(ctx context.Context, id string) (store.Transition, error) {
	c.mu.Lock()
	c.reads++
	c.mu.Unlock()
	return c.Store.TransitionByID(ctx, id)
}

func (c *countingStore) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reads
}

// waitStored waits until the store itself holds id.
func waitStored(t *testing.T, st *sqlite.Store, id string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := st.TransitionByID(context.Background(), id); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not stored within 10s", id)
		}
		time.Sleep(time.Millisecond)
	}
}

// A new change is appended without reading the store; a repeat is refused
// however far back it went: out of memory into the store, from before the
// log opened, or older than the log remembers.
func TestLogRepeatsWithoutStoreReads(t *testing.T) {
	st := &countingStore{Store: openStore(t)}
	l, stop := runLog(t, st, events.LogOptions{Keep: 1, FlushEvery: time.Millisecond})
	c := context.Background()
	now := time.Now()
	cfg := func(i int, at time.Time) events.Transition {
		return events.Transition{ID: fmt.Sprintf("n%d", i), Type: "config", TargetID: "x", Subject: "target/x", At: at, After: "{}"}
	}
	for i := range 100 {
		if _, ok := l.Append(c, cfg(i, now.Add(time.Duration(i)*time.Millisecond))); !ok {
			t.Fatalf("new change n%d refused", i)
		}
	}
	if r := st.count(); r != 0 {
		t.Errorf("100 new changes read the store %d times, want 0", r)
	}
	waitStored(t, st.Store, "n99")
	if _, ok := l.Append(c, cfg(3, now.Add(3*time.Millisecond))); ok {
		t.Error("n3 again, stored and out of memory: appended twice")
	}
	// A change older than the log remembers asks the store.
	old := cfg(1000, now.Add(-time.Hour))
	if _, ok := l.Append(c, old); !ok {
		t.Fatal("an old change heard late refused")
	}
	waitStored(t, st.Store, old.ID)
	if _, ok := l.Append(c, old); ok {
		t.Error("the old change again: appended twice")
	}
	stop()

	// A new log over the same store refuses what the store holds.
	l2, _ := runLog(t, st, events.LogOptions{})
	before := st.count()
	if _, ok := l2.Append(c, cfg(5, now.Add(5*time.Millisecond))); ok {
		t.Error("n5 again after reopening: appended twice")
	}
	if _, ok := l2.Append(c, cfg(200, now.Add(time.Second))); !ok {
		t.Fatal("a new change after reopening refused")
	}
	if r := st.count() - before; r != 1 {
		t.Errorf("after reopening, a repeat and a new change read the store %d times, want 1 (the repeat)", r)
	}
}
