// Package ownership decides which nodes probe a target: the policy of
// ownership and fail-over, apart from the node that applies it.
//
// A node probes a target when it is one of the target's replicas owners on
// the ring over the alive members (rendezvous hashing, internal/ring), or
// when every node ranked ahead of it in the target's fallback order has
// been silent on it (no watermark, no observation) for two of the target's
// intervals, and at least the silence limit of the cluster's size
// (SilenceLimit: MinSilence up to 400 members, 2.5 watermark periods
// above). A silent owner's place goes to the
// next in the fallback order; when it speaks again it takes its place back.
// Takeovers are held while the node itself was paused or is behind on its
// own targets (Hold), or while most members look silent at once, so a
// starved node does not take over the targets of others that merely look
// silent for the same reason; it still gives back what it stands in for
// when an owner speaks, and gives up what a new ring took from it.
package ownership

import (
	"fmt"
	"iter"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/ring"
	"github.com/heckhq/heck/internal/target"
)

// MinSilence is the shortest silence after which a node is judged to have
// stopped probing a target: two and a half watermark periods of a cluster
// of up to 400 members, so a late watermark or a dropped packet is not a
// fail-over. It is the floor of SilenceLimit.
const MinSilence = 2500 * time.Millisecond

// SilenceLimit returns the shortest silence after which a node is judged
// to have stopped probing a target in a cluster of members alive members:
// two and a half watermark periods of that size (health.WatermarkPeriod),
// and at least MinSilence. That is MinSilence up to 400 members and
// 6.25 s at 1,000.
func SilenceLimit(members int) time.Duration {
	return max(MinSilence, 5*health.WatermarkPeriod(members)/2)
}

// Freshness is what the policy reads of the health table: whether a node
// has been heard from.
type Freshness interface {
	Watermark(observer string) (health.Watermark, bool)
	Get(targetID string) []health.Observation
}

// Defaults are the cluster-wide placement a target's own settings override.
type Defaults struct {
	Replicas int
	Spread   string // target.SpreadZone or ""
}

// Policy answers who probes what, for one node. Safe for concurrent use.
type Policy struct {
	self     string
	defaults Defaults
	table    Freshness

	mu        sync.RWMutex
	ring      *ring.Ring
	names     string // the ring's members, joined: a cheap "did it change"
	firstSeen map[string]time.Time

	left      atomic.Bool
	holdUntil atomic.Int64 // unix ns
	silence   atomic.Int64 // ns: SilenceLimit of the ring's size
}

// New returns the policy of node self.
func New(self string, defaults Defaults, table Freshness) *Policy {
	p := &Policy{self: self, defaults: defaults, table: table, firstSeen: map[string]time.Time{}}
	p.silence.Store(int64(MinSilence))
	return p
}

// SetMembers installs the alive members and reports whether they changed.
// It remembers since when each member has been seen, so a member that just
// joined is not judged silent before it could publish anything.
func (p *Policy) SetMembers(members []ring.Member, now time.Time) bool {
	names := make([]string, len(members))
	for i, mb := range members {
		names[i] = mb.Name + "/" + mb.Zone + fmt.Sprintf("/%g", mb.Weight)
	}
	sort.Strings(names)
	key := fmt.Sprint(names)
	p.mu.Lock()
	defer p.mu.Unlock()
	alive := make(map[string]bool, len(members))
	for _, mb := range members {
		alive[mb.Name] = true
		if _, ok := p.firstSeen[mb.Name]; !ok {
			p.firstSeen[mb.Name] = now
		}
	}
	for name := range p.firstSeen {
		if !alive[name] {
			delete(p.firstSeen, name)
		}
	}
	if key == p.names && p.ring != nil {
		return false
	}
	p.names = key
	p.ring = ring.New(members).WithSpreadZones(p.defaults.Spread == target.SpreadZone)
	p.silence.Store(int64(SilenceLimit(len(members))))
	return true
}

// Silence returns the silence limit in force: SilenceLimit of the members
// last installed by SetMembers (MinSilence before).
func (p *Policy) Silence() time.Duration { return time.Duration(p.silence.Load()) }

// Ring returns the ring over the alive members (nil before SetMembers).
func (p *Policy) Ring() *ring.Ring {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.ring
}

func (p *Policy) seen(name string) time.Time {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.firstSeen[name]
}

// Leave makes this node own nothing from now on; it reports whether it had
// not left already.
func (p *Policy) Leave() bool { return !p.left.Swap(true) }

// Left reports whether Leave was called.
func (p *Policy) Left() bool { return p.left.Load() }

// Hold holds takeovers until the given time (never shortening a hold).
func (p *Policy) Hold(until time.Time) {
	for {
		cur := p.holdUntil.Load()
		if until.UnixNano() <= cur || p.holdUntil.CompareAndSwap(cur, until.UnixNano()) {
			return
		}
	}
}

// Holding reports whether takeovers are on hold at now.
func (p *Policy) Holding(now time.Time) bool { return now.UnixNano() < p.holdUntil.Load() }

// Placement returns how many nodes probe spec's target and whether they
// spread over zones: the target's own settings, else the cluster's.
func (p *Policy) Placement(spec *target.Spec) (replicas int, spread bool) {
	replicas = spec.Replicas
	if replicas <= 0 {
		replicas = max(p.defaults.Replicas, 1)
	}
	spread = spec.Spread == target.SpreadZone || (spec.Spread == "" && p.defaults.Spread == target.SpreadZone)
	return replicas, spread
}

