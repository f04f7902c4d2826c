package node

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/heckhq/heck/internal/events"
	"github.com/heckhq/heck/internal/metrics"
	"github.com/heckhq/heck/internal/store"
)

// onStoreDrop is the store's OnDrop: it hands the report to dropLoop
// without blocking the store's writer (a report that finds the channel
// full is folded into the next one's Total anyway).
func (n *Node) onStoreDrop(r store.DropReport) {
	select {
	case n.drops <- r:
	default:
	}
}

// dropLoop records each report of dropped results as an event in the log
// (which writes to the same store, so it waits here, not in the store's
// writer), until ctx ends.
func (n *Node) dropLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case r := <-n.drops:
			n.tlog.Append(ctx, dropEvent(n.name, r))
		}
	}
}

// dropEvent is the event of one report of dropped results.
func dropEvent(node string, r store.DropReport) events.Transition {
	subject := "store/" + node
	at := r.Newest
	if at.IsZero() {
		at = time.Now()
	}
	t := events.Transition{Type: events.TypeStoreDrop, TargetID: subject, Subject: subject, At: at, Observer: node,
		After: fmt.Sprintf("%d dropped", r.Total),
		Cause: fmt.Sprintf("the store's write queue was full while the database was away: dropped the %d oldest raw results, measured %s to %s (%d in all since the node started); rollups and transitions are kept",
			r.Dropped, r.Oldest.UTC().Format(time.RFC3339), r.Newest.UTC().Format(time.RFC3339), r.Total)}
	t.ID = events.EventID(events.TypeStoreDrop, subject, at)
	return t
}

// registerStoreMetrics exports the figures of a store that queues writes.
func registerStoreMetrics(reg prometheus.Registerer, st store.Store) {
	d, ok := st.(interface{ Dropped() uint64 })
	if !ok {
		return
	}
	f, _ := metrics.Lookup(metrics.NameStoreDropped)
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: f.Name, Help: f.Help},
		func() float64 { return float64(d.Dropped()) }))
}
