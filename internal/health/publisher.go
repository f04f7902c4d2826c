package health

import (
	"sync"
	"sync/atomic"
	"time"
)

// Outcome is one probe result as the local scheduler reports it.
type Outcome struct {
	TargetID string
	State    State
	Since    time.Time // when State began
	At       time.Time // when the probe ran
	Latency  time.Duration
	Message  string
	Interval time.Duration
	// Fails and ErrorPct are the outlier summary: see Observation.
	Fails    uint8
	ErrorPct uint8
}

// PublisherOptions tune a Publisher. Zero values take the defaults.
type PublisherOptions struct {
	// LatencyPerSecond bounds how many observations per second this node
	// publishes only because a target's coarse latency bucket moved
	// (default 1), with bursts of up to LatencyBurst (default 10). State
	// changes are never held back; a latency change that finds the budget
	// spent is published by a later probe, if the latency is still moved.
	LatencyPerSecond float64
	LatencyBurst     int
	// LatencyEvery is how many intervals a target's latency-only
	// publications are apart at least (default 10), so one jittery target
	// cannot spend the budget of all.
	LatencyEvery int
	// WatermarkEvery is the shortest time between two watermarks
	// (default 1s, DefaultWatermarkEvery; a cluster node sets
	// WatermarkPeriod of its size with SetWatermarkEvery). Fallback owners
	// notice a silent owner within StaleAfter intervals of its last
	// watermark.
	WatermarkEvery time.Duration
	// Now reads the clock for the first sequence epoch (time.Now when nil).
	Now func() time.Time
}

// Defaults of PublisherOptions.
const (
	DefaultLatencyPerSecond = 1
	DefaultLatencyBurst     = 10
	DefaultLatencyEvery     = 10
)

// PublisherStats counts a Publisher's decisions.
type PublisherStats struct {
	Published  uint64 // observations published (all reasons below)
	Changed    uint64 // ... because the state, its start or the interval changed, or first seen
	Latency    uint64 // ... because only the latency bucket moved
	Released   uint64 // ... because this node stopped probing the target
	Suppressed uint64 // outcomes that changed nothing a reader sees, or waited for the budget
	Watermarks uint64 // watermarks published
}

// Publisher turns the local node's probe outcomes into observations for
// the table, publishing only when what a reader sees changes: the state,
// when it began, the interval, or (within a budget) the coarse latency
// bucket. There is no periodic refresh: an observation stays fresh through
// its observer's watermark, so gossip follows changes, not the probe rate
// or the number of targets. It assigns the node's sequence numbers and its
// watermarks. Safe for concurrent use.
type Publisher struct {
	observer string
	table    *Table
	opts     PublisherOptions

	mu      sync.Mutex
	epoch   uint32
	counter uint32
	last    map[string]published
	lastWM  time.Time
	tokens  float64   // latency budget left
	filled  time.Time // when tokens were last topped up

	changed, latency, released, suppressed, watermarks atomic.Uint64
}

// published is what readers last saw of a target from this node.
type published struct {
	at       time.Time
	since    time.Time
	interval time.Duration
	state    State
	bucket   int8
	released bool
	verdict  State
	vsince   time.Time
	fails    uint8 // FailsBucket published
	errPct   uint8
}

// NewPublisher returns the publisher of observer (this node's name) into
// table. Its sequence numbers start a new epoch: above anything the table
// already holds from observer, and at least the current Unix second, so a
// restarted node's observations win over those of its former life.
func NewPublisher(observer string, table *Table, opts PublisherOptions) *Publisher {
	if opts.LatencyPerSecond <= 0 {
		opts.LatencyPerSecond = DefaultLatencyPerSecond
	}
	if opts.LatencyBurst <= 0 {
		opts.LatencyBurst = DefaultLatencyBurst
	}
	if opts.LatencyEvery <= 0 {
		opts.LatencyEvery = DefaultLatencyEvery
	}
	if opts.WatermarkEvery <= 0 {
		opts.WatermarkEvery = DefaultWatermarkEvery
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	epoch := uint32(max(opts.Now().Unix(), 1))
	if held := table.highestSeq(observer); SeqEpoch(held) >= epoch {
		epoch = SeqEpoch(held) + 1
	}
	return &Publisher{observer: observer, table: table, opts: opts, epoch: epoch, last: map[string]published{},
		tokens: float64(opts.LatencyBurst)}
}

// highestSeq returns the highest sequence the table holds from observer.
func (t *Table) highestSeq(observer string) uint64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	l := t.observers[observer]
	if l == nil {
		return 0
	}
	h := l.complete
	if n := len(l.index); n > 0 {
		h = max(h, l.index[n-1].seq)
	}
	for s := range l.pending {
		h = max(h, s)
	}
	if l.hasWM {
		h = max(h, l.wm.Seq)
	}
	return h
}

