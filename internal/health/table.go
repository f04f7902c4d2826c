package health

import (
	"cmp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heckhq/heck/internal/crdt"
)

// Observation is one observer's latest word on one target: a single-writer
// register, ordered by the observer's sequence number.
type Observation struct {
	TargetID string
	Observer string
	// Seq is the observer's sequence number, strictly increasing over
	// everything the observer publishes (observations and watermarks).
	Seq      uint64
	State    State
	Since    time.Time     // when State began
	At       time.Time     // when the probe ran
	Latency  time.Duration // of that probe
	Message  string
	Interval time.Duration // the target's probe interval, to judge staleness
	// Released says the observer has stopped probing the target (it no
	// longer owns it); readers ignore the observation, which stays only so
	// that older copies of it cannot come back.
	Released bool
	// Verdict is the cluster's verdict of a target with several owners, as
	// its primary owner (this observer) judged it from every owner's
	// observations, and VerdictSince when that verdict began: every node
	// derives the target's transitions from it, so all derive the same
	// ones. Unknown when the observer does not judge the target.
	Verdict      State
	VerdictSince time.Time
	// Fails and ErrorPct are the outlier summary a pool's judge needs of
	// a member it does not probe: the observer's consecutive failed
	// probes (at most MaxFails) and the share of its recent probes that
	// failed, in percent rounded to 10 (ErrorBucket). A change of Fails is
	// published at once (it heads for a transition); a change of ErrorPct
	// only within the latency budget, like a latency bucket.
	Fails    uint8
	ErrorPct uint8
}

// Watermark is an observer's claim that everything it owns was probed as
// of At. It is a register per observer, ordered by Seq like observations
// (and from the same sequence), so a node that publishes nothing new keeps
// its observations fresh with one small message.
type Watermark struct {
	Observer string
	Seq      uint64
	At       time.Time
}

// Delta is what travels between tables: observations and watermarks, and,
// in an anti-entropy answer, the sender's digest at the moment it computed
// the delta. Gossip deltas carry no digest.
type Delta struct {
	Observations []Observation
	Watermarks   []Watermark
	Digest       crdt.VersionVector
}

// Empty reports whether d carries nothing.
func (d *Delta) Empty() bool {
	return len(d.Observations) == 0 && len(d.Watermarks) == 0 && len(d.Digest) == 0
}

// TableOptions tune how observations are judged. Zero values take the
// defaults.
type TableOptions struct {
	// StaleAfter is how many intervals an observation stays fresh
	// (default 3).
	StaleAfter int
	// MinStale is the shortest age at which an observation is stale,
	// whatever its interval (default 3 s: three watermark periods), so a
	// target probed every 200 ms does not flap to stale between watermarks.
	// It is the floor: SetClusterSize raises it to StaleWatermarks periods
	// of a large cluster's longer watermark period.
	MinStale time.Duration
}

// Defaults of TableOptions.
const (
	DefaultStaleAfter = 3
	DefaultMinStale   = 3 * time.Second
	// DefaultInterval is assumed for observations that carry none.
	DefaultInterval = 10 * time.Second
)

func (o TableOptions) withDefaults() TableOptions {
	if o.StaleAfter <= 0 {
		o.StaleAfter = DefaultStaleAfter
	}
	if o.MinStale <= 0 {
		o.MinStale = DefaultMinStale
	}
	return o
}

// Table is the replicated table of observations and watermarks. Merging is
// per (target, observer) "higher Seq wins", and per observer for
// watermarks, so it is commutative, associative and idempotent: tables
// that received the same observations in any order, any number of times,
// hold the same. Safe for concurrent use.
//
// Its digest is a version vector: for each observer, the sequence up to
// which this table holds everything the observer published (or what has
// since replaced it). Gossip delivers out of order and may lose messages,
// so the digest counts a sequence only once every earlier one has arrived
// (or an anti-entropy answer vouched for it); a lost delta therefore shows
// up as a gap that the next anti-entropy round fills, instead of being
// hidden behind a higher number.
type Table struct {
	opts     TableOptions
	minStale atomic.Int64 // ns: opts.MinStale, raised by SetClusterSize

	mu        sync.RWMutex
	targets   map[string][]Observation // target -> one per observer, sorted by observer
	observers map[string]*observerLog
	forgotten map[string]map[string]uint64 // target -> observer -> highest forgotten seq
}

// observerLog is what the table knows of one observer.
type observerLog struct {
	wm    Watermark
	hasWM bool

	// index lists (seq, target) of the observer's observations in seq
	// order, including superseded ones (dead) until compaction; DeltaFor
	// walks it from a peer's summary, so its cost follows the difference.
	index []indexEntry
	dead  int

	// complete is the digest entry; pending holds sequences seen above
	// complete+1, waiting for the gap below them to fill.
	complete uint64
	pending  map[uint64]struct{}
}

