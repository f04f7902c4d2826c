package node

// History from any node. Each node keeps the rollups of what it probed
// itself (internal/history). A node serving a target's history or uptime
// with scope cluster asks every live member for its own rollups of the
// target over the range (GET /api/v1/targets/{id}/rollups, concurrently,
// each within peerTimeout) and sums them with its own. Rollups of the same
// minute from different observers add up: with replicas: 2 both owners'
// checks count, as they do after a fail-over where the old and the new
// owner each probed part of a minute. A member that did not answer, or a
// member the health table says probed the target recently enough to hold
// some of the range but that is not alive, is named in missing and the
// answer is partial. A member that answers 404 does not know the target
// and holds none of its records: it is not missing.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/heckhq/heck/internal/api"
	"github.com/heckhq/heck/internal/client"
	"github.com/heckhq/heck/internal/cluster"
	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/history"
	"github.com/heckhq/heck/internal/store"
	"github.com/heckhq/heck/internal/wire"
)

// defaultPeerTimeout bounds one member's answer to a cluster-scope read.
const defaultPeerTimeout = 2 * time.Second

// History returns a target's history in steps: this node's own records
// (scope local) or every member's merged (scope cluster).
func (n *Node) History(ctx context.Context, id string, from, to time.Time, step time.Duration, scope api.Scope) ([]history.Point, api.Coverage, error) {
	if err := n.mustExist(id); err != nil {
		return nil, api.Coverage{}, err
	}
	start, gstep, npts, err := history.Grid(from, to, step)
	if err != nil {
		return nil, api.Coverage{}, fmt.Errorf("history of %q: %w", id, err)
	}
	rs, cov, err := n.gather(ctx, id, start, to, gstep, scope)
	if err != nil {
		return nil, api.Coverage{}, fmt.Errorf("history of %q: %w", id, err)
	}
	return history.Points(rs, start, gstep, npts), cov, nil
}

// uptimeGroup is the group each member sums its rollups into for an
// uptime: the windows (24 h, 7 and 30 days back from now) are whole days,
// so 30 groups of a day from the start of the longest one answer all three.
const uptimeGroup = 24 * time.Hour

// Uptime returns a target's uptime over 24h, 7d and 30d, of scope.
func (n *Node) Uptime(ctx context.Context, id string, scope api.Scope) (history.Uptime, api.Coverage, error) {
	if err := n.mustExist(id); err != nil {
		return history.Uptime{}, api.Coverage{}, err
	}
	now := time.Now()
	from, to := history.UptimeRange(now)
	rs, cov, err := n.gather(ctx, id, from, to, uptimeGroup, scope)
	if err != nil {
		return history.Uptime{}, api.Coverage{}, fmt.Errorf("uptime of %q: %w", id, err)
	}
	return history.UptimeOf(rs, now), cov, nil
}

// Rollups returns this node's own rollups of a target in [from, to),
// summed into groups of step from from (GET /api/v1/targets/{id}/rollups).
func (n *Node) Rollups(ctx context.Context, id string, from, to time.Time, step time.Duration) ([]store.Rollup, error) {
	if err := n.mustExist(id); err != nil {
		return nil, err
	}
	return n.localRollups(ctx, id, ceilSecond(from), ceilSecond(to), step)
}

// PendingRollups returns this node's rollups of id in [from, to) not yet
// in the store, in groups of step from from (api.PendingBackend).
func (n *Node) PendingRollups(ctx context.Context, id string, from, to time.Time, step time.Duration) ([]store.Rollup, error) {
	if err := n.mustExist(id); err != nil {
		return nil, err
	}
	from, to = ceilSecond(from), ceilSecond(to)
	return group(n.rec.PendingRollups(id, from, to), from, step), nil
}

func (n *Node) localRollups(ctx context.Context, id string, from, to time.Time, step time.Duration) ([]store.Rollup, error) {
	rs, err := n.rec.RollupsIn(ctx, id, from, to, step)
	if err != nil {
		return nil, err
	}
	return group(rs, from, step), nil
}

// group sums rollups (oldest first, none before from) into groups of step
// from from, in place: the non-empty groups, oldest first, each with
// Minute set to its start and no target id.
func group(rs []store.Rollup, from time.Time, step time.Duration) []store.Rollup {
	out := rs[:0]
	for _, r := range rs {
		start := from.Add(r.Minute.Sub(from) / step * step)
		if k := len(out); k > 0 && out[k-1].Minute.Equal(start) {
			out[k-1].Merge(r)
			continue
		}
		r.Minute, r.TargetID = start, ""
		out = append(out, r)
	}
	return out
}

// ceilSecond rounds t up to a whole second.
func ceilSecond(t time.Time) time.Time {
	if t.Nanosecond() == 0 {
		return t
	}
	return t.Truncate(time.Second).Add(time.Second)
}

