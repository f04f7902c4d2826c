package node

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/target"
)

// TestClusterHeartbeat: a heartbeat target added on one node and pinged
// on another (not its owner) is up on every node, then late on every node
// once the pings stop: any node takes a ping, the owner judges.
func TestClusterHeartbeat(t *testing.T) {
	c := startCL(t, 3, clIDs("h", 2, 0), clFastTuning)
	st, err := c.client(c.nodes[0]).AddTarget(t.Context(), target.Spec{ID: "job", Kind: target.KindHeartbeat,
		Heartbeat: &target.HeartbeatOptions{Period: target.Duration(time.Second), Grace: target.Duration(time.Second)}})
	if err != nil {
		t.Fatal(err)
	}
	if st.PingURL == "" || st.Spec.Heartbeat == nil || len(st.Spec.Heartbeat.Token) < target.MinTokenLen {
		t.Fatalf("added heartbeat: ping_url %q, spec %+v", st.PingURL, st.Spec.Heartbeat)
	}
	token := st.Spec.Heartbeat.Token
	var owner string
	waitFor(t, "every node knows the target and its owner", 10*time.Second, 0, func() error {
		for _, cn := range c.nodes {
			ts, err := listTargets(cn)
			if err != nil {
				return err
			}
			if len(ts["job"].Owners) == 0 {
				return fmt.Errorf("%s: no owner for job", cn.name)
			}
			owner = ts["job"].Owners[0]
		}
		return nil
	})
	var pinger *clNode
	for _, cn := range c.nodes {
		if cn.name != owner {
			pinger = cn
		}
	}
	every := func(want health.State) func() error {
		return func() error {
			resp, err := http.Post(pinger.base+"/ping/"+token, "text/plain", nil)
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("ping on %s: %d", pinger.name, resp.StatusCode)
			}
			return statesAre(c, "job", want)
		}
	}
	took := waitFor(t, "job up on every node while pinged on "+pinger.name, 15*time.Second, 0, every(health.Up))
	t.Logf("pinged on %s (owner %s): up on every node after %v", pinger.name, owner, took.Round(time.Millisecond))
	waitFor(t, "job late on every node once the pings stop", 15*time.Second, 0, func() error { return statesAre(c, "job", health.Late) })
}

func statesAre(c *clCluster, id string, want health.State) error {
	for _, cn := range c.nodes {
		ts, err := listTargets(cn)
		if err != nil {
			return err
		}
		if got := ts[id].State; got != want {
			return fmt.Errorf("%s shows %s %s, want %s", cn.name, id, got, want)
		}
	}
	return nil
}