// nextSeq returns the next sequence; p.mu must be held.
func (p *Publisher) nextSeq() uint64 {
	if p.counter == 1<<32-1 {
		p.epoch++
		p.counter = 0
	}
	p.counter++
	return MakeSeq(p.epoch, p.counter)
}

// Record takes one probe outcome. When readers would see a difference it
// applies a new observation to the table and returns it (for the caller to
// gossip) with true; otherwise it counts a suppression and returns false.
func (p *Publisher) Record(o Outcome) (Observation, bool) {
	b := latencyBucket(o.Latency)
	p.mu.Lock()
	prev, seen := p.last[o.TargetID]
	iv := o.Interval
	if iv <= 0 {
		iv = DefaultInterval
	}
	fails, errPct := FailsBucket(o.Fails), ErrorBucket(o.ErrorPct)
	if seen && o.State != Up && o.State != Degraded {
		// A failure streak only matters to outlier tests while the target
		// is still healthy: past that its state says it all.
		fails = prev.fails
	}
	if seen && o.At.Sub(o.Since) < ErrorSettle*iv {
		// A target whose state changed lately shows its trouble in its
		// transitions; its error rate swings with every flap and would
		// only spend gossip. It is published once the state has held.
		errPct = prev.errPct
	}
	changed := !seen || prev.released || o.State != prev.state || !o.Since.Equal(prev.since) || o.Interval != prev.interval ||
		fails != prev.fails
	if !changed && (!bucketMoved(prev.bucket, o.Latency) && errPct == prev.errPct ||
		o.At.Sub(prev.at) < time.Duration(p.opts.LatencyEvery)*iv || !p.spendLatency(o.At)) {
		p.mu.Unlock()
		p.suppressed.Add(1)
		return Observation{}, false
	}
	obs := Observation{
		TargetID: o.TargetID, Observer: p.observer, Seq: p.nextSeq(), State: o.State,
		Since: o.Since, At: o.At, Latency: o.Latency, Message: o.Message, Interval: o.Interval,
		Fails: fails, ErrorPct: errPct,
	}
	if !prev.released {
		obs.Verdict, obs.VerdictSince = prev.verdict, prev.vsince
	}
	p.last[o.TargetID] = published{at: o.At, since: o.Since, interval: o.Interval, state: o.State, bucket: b,
		verdict: obs.Verdict, vsince: obs.VerdictSince, fails: fails, errPct: errPct}
	// Apply under p.mu so the table sees this observer's sequences in
	// order, which keeps its digest contiguous.
	p.table.Apply(obs)
	p.mu.Unlock()
	if changed {
		p.changed.Add(1)
	} else {
		p.latency.Add(1)
	}
	return obs, true
}

// Judge publishes this node's verdict of a target with several owners, as
// its primary owner, when it differs from the one it last published: a new
// observation like the last, carrying the verdict (see
// Observation.Verdict). It returns the observation to gossip, with true.
// A target this node has published nothing of yet is not judged.
func (p *Publisher) Judge(targetID string, verdict State, since time.Time) (Observation, bool) {
	p.mu.Lock()
	prev, seen := p.last[targetID]
	if !seen || prev.released || prev.verdict == verdict {
		p.mu.Unlock()
		return Observation{}, false
	}
	obs := Observation{TargetID: targetID, Observer: p.observer, State: prev.state, Since: prev.since,
		At: prev.at, Interval: prev.interval}
	for _, o := range p.table.Get(targetID) {
		if o.Observer == p.observer {
			obs = o // the last published, whole
		}
	}
	obs.Seq, obs.Verdict, obs.VerdictSince = p.nextSeq(), verdict, since
	prev.verdict, prev.vsince = verdict, since
	p.last[targetID] = prev
	p.table.Apply(obs)
	p.mu.Unlock()
	p.changed.Add(1)
	return obs, true
}

// MaxFails is the highest consecutive-failure count observations carry:
// outlier tests need a few, and a longer run takes the target down anyway.
const MaxFails = 8

// MinFails is the shortest failure streak observations carry: a single
// failed probe is noise, and not publishing it keeps a flapping target's
// gossip to one extra observation per episode at the default fall of 3.
const MinFails = 2

// FailsBucket is the consecutive-failure count as published: 0 below
// MinFails, saturating at MaxFails, so a failing target publishes at most
// MaxFails-1 times for it, and only while it is healthy (its fall
// threshold usually takes it down first, and that change is published
// anyway).
func FailsBucket(n uint8) uint8 {
	if n < MinFails {
		return 0
	}
	return min(n, MaxFails)
}

// ErrorBucket is an error rate in percent as published: rounded to the
// nearest 10%, so a steady mix of results does not publish on every probe.
func ErrorBucket(pct uint8) uint8 {
	pct = min(pct, 100)
	return (pct + 5) / 10 * 10
}

