package cluster

// Reconnection: retrying join addresses and recently dead members, so the halves of a long partition find each other again.

import (
	"context"
	"math/rand/v2"
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

// RejoinMax is how many dead members one rejoin round tries at most,
// chosen at random. One join that bridges the halves of a healed partition
// is enough: memberlist's gossip of alive messages brings the rest, so
// joining every dead member (N*M push/pulls of the whole member state at
// the heal of an N/M split) only repeats the news. With RejoinMax or fewer
// dead members all are tried each round, so a two-node cluster still finds
// its peer at once.
const RejoinMax = 3

// rejoinCandidates lists the addresses worth a join attempt this round: up
// to RejoinMax random dead members' last addresses (within
// ReconnectTimeout) and every join address that no live member has.
func (c *Cluster) rejoinCandidates(ctx context.Context) []string {
	live := map[string]bool{}
	var dead, join []string
	for _, m := range c.Members() { // also forgets members gone too long
		switch m.State {
		case StateAlive:
			live[m.Addr] = true
		case StateDead:
			dead = append(dead, m.Addr)
		}
	}
	for _, e := range c.cfg.Join {
		addrs, err := resolveJoin(ctx, c.cfg.Resolve, e)
		if err != nil {
			c.log.Debug("cluster: rejoin: resolve", "join", e, "err", err)
			continue
		}
		join = append(join, addrs...)
	}
	return chooseRejoin(live, dead, join, RejoinMax, rand.IntN)
}

// chooseRejoin picks one rejoin round's addresses: at most limit of the
// dead addresses, chosen with intN (rand.IntN's contract), then every join
// address. It never picks an address in live, nor one twice, and it does
// not spend the dead members' quota on an address that is also a join
// address (that one is tried anyway).
func chooseRejoin(live map[string]bool, dead, join []string, limit int, intN func(int) int) []string {
	seen := map[string]bool{}
	var joins []string
	for _, a := range join {
		if !live[a] && !seen[a] {
			seen[a] = true
			joins = append(joins, a)
		}
	}
	var pool []string
	for _, a := range dead {
		if !live[a] && !seen[a] {
			seen[a] = true
			pool = append(pool, a)
		}
	}
	// A partial Fisher-Yates shuffle: pool[:k] is a uniform random choice.
	k := min(limit, len(pool))
	for i := range k {
		j := i + intN(len(pool)-i)
		pool[i], pool[j] = pool[j], pool[i]
	}
	return append(pool[:k:k], joins...)
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
