package replica

import "context"

// Flush sends the batched local changes now, as Run does every 50 ms, and
// the queued gap asks and answers, as Run's outbox sender does. It is
// for a harness that drives time itself (bench/sim's discrete-event loop)
// instead of calling Run; do not mix the two on one Replica.
func (r *Replica) Flush() {
	r.flush()
	r.sendOutbox(context.Background())
}

// Apply applies one message from a peer at once, on the caller's goroutine,
// as Run does with what HandleDelta queued. Like Flush it is for a harness
// that drives time itself instead of calling Run.
func (r *Replica) Apply(ctx context.Context, from string, msg []byte) { r.apply(ctx, from, msg) }
