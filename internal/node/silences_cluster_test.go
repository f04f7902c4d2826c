package node

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/api"
	"github.com/heckhq/heck/internal/client"
)

func (c *clCluster) client(cn *clNode) *client.Client {
	c.t.Helper()
	cl, err := client.New(cn.base, "", clClient)
	if err != nil {
		c.t.Fatal(err)
	}
	return cl
}

func (c *clCluster) addSilence(cn *clNode, targetID, reason string) string {
	c.t.Helper()
	s, err := c.client(cn).AddSilence(c.t.Context(), api.SilenceRequest{Target: targetID, For: "1h", Reason: reason, CreatedBy: "test"})
	if err != nil {
		c.t.Fatalf("add silence on %s: %v", cn.name, err)
	}
	return s.ID
}

// silencesAgree checks that every node lists exactly the silences want
// (ids) and shows silenced on exactly the targets they cover.
func silencesAgree(c *clCluster, nodes []*clNode, want []string, silenced map[string]bool) error {
	want = slices.Sorted(slices.Values(want))
	for _, cn := range nodes {
		ss, err := c.client(cn).Silences(context.Background())
		if err != nil {
			return fmt.Errorf("%s: %w", cn.name, err)
		}
		var got []string
		for _, s := range ss {
			got = append(got, s.ID)
		}
		if !slices.Equal(got, want) {
			return fmt.Errorf("%s lists silences %v, want %v", cn.name, got, want)
		}
		ts, err := listTargets(cn)
		if err != nil {
			return err
		}
		for id, st := range ts {
			if st.Silenced != silenced[id] {
				return fmt.Errorf("%s shows %s silenced=%v, want %v", cn.name, id, st.Silenced, silenced[id])
			}
		}
	}
	return nil
}

// TestClusterSilences: a silence added on one node is listed on every
// node and marks its target silenced there; silences (and the tombstone
// of a removed one) survive a restart of the whole cluster; silences added
// and removed on both sides of a partition converge once it heals.
func TestClusterSilences(t *testing.T) {
	ids := clIDs("s", 4, 0)
	c := startCL(t, 3, ids, clFastTuning)
	n0, n1, n2 := c.nodes[0], c.nodes[1], c.nodes[2]

	s1 := c.addSilence(n0, ids[0], "deploy")
	s2 := c.addSilence(n1, ids[1], "to be removed")
	took := waitFor(t, "every node lists both silences", 10*time.Second, 0, func() error {
		return silencesAgree(c, c.nodes, []string{s1, s2}, map[string]bool{ids[0]: true, ids[1]: true})
	})
	t.Logf("a silence reached every node in %v", took.Round(time.Millisecond))
	if err := c.client(n2).DeleteSilence(t.Context(), s2); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "every node forgets the removed silence", 10*time.Second, 0, func() error {
		return silencesAgree(c, c.nodes, []string{s1}, map[string]bool{ids[0]: true})
	})

	// A restart of every node: what they list now comes from their stores.
	for _, cn := range c.nodes {
		c.crash(cn.name)
	}
	for _, cn := range c.nodes {
		c.restart(cn.name)
	}
	waitFor(t, "silences survive a restart of the whole cluster", 10*time.Second, 2*clInterval, func() error {
		return silencesAgree(c, c.nodes, []string{s1}, map[string]bool{ids[0]: true})
	})

	// A partition: n0 alone against n1 and n2, each side adding a silence
	// and n0 removing s1.
	c.part.Partition([]string{n0.name}, []string{n1.name, n2.name})
	a := c.addSilence(n0, ids[2], "side a")
	if err := c.client(n0).DeleteSilence(t.Context(), s1); err != nil {
		t.Fatal(err)
	}
	b := c.addSilence(n2, ids[3], "side b")
	waitFor(t, "each side sees its own silences", 10*time.Second, 0, func() error {
		if err := silencesAgree(c, []*clNode{n0}, []string{a}, map[string]bool{ids[2]: true}); err != nil {
			return err
		}
		return silencesAgree(c, []*clNode{n1, n2}, []string{s1, b}, map[string]bool{ids[0]: true, ids[3]: true})
	})
	c.part.Heal()
	took = waitFor(t, "silences converge after the partition heals", 20*time.Second, 2*clInterval, func() error {
		return silencesAgree(c, c.nodes, []string{a, b}, map[string]bool{ids[2]: true, ids[3]: true})
	})
	t.Logf("silences converged %v after healing", took.Round(time.Millisecond))
}
