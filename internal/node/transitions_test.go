package node

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/api"
	"github.com/heckhq/heck/internal/events"
	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/testkit"
)

// transitionsOf reads a target's transitions from a node's API, oldest
// first.
func transitionsOf(cn *clNode, id string) ([]events.Transition, error) {
	resp, err := clClient.Get(cn.base + "/api/v1/targets/" + id + "/transitions?limit=1000")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cn.name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: transitions: %s", cn.name, resp.Status)
	}
	var l api.TransitionList
	if err := json.NewDecoder(resp.Body).Decode(&l); err != nil {
		return nil, fmt.Errorf("%s: %w", cn.name, err)
	}
	for i, j := 0, len(l.Transitions)-1; i < j; i, j = i+1, j-1 {
		l.Transitions[i], l.Transitions[j] = l.Transitions[j], l.Transitions[i]
	}
	return l.Transitions, nil
}

// sameTransitions checks that every node lists, for id, exactly the
// changes want (to-states, oldest first), with the same ids everywhere.
func sameTransitions(nodes []*clNode, id string, want ...health.State) error {
	var ref []events.Transition
	for _, cn := range nodes {
		ts, err := transitionsOf(cn, id)
		if err != nil {
			return err
		}
		var got []string
		for _, t := range ts {
			got = append(got, t.From.String()+"->"+t.To.String())
		}
		if len(ts) != len(want) {
			return fmt.Errorf("%s lists %v, want %d transitions to %v", cn.name, got, len(want), want)
		}
		for i, t := range ts {
			if t.To != want[i] || t.ID == "" {
				return fmt.Errorf("%s lists %v, want to-states %v", cn.name, got, want)
			}
		}
		if ref == nil {
			ref = ts
			continue
		}
		for i := range ts {
			if ts[i].ID != ref[i].ID {
				return fmt.Errorf("transition %d has id %s on %s but %s on %s", i, ts[i].ID, cn.name, ref[i].ID, nodes[0].name)
			}
		}
	}
	return nil
}

// TestClusterTransitions: a target's changes are listed once, with the
// same id, by every node, through an owner's crash mid-outage, with one
// owner and with two.
func TestClusterTransitions(t *testing.T) {
	for _, replicas := range []int{1, 2} {
		t.Run(fmt.Sprintf("replicas=%d", replicas), func(t *testing.T) {
			c := startCL(t, 3, nil, clFastTuning)
			srv := testkit.NewServer(t)
			const id = "flip"
			const fall = 2
			body := fmt.Sprintf(`{"id":%q,"kind":"http","url":%q,"interval":%q,"rise":1,"fall":%d,"replicas":%d}`,
				id, srv.URL(), clInterval.String(), fall, replicas)
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodPut, c.nodes[0].base+"/api/v1/targets/"+id, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			c.do(req, http.StatusCreated)

			waitFor(t, "every node lists the first unknown->up", 15*time.Second, 0, func() error {
				return sameTransitions(c.live(), id, health.Up)
			})

			srv.SetStatus(http.StatusServiceUnavailable)
			took := waitFor(t, "every node lists one up->down with the same id", 15*time.Second, 0, func() error {
				return sameTransitions(c.live(), id, health.Up, health.Down)
			})
			t.Logf("up->down on every node %v after the target failed (interval %v x fall %d)", took.Round(time.Millisecond), clInterval, fall)
			if limit := clInterval*fall + 2*time.Second; took > limit && !raceEnabled() {
				t.Errorf("took %v, want within interval x fall + 2s = %v", took, limit)
			}

			// Crash the (primary) owner mid-outage: the survivors take over
			// and still list exactly one up->down.
			st, err := listTargets(c.nodes[0])
			if err != nil {
				t.Fatal(err)
			}
			owner := st[id].Owners[0]
			c.crash(owner)
			waitFor(t, "a survivor probes the target", 15*time.Second, 0, func() error {
				for _, cn := range c.live() {
					set, err := scheduled(cn)
					if err != nil {
						return err
					}
					if set[id] {
						return nil
					}
				}
				return fmt.Errorf("no survivor probes %s yet", id)
			})
			waitFor(t, "survivors still list exactly one up->down", 10*time.Second, 2*clFallback, func() error {
				return sameTransitions(c.live(), id, health.Up, health.Down)
			})

			srv.SetStatus(http.StatusOK)
			waitFor(t, "every survivor lists one down->up with the same id", 15*time.Second, time.Second, func() error {
				return sameTransitions(c.live(), id, health.Up, health.Down, health.Up)
			})
		})
	}
}
