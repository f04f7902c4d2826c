package node

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/heckhq/heck/internal/api"
	"github.com/heckhq/heck/internal/heartbeat"
	"github.com/heckhq/heck/internal/registry"
	"github.com/heckhq/heck/internal/store"
	"github.com/heckhq/heck/internal/target"
)

// The node takes pings of heartbeat targets.
var _ api.PingBackend = (*Node)(nil)

// pingFlushEvery is how often the pings taken here are written to the
// replicated collection (one store write and one broadcast per flush).
const pingFlushEvery = 100 * time.Millisecond

// heartbeats is the node's state of push targets: the replicated latest
// pings, the pings taken here and not flushed yet, and the index of
// tokens.
type heartbeats struct {
	pings *heartbeat.Collection

	mu      sync.Mutex
	pending map[string]heartbeat.Ping // by target id
	// inflight is the batch being written, still read from until it is.
	inflight map[string]heartbeat.Ping
	wake     chan struct{}
	flushMu  sync.Mutex // one flush at a time

	tokMu  sync.RWMutex
	tokens map[string]string // token -> target id
	byID   map[string]string // target id -> token
}

func newHeartbeats(pings *heartbeat.Collection) *heartbeats {
	return &heartbeats{pings: pings, pending: map[string]heartbeat.Ping{}, wake: make(chan struct{}, 1),
		tokens: map[string]string{}, byID: map[string]string{}}
}

// Get returns a target's latest ping, the one taken here first
// (heartbeat.Lookup).
func (h *heartbeats) Get(id string) (heartbeat.Ping, bool) {
	h.mu.Lock()
	p, ok := h.pending[id]
	if !ok {
		p, ok = h.inflight[id]
	}
	h.mu.Unlock()
	if ok {
		return p, true
	}
	return h.pings.Get(id)
}

// index updates the token index from registry changes.
func (h *heartbeats) index(changed []registry.Entry) {
	h.tokMu.Lock()
	defer h.tokMu.Unlock()
	for _, e := range changed {
		if old, ok := h.byID[e.Key]; ok {
			delete(h.tokens, old)
			delete(h.byID, e.Key)
		}
		if e.Deleted {
			continue
		}
		spec := e.Value
		if spec.Kind != target.KindHeartbeat || spec.Heartbeat == nil {
			continue
		}
		x, err := spec.Expand(nil)
		if err != nil || x.Heartbeat.Token == "" {
			continue // shows as the target's state: it cannot be probed
		}
		h.tokens[x.Heartbeat.Token] = e.Key
		h.byID[e.Key] = x.Heartbeat.Token
	}
}

// Ping records a check-in (api.PingBackend).
func (n *Node) Ping(ctx context.Context, token, kind string, exitCode int, body, source string) (string, error) {
	h := n.hb
	h.tokMu.RLock()
	id, ok := h.tokens[token]
	h.tokMu.RUnlock()
	if !ok {
		return "", fmt.Errorf("ping: %w", store.ErrNotFound)
	}
	now := time.Now()
	p := heartbeat.Ping{Target: id, At: now, Kind: kind, ExitCode: exitCode, Body: body, Node: n.name, Source: source}
	h.mu.Lock()
	prev, had := h.pending[id]
	if !had {
		prev, had = h.inflight[id]
	}
	if !had {
		prev, had = h.pings.Get(id)
	}
	if had && prev.Kind == heartbeat.Start && kind != heartbeat.Start {
		p.Started, p.Duration = prev.At, now.Sub(prev.At)
	}
	h.pending[id] = p
	h.mu.Unlock()
	select {
	case h.wake <- struct{}{}:
	default:
	}
	return id, nil
}

// flushPings writes the pings taken here to the replicated collection,
// every pingFlushEvery while there are some, until ctx ends (then once
// more).
func (n *Node) flushPings(ctx context.Context) {
	h := n.hb
	flush := func(ctx context.Context) {
		h.flushMu.Lock()
		defer h.flushMu.Unlock()
		h.mu.Lock()
		batch := h.pending
		if len(batch) == 0 {
			h.mu.Unlock()
			return
		}
		h.pending, h.inflight = make(map[string]heartbeat.Ping, len(batch)), batch
		h.mu.Unlock()
		err := h.pings.PutAll(ctx, batch)
		h.mu.Lock()
		h.inflight = nil
		if err != nil {
			for id, p := range batch { // keep them for the next try
				if _, newer := h.pending[id]; !newer {
					h.pending[id] = p
				}
			}
		}
		h.mu.Unlock()
		if err != nil {
			n.log.Warn("store pings; retrying", "pings", len(batch), "err", err)
		}
	}
	tick := time.NewTicker(pingFlushEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			flush(context.WithoutCancel(ctx))
			return
		case <-h.wake:
			// Coalesce: wait for the tick so a burst is one batch.
			select {
			case <-ctx.Done():
				flush(context.WithoutCancel(ctx))
				return
			case <-tick.C:
			}
			flush(ctx)
		case <-tick.C:
			flush(ctx)
		}
	}
}

// heartbeatSchedule is the schedule of a heartbeat target's evaluation:
// often enough to turn late within half the grace (at least every 30 s,
// at most every second).
func heartbeatSchedule(sc target.Schedule, h *target.HeartbeatOptions) target.Schedule {
	base := h.GraceOrDefault()
	if h.Period > 0 {
		base = min(base, h.Period.D())
	}
	iv := min(max(base/2, time.Second), 30*time.Second)
	sc.Interval = target.Duration(iv)
	sc.Timeout = target.Duration(iv / 2)
	sc.FastInterval, sc.DownInterval = sc.Interval, sc.Interval
	sc.Rise, sc.Fall = 1, 1
	sc.Jitter = 0
	return sc
}
