package node

import (
	"context"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/silence"
)

// Silences that ended past the retention are deleted; the others stay.
func TestDeleteExpiredSilences(t *testing.T) {
	nn := ntStart(t, ntConfig(t.TempDir()))
	ctx := context.Background()
	now := time.Now()
	add := func(id string, ends time.Time) {
		s := silence.Silence{ID: id, Target: "web", Starts: ends.Add(-time.Hour), Ends: ends, Reason: "test"}
		if err := nn.n.AddSilence(ctx, s); err != nil {
			t.Fatalf("add %s: %v", id, err)
		}
	}
	add("old", now.Add(-silence.Retention-time.Minute))
	add("recent", now.Add(-time.Minute))
	add("active", now.Add(time.Hour))
	nn.n.deleteExpiredSilences(ctx, now)
	var ids []string
	for _, s := range nn.n.Silences(ctx) {
		ids = append(ids, s.ID)
	}
	if len(ids) != 2 || ids[0] != "active" || ids[1] != "recent" {
		t.Fatalf("silences after deleting the expired = %v, want [active recent]", ids)
	}
	nn.n.deleteExpiredSilences(ctx, now) // nothing left to delete: no error, no change
	if got := len(nn.n.Silences(ctx)); got != 2 {
		t.Fatalf("second pass left %d silences, want 2", got)
	}
}
