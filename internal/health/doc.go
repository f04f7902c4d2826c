// Package health owns what heck knows about the state of targets: the State
// type, and the replicated table of observations, where each (target,
// observer node) is a single-writer register ordered by the observer's
// sequence number. The verdict for a target is derived from its owners'
// freshest observations; an observation older than a few intervals is stale.
//
// The parts:
//
//   - Table merges observations and per-observer watermarks ("all I own was
//     probed as of T") by "higher sequence wins": commutative, associative,
//     idempotent. Its digest (a crdt.VersionVector) counts, per observer,
//     the sequence up to which it holds everything, so anti-entropy
//     (Delta, Merge) sends only what a peer lacks and fills the gaps lost
//     gossip leaves. Sequences are epoch<<32|counter; a publisher starts a
//     new epoch at each start, so a restarted node's observations win.
//   - Publisher turns local probe outcomes into observations only when a
//     reader would see a difference (state, its start, the interval, or,
//     within a per-node budget, the coarse latency bucket), releases the
//     observations of targets the node stops probing, and publishes
//     watermarks, so gossip follows changes and not the probe rate or the
//     number of targets. A watermark vouches for its observer's unreleased
//     observations of the same life (sequence epoch), so an unchanged
//     observation needs no refresh.
//   - Table.Verdict judges a target from its owners' observations: fresh
//     within StaleAfter intervals (watermarks extend freshness), majority
//     among owners, ties to the worse state, Stale when nothing fresh.
//   - WatermarkPeriod is the watermark period of a cluster of N members
//     (1 s up to 400, N/400 s above); the limits that wait on watermarks
//     (the table's MinStale, ownership's silence limit) derive from it.
//   - AppendDelta and DecodeDelta are the wire encoding.
package health
