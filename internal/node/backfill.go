package node

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/heckhq/heck/internal/api"
	"github.com/heckhq/heck/internal/client"
	"github.com/heckhq/heck/internal/cluster"
	"github.com/heckhq/heck/internal/events"
)

// Backfill of the transition log. Gossip carries observations, not the
// log: a node that was down, or on the other side of a partition, never
// heard the changes the others decided meanwhile (a target that went down
// and came back while it was away leaves no trace in its own view). So
// when members come back into view, this node reads their lists of
// transitions over the API for the time it could not hear them and adds
// what it missed (events.Log.Backfill keeps each change once). At start
// it reads the last BackfillWindow from one member.

const (
	// backfillWindow is how far back a node that starts reads what it
	// may have missed while it was down.
	backfillWindow = 24 * time.Hour
	// backfillMargin widens a window of absence, for clocks that differ
	// and a member declared gone late.
	backfillMargin = time.Minute
	// backfillSettle lets members that come back together (a partition
	// healing) arrive before one of them is read.
	backfillSettle = 2 * time.Second
	// backfillPage is how many transitions one request asks for.
	backfillPage = api.MaxTransitionLimit
	// backfillTimeout bounds one member's whole read.
	backfillTimeout = 30 * time.Second
)

// backfiller decides whom to read from and when. clusterLoop tells it of
// membership events; its run goroutine, owned by Node.Run, does the reads.
type backfiller struct {
	n    *Node
	kick chan struct{}
	hc   *http.Client

	mu      sync.Mutex
	lost    map[string]time.Time // member -> when it went out of view
	due     map[string]time.Time // member -> read its list from this time
	started bool                 // the read at start has been done
	done    func(member string, added int, err error)
}

func newBackfiller(n *Node) *backfiller {
	return &backfiller{n: n, kick: make(chan struct{}, 1), hc: &http.Client{Timeout: 10 * time.Second},
		lost: map[string]time.Time{}, due: map[string]time.Time{}}
}

// note follows a membership event.
func (b *backfiller) note(ev cluster.Event, now time.Time) {
	name := ev.Member.Name
	if name == b.n.name {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch ev.Type {
	case cluster.EventLeave:
		if _, ok := b.lost[name]; !ok {
			b.lost[name] = now
		}
		delete(b.due, name)
		return
	case cluster.EventJoin:
		if at, ok := b.lost[name]; ok {
			delete(b.lost, name)
			b.due[name] = at.Add(-backfillMargin)
		} else if !b.started {
			b.due[name] = now.Add(-backfillWindow)
		} else {
			return // a new member: it has nothing this node missed
		}
	default:
		return
	}
	select {
	case b.kick <- struct{}{}:
	default:
	}
}

// run reads from members as they come back until ctx ends.
func (b *backfiller) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-b.kick:
		}
		// Let members that come back together arrive.
		select {
		case <-ctx.Done():
			return
		case <-time.After(backfillSettle):
		}
		b.once(ctx)
	}
}

// once reads from one of the members due (the one away longest; the next
// if it fails), over the widest window due: members that come back
// together were on the same side and hold the same changes.
func (b *backfiller) once(ctx context.Context) {
	b.mu.Lock()
	due := b.due
	b.due = map[string]time.Time{}
	b.mu.Unlock()
	if len(due) == 0 {
		return
	}
	names := make([]string, 0, len(due))
	var from time.Time
	for name, at := range due {
		names = append(names, name)
		if from.IsZero() || at.Before(from) {
			from = at
		}
	}
	slices.SortFunc(names, func(a, c string) int { return due[a].Compare(due[c]) })
	addrs := b.reachable()
	for _, name := range names {
		addr, ok := addrs[name]
		if !ok {
			continue // gone again, or no API address
		}
		added, err := b.read(ctx, addr, from)
		if b.done != nil {
			b.done(name, added, err)
		}
		if err != nil {
			b.n.log.Warn("could not read a member's transitions to fill the gap; trying another", "member", name, "err", err)
			continue
		}
		b.mu.Lock()
		b.started = true
		b.mu.Unlock()
		if added > 0 {
			b.n.log.Info("added transitions decided while this node could not hear them", "member", name,
				"since", from.UTC().Format(time.RFC3339), "added", added)
		}
		return
	}
	if ctx.Err() == nil {
		// Nobody answered: try again at the next event.
		b.mu.Lock()
		for name, at := range due {
			if _, ok := b.due[name]; !ok {
				b.due[name] = at
			}
		}
		b.mu.Unlock()
	}
}

// reachable maps each alive member to where its API answers.
func (b *backfiller) reachable() map[string]string {
	out := map[string]string{}
	for _, m := range b.n.cl.Members() {
		if m.State != cluster.StateAlive || m.Name == b.n.name {
			continue
		}
		if addr, err := (api.Member{APIAddr: m.APIAddr, Addr: m.Addr}).Reach(); err == nil {
			out[m.Name] = addr
		}
	}
	return out
}

// read pages through the member's transitions since from, newest first,
// and backfills the log with them.
func (b *backfiller) read(ctx context.Context, addr string, from time.Time) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, backfillTimeout)
	defer cancel()
	c, err := client.New("http://"+addr, b.n.cfg.API.Token, b.hc)
	if err != nil {
		return 0, err
	}
	var all []events.Transition
	seen := map[string]bool{}
	until := time.Time{}
	for {
		page, err := c.AllTransitions(ctx, client.TransitionQuery{Since: from, Until: until, Limit: backfillPage})
		if err != nil {
			return 0, fmt.Errorf("list transitions at %s: %w", addr, err)
		}
		fresh := 0
		for _, t := range page {
			if !seen[t.ID] {
				seen[t.ID] = true
				all = append(all, t)
				fresh++
			}
		}
		if len(page) < backfillPage || fresh == 0 {
			break
		}
		// The next page: older than the oldest of this one (plus that
		// instant again, for changes that share it).
		until = page[len(page)-1].At.Add(time.Nanosecond)
	}
	return b.n.tlog.Backfill(ctx, all)
}
