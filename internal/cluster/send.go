package cluster

// Sending: deltas by gossip broadcast, large frames and digests by reliable messages, and multicast to every live member.

import (
	"context"
	"fmt"
	"sync"

	"github.com/hashicorp/memberlist"
)

// Broadcast queues a delta for every other member (see the package
// comment for the two paths and their guarantees). It never blocks.
func (c *Cluster) Broadcast(msg []byte) {
	frame := appendFrame(make([]byte, 0, frameSize(c.cfg.NodeName, msg)), msgDelta, c.cfg.NodeName, msg)
	if len(frame) <= c.maxBcst {
		c.broadcasts.QueueBroadcast(deltaBroadcast(frame))
		if n := c.broadcasts.NumQueued(); n > maxQueuedBroadcasts {
			c.broadcasts.Prune(maxQueuedBroadcasts)
			c.stats.pruned.Add(uint64(n - maxQueuedBroadcasts))
		}
		return
	}
	c.sendLarge(frame)
}

// sendLarge hands a frame too large for a packet to the reliable sender,
// or drops it (anti-entropy repairs it) when that sender is behind.
func (c *Cluster) sendLarge(frame []byte) {
	select {
	case c.large <- frame:
	default:
		c.stats.largeDropped.Add(1)
		c.log.Warn("cluster: large delta dropped, reliable sender behind (anti-entropy will repair)", "bytes", len(frame))
	}
}

// Multicast sends msg straight to every live member, once each: by a UDP
// packet when it fits one (MaxBroadcastSize), else by the reliable sender
// of large deltas. Nothing relays it and nothing retransmits it: it costs
// one copy per member where gossip costs several per member, so a Replica
// uses it when gossip is backed up. Best effort; anti-entropy repairs loss.
func (c *Cluster) Multicast(msg []byte) {
	frame := appendFrame(make([]byte, 0, frameSize(c.cfg.NodeName, msg)), msgDirect, c.cfg.NodeName, msg)
	if len(frame) > c.maxBcst {
		c.sendLarge(frame)
		return
	}
	ml := c.ml.Load()
	if ml == nil {
		return
	}
	for _, n := range c.livePeers() {
		if err := ml.SendBestEffort(n, frame); err != nil {
			c.log.Debug("cluster: direct delta not sent", "to", n.Name, "err", err)
		}
	}
	c.stats.multicast.Add(1)
}

// Queued returns the number of deltas waiting in the gossip queue: a
// measure of how far gossip is behind.
func (c *Cluster) Queued() int { return c.broadcasts.NumQueued() }

// Send delivers msg to node's Replica.HandleDelta over a reliable stream.
// ctx is checked before sending; the send itself is bounded by memberlist's
// TCPTimeout.
func (c *Cluster) Send(ctx context.Context, node string, msg []byte) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("send to %s: %w", node, err)
	}
	ml := c.ml.Load()
	if ml == nil {
		return fmt.Errorf("send to %s: %w", node, ErrNotRunning)
	}
	to, ok := c.liveNode(node)
	if !ok {
		return fmt.Errorf("send to %s: %w", node, ErrUnknownMember)
	}
	frame := appendFrame(make([]byte, 0, frameSize(c.cfg.NodeName, msg)), msgDirect, c.cfg.NodeName, msg)
	if err := ml.SendReliable(to, frame); err != nil {
		return fmt.Errorf("send to %s (%s): %w", node, to.Address(), err)
	}
	return nil
}

// runLarge sends large deltas to every live member, reliably.
func (c *Cluster) runLarge() {
	defer c.wg.Done()
	for {
		select {
		case <-c.ctx.Done():
			return
		case frame := <-c.large:
			ml := c.ml.Load()
			var wg sync.WaitGroup
			for _, n := range c.livePeers() {
				wg.Add(1)
				go func(n *memberlist.Node) {
					defer wg.Done()
					if err := ml.SendReliable(n, frame); err != nil {
						c.log.Debug("cluster: large delta not sent", "to", n.Name, "err", err)
					}
				}(n)
			}
			wg.Wait()
			c.stats.largeSent.Add(1)
		}
	}
}

// runDigests hands peers' digests to the Replica, one at a time.
func (c *Cluster) runDigests() {
	defer c.wg.Done()
	for {
		from, d, ok := c.digest.next(c.ctx)
		if !ok {
			return
		}
		c.replica.MergeDigest(from, d)
	}
}
