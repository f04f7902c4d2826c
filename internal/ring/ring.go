// Package ring owns target ownership: which cluster members probe which
// target. It is rendezvous (highest random weight) hashing, weighted with
// the logarithmic method and optionally spread over zones. Everything here
// is a pure, deterministic function of (members, target): every node that
// sees the same membership computes the same owners, with no messages, on
// any platform.
//
// When a member joins or leaves, only the targets it gains or loses move
// (about 1/N of them); every other target keeps its owners and its fallback
// order.
package ring

import (
	"iter"
	"math"
	"slices"
	"strings"
)

// Member is one node taking part in ownership.
type Member struct {
	// Name identifies the node; it is what Owners and Rank return.
	Name string
	// Zone groups nodes that fail together; spreading puts a target's
	// replicas in distinct zones first. Members with an empty zone share
	// the zone "".
	Zone string
	// Weight scales the member's expected share of targets. Zero, negative
	// and non-finite weights count as 1.
	Weight float64
}

// Ring answers ownership queries for one membership view. Build it once per
// view with New; it is immutable and safe for concurrent use.
type Ring struct {
	members  []member // sorted by name, unique names
	weighted bool     // some weight differs from the others
	zones    int      // number of distinct zones
	spread   bool
}

type member struct {
	name   string
	hash   uint64 // stable hash of the name
	weight float64
	zone   int // index of the member's zone, 0..zones-1
}

// New builds a ring over members. The order of members does not matter;
// when a name appears more than once, the entry that sorts first (by zone,
// then weight) is kept, so the result is still order independent.
func New(members []Member) *Ring {
	ms := slices.Clone(members)
	slices.SortFunc(ms, func(a, b Member) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		if c := strings.Compare(a.Zone, b.Zone); c != 0 {
			return c
		}
		return cmpFloat(normWeight(a.Weight), normWeight(b.Weight))
	})
	ms = slices.CompactFunc(ms, func(a, b Member) bool { return a.Name == b.Name })

	zoneNames := make([]string, 0, len(ms))
	for _, m := range ms {
		zoneNames = append(zoneNames, m.Zone)
	}
	slices.Sort(zoneNames)
	zoneNames = slices.Compact(zoneNames)

	r := &Ring{members: make([]member, len(ms)), zones: len(zoneNames)}
	for i, m := range ms {
		z, _ := slices.BinarySearch(zoneNames, m.Zone)
		w := normWeight(m.Weight)
		r.members[i] = member{name: m.Name, hash: hashString(m.Name), weight: w, zone: z}
		if w != r.members[0].weight {
			r.weighted = true
		}
	}
	return r
}

// WithSpreadZones returns a ring over the same members whose Owners, Rank
// and Owns spread each target over distinct zones first (see Owners). It
// shares the receiver's member table; both stay usable.
func (r *Ring) WithSpreadZones(on bool) *Ring {
	c := *r
	c.spread = on
	return &c
}

// Len returns the number of distinct members.
func (r *Ring) Len() int { return len(r.members) }

// Members returns the ring's members sorted by name.
func (r *Ring) Members() []string {
	out := make([]string, len(r.members))
	for i, m := range r.members {
		out[i] = m.name
	}
	return out
}

func normWeight(w float64) float64 {
	if w <= 0 || math.IsNaN(w) || math.IsInf(w, 0) {
		return 1
	}
	return w
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// FNV-1a, 64 bits.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func hashString(s string) uint64 {
	h := uint64(fnvOffset)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return fmix64(h)
}