// gather returns the rollups of id in [from, to) summed into groups of
// step from from: this node's own, and with scope cluster every member's,
// with whose records they are.
func (n *Node) gather(ctx context.Context, id string, from, to time.Time, step time.Duration, scope api.Scope) ([]store.Rollup, api.Coverage, error) {
	from, to = ceilSecond(from), ceilSecond(to)
	var (
		f      *fanout
		remote []answer
		wg     sync.WaitGroup
	)
	if scope == api.ScopeCluster && n.cl != nil {
		// The others read their stores while this node reads its own.
		f = n.fanoutFor(id, from, to, step)
		wg.Go(func() { remote = f.ask(ctx) })
	}
	own, err := n.localRollups(ctx, id, from, to, step)
	wg.Wait()
	if err != nil {
		return nil, api.Coverage{}, err
	}
	answers := append([]answer{{member: n.name, rollups: own}}, remote...)
	var unreachable []string
	if f != nil {
		unreachable = f.unreachable
	}
	rs, cov := merge(answers, unreachable)
	cov.Scope = scope
	cov.SharedStore = n.sharedStore
	return rs, cov, nil
}

// peer is a member to ask, at the address of its API.
type peer struct{ name, addr string }

// answer is one member's part of a cluster-scope read: its rollups, or why
// it did not give them.
type answer struct {
	member  string
	rollups []store.Rollup // grouped on the read's grid, oldest first
	err     error          // non-nil: the member did not answer
}

// errUnknownTarget is a member's answer that it does not know the target:
// it holds none of its records.
var errUnknownTarget = errors.New("the member does not know the target")

// fanout is one cluster-scope read's questions to the other members.
type fanout struct {
	peers []peer
	// unreachable are members that may hold records of the range but
	// cannot be asked (not alive, or no usable API address).
	unreachable []string
	timeout     time.Duration
	// fetch asks one member; errUnknownTarget when it does not know the
	// target.
	fetch func(ctx context.Context, p peer) ([]store.Rollup, error)
}

// maxAsked bounds the members one read asks at once.
const maxAsked = 32

// ask asks every peer at once (up to maxAsked at a time), each within the timeout, and returns their
// answers when all have answered or given up (ctx ends them all).
func (f *fanout) ask(ctx context.Context) []answer {
	out := make([]answer, len(f.peers))
	sem := make(chan struct{}, maxAsked)
	var wg sync.WaitGroup
	for i, p := range f.peers {
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-ctx.Done():
				out[i] = answer{member: p.name, err: ctx.Err()}
				return
			}
			pctx, cancel := context.WithTimeout(ctx, f.timeout)
			defer cancel()
			rs, err := f.fetch(pctx, p)
			if errors.Is(err, errUnknownTarget) {
				rs, err = nil, nil
			} else if err != nil && pctx.Err() != nil && ctx.Err() == nil {
				err = fmt.Errorf("no answer within %s: %w", f.timeout, err)
			}
			out[i] = answer{member: p.name, rollups: rs, err: err}
		})
	}
	wg.Wait()
	return out
}

// merge sums the answers' rollups of the same group (every observer's
// checks count) and says whose they are: observers are the members that
// gave some, missing those that did not answer and the unreachable ones.
// A member's answer counts once, the first of its name, so a sum never
// holds one observer twice.
func merge(answers []answer, unreachable []string) ([]store.Rollup, api.Coverage) {
	var cov api.Coverage
	seen := map[string]bool{}
	var parts [][]store.Rollup
	size := 0
	for _, a := range answers {
		if seen[a.member] {
			continue
		}
		seen[a.member] = true
		if a.err != nil {
			cov.Missing = append(cov.Missing, a.member)
			continue
		}
		if len(a.rollups) > 0 {
			cov.Observers = append(cov.Observers, a.member)
			parts = append(parts, a.rollups)
			size += len(a.rollups)
		}
	}
	for _, m := range unreachable {
		if !seen[m] {
			seen[m] = true
			cov.Missing = append(cov.Missing, m)
		}
	}
	slices.Sort(cov.Observers)
	slices.Sort(cov.Missing)
	cov.Partial = len(cov.Missing) > 0

	out := make([]store.Rollup, 0, size)
	for _, p := range parts {
		out = append(out, p...)
	}
	if len(parts) > 1 {
		slices.SortStableFunc(out, func(a, b store.Rollup) int { return a.Minute.Compare(b.Minute) })
	}
	// Fold the rollups of one group (from several observers, or several
	// of one observer's should it send them) into one.
	folded := out[:0]
	for _, r := range out {
		if k := len(folded); k > 0 && folded[k-1].Minute.Equal(r.Minute) {
			folded[k-1].Merge(r)
			continue
		}
		r.TargetID = ""
		folded = append(folded, r)
	}
	return folded, cov
}

