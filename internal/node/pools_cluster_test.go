package node

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/pool"
)

// TestClusterPools: a pool added on one node is served by every node with
// the same members and states; picks on any node skip the down member;
// exactly one node judges the pool, and the ejection it writes holds the
// member out on every node; a pool deleted on another node is gone
// everywhere.
func TestClusterPools(t *testing.T) {
	ids := clIDs("p", 5, 1) // down-p00, p01..p04
	c := startCL(t, 3, ids, clFastTuning)
	n0, n1, n2 := c.nodes[0], c.nodes[1], c.nodes[2]
	if _, err := c.client(n0).AddPool(t.Context(), pool.Spec{Name: "web", Targets: ids}); err != nil {
		t.Fatal(err)
	}
	agree := func(want func(v pool.View) error) func() error {
		return func() error {
			for _, cn := range c.nodes {
				v, err := c.client(cn).Pool(context.Background(), "web")
				if err != nil {
					return fmt.Errorf("%s: %w", cn.name, err)
				}
				if err := want(v); err != nil {
					return fmt.Errorf("%s: %w", cn.name, err)
				}
			}
			return nil
		}
	}
	took := waitFor(t, "every node serves the pool with its members' states", 15*time.Second, 0, agree(func(v pool.View) error {
		if len(v.Members) != 5 || v.Healthy != 4 {
			return fmt.Errorf("%d members, %d healthy", len(v.Members), v.Healthy)
		}
		if m, _ := v.Member(ids[0]); m.State != health.Down || m.Serving {
			return fmt.Errorf("%s is %s, serving %v", ids[0], m.State, m.Serving)
		}
		return nil
	}))
	t.Logf("the pool reached every node, states settled, in %v", took.Round(time.Millisecond))
	for _, cn := range c.nodes {
		for range 10 {
			p, err := c.client(cn).Pick(t.Context(), "web", "random", "")
			if err != nil || p.Member.ID == ids[0] {
				t.Fatalf("pick on %s: %+v, %v", cn.name, p.Member, err)
			}
		}
	}
	var judges []*clNode
	for _, cn := range c.nodes {
		if cn.n.judgesPool("web") {
			judges = append(judges, cn)
		}
	}
	if len(judges) != 1 {
		t.Fatalf("%d nodes judge the pool, want exactly 1", len(judges))
	}
	now := time.Now()
	e := pool.Ejection{Pool: "web", Member: ids[2], At: now, Until: now.Add(time.Minute), Count: 1, Reason: pool.ReasonLatency + ": test"}
	if err := judges[0].n.pools.ejections.Put(t.Context(), e.Key(), e); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "every node holds the ejected member out", 10*time.Second, 0, agree(func(v pool.View) error {
		if m, _ := v.Member(ids[2]); m.Ejected == nil || m.Serving || v.Ejected != 1 || v.Healthy != 3 {
			return fmt.Errorf("%s ejected %v serving %v; pool ejected %d healthy %d", ids[2], m.Ejected, m.Serving, v.Ejected, v.Healthy)
		}
		return nil
	}))
	if err := c.client(n1).DeletePool(t.Context(), "web"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "every node forgets the deleted pool", 10*time.Second, 0, func() error {
		for _, cn := range []*clNode{n0, n1, n2} {
			if _, ok := cn.n.PoolView("web"); ok {
				return fmt.Errorf("%s still has pool web", cn.name)
			}
		}
		return nil
	})
}
