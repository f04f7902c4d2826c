package replica

import (
	"context"
	"log/slog"
	"time"

	"github.com/heckhq/heck/internal/health"
)

// Gap repair. Multicast, the path of every change in a cluster above
// multicastAbove members, has no redundancy: a lost packet, or everything
// an observer published while it and this node could not reach each other
// (a partition, the seconds while views merge after it heals), would wait
// for anti-entropy, one push/pull every 30-180 s per node, one pair at a
// time. But each watermark carries the observer's latest sequence, so a
// node sees the hole itself: when an observer's watermark arrives and this
// table still lacks a sequence at or below the observer's previous
// watermark (a full watermark period ago, so nothing is merely in flight),
// it asks that observer for its missing part (kindHealthAsk: the table's
// summary of that observer alone), and the observer answers with just the
// live observations in the holes (kindHealthRepair, not relayed). The
// answer's digest covers that one observer, so superseded sequences stop
// counting as holes too. A node asks an observer again only after another
// watermark period without the answer.
//
// A watermark that follows the previous one by more than the table's stale
// limit (its observer's clock; three watermark periods at least) ends a
// silence: this node heard nothing of that observer for that long, which a
// partition, or the merging of views after one heals, does, and a lost
// packet or two does not. Then what the observer published before this
// watermark is missing, not in flight, and the node asks at once instead
// of a period later (gapBound): at 1,000 members the period is 2.5 s, and
// waiting for a second watermark held a healed cluster's tables up to two
// periods behind its views.
//
// A hole above the previous watermark but below the newest one is checked
// again settleFlushes flushes (500 ms) after that watermark arrived, by
// which time anything sent before it on the same direct path has landed:
// a change multicast while its observer did not yet see this node (views
// still merging after a heal) is asked for then, not a whole period
// later. An ask for what did land meanwhile costs only the ask: the
// observer answers nothing when nothing is missing.
//
// kindHealthAsk's payload is health.AppendSummary of a one-observer Summary.
const kindHealthAsk byte = 9

// outboxMax bounds the messages waiting to be sent by the outbox; beyond
// it asks and answers are dropped (the next watermark asks again, and
// anti-entropy repairs in the end).
const outboxMax = 512

type outMsg struct {
	to   string
	msg  []byte
	flow Flow
}

// gapBound is the sequence below which the table must hold everything of
// an observer whose watermark w follows prev: prev's sequence, a period
// old, or w's own after a silence longer than stale.
func gapBound(prev, w health.Watermark, stale time.Duration) uint64 {
	if !prev.At.IsZero() && w.At.Sub(prev.At) > stale {
		return w.Seq
	}
	return prev.Seq
}

// settleFlushes is how many flushes (flushEvery apart) a hole below a new
// watermark is given to fill before the node asks for it.
const settleFlushes = 10

// gapCheck is a hole to look at again: below watermark seq, due at the
// flush numbered due.
type gapCheck struct {
	seq uint64
	due uint64
}

// noteWatermarks checks, after a merge, the observers whose watermark was
// new here: prev holds each one's gapBound. A hole below the bound is
// asked for now; one only below the new watermark is checked again once it
// has had settleFlushes flushes to fill (checkSettled).
func (r *Replica) noteWatermarks(prev map[string]uint64) {
	for o, p := range prev {
		complete := r.table.Complete(o)
		cur, _ := r.table.Watermark(o)
		if complete >= cur.Seq {
			continue
		}
		if p == 0 || complete >= p {
			r.pmu.Lock()
			if r.checks == nil {
				r.checks = map[string]gapCheck{}
			}
			if _, ok := r.checks[o]; !ok {
				r.checks[o] = gapCheck{seq: cur.Seq, due: r.flushes + settleFlushes}
			}
			r.pmu.Unlock()
			continue
		}
		r.ask(o, p, cur.Seq)
	}
}

// ask asks observer o for its holes unless it was asked at a watermark at
// or above bound; at marks what this ask covers.
func (r *Replica) ask(o string, bound, at uint64) {
	r.pmu.Lock()
	if r.asked == nil {
		r.asked = map[string]uint64{}
	}
	// Ask again only once the watermark that followed the last ask is
	// itself a period old: the answer has had a period to arrive.
	again := r.asked[o] < bound
	if again {
		r.asked[o] = at
	}
	r.pmu.Unlock()
	if !again {
		return // asked at this watermark already; give the answer a period
	}
	sum := health.Summary{o: r.table.SummaryOf(o)}
	r.enqueue(o, health.AppendSummary([]byte{kindHealthAsk}, sum), FlowHealthAsk)
}

// checkSettled counts a flush and asks for the holes that outlived their
// settling time.
func (r *Replica) checkSettled() {
	r.pmu.Lock()
	r.flushes++
	var due map[string]uint64
	for o, c := range r.checks {
		if c.due <= r.flushes {
			if due == nil {
				due = map[string]uint64{}
			}
			due[o] = c.seq
			delete(r.checks, o)
		}
	}
	r.pmu.Unlock()
	for o, seq := range due {
		if r.table.Complete(o) < seq {
			r.ask(o, seq, seq)
		}
	}
}

// answerAsk answers a peer's ask with what it lacks of the observers it
// names (in practice this node itself).
func (r *Replica) answerAsk(from string, payload []byte) {
	sum, err := health.DecodeSummary(payload)
	if err != nil {
		r.log.Warn("bad health ask", "from", from, "err", err)
		return
	}
	d := r.table.DeltaForObservers(sum)
	if d.Empty() {
		return
	}
	r.enqueue(from, health.AppendDelta([]byte{kindHealthRepair}, &d), FlowHealthRepair)
}

// enqueue queues msg for the outbox: asks and answers are sent off the
// apply path, since a Send may wait on a stream.
func (r *Replica) enqueue(to string, msg []byte, f Flow) {
	r.pmu.Lock()
	if len(r.outbox) >= outboxMax {
		r.pmu.Unlock()
		r.log.Debug("replica outbox full; dropping a gap message", "to", to)
		return
	}
	r.outbox = append(r.outbox, outMsg{to: to, msg: msg, flow: f})
	r.pmu.Unlock()
	select {
	case r.outKick <- struct{}{}:
	default:
	}
}

// sendOutbox sends everything queued for the outbox.
func (r *Replica) sendOutbox(ctx context.Context) {
	r.pmu.Lock()
	out := r.outbox
	r.outbox = nil
	r.pmu.Unlock()
	t := r.transport()
	if t == nil {
		return
	}
	for _, m := range out {
		if ctx.Err() != nil {
			return
		}
		r.count(m.flow, len(m.msg))
		if err := t.Send(ctx, m.to, m.msg); err != nil && r.log.Enabled(ctx, slog.LevelDebug) {
			r.log.Debug("send gap message", "to", m.to, "flow", m.flow.String(), "err", err)
		}
	}
}

// runOutbox sends queued asks and answers until ctx ends.
func (r *Replica) runOutbox(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.outKick:
			r.sendOutbox(ctx)
		}
	}
}
