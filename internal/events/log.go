package events

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/store"
)

// LogStore is the part of the store the log uses.
type LogStore interface {
	AddTransitions(ctx context.Context, ts []store.Transition) error
	Transitions(ctx context.Context, q store.TransitionQuery) ([]store.Transition, error)
	TransitionsAfter(ctx context.Context, after int64, limit int) ([]store.Transition, error)
	TransitionByID(ctx context.Context, id string) (store.Transition, error)
	TransitionHeads(ctx context.Context) ([]store.Transition, int64, error)
}

// LogOptions tune a Log; zero fields take the defaults.
type LogOptions struct {
	// MaxPending is how many transitions may wait for the store before
	// Append blocks (back-pressure, never a drop). Default 100,000.
	MaxPending int
	// Keep is how many stored transitions stay in memory for readers
	// that are close behind (further back they read from the store).
	// Default 1,024.
	Keep int
	// FlushEvery is how often waiting transitions are written. Default
	// 200ms.
	FlushEvery time.Duration
	// Logger reports store failures; nil discards.
	Logger *slog.Logger
}

// Log is the node's durable log of transitions, of every target, from
// every node: the spine consumers read. Each transition is kept once (by
// its cluster-wide id) and gets a local sequence number, its position in
// this node's log, which is the cursor readers resume from. Appends never
// drop: while the store is down they wait in memory, and past MaxPending
// Append blocks until the store takes them. A reader that falls behind
// reads on from the store; nothing is lost.
//
// The log also knows where each target stands (its head: the state of its
// latest transition), and refuses a transition to the state a target is
// already in as of a later time: that is the same change heard from two
// nodes (an owner and the node that took over from it, or both sides of a
// healed partition), and must not be listed twice.
type Log struct {
	st   LogStore
	opts LogOptions
	log  *slog.Logger

	mu    sync.Mutex
	space *sync.Cond // signalled when the store takes transitions
	tail  []Transition
	ids   map[string]int64 // id -> seq of the transitions in tail
	// recent holds the hash of every id appended whose time is after
	// covered, so an Append of a new change (the usual case) needs no
	// store read to know it is not a repeat: only a change at or before
	// covered (stored before this log opened, or pruned from recent) or a
	// hash already in recent asks the store.
	seed     maphash.Seed
	recent   map[uint64]struct{}
	recentAt []recentID // recent's ids by time appended, for pruning
	covered  int64      // unix µs
	pruned   time.Time  // when recent was last pruned
	heads    map[string]head
	next     int64 // seq of the next transition
	saved    int64 // highest seq in the store
	wake     chan struct{}
	notify   chan struct{} // closed and replaced at each append
	closed   bool
	sync     bool // write through on Append (NewMemoryLog)
}

// recentID is one entry of Log.recent and its change's time.
type recentID struct {
	h  uint64
	at int64 // unix µs
}

// recentFor is how long an appended id is remembered in memory: a change
// heard again within it (the usual repeat: another observer, a healed
// partition) is refused without a store read.
const recentFor = 10 * time.Minute

// head is where a target stands, packed in 8 bytes since every target has
// one: the unix microsecond of its latest transition above the state.
type head int64

func mkhead(at time.Time, to health.State) head { return head(at.UnixMicro()<<8 | int64(to)) }

func (h head) at() int64        { return int64(h) >> 8 }
func (h head) to() health.State { return health.State(h & 0xff) }

// OpenLog returns the log over st, continuing its sequence and knowing
// each target's head.
func OpenLog(ctx context.Context, st LogStore, opts LogOptions) (*Log, error) {
	if opts.MaxPending <= 0 {
		opts.MaxPending = 100000
	}
	if opts.Keep <= 0 {
		opts.Keep = 1024
	}
	if opts.FlushEvery <= 0 {
		opts.FlushEvery = 200 * time.Millisecond
	}
	l := &Log{st: st, opts: opts, log: opts.Logger, ids: map[string]int64{}, heads: map[string]head{},
		wake: make(chan struct{}, 1), notify: make(chan struct{}),
		seed: maphash.MakeSeed(), recent: map[uint64]struct{}{}, covered: math.MinInt64}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	l.space = sync.NewCond(&l.mu)
	heads, maxSeq, err := st.TransitionHeads(ctx)
	if err != nil {
		return nil, fmt.Errorf("open transition log: %w", err)
	}
	for _, h := range heads {
		l.heads[h.TargetID] = mkhead(h.At, h.To)
	}
	l.saved, l.next = maxSeq, maxSeq+1
	newest, err := st.Transitions(ctx, store.TransitionQuery{Events: true, Limit: 1})
	if err != nil {
		return nil, fmt.Errorf("open transition log: %w", err)
	}
	if len(newest) > 0 {
		// What was stored before is known only to the store.
		l.covered = newest[0].At.UnixMicro()
	}
	return l, nil
}

