package testkit

import (
	"bufio"
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/heckhq/heck/internal/api"
	"github.com/heckhq/heck/internal/client"
)

// Scheduled returns the ids of the targets the node whose API is at base
// (http://host:port) schedules: the heck_target_up series of its /metrics.
func Scheduled(hc *http.Client, base string) (map[string]bool, error) {
	resp, err := hc.Get(base + "/metrics")
	if err != nil {
		return nil, fmt.Errorf("read metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("read metrics at %s: %s", base, resp.Status)
	}
	out := map[string]bool{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "heck_target_up{")
		if !ok {
			continue
		}
		if _, after, ok := strings.Cut(rest, `id="`); ok {
			id, _, _ := strings.Cut(after, `"`)
			out[id] = true
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read metrics at %s: %w", base, err)
	}
	return out, nil
}

// NodeSchedule is what one node schedules: the ids Scheduled returned.
type NodeSchedule struct {
	Node string
	IDs  map[string]bool
}

// DoubleProbeError says two nodes schedule the same target.
type DoubleProbeError struct{ ID, First, Second string }

func (e *DoubleProbeError) Error() string {
	return fmt.Sprintf("%s is probed by both %s and %s", e.ID, e.First, e.Second)
}

// OneOwner checks that the nodes' schedules cover want, each id on exactly
// one node and no id outside want, and returns who probes what (id ->
// node). Two nodes probing one id is a *DoubleProbeError.
func OneOwner(nodes []NodeSchedule, want []string) (map[string]string, error) {
	owner := map[string]string{}
	for _, n := range nodes {
		for _, id := range slices.Sorted(maps.Keys(n.IDs)) {
			if other, dup := owner[id]; dup {
				return nil, &DoubleProbeError{ID: id, First: other, Second: n.Node}
			}
			owner[id] = n.Node
		}
	}
	for _, id := range want {
		if _, ok := owner[id]; !ok {
			return nil, fmt.Errorf("%s is probed by no node (owners: %v)", id, owner)
		}
	}
	if len(owner) != len(want) {
		var extra []string
		for id := range owner {
			if !slices.Contains(want, id) {
				extra = append(extra, id)
			}
		}
		slices.Sort(extra)
		return nil, fmt.Errorf("targets probed that should not be: %v", extra)
	}
	return owner, nil
}

// Owned returns the ids owner assigns to node, sorted.
func Owned(owner map[string]string, node string) []string {
	var out []string
	for id, o := range owner {
		if o == node {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// Counts returns how many ids owner assigns to each node.
func Counts(owner map[string]string) map[string]int {
	out := map[string]int{}
	for _, o := range owner {
		out[o]++
	}
	return out
}

// Listed returns the targets the node whose API is at base lists in
// /api/v1/targets, by id.
func Listed(ctx context.Context, hc *http.Client, base string) (map[string]api.TargetStatus, error) {
	c, err := client.New(base, "", hc)
	if err != nil {
		return nil, fmt.Errorf("list targets at %s: %w", base, err)
	}
	list, err := c.Targets(ctx, client.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list targets at %s: %w", base, err)
	}
	out := make(map[string]api.TargetStatus, len(list))
	for _, st := range list {
		out[st.ID] = st
	}
	return out, nil
}
