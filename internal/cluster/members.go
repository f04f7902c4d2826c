package cluster

// The membership view: the cluster's own table of members, fed by memberlist's event callbacks, and this node's metadata.

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/memberlist"
)

// Members lists every member this node knows, this node included: the
// live ones (alive) and those that died or left less than ReconnectTimeout
// ago, sorted by name. (memberlist offers no race-free view of suspicion,
// so a suspected member stays alive here until it is declared dead.)
func (c *Cluster) Members() []Member {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.members) == 0 {
		return nil
	}
	now := time.Now()
	out := make([]Member, 0, len(c.members))
	for name, at := range c.leaving {
		if now.Sub(at) > c.cfg.ReconnectTimeout {
			delete(c.leaving, name)
		}
	}
	for name, e := range c.members {
		if e.member.State != StateAlive && now.Sub(e.at) > c.cfg.ReconnectTimeout {
			delete(c.members, name)
			continue
		}
		out = append(out, e.member)
	}
	slices.SortFunc(out, func(a, b Member) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// recordMember copies n into the member table; called from memberlist's
// event callbacks, under its node lock.
func (c *Cluster) recordMember(n *memberlist.Node, state string) Member {
	m := memberFromNode(n)
	m.State = state
	e := &memberEntry{member: m, node: memberlist.Node{Name: n.Name, Addr: slices.Clone(n.Addr), Port: n.Port}}
	if state != StateAlive {
		e.at = time.Now()
	}
	c.mu.Lock()
	c.members[n.Name] = e
	if state == StateAlive {
		delete(c.leaving, n.Name)
	}
	c.mu.Unlock()
	return m
}

// markLeaving records a member's leave announcement. The announcement
// travels by stream and memberlist's leave by packet, so the leave may be
// seen first: a member already marked dead is then corrected to left (and
// reported again).
func (c *Cluster) markLeaving(name string) {
	c.mu.Lock()
	c.leaving[name] = time.Now()
	var fixed *Member
	if e, ok := c.members[name]; ok && e.member.State == StateDead {
		e.member.State = StateLeft
		m := e.member
		fixed = &m
	}
	c.mu.Unlock()
	if fixed != nil {
		c.events.push(Event{Type: EventLeave, Member: *fixed})
	}
}

// liveNode returns a copy of a live member's address, for sending.
func (c *Cluster) liveNode(name string) (*memberlist.Node, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.members[name]
	if !ok || e.member.State != StateAlive {
		return nil, false
	}
	n := e.node
	return &n, true
}

// livePeers returns copies of the live members other than this node.
func (c *Cluster) livePeers() []*memberlist.Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*memberlist.Node, 0, len(c.members))
	for name, e := range c.members {
		if name != c.cfg.NodeName && e.member.State == StateAlive {
			n := e.node
			out = append(out, &n)
		}
	}
	return out
}

// LocalMeta is what this node currently advertises.
func (c *Cluster) LocalMeta() Meta {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.local
}

// SetMeta changes what this node advertises (say, its API address once
// known, or its weight) and gossips it: other nodes get an EventUpdate.
// It waits, bounded by ctx (5 s without a deadline), until the update has
// been sent to the cluster.
func (c *Cluster) SetMeta(ctx context.Context, m Meta) error {
	b, err := m.check()
	if err != nil {
		return err
	}
	c.mu.Lock()
	running := c.state == stateRunning
	if running {
		c.local = m
		c.meta.Store(&b)
	}
	c.mu.Unlock()
	if !running {
		return fmt.Errorf("cluster: set meta: %w", ErrNotRunning)
	}
	timeout := 5 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	if err := c.ml.Load().UpdateNode(timeout); err != nil {
		return fmt.Errorf("cluster: set meta: %w", err)
	}
	return nil
}

// Waiting reports whether the node started with join addresses none of
// which has answered yet (it runs alone and keeps retrying them).
func (c *Cluster) Waiting() bool { return c.waiting.Load() }
