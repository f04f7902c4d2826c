package node

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/testkit"
)

// TestClusterBackfill: a node that was down while a target went down and
// came back lists both changes, under the ids the others gave them, once
// it is restarted on its data directory.
func TestClusterBackfill(t *testing.T) {
	c := startCL(t, 3, nil, clFastTuning)
	srv := testkit.NewServer(t)
	const id = "flip"
	body := fmt.Sprintf(`{"id":%q,"kind":"http","url":%q,"interval":%q,"rise":1,"fall":1}`, id, srv.URL(), clInterval.String())
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPut, c.nodes[0].base+"/api/v1/targets/"+id, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	c.do(req, http.StatusCreated)
	waitFor(t, "every node lists unknown->up", 15*time.Second, 0, func() error {
		return sameTransitions(c.live(), id, health.Up)
	})

	// Crash a node that does not own the target.
	st, err := listTargets(c.nodes[0])
	if err != nil {
		t.Fatal(err)
	}
	victim := ""
	for _, cn := range c.nodes {
		if cn.name != st[id].Owners[0] {
			victim = cn.name
			break
		}
	}
	c.crash(victim)

	srv.SetStatus(http.StatusServiceUnavailable)
	waitFor(t, "the survivors list up->down", 15*time.Second, 0, func() error {
		return sameTransitions(c.live(), id, health.Up, health.Down)
	})
	srv.SetStatus(http.StatusOK)
	waitFor(t, "the survivors list down->up", 15*time.Second, 0, func() error {
		return sameTransitions(c.live(), id, health.Up, health.Down, health.Up)
	})

	c.restart(victim)
	took := waitFor(t, "the restarted node lists what it missed, with the same ids", 20*time.Second, time.Second, func() error {
		return sameTransitions(c.live(), id, health.Up, health.Down, health.Up)
	})
	t.Logf("%s listed the changes made while it was down %v after its restart", victim, took.Round(time.Millisecond))
}
