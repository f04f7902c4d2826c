package ownership

import (
	"fmt"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/ring"
	"github.com/heckhq/heck/internal/target"
)

// table is a Freshness with settable watermarks and observations.
type table struct {
	wm  map[string]time.Time
	obs map[string][]health.Observation
}

func (t *table) Watermark(o string) (health.Watermark, bool) {
	at, ok := t.wm[o]
	return health.Watermark{Observer: o, At: at}, ok
}
func (t *table) Get(id string) []health.Observation { return t.obs[id] }

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func members(names ...string) []ring.Member {
	var ms []ring.Member
	for _, n := range names {
		ms = append(ms, ring.Member{Name: n, Zone: "z-" + n, Weight: 1})
	}
	return ms
}

func TestPlacement(t *testing.T) {
	p := New("a", Defaults{Replicas: 2, Spread: target.SpreadZone}, &table{})
	for _, tc := range []struct {
		spec     target.Spec
		replicas int
		spread   bool
	}{
		{target.Spec{}, 2, true},
		{target.Spec{Replicas: 3}, 3, true},
		{target.Spec{Replicas: 1, Spread: "none"}, 1, false},
	} {
		r, s := p.Placement(&tc.spec)
		if r != tc.replicas || s != tc.spread {
			t.Errorf("Placement(%+v) = %d, %v; want %d, %v", tc.spec, r, s, tc.replicas, tc.spread)
		}
	}
	if r, _ := New("a", Defaults{}, &table{}).Placement(&target.Spec{}); r != 1 {
		t.Errorf("default replicas %d, want 1", r)
	}
}

// The fallback order takes over a silent owner's target after two
// intervals (and MinSilence), and gives it back when the owner speaks.
func TestFailOver(t *testing.T) {
	tb := &table{wm: map[string]time.Time{}, obs: map[string][]health.Observation{}}
	spec := target.Spec{ID: "web"}
	const iv = 2 * time.Second
	var owner, second string
	for _, self := range []string{"a", "b", "c"} {
		p := New(self, Defaults{}, tb)
		p.SetMembers(members("a", "b", "c"), t0)
		rank := p.Ring().Rank(spec.ID)
		owner, second = rank[0], rank[1]
		want := self == owner
		if got := p.Owns(&spec, iv, false, t0); got != want {
			t.Errorf("%s owns %v at start, want %v (owner %s)", self, got, want, owner)
		}
	}
	p := New(second, Defaults{}, tb)
	p.SetMembers(members("a", "b", "c"), t0)
	tb.wm[owner] = t0
	if p.Owns(&spec, iv, false, t0.Add(2*iv)) {
		t.Error("took over after exactly two intervals of silence")
	}
	late := t0.Add(2*iv + time.Millisecond)
	if !p.Owns(&spec, iv, false, late) {
		t.Error("did not take over after two intervals of silence")
	}
	if eff := p.Effective(&spec, iv, late); len(eff) != 1 || eff[0] != second {
		t.Errorf("effective owners %v, want [%s]", eff, second)
	}
	if some, _ := p.CheckSilence(late, iv); !some {
		t.Error("CheckSilence: no member silent with a silent owner")
	}
	if some, _ := p.CheckSilence(late, 3*iv); some {
		t.Error("CheckSilence: a member silent when the shortest interval is 3x: no target can move before six of them")
	}
	// Held (this node was paused): keeps what it stands in for, takes
	// nothing new, and gives up what it probed only as an owner of an
	// older ring (standingIn false: the same answer as taking anew).
	p.Hold(late.Add(time.Second))
	if p.Owns(&spec, iv, false, late) || !p.Owns(&spec, iv, true, late) {
		t.Error("a held node took over or kept an old ring's target, or dropped a target it stands in for")
	}
	// The owner speaks again: the fallback stops, held or not.
	tb.obs[spec.ID] = []health.Observation{{TargetID: spec.ID, Observer: owner, At: late}}
	if p.Owns(&spec, iv, true, late) {
		t.Error("a held node kept standing in after the owner was heard again")
	}
	if p.Owns(&spec, iv, true, late.Add(2*time.Second)) {
		t.Error("kept probing after the owner was heard again")
	}
	// A released observation is not a word.
	tb.obs[spec.ID][0].Released = true
	if !p.Owns(&spec, iv, true, late.Add(2*time.Second)) {
		t.Error("a released observation kept the owner fresh")
	}
	if !p.Leave() || p.Leave() || p.Owns(&spec, iv, true, late) {
		t.Error("after Leave the node still owns, or Leave reported twice")
	}
}

func TestSetMembersReportsChanges(t *testing.T) {
	p := New("a", Defaults{}, &table{})
	if !p.SetMembers(members("a", "b"), t0) || p.SetMembers(members("b", "a"), t0) {
		t.Error("the same members in another order counted as a change, or the first set did not")
	}
	if !p.SetMembers(members("a"), t0) {
		t.Error("a member leaving was not a change")
	}
	if p.Owners(&target.Spec{ID: "x"}); p.Ring().Len() != 1 {
		t.Error("ring not rebuilt")
	}
}