// Append adds t to the log unless it is already there (same id, or the
// same change: see Log) and returns it with its Seq, and whether it was
// added. It blocks while MaxPending transitions wait for the store.
func (l *Log) Append(ctx context.Context, t Transition) (Transition, bool) {
	var h uint64
	if t.ID != "" {
		h = maphash.String(l.seed, t.ID)
		l.mu.Lock()
		_, seen := l.ids[t.ID]
		_, maybe := l.recent[h]
		ask := maybe || t.At.UnixMicro() <= l.covered
		l.mu.Unlock()
		if seen {
			return t, false
		}
		if ask {
			if _, err := l.st.TransitionByID(ctx, t.ID); err == nil {
				return t, false
			}
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for !l.closed && l.next-1-l.saved >= int64(l.opts.MaxPending) {
		l.space.Wait()
	}
	if l.closed {
		return t, false
	}
	if _, seen := l.ids[t.ID]; seen && t.ID != "" {
		return t, false
	}
	if t.Type != "" {
		// Another kind of event: it has no head to move.
	} else if h, ok := l.heads[t.TargetID]; ok && t.At.UnixMicro() >= h.at() {
		if t.To == h.to() {
			return t, false
		}
		l.heads[t.TargetID] = mkhead(t.At, t.To)
	} else if !ok {
		l.heads[t.TargetID] = mkhead(t.At, t.To)
	}
	t.Seq = l.next
	l.next++
	l.tail = append(l.tail, t)
	if t.ID != "" {
		l.ids[t.ID] = t.Seq
		if at := t.At.UnixMicro(); at > l.covered {
			l.recent[h] = struct{}{}
			l.recentAt = append(l.recentAt, recentID{h, at})
		}
	}
	close(l.notify)
	l.notify = make(chan struct{})
	select {
	case l.wake <- struct{}{}:
	default:
	}
	if l.sync {
		l.mu.Unlock()
		l.flush(ctx)
		l.mu.Lock()
	}
	return t, true
}

// Close ends the log for readers (Wait returns ErrClosed); Run closes it
// when it stops.
func (l *Log) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	l.closed = true
	close(l.notify)
	l.notify = make(chan struct{})
	l.space.Broadcast()
}

// Head returns the state of target's latest transition, if it has one.
func (l *Log) Head(target string) (health.State, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	h, ok := l.heads[target]
	return h.to(), ok
}

// HeadAt returns the state of target's latest transition and when it
// began, if it has one.
func (l *Log) HeadAt(target string) (health.State, time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	h, ok := l.heads[target]
	if !ok {
		return health.Unknown, time.Time{}, false
	}
	return h.to(), time.UnixMicro(h.at()), true
}

// Forget drops a deleted target's head, so a target re-created under the
// same id starts afresh.
func (l *Log) Forget(target string) {
	l.mu.Lock()
	delete(l.heads, target)
	l.mu.Unlock()
}

// Last returns the seq of the newest transition (0 when empty).
func (l *Log) Last() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.next - 1
}

// SeqOf returns the seq of the transition with id, for a reader resuming
// after it (an SSE client's Last-Event-ID).
func (l *Log) SeqOf(ctx context.Context, id string) (int64, bool) {
	l.mu.Lock()
	seq, ok := l.ids[id]
	l.mu.Unlock()
	if ok {
		return seq, true
	}
	t, err := l.st.TransitionByID(ctx, id)
	if err != nil {
		return 0, false
	}
	return t.Seq, true
}

// ErrClosed is returned by Wait once the log is closed.
var ErrClosed = errors.New("transition log closed")

// Wait blocks until the log holds a transition after seq, ctx ends, or
// the log closes.
func (l *Log) Wait(ctx context.Context, after int64) error {
	for {
		l.mu.Lock()
		if l.next-1 > after {
			l.mu.Unlock()
			return nil
		}
		if l.closed {
			l.mu.Unlock()
			return ErrClosed
		}
		ch := l.notify
		l.mu.Unlock()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}

// Read returns up to limit transitions after seq, in log order: from
// memory when the reader is close behind, else from the store.
func (l *Log) Read(ctx context.Context, after int64, limit int) ([]Transition, error) {
	if limit <= 0 {
		limit = 256
	}
	l.mu.Lock()
	if len(l.tail) > 0 && after+1 >= l.tail[0].Seq || len(l.tail) == 0 && after >= l.saved {
		i, _ := slices.BinarySearchFunc(l.tail, after+1, func(t Transition, seq int64) int { return int(t.Seq - seq) })
		out := slices.Clone(l.tail[i:min(len(l.tail), i+limit)])
		l.mu.Unlock()
		return out, nil
	}
	l.mu.Unlock()
	// Older than memory holds: all of it is in the store.
	rows, err := l.st.TransitionsAfter(ctx, after, limit)
	if err != nil {
		return nil, fmt.Errorf("read transitions after %d: %w", after, err)
	}
	out := make([]Transition, len(rows))
	for i, r := range rows {
		out[i] = FromStore(r)
	}
	return out, nil
}

// Query returns the transitions q selects, newest first, those not yet
// stored included.
func (l *Log) Query(ctx context.Context, q store.TransitionQuery) ([]Transition, error) {
	l.mu.Lock()
	var mem []Transition
	for _, t := range l.tail {
		if (q.TargetID == "" || t.TargetID == q.TargetID) && !t.At.Before(q.From) && (q.To.IsZero() || t.At.Before(q.To)) && typeMatches(q, t.Type) {
			mem = append(mem, t)
		}
	}
	l.mu.Unlock()
	rows, err := l.st.Transitions(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("read transitions: %w", err)
	}
	seen := make(map[string]bool, len(mem))
	for _, t := range mem {
		seen[t.ID] = true
	}
	all := mem
	for _, r := range rows {
		if r.ID == "" || !seen[r.ID] {
			all = append(all, FromStore(r))
		}
	}
	slices.SortFunc(all, func(a, b Transition) int {
		if c := b.At.Compare(a.At); c != 0 {
			return c
		}
		return int(b.Seq - a.Seq)
	})
	if q.Limit > 0 && len(all) > q.Limit {
		all = all[:q.Limit]
	}
	return all, nil
}

// Run writes appended transitions to the store until ctx ends, then
// writes what is left (within a bounded time) and closes the log.
func (l *Log) Run(ctx context.Context) {
	t := time.NewTicker(l.opts.FlushEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			for l.flush(fctx) > 0 && fctx.Err() == nil {
			}
			cancel()
			l.Close()
			return
		case <-t.C:
		case <-l.wake:
		}
		for l.flush(ctx) >= flushBatch {
		}
	}
}

