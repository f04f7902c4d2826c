package cluster

// Reconnection: retrying join addresses and recently dead members, so the halves of a long partition find each other again.

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// runRejoin retries missing members and join addresses until ctx ends:
// every RejoinInterval, and every RejoinBurst while members seen dead
// answer (NextRejoin).
func (c *Cluster) runRejoin(ctx context.Context) {
	defer c.wg.Done()
	t := time.NewTimer(c.cfg.RejoinInterval)
	defer t.Stop()
	streak := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			var next time.Duration
			next, streak = NextRejoin(c.cfg.RejoinInterval, c.rejoinOnce(ctx), streak)
			t.Reset(next)
		}
	}
}

// RejoinBurst is how soon the next rejoin round follows one in which a
// member this node saw dead answered: a partition is healing. Each such
// join is a push/pull that carries a whole member state across the healed
// cut at once, where memberlist's gossip has to spread every member's
// refutation one message at a time (at 1,000 members that gossip alone
// takes over 10 s, docs/scale.md). The rounds stay this fast only while
// dead members keep answering, and for RejoinBurstRounds rounds at most (a
// member that answers joins but stays unreachable otherwise, say by UDP,
// must not keep the loop fast), so a settled cluster, or one whose dead
// members are really gone, is back at RejoinInterval after one round.
const (
	RejoinBurst       = time.Second
	RejoinBurstRounds = 10
)

// NextRejoin is the wait before the next rejoin round: RejoinBurst after a
// round in which a dead member answered (healed), for at most
// RejoinBurstRounds rounds in a row, else interval. streak counts the fast
// rounds so far; a round that heals nothing resets it.
func NextRejoin(interval time.Duration, healed bool, streak int) (time.Duration, int) {
	switch {
	case !healed:
		return interval, 0
	case streak < RejoinBurstRounds && RejoinBurst < interval:
		return RejoinBurst, streak + 1
	default:
		return interval, streak
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
// ReconnectTimeout), the first dead of them, and every join address that no
// live member has.
func (c *Cluster) rejoinCandidates(ctx context.Context) (addrs []string, picked int) {
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
// address; picked says how many of addrs are dead members'. It never picks
// an address in live, nor one twice, and it does not spend the dead
// members' quota on an address that is also a join address (that one is
// tried anyway, and counts as a join address).
func chooseRejoin(live map[string]bool, dead, join []string, limit int, intN func(int) int) (addrs []string, picked int) {
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
	return append(pool[:k:k], joins...), k
}

// rejoinParallel bounds the join attempts of one rejoin round in flight
// (each may wait TCPTimeout on an unreachable address).
const rejoinParallel = 4

// rejoinOnce is one rejoin round. It reports whether a member seen dead
// answered its join.
func (c *Cluster) rejoinOnce(ctx context.Context) (healed bool) {
	ml := c.ml.Load()
	sem := make(chan struct{}, rejoinParallel)
	var wg sync.WaitGroup
	var answered atomic.Bool
	addrs, dead := c.rejoinCandidates(ctx)
	for i, a := range addrs {
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
				if i < dead {
					answered.Store(true)
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
	return answered.Load()
}