type indexEntry struct {
	seq    uint64
	target string
}

// maxPending bounds the out-of-order sequences remembered per observer;
// beyond it the digest just stays lower until anti-entropy vouches.
const maxPending = 4096

// NewTable returns an empty table.
func NewTable(opts TableOptions) *Table {
	t := &Table{
		opts:      opts.withDefaults(),
		targets:   map[string][]Observation{},
		observers: map[string]*observerLog{},
		forgotten: map[string]map[string]uint64{},
	}
	t.minStale.Store(int64(t.opts.MinStale))
	return t
}

// Options returns the options in effect (defaults filled in, MinStale as
// SetClusterSize last set it).
func (t *Table) Options() TableOptions {
	o := t.opts
	o.MinStale = t.MinStale()
	return o
}

// SetClusterSize tells the table how many members the cluster has, so an
// observation stays fresh for at least StaleWatermarks of the cluster's
// watermark periods (WatermarkPeriod): MinStale becomes
// max(TableOptions.MinStale, 3 periods), which is the configured floor up
// to 400 members. Safe to call at any time.
func (t *Table) SetClusterSize(members int) {
	t.minStale.Store(int64(max(t.opts.MinStale, StaleWatermarks*WatermarkPeriod(members))))
}

// MinStale returns the shortest age at which an observation is stale now.
func (t *Table) MinStale() time.Duration { return time.Duration(t.minStale.Load()) }

func (t *Table) log(observer string) *observerLog {
	l := t.observers[observer]
	if l == nil {
		l = &observerLog{}
		t.observers[observer] = l
	}
	return l
}

// Epochs: a sequence is epoch<<32 | counter. A publisher starts a new
// epoch (counter 1) when it starts, so a restarted observer's sequences
// exceed its old ones without remembering them.
const epochShift = 32

// SeqEpoch and SeqCounter split a sequence number.
func SeqEpoch(seq uint64) uint32   { return uint32(seq >> epochShift) }
func SeqCounter(seq uint64) uint32 { return uint32(seq) }

// MakeSeq builds a sequence number.
func MakeSeq(epoch, counter uint32) uint64 { return uint64(epoch)<<epochShift | uint64(counter) }

// saw records that seq from this observer has arrived.
func (l *observerLog) saw(seq uint64) {
	switch {
	case seq <= l.complete:
		return
	case seq == l.complete+1,
		SeqCounter(seq) == 1 && SeqEpoch(seq) > SeqEpoch(l.complete):
		// The next in line, or the first of a newer epoch: a restarted
		// observer republishes what it owns, so older gaps are moot.
		l.advance(seq)
	default:
		if l.pending == nil {
			l.pending = map[uint64]struct{}{}
		}
		if len(l.pending) < maxPending {
			l.pending[seq] = struct{}{}
		}
	}
}

// advance raises complete to at least seq and then as far as pending
// sequences continue it.
func (l *observerLog) advance(seq uint64) {
	if seq <= l.complete {
		return
	}
	l.complete = seq
	if len(l.pending) == 0 {
		return
	}
	for {
		if _, ok := l.pending[l.complete+1]; !ok {
			break
		}
		l.complete++
	}
	for s := range l.pending {
		if s <= l.complete {
			delete(l.pending, s)
		}
	}
}

// Apply merges observations and returns those that changed the table: the
// delta to pass on.
func (t *Table) Apply(obs ...Observation) []Observation {
	t.mu.Lock()
	defer t.mu.Unlock()
	var changed []Observation
	for i := range obs {
		if t.apply(&obs[i]) {
			if changed == nil {
				changed = make([]Observation, 0, len(obs)-i)
			}
			changed = append(changed, obs[i])
		}
	}
	return changed
}

func (t *Table) apply(o *Observation) bool {
	l := t.log(o.Observer)
	l.saw(o.Seq)
	if f, ok := t.forgotten[o.TargetID]; ok && o.Seq <= f[o.Observer] {
		return false
	}
	row := t.targets[o.TargetID]
	i, found := slices.BinarySearchFunc(row, o.Observer, func(a Observation, obs string) int {
		return strings.Compare(a.Observer, obs)
	})
	if found {
		if o.Seq <= row[i].Seq {
			return false
		}
		row[i] = *o
		l.dead++
	} else {
		row = slices.Insert(row, i, *o)
		t.targets[o.TargetID] = row
	}
	l.insert(indexEntry{seq: o.Seq, target: o.TargetID})
	if l.dead > 64 && l.dead > len(l.index)/2 {
		t.compact(o.Observer, l)
	}
	return true
}

func (l *observerLog) insert(e indexEntry) {
	n := len(l.index)
	if n == 0 || l.index[n-1].seq < e.seq {
		l.index = append(l.index, e) // the usual case: newest last
		return
	}
	l.index = slices.Insert(l.index, l.search(e.seq), e)
}