func TestSilenceLimit(t *testing.T) {
	for _, tc := range []struct {
		members int
		want    time.Duration
	}{
		{0, MinSilence},
		{1, MinSilence},
		{20, MinSilence},
		{400, MinSilence},
		{600, 3750 * time.Millisecond},
		{1000, 6250 * time.Millisecond},
	} {
		if got := SilenceLimit(tc.members); got != tc.want {
			t.Errorf("SilenceLimit(%d) = %v, want %v", tc.members, got, tc.want)
		}
	}
}

// manyMembers returns n members named m0000... with self among them.
func manyMembers(self string, n int) []ring.Member {
	ms := []ring.Member{{Name: self, Zone: "z", Weight: 1}}
	for i := 1; i < n; i++ {
		ms = append(ms, ring.Member{Name: fmt.Sprintf("m%04d", i), Zone: "z", Weight: 1})
	}
	return ms
}

// The silence limit follows the policy's member count: a member silent
// for 3 s is silent at 10 members (limit 2.5 s) and not at 1,000 (6.25 s),
// both for CheckSilence and for fail-over of a fast target.
func TestSilenceScalesWithMembers(t *testing.T) {
	const iv = 500 * time.Millisecond // two intervals are below either limit
	for _, tc := range []struct {
		members int
		limit   time.Duration
		silent  bool
	}{
		{10, 2500 * time.Millisecond, true},
		{400, 2500 * time.Millisecond, true},
		{1000, 6250 * time.Millisecond, false},
	} {
		tb := &table{wm: map[string]time.Time{}, obs: map[string][]health.Observation{}}
		p := New("self", Defaults{}, tb)
		if got := p.Silence(); got != MinSilence {
			t.Errorf("Silence before SetMembers = %v, want %v", got, MinSilence)
		}
		p.SetMembers(manyMembers("self", tc.members), t0)
		if got := p.Silence(); got != tc.limit {
			t.Errorf("%d members: Silence = %v, want %v", tc.members, got, tc.limit)
		}
		// A target whose first-ranked node is another member, and self
		// second in its fallback order.
		var spec target.Spec
		var owner string
		for i := 0; ; i++ {
			spec = target.Spec{ID: fmt.Sprintf("t%d", i)}
			if rank := p.Ring().Rank(spec.ID); rank[1] == "self" {
				owner = rank[0]
				break
			}
		}
		// The owner falls silent; every other member speaks throughout.
		now := t0.Add(4 * time.Second) // the owner silent 3 s
		later := t0.Add(time.Second + tc.limit + time.Millisecond)
		for _, mb := range p.Ring().Members() {
			if mb != "self" {
				tb.wm[mb] = later
			}
		}
		tb.wm[owner] = t0.Add(time.Second)
		if got, _ := p.CheckSilence(now, iv); got != tc.silent {
			t.Errorf("%d members, owner silent 3s: CheckSilence some = %v, want %v", tc.members, got, tc.silent)
		}
		if got := p.Owns(&spec, iv, false, now); got != tc.silent {
			t.Errorf("%d members, owner %s silent 3s: fallback owns = %v, want %v", tc.members, owner, got, tc.silent)
		}
		// Past the limit, every size judges it silent.
		if some, _ := p.CheckSilence(later, iv); !some || !p.Owns(&spec, iv, false, later) {
			t.Errorf("%d members: not silent %v after the last watermark (limit %v)", tc.members, later.Sub(t0.Add(time.Second)), tc.limit)
		}
	}
	// Shrinking the membership brings the floor back.
	p := New("self", Defaults{}, &table{})
	p.SetMembers(manyMembers("self", 1000), t0)
	p.SetMembers(manyMembers("self", 10), t0)
	if got := p.Silence(); got != MinSilence {
		t.Errorf("after shrinking to 10 members Silence = %v, want %v", got, MinSilence)
	}
}

// Members alive by memberlist do not stall together: when most others look
// silent at once, the node holds takeovers (it is the one behind); one
// silent member among several, or the only other one, is a takeover.
func TestCheckSilenceHoldsWhenMostLookSilent(t *testing.T) {
	const iv = time.Second
	for _, tc := range []struct {
		name       string
		members    []string
		silent     []string
		some, most bool
	}{
		{"one of three others", []string{"a", "b", "c", "d"}, []string{"b"}, true, false},
		{"half of the others", []string{"a", "b", "c", "d", "e"}, []string{"b", "c"}, true, false},
		{"two of three others", []string{"a", "b", "c", "d"}, []string{"b", "c"}, true, true},
		{"all others", []string{"a", "b", "c"}, []string{"b", "c"}, true, true},
		{"the only other", []string{"a", "b"}, []string{"b"}, true, false},
		{"none", []string{"a", "b", "c"}, nil, false, false},
	} {
		now := t0.Add(time.Minute)
		tb := &table{wm: map[string]time.Time{}}
		for _, m := range tc.members {
			tb.wm[m] = now
		}
		for _, m := range tc.silent {
			tb.wm[m] = now.Add(-MinSilence - time.Millisecond)
		}
		p := New("a", Defaults{}, tb)
		p.SetMembers(members(tc.members...), t0)
		some, most := p.CheckSilence(now, iv)
		if some != tc.some || most != tc.most || p.Holding(now) != tc.most {
			t.Errorf("%s: CheckSilence = %v, %v, holding %v; want %v, %v, holding %v", tc.name, some, most, p.Holding(now), tc.some, tc.most, tc.most)
		}
	}
}
