package node

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/events"
	"github.com/heckhq/heck/internal/store"
)

// TestStoreDropsAreEvents: a store's report of dropped results becomes one
// event of the log, naming how many and of when, and a report arriving
// while the channel is full never blocks the store's writer.
func TestStoreDropsAreEvents(t *testing.T) {
	srv := ntNewServer(t)
	nn := ntStart(t, ntConfig(t.TempDir(), ntHTTP("web", srv.url())))
	oldest := time.Now().Add(-2 * time.Minute).UTC().Truncate(time.Second)
	newest := oldest.Add(time.Minute)
	for range cap(nn.n.drops) + 5 { // more than the channel holds: must not block
		nn.n.onStoreDrop(store.DropReport{Dropped: 40, Total: 40, Oldest: oldest, Newest: newest})
	}
	ntWait(t, "a store_drop event", func() error {
		es, err := nn.n.tlog.Query(t.Context(), store.TransitionQuery{Type: events.TypeStoreDrop})
		if err != nil {
			return err
		}
		if len(es) != 1 {
			return fmt.Errorf("%d store_drop events, want 1 (the same report is one event)", len(es))
		}
		e := es[0]
		if e.Subject != "store/nt" || !strings.Contains(e.Cause, "dropped the 40 oldest raw results") ||
			!strings.Contains(e.Cause, oldest.Format(time.RFC3339)) {
			return fmt.Errorf("event %+v", e)
		}
		return nil
	})
}