// ErrorSettle is how many intervals a state must have held before a
// change of the error rate is published (see Record).
const ErrorSettle = 20

// SetLatencyPerSecond changes the latency budget (see
// PublisherOptions.LatencyPerSecond); r <= 0 keeps the current one.
func (p *Publisher) SetLatencyPerSecond(r float64) {
	if r <= 0 {
		return
	}
	p.mu.Lock()
	p.opts.LatencyPerSecond = r
	p.mu.Unlock()
}

// SetWatermarkEvery changes the watermark period (see
// PublisherOptions.WatermarkEvery and WatermarkPeriod); d <= 0 keeps the
// current one. The next Tick uses it: a shorter period publishes as soon
// as it has passed since the last watermark.
func (p *Publisher) SetWatermarkEvery(d time.Duration) {
	if d <= 0 {
		return
	}
	p.mu.Lock()
	p.opts.WatermarkEvery = d
	p.mu.Unlock()
}

// WatermarkEvery returns the current watermark period.
func (p *Publisher) WatermarkEvery() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.opts.WatermarkEvery
}

// spendLatency takes one token of the latency budget at now, if there is
// one; p.mu must be held.
func (p *Publisher) spendLatency(now time.Time) bool {
	if !p.filled.IsZero() && now.After(p.filled) {
		p.tokens = min(p.tokens+now.Sub(p.filled).Seconds()*p.opts.LatencyPerSecond, float64(p.opts.LatencyBurst))
	}
	if p.filled.IsZero() || now.After(p.filled) {
		p.filled = now
	}
	if p.tokens < 1 {
		return false
	}
	p.tokens--
	return true
}

// Release publishes that this node no longer probes targetID (it stopped
// owning it, or stopped standing in for a silent owner), so that its last
// observation is not taken as current: readers ignore a released
// observation, and this node's watermark no longer vouches for it. It
// returns the observation to gossip, with true, when this node had
// published something of the target.
func (p *Publisher) Release(targetID string, at time.Time) (Observation, bool) {
	p.mu.Lock()
	prev, seen := p.last[targetID]
	if !seen || prev.released {
		p.mu.Unlock()
		return Observation{}, false
	}
	obs := Observation{
		TargetID: targetID, Observer: p.observer, Seq: p.nextSeq(), State: prev.state,
		Since: prev.since, At: at, Interval: prev.interval, Released: true,
	}
	prev.released = true
	p.last[targetID] = prev
	p.table.Apply(obs)
	p.mu.Unlock()
	p.released.Add(1)
	return obs, true
}

// Tick publishes a watermark saying everything this node owns was probed
// as of asOf, when WatermarkEvery has passed since the last one (by now).
// It returns the watermark for the caller to gossip, with true.
func (p *Publisher) Tick(now, asOf time.Time) (Watermark, bool) {
	p.mu.Lock()
	if !p.lastWM.IsZero() && now.Sub(p.lastWM) < p.opts.WatermarkEvery {
		p.mu.Unlock()
		return Watermark{}, false
	}
	p.lastWM = now
	w := Watermark{Observer: p.observer, Seq: p.nextSeq(), At: asOf}
	p.table.ApplyWatermarks(w)
	p.mu.Unlock()
	p.watermarks.Add(1)
	return w, true
}

// Forget drops what the publisher remembers of a target it no longer owns
// (or that was deleted); a later outcome for it is published at once.
func (p *Publisher) Forget(targetID string) {
	p.mu.Lock()
	delete(p.last, targetID)
	p.mu.Unlock()
}

// Stats returns the publisher's counters.
func (p *Publisher) Stats() PublisherStats {
	st := PublisherStats{Changed: p.changed.Load(), Latency: p.latency.Load(), Released: p.released.Load(),
		Suppressed: p.suppressed.Load(), Watermarks: p.watermarks.Load()}
	st.Published = st.Changed + st.Latency + st.Released
	return st
}

// latencyBounds are the upper bounds of the coarse latency buckets a
// reader is told about (1-2-5 steps, as in the store's histogram); the
// last bucket is everything slower.
var latencyBounds = [...]time.Duration{
	time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond,
	10 * time.Millisecond, 20 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 200 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second,
}

func latencyBucket(d time.Duration) int8 {
	for i, b := range latencyBounds {
		if d <= b {
			return int8(i)
		}
	}
	return int8(len(latencyBounds))
}

// bucketMoved reports whether latency d has left bucket b by a margin of
// 25%, so a latency hovering on a boundary does not republish every probe.
func bucketMoved(b int8, d time.Duration) bool {
	if nb := latencyBucket(d); nb == b {
		return false
	}
	if int(b) < len(latencyBounds) && d > latencyBounds[b]+latencyBounds[b]/4 {
		return true
	}
	if b > 0 && d < latencyBounds[b-1]-latencyBounds[b-1]/5 {
		return true
	}
	return false
}