// search returns the position of the first index entry with a sequence at
// or above seq.
func (l *observerLog) search(seq uint64) int {
	i, _ := slices.BinarySearchFunc(l.index, seq, func(a indexEntry, s uint64) int { return cmp.Compare(a.seq, s) })
	return i
}

// live reports whether an index entry is still the observer's current
// observation of its target.
func (t *Table) live(observer string, e indexEntry) (*Observation, bool) {
	row := t.targets[e.target]
	i, found := slices.BinarySearchFunc(row, observer, func(a Observation, obs string) int {
		return strings.Compare(a.Observer, obs)
	})
	if !found || row[i].Seq != e.seq {
		return nil, false
	}
	return &row[i], true
}

func (t *Table) compact(observer string, l *observerLog) {
	kept := l.index[:0]
	for _, e := range l.index {
		if _, ok := t.live(observer, e); ok {
			kept = append(kept, e)
		}
	}
	clear(l.index[len(kept):])
	l.index = kept
	l.dead = 0
}

// ApplyWatermarks merges watermarks and returns those that changed the
// table.
func (t *Table) ApplyWatermarks(wms ...Watermark) []Watermark {
	t.mu.Lock()
	defer t.mu.Unlock()
	var changed []Watermark
	for _, w := range wms {
		if t.applyWM(w) {
			changed = append(changed, w)
		}
	}
	return changed
}

func (t *Table) applyWM(w Watermark) bool {
	l := t.log(w.Observer)
	l.saw(w.Seq)
	if l.hasWM && w.Seq <= l.wm.Seq {
		return false
	}
	l.wm, l.hasWM = w, true
	return true
}

// Merge applies a delta from a peer and returns what changed here (with no
// digest). When d carries the peer's digest, this table's digest rises to
// it: d must then be the peer's answer to a digest of this table (Delta),
// so that it holds everything the peer had above what this table had.
func (t *Table) Merge(d Delta) Delta {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out Delta
	for i := range d.Observations {
		if t.apply(&d.Observations[i]) {
			if out.Observations == nil {
				out.Observations = make([]Observation, 0, len(d.Observations)-i)
			}
			out.Observations = append(out.Observations, d.Observations[i])
		}
	}
	for _, w := range d.Watermarks {
		if t.applyWM(w) {
			out.Watermarks = append(out.Watermarks, w)
		}
	}
	for o, s := range d.Digest {
		t.log(o).advance(s)
	}
	return out
}

// Digest returns the table's version vector: per observer, the sequence up
// to which it holds everything.
func (t *Table) Digest() crdt.VersionVector {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.digest()
}

func (t *Table) digest() crdt.VersionVector {
	vv := make(crdt.VersionVector, len(t.observers))
	for o, l := range t.observers {
		if l.complete > 0 {
			vv[o] = l.complete
		}
	}
	return vv
}

func (t *Table) sortedObservers() []string {
	obs := make([]string, 0, len(t.observers))
	for o := range t.observers {
		obs = append(obs, o)
	}
	slices.Sort(obs)
	return obs
}

// Get returns every observer's observation of targetID, sorted by
// observer.
func (t *Table) Get(targetID string) []Observation {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return slices.Clone(t.targets[targetID])
}

// Watermark returns the latest watermark of observer.
func (t *Table) Watermark(observer string) (Watermark, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	l := t.observers[observer]
	if l == nil || !l.hasWM {
		return Watermark{}, false
	}
	return l.wm, true
}

// Targets returns the IDs of every target with an observation, sorted.
func (t *Table) Targets() []string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	ids := make([]string, 0, len(t.targets))
	for id := range t.targets {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Len returns the number of observations held.
func (t *Table) Len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	n := 0
	for _, row := range t.targets {
		n += len(row)
	}
	return n
}

// Forget drops every observation of a deleted target and ignores copies of
// them that peers still send; a recreated target's newer observations
// (higher sequences) are accepted again. The tombstone is a few bytes per
// observer; drop them with ForgetTombstones once every peer has forgotten
// the target too.
func (t *Table) Forget(targetID string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	row, ok := t.targets[targetID]
	if !ok {
		return
	}
	f := t.forgotten[targetID]
	if f == nil {
		f = map[string]uint64{}
		t.forgotten[targetID] = f
	}
	delete(t.targets, targetID)
	for _, o := range row {
		f[o.Observer] = max(f[o.Observer], o.Seq)
		l := t.observers[o.Observer]
		if l.dead++; l.dead > 64 && l.dead > len(l.index)/2 {
			t.compact(o.Observer, l)
		}
	}
}

// ForgetTombstones drops the tombstones Forget left for targetIDs.
func (t *Table) ForgetTombstones(targetIDs ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, id := range targetIDs {
		delete(t.forgotten, id)
	}
}