const flushBatch = 1000

// flush writes up to one batch of waiting transitions and returns how many
// it wrote.
func (l *Log) flush(ctx context.Context) int {
	l.mu.Lock()
	i, _ := slices.BinarySearchFunc(l.tail, l.saved+1, func(t Transition, seq int64) int { return int(t.Seq - seq) })
	batch := slices.Clone(l.tail[i:min(len(l.tail), i+flushBatch)])
	l.mu.Unlock()
	if len(batch) == 0 {
		return 0
	}
	rows := make([]store.Transition, len(batch))
	for i, t := range batch {
		rows[i] = t.store()
	}
	if err := l.st.AddTransitions(ctx, rows); err != nil {
		l.log.Warn("transitions wait in memory: the store refused them; retrying", "waiting", l.pending(), "err", err)
		return 0
	}
	l.mu.Lock()
	l.forgetRecent(time.Now())
	l.saved = batch[len(batch)-1].Seq
	if drop := len(l.tail) - l.opts.Keep; drop > 0 {
		// Keep only stored transitions beyond Keep; waiting ones stay.
		j, _ := slices.BinarySearchFunc(l.tail, l.saved+1, func(t Transition, seq int64) int { return int(t.Seq - seq) })
		drop = min(drop, j)
		for _, t := range l.tail[:drop] {
			delete(l.ids, t.ID)
		}
		l.tail = slices.Delete(l.tail, 0, drop)
	}
	l.space.Broadcast()
	l.mu.Unlock()
	return len(batch)
}

// forgetRecent drops, at most every tenth of recentFor, the recent ids of
// changes older than recentFor; changes that old ask the store from then
// on. Called with mu held.
func (l *Log) forgetRecent(now time.Time) {
	if now.Sub(l.pruned) < recentFor/10 {
		return
	}
	l.pruned = now
	cutoff := now.Add(-recentFor).UnixMicro()
	if cutoff <= l.covered {
		return
	}
	l.covered = cutoff
	keep := l.recentAt[:0]
	for _, r := range l.recentAt {
		if r.at > cutoff {
			keep = append(keep, r)
		} else {
			delete(l.recent, r.h)
		}
	}
	l.recentAt = keep
}

func (l *Log) pending() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.next - 1 - l.saved
}

// FromStore converts a stored transition.
func FromStore(r store.Transition) Transition {
	return Transition{ID: r.ID, Seq: r.Seq, TargetID: r.TargetID, From: r.From, To: r.To, At: r.At, Cause: r.Cause, Observer: r.Observer,
		Type: r.Type, Subject: r.Subject, Before: r.Before, After: r.After}
}

func (t Transition) store() store.Transition {
	return store.Transition{ID: t.ID, Seq: t.Seq, TargetID: t.TargetID, From: t.From, To: t.To, At: t.At, Cause: t.Cause, Observer: t.Observer,
		Type: t.Type, Subject: t.Subject, Before: t.Before, After: t.After}
}

// TransitionID derives a transition's id from the change itself: the
// target, the observer whose state changed, when the new state began (as
// the observer's observation says, to the nanosecond) and the new state.
// The observer and every node that merges its observation derive the
// same id, so each change is one transition however many nodes list it.
func TransitionID(target, observer string, since time.Time, to health.State) string {
	h := sha256.New()
	var b [9]byte
	binary.BigEndian.PutUint64(b[:8], uint64(since.UnixNano()))
	b[8] = byte(to)
	h.Write([]byte(target))
	h.Write([]byte{0})
	h.Write([]byte(observer))
	h.Write([]byte{0})
	h.Write(b[:])
	return hex.EncodeToString(h.Sum(nil)[:12])
}
