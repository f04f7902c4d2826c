package events_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/heckhq/heck/internal/events"
	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/store"
)

func TestBackfill(t *testing.T) {
	up, down := health.Up, health.Down
	cases := []struct {
		name      string
		local, in []events.Transition
		added     int
		want      string // ids, newest first, after the backfill
		head      health.State
	}{
		{
			name:  "a restart gap is filled in order",
			local: []events.Transition{tr("A", "a", 1, 0, up)},
			in:    []events.Transition{tr("A", "a", 1, 0, up), tr("B", "a", 2, up, down), tr("C", "a", 3, down, up)},
			added: 2, want: "[C B A]", head: up,
		},
		{
			name: "a gap before a change both nodes derived",
			// While this node was down the target went down and up; then
			// down again, which this node judged itself under the same id.
			local: []events.Transition{tr("A", "a", 1, 0, up), tr("D", "a", 4, up, down)},
			in:    []events.Transition{tr("B", "a", 2, up, down), tr("C", "a", 3, down, up), tr("D", "a", 4, up, down)},
			added: 2, want: "[D C B A]", head: down,
		},
		{
			name:  "a partition's twin judged earlier elsewhere is not listed",
			local: []events.Transition{tr("A", "a", 1, 0, up), tr("B1", "a", 5, up, down)},
			in:    []events.Transition{tr("A", "a", 1, 0, up), tr("B2", "a", 4, up, down)},
			added: 0, want: "[B1 A]", head: down,
		},
		{
			name:  "a partition's twin judged later elsewhere is not listed",
			local: []events.Transition{tr("A", "a", 1, 0, up), tr("B1", "a", 4, up, down)},
			in:    []events.Transition{tr("A", "a", 1, 0, up), tr("B2", "a", 5, up, down)},
			added: 0, want: "[B1 A]", head: down,
		},
		{
			name:  "the twin's recovery is listed once too",
			local: []events.Transition{tr("A", "a", 1, 0, up), tr("B1", "a", 4, up, down), tr("C1", "a", 9, down, up)},
			in:    []events.Transition{tr("B2", "a", 5, up, down), tr("C2", "a", 8, down, up)},
			added: 0, want: "[C1 B1 A]", head: up,
		},
		{
			name:  "a target this node never listed",
			in:    []events.Transition{tr("B", "a", 2, 0, down), tr("C", "a", 3, down, up)},
			added: 2, want: "[C B]", head: up,
		},
		{
			name:  "changes without an id or time are ignored",
			local: []events.Transition{tr("A", "a", 1, 0, up)},
			in:    []events.Transition{{TargetID: "a", To: down, At: t0}, {ID: "X", TargetID: "a", To: down}},
			added: 0, want: "[A]", head: up,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l, _ := runLog(t, openStore(t), events.LogOptions{})
			ctx := context.Background()
			for _, x := range c.local {
				if _, ok := l.Append(ctx, x); !ok {
					t.Fatalf("local Append(%s) refused", x.ID)
				}
			}
			n, err := l.Backfill(ctx, c.in)
			if err != nil {
				t.Fatal(err)
			}
			if n != c.added {
				t.Errorf("Backfill added %d, want %d", n, c.added)
			}
			got, err := l.Query(ctx, store.TransitionQuery{TargetID: "a"})
			if err != nil {
				t.Fatal(err)
			}
			if ids := fmt.Sprint(idsOf(got)); ids != c.want {
				t.Errorf("list = %s, want %s", ids, c.want)
			}
			if h, _ := l.Head("a"); h != c.head {
				t.Errorf("head = %v, want %v", h, c.head)
			}
			// A second backfill of the same list adds nothing.
			if n, err := l.Backfill(ctx, c.in); err != nil || n != 0 {
				t.Errorf("second Backfill = %d, %v; want 0, nil", n, err)
			}
		})
	}
}