// fanoutFor plans a cluster-scope read of id over [from, to): every other
// live member is asked; a member that is not alive, or cannot be reached,
// is missing when the health table says it probed id recently enough to
// hold records of the range.
func (n *Node) fanoutFor(id string, from, to time.Time, step time.Duration) *fanout {
	f := &fanout{timeout: n.peerTimeout()}
	f.fetch = func(ctx context.Context, p peer) ([]store.Rollup, error) {
		return n.fetchRollups(ctx, p, id, from, to, step)
	}
	holds := n.mayHold(id, from)
	asked := map[string]bool{n.name: true}
	for _, m := range n.cl.Members() {
		if asked[m.Name] {
			continue
		}
		asked[m.Name] = true
		if m.State == cluster.StateDead || m.State == cluster.StateLeft {
			if holds[m.Name] {
				f.unreachable = append(f.unreachable, m.Name)
			}
			continue
		}
		addr, err := wire.ReachableAPIAddr(m.APIAddr, m.Addr)
		if err != nil {
			if holds[m.Name] {
				n.peerWarn(m.Name, "cannot ask a member for its history", err)
				f.unreachable = append(f.unreachable, m.Name)
			}
			continue
		}
		f.peers = append(f.peers, peer{name: m.Name, addr: addr})
	}
	// Observers no longer in the member list at all (gone for longer than
	// memberlist remembers the dead).
	for name := range holds {
		if !asked[name] {
			f.unreachable = append(f.unreachable, name)
		}
	}
	slices.Sort(f.unreachable)
	return f
}

// mayHold returns the members (this node aside) whose observations of id
// say they probed it at or after from, give or take an interval: the ones
// that may hold some of its records from then on.
func (n *Node) mayHold(id string, from time.Time) map[string]bool {
	out := map[string]bool{}
	for _, o := range n.table.Get(id) {
		if o.Observer == n.name {
			continue
		}
		last := o.At
		if !o.Released {
			// Unchanged results are not gossiped: the observer's watermark
			// of the same life says it kept probing.
			if wm, ok := n.table.Watermark(o.Observer); ok && health.SeqEpoch(wm.Seq) == health.SeqEpoch(o.Seq) && wm.At.After(last) {
				last = wm.At
			}
		}
		if !last.Add(o.Interval + 5*time.Second).Before(from) {
			out[o.Observer] = true
		}
	}
	return out
}

// fetchRollups asks p for its own rollups of id.
func (n *Node) fetchRollups(ctx context.Context, p peer, id string, from, to time.Time, step time.Duration) ([]store.Rollup, error) {
	c, err := client.New("http://"+p.addr, n.cfg.API.Token, n.peerClient)
	if err != nil {
		return nil, err
	}
	// With a shared store this node reads every member's stored records
	// itself: the others give only what they have not stored yet.
	r, err := c.Rollups(ctx, id, client.RollupQuery{From: from, To: to, Step: step, Pending: n.sharedStore})
	switch {
	case client.IsTargetNotFound(err):
		return nil, errUnknownTarget
	case err != nil:
		if s := client.StatusOf(err); s == http.StatusUnauthorized || s == http.StatusForbidden {
			err = fmt.Errorf("%w (every member needs the same api.token)", err)
		}
		n.peerWarn(p.name, "a member did not give its history", err)
		return nil, err
	case r.Node != p.name || !r.From.Equal(from) || r.Step != step:
		err := fmt.Errorf("%s answered as %q for groups of %s from %s, asked as %q for groups of %s from %s",
			p.addr, r.Node, r.Step, r.From.Format(time.RFC3339), p.name, step, from.Format(time.RFC3339))
		n.peerWarn(p.name, "a member gave a history that does not fit", err)
		return nil, err
	}
	return r.Rollups, nil
}

// peerTimeout is the per-member bound of a cluster-scope read.
func (n *Node) peerTimeout() time.Duration {
	if n.opts.peerTimeout > 0 {
		return n.opts.peerTimeout
	}
	return defaultPeerTimeout
}

// newPeerHTTP is the HTTP client of a node's cluster-scope reads: it
// keeps connections to every member, so a read costs no handshake, and
// ignores proxy settings (members talk to each other directly).
func newPeerHTTP() *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext:         (&net.Dialer{Timeout: time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 8,
		IdleConnTimeout:     90 * time.Second,
	}}
}

// peerWarnEvery bounds the warnings about one member's failed answers.
const peerWarnEvery = time.Minute

// peerWarn logs why a member's records are missing, at most once a
// minute per member (a history polled while a member is down would
// otherwise log on every read); the rest at debug level.
func (n *Node) peerWarn(member, msg string, err error) {
	now := time.Now()
	n.peerMu.Lock()
	if n.peerWarned == nil {
		n.peerWarned = map[string]time.Time{}
	}
	last, ok := n.peerWarned[member]
	warn := !ok || now.Sub(last) >= peerWarnEvery
	if warn {
		n.peerWarned[member] = now
	}
	n.peerMu.Unlock()
	if warn {
		n.log.Warn(msg+"; its part is missing from cluster-scope history and uptime", "member", member, "err", err)
		return
	}
	n.log.Debug(msg, "member", member, "err", err)
}
