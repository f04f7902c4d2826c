package node

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/client"
	"github.com/heckhq/heck/internal/target"
	"github.com/heckhq/heck/internal/testkit"
)

// TestNodeListingPages pages through a node's targets while targets are
// added and removed through the API: the sorted ids the node keeps follow
// the registry, and no target that stayed is shown twice or skipped.
func TestNodeListingPages(t *testing.T) {
	t.Parallel()
	closed := testkit.ClosedAddr(t)
	var specs []target.Spec
	for _, id := range []string{"a", "c", "e", "g", "i"} {
		s := ntTCP(id, closed)
		s.Labels = map[string]string{"env": "prod"}
		s.Interval = target.Duration(time.Hour)
		specs = append(specs, s)
	}
	nn := ntStart(t, ntConfig(t.TempDir(), specs...))
	ctx := context.Background()
	page := func(opts client.ListOptions, cursor string) ([]string, string) {
		t.Helper()
		l, err := nn.c.TargetsPage(ctx, opts, 2, cursor)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, x := range l.Targets {
			ids = append(ids, x.ID)
			if x.Spec.ID != x.ID || x.Kind != target.KindTCP || len(x.Owners) == 0 {
				t.Errorf("%s: status not built: %+v", x.ID, x)
			}
		}
		return ids, l.NextCursor
	}
	ids, next := page(client.ListOptions{}, "")
	if !slices.Equal(ids, []string{"a", "c"}) || next == "" {
		t.Fatalf("first page %v, next %q", ids, next)
	}
	// Between pages: b (before the cursor) and d (after it) are added, c
	// (the cursor's own target) and e are removed.
	for _, id := range []string{"b", "d"} {
		s := ntTCP(id, closed)
		s.Interval = target.Duration(time.Hour)
		if _, err := nn.c.AddTarget(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"c", "e"} {
		if err := nn.c.DeleteTarget(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	var rest []string
	for next != "" {
		var p []string
		p, next = page(client.ListOptions{}, next)
		rest = append(rest, p...)
	}
	if !slices.Equal(rest, []string{"d", "g", "i"}) {
		t.Fatalf("after the changes: %v, want d g i", rest)
	}
	// The whole list and the filters see the changes too.
	all, err := nn.c.Targets(ctx, client.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, x := range all {
		got = append(got, x.ID)
	}
	if !slices.Equal(got, []string{"a", "b", "d", "g", "i"}) {
		t.Fatalf("whole list %v", got)
	}
	prod, _ := page(client.ListOptions{Labels: []string{"env=prod"}, Query: "G"}, "")
	if !slices.Equal(prod, []string{"g"}) {
		t.Fatalf("env=prod and q=G: %v", prod)
	}
}