func (p *Policy) ringFor(spread bool) *ring.Ring {
	r := p.Ring()
	if r != nil && spread {
		r = r.WithSpreadZones(true)
	}
	return r
}

// Owns reports whether this node should probe the target: it is among the
// target's effective owners. standingIn says whether it probes the target
// now for a silent owner (a takeover). While takeovers are on hold a node
// takes nothing new beyond its ring share; it still gives a stand-in back
// as soon as an owner ahead speaks again, and gives up what it probed as an
// owner of an older ring (the ring's owners now are alive by its own view,
// and keeping a starved node's old share, all of it for the first node of
// a cluster, would only starve it further).
func (p *Policy) Owns(spec *target.Spec, interval time.Duration, standingIn bool, now time.Time) bool {
	if p.left.Load() {
		return false
	}
	replicas, spread := p.Placement(spec)
	r := p.ringFor(spread)
	if r == nil || r.Len() <= 1 {
		return true
	}
	if r.Owns(p.self, spec.ID, replicas) {
		return true
	}
	if !standingIn && p.Holding(now) {
		return false
	}
	for name := range p.speaking(r, spec.ID, replicas, interval, now) {
		if name == p.self {
			return true
		}
	}
	return false
}

// Effective returns the nodes that probe the target now, primary first:
// the first replicas nodes of its ranking that are not silent on it.
func (p *Policy) Effective(spec *target.Spec, interval time.Duration, now time.Time) []string {
	replicas, spread := p.Placement(spec)
	r := p.ringFor(spread)
	if r == nil || r.Len() == 0 {
		return []string{p.self}
	}
	return slices.Collect(p.speaking(r, spec.ID, replicas, interval, now))
}

// speaking yields the target's effective owners, walking its ranking
// lazily (this node always counts as speaking). The walk usually stops at
// the first (live) owner.
func (p *Policy) speaking(r *ring.Ring, targetID string, replicas int, interval time.Duration, now time.Time) iter.Seq[string] {
	return func(yield func(string) bool) {
		found := 0
		for name := range r.Walk(targetID) {
			if name == p.self || p.fresh(name, targetID, interval, now) {
				if !yield(name) {
					return
				}
				if found++; found == replicas {
					return
				}
			}
		}
	}
}

// RingOwners returns the ring owners of spec's target, in order.
func (p *Policy) RingOwners(spec *target.Spec) []string {
	replicas, spread := p.Placement(spec)
	r := p.ringFor(spread)
	if r == nil || r.Len() == 0 {
		return []string{p.self}
	}
	return r.Owners(spec.ID, replicas)
}

// Owners returns the ring owners of spec's target, in order, and the rest
// of the ranking: the fallback order.
func (p *Policy) Owners(spec *target.Spec) (owners, fallback []string) {
	replicas, spread := p.Placement(spec)
	r := p.ringFor(spread)
	if r == nil || r.Len() == 0 {
		return []string{p.self}, nil
	}
	rank := r.Rank(spec.ID)
	if replicas > len(rank) {
		replicas = len(rank)
	}
	return rank[:replicas], rank[replicas:]
}

// lastHeard returns when node was last heard from as a whole: its
// watermark, or when it was first seen alive.
func (p *Policy) lastHeard(node string) time.Time {
	last := p.seen(node)
	if wm, ok := p.table.Watermark(node); ok && wm.At.After(last) {
		last = wm.At
	}
	return last
}

// fresh reports whether node has shown, within two intervals (and the
// silence limit), that it probes target: by an observation (not a
// release), a watermark, or having just joined.
func (p *Policy) fresh(node, targetID string, interval time.Duration, now time.Time) bool {
	limit := max(2*interval, p.Silence())
	if last := p.lastHeard(node); last.IsZero() || now.Sub(last) <= limit {
		return true
	}
	for _, o := range p.table.Get(targetID) {
		if o.Observer == node && !o.Released && now.Sub(o.At) <= limit {
			return true
		}
	}
	return false
}

// CheckSilence reports, for the cluster loop's tick, whether some other
// live member has been silent (no watermark) long enough to move a target
// probed every shortest (the shortest interval of any target): two of
// those intervals, and at least the silence limit. Below that no takeover
// can happen, so a node need not walk its targets. It also holds takeovers
// (and reports most) while most of the other members, at least two, look
// silent at once. Members that memberlist still finds alive do not stall
// together: when they all seem to, it is this node that is behind on what
// it hears (a starved process, a backlog of messages), and taking over
// their targets would pile their whole load on it.
func (p *Policy) CheckSilence(now time.Time, shortest time.Duration) (some, most bool) {
	silent, others, limit := p.silentMembers(now, shortest)
	most = others >= 2 && 2*silent > others
	if most {
		p.Hold(now.Add(limit))
	}
	return silent > 0, most
}

// silentMembers counts the other members silent for longer than limit,
// the shortest silence that can move a target probed every shortest.
func (p *Policy) silentMembers(now time.Time, shortest time.Duration) (silent, others int, limit time.Duration) {
	r := p.Ring()
	limit = max(2*shortest, p.Silence())
	if r == nil {
		return 0, 0, limit
	}
	for _, name := range r.Members() {
		if name == p.self {
			continue
		}
		others++
		if last := p.lastHeard(name); !last.IsZero() && now.Sub(last) > limit {
			silent++
		}
	}
	return silent, others, limit
}