// fmix64 is the MurmurHash3 64-bit finalizer: a bijection with full
// avalanche, so that FNV's weak low bits do not bias the scores.
func fmix64(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

// pairHash is the stable 64-bit hash of (target, node) from their own
// hashes. The node hash is mixed once more with a distinct constant so the
// combination is not symmetric in its two inputs.
func pairHash(target, node uint64) uint64 {
	return fmix64(target ^ fmix64(node+0x9e3779b97f4a7c15))
}

// Score is the rendezvous score of node for target: -weight / ln(h) with h
// uniform in (0, 1) from the pair hash. A node's chance of the highest
// score is its weight over the total. Exported for diagnostics and tests.
func Score(targetID, node string, weight float64) float64 {
	return score(pairHash(hashString(targetID), hashString(node)), normWeight(weight))
}

func score(h uint64, weight float64) float64 {
	// 53 random bits, centred in their cell so that u is never 0 or 1.
	u := (float64(h>>11) + 0.5) / (1 << 53)
	return -weight / ln(u)
}

// ln is the natural logarithm of x > 0, written out so that it gives the
// same bits on every platform: math.Log has assembly versions on some
// architectures, and Go may fuse a*b+c into one instruction on others. The
// explicit float64 conversions forbid fusion. Accuracy is within a few ULP,
// far more than ranking needs; identical results everywhere matter more.
func ln(x float64) float64 {
	const ln2 = 0.6931471805599453
	m, e := math.Frexp(x) // x = m * 2^e, m in [0.5, 1)
	if m < math.Sqrt2/2 {
		m *= 2
		e--
	}
	// ln(m) = 2 atanh(s) = 2 (s + s^3/3 + s^5/5 + ...), s = (m-1)/(m+1),
	// |s| < 0.172, so 12 terms reach below 1e-17.
	s := float64(m-1) / float64(m+1)
	s2 := float64(s * s)
	sum := 1.0 / 25
	for k := 23; k >= 1; k -= 2 {
		sum = float64(1/float64(k)) + float64(s2*sum)
	}
	return float64(float64(e)*ln2) + float64(2*float64(s*sum))
}

// cand is one member's score for a target. With equal weights the raw hash
// orders exactly like the score (the score is monotone in h), so the
// logarithm is skipped.
type cand struct {
	s   float64
	h   uint64
	idx int
}

// before reports whether a ranks ahead of b: higher score, then higher
// hash, then the smaller name (members are sorted by name, so the index).
func before(a, b cand) bool {
	if a.s != b.s {
		return a.s > b.s
	}
	if a.h != b.h {
		return a.h > b.h
	}
	return a.idx < b.idx
}

func (r *Ring) cand(th uint64, i int) cand {
	m := &r.members[i]
	h := pairHash(th, m.hash)
	c := cand{h: h, idx: i}
	if r.weighted {
		c.s = score(h, m.weight)
	}
	return c
}

// ranked returns every member's candidate in rank order.
func (r *Ring) ranked(targetID string) []cand {
	th := hashString(targetID)
	cs := make([]cand, len(r.members))
	for i := range r.members {
		cs[i] = r.cand(th, i)
	}
	slices.SortFunc(cs, func(a, b cand) int {
		if before(a, b) {
			return -1
		}
		if before(b, a) {
			return 1
		}
		return 0
	})
	if r.spread && r.zones > 1 {
		cs = r.spreadOrder(cs)
	}
	return cs
}

// spreadOrder reorders a ranked list round-robin over zones: first the best
// member of every zone (in rank order), then the second best of every zone,
// and so on. Any prefix of the result is therefore as zone-diverse as a
// prefix can be, and Owners(k) is always the first k of Rank.
func (r *Ring) spreadOrder(cs []cand) []cand {
	seen := make([]int, r.zones)
	round := make([]int, len(cs))
	for i, c := range cs {
		z := r.members[c.idx].zone
		round[i] = seen[z]
		seen[z]++
	}
	pos := make([]int, len(cs))
	for i := range pos {
		pos[i] = i
	}
	slices.SortStableFunc(pos, func(a, b int) int { return round[a] - round[b] })
	out := make([]cand, len(cs))
	for i, p := range pos {
		out[i] = cs[p]
	}
	return out
}

// Rank returns every member for targetID, best first: the owners, then the
// fallback order. With zone spreading on, the order goes round-robin over
// zones (see WithSpreadZones).
func (r *Ring) Rank(targetID string) []string {
	cs := r.ranked(targetID)
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = r.members[c.idx].name
	}
	return out
}

// Walk yields the members for targetID in Rank order, lazily: finding the
// next member costs one pass over the members not yet yielded, so a caller
// that stops after the first few (the usual case: the owner is alive) pays
// O(members) with no sort and no allocation for rings of up to 64 members.
// With zone spreading on it ranks everything first.
func (r *Ring) Walk(targetID string) iter.Seq[string] {
	return func(yield func(string) bool) {
		if r.spread && r.zones > 1 {
			for _, c := range r.ranked(targetID) {
				if !yield(r.members[c.idx].name) {
					return
				}
			}
			return
		}
		var buf [64]cand
		cs := buf[:0]
		if len(r.members) > len(buf) {
			cs = make([]cand, 0, len(r.members))
		}
		th := hashString(targetID)
		for i := range r.members {
			cs = append(cs, r.cand(th, i))
		}
		// Selection: move the best remaining candidate to the front.
		for k := range cs {
			b := k
			for j := k + 1; j < len(cs); j++ {
				if before(cs[j], cs[b]) {
					b = j
				}
			}
			cs[k], cs[b] = cs[b], cs[k]
			if !yield(r.members[cs[k].idx].name) {
				return
			}
		}
	}
}

// maxFast bounds the replica count served without sorting every member.
const maxFast = 8

// Owners returns the first replicas members of Rank for targetID: the
// nodes that should probe it, primary first. replicas below 1 counts as 1;
// fewer names come back when the ring has fewer members.
func (r *Ring) Owners(targetID string, replicas int) []string {
	var buf [maxFast]cand
	cs := r.top(targetID, replicas, buf[:0])
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = r.members[c.idx].name
	}
	return out
}

// Owns reports whether self is one of the replicas owners of targetID. It
// does not allocate for replicas up to 8 without zone spreading.
func (r *Ring) Owns(self, targetID string, replicas int) bool {
	var buf [maxFast]cand
	for _, c := range r.top(targetID, replicas, buf[:0]) {
		if r.members[c.idx].name == self {
			return true
		}
	}
	return false
}

// top returns the first k candidates of the rank order, using buf when it
// is large enough.
func (r *Ring) top(targetID string, k int, buf []cand) []cand {
	k = max(k, 1)
	k = min(k, len(r.members))
	if k == 0 {
		return nil
	}
	if (r.spread && r.zones > 1) || k > cap(buf) {
		return r.ranked(targetID)[:k]
	}
	th := hashString(targetID)
	top := buf[:0]
	for i := range r.members {
		c := r.cand(th, i)
		if len(top) == k && !before(c, top[k-1]) {
			continue
		}
		// insertion into the sorted top-k
		j := len(top)
		if j < k {
			top = append(top, c)
		} else {
			j = k - 1
		}
		for j > 0 && before(c, top[j-1]) {
			top[j] = top[j-1]
			j--
		}
		top[j] = c
	}
	return top
}

// Rank ranks members for targetID without zone spreading; see Ring.Rank.
// Build a Ring with New when asking about many targets.
func Rank(targetID string, members []Member) []string {
	return New(members).Rank(targetID)
}

// Owners returns the replicas owners of targetID among members, primary
// first. With spreadZones the owners come from distinct zones first, and
// from zones already used (in rank order, round-robin) only when there are
// fewer zones than replicas.
func Owners(targetID string, members []Member, replicas int, spreadZones bool) []string {
	return New(members).WithSpreadZones(spreadZones).Owners(targetID, replicas)
}
