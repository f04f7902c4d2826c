package cluster

// Reconnection: retrying join addresses and recently dead members, so the halves of a long partition find each other again.

import (
	"context"
	"slices"
	"sync"
	"time"
)

// runRejoin retries missing members and join addresses until ctx ends.
func (c *Cluster) runRejoin(ctx context.Context) {
	defer c.wg.Done()
	t := time.NewTicker(c.cfg.RejoinInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c.rejoinOnce(ctx)
		}
	}
}

// rejoinCandidates lists the addresses worth a join attempt: dead members'
// last addresses (within ReconnectTimeout) and join addresses that no live
// member has.
func (c *Cluster) rejoinCandidates(ctx context.Context) []string {
	live := map[string]bool{}
	var dead []string
	for _, m := range c.Members() { // also forgets members gone too long
		switch m.State {
		case StateAlive:
			live[m.Addr] = true
		case StateDead:
			dead = append(dead, m.Addr)
		}
	}
	var out []string
	add := func(a string) {
		if !live[a] && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	for _, a := range dead {
		add(a)
	}
	for _, e := range c.cfg.Join {
		addrs, err := resolveJoin(ctx, c.cfg.Resolve, e)
		if err != nil {
			c.log.Debug("cluster: rejoin: resolve", "join", e, "err", err)
			continue
		}
		for _, a := range addrs {
			add(a)
		}
	}
	return out
}

// rejoinParallel bounds the join attempts of one rejoin round in flight
// (each may wait TCPTimeout on an unreachable address).
const rejoinParallel = 4

func (c *Cluster) rejoinOnce(ctx context.Context) {
	ml := c.ml.Load()
	sem := make(chan struct{}, rejoinParallel)
	var wg sync.WaitGroup
	for _, a := range c.rejoinCandidates(ctx) {
		select {
		case <-ctx.Done():
		case sem <- struct{}{}:
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				if _, err := ml.Join([]string{a}); err != nil {
					c.log.Debug("cluster: rejoin failed", "addr", a, "err", err)
					return
				}
				if c.waiting.CompareAndSwap(true, false) {
					c.log.Info("cluster: joined", "addr", a, "members", ml.NumMembers())
					return
				}
				c.log.Info("cluster: rejoined", "addr", a)
			}()
		}
	}
	wg.Wait()
}
