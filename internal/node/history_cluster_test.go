package node

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/api"
)

// getJSON reads path from cn's API into a T.
func getJSON[T any](cn *clNode, path string) (T, error) {
	var v T
	resp, err := clClient.Get(cn.base + path)
	if err != nil {
		return v, fmt.Errorf("%s: %w", cn.name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return v, fmt.Errorf("%s: GET %s: %s", cn.name, path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return v, fmt.Errorf("%s: GET %s: %w", cn.name, path, err)
	}
	return v, nil
}

// historyOf reads id's history over [from, to) in minutes from cn.
func historyOf(cn *clNode, id string, from, to time.Time, scope api.Scope) (api.HistoryResponse, error) {
	return getJSON[api.HistoryResponse](cn, fmt.Sprintf("/api/v1/targets/%s/history?from=%d&to=%d&step=1m&scope=%s",
		id, from.Unix(), to.Unix(), scope))
}

func checksOf(h api.HistoryResponse) (count, failures uint32) {
	for _, p := range h.Points {
		count += p.Count
		failures += p.Failures
	}
	return count, failures
}

// sameHistory checks that every node answers the same cluster-scope
// history and uptime of id, whole, holding the records of observers
// alone, with at least min checks; it returns the checks.
func sameHistory(nodes []*clNode, id string, from, to time.Time, observers []string, min uint32) (uint32, error) {
	var ref api.HistoryResponse
	for i, cn := range nodes {
		h, err := historyOf(cn, id, from, to, api.ScopeCluster)
		if err != nil {
			return 0, err
		}
		if h.Partial || h.Scope != api.ScopeCluster || !slices.Equal(h.Observers, observers) {
			return 0, fmt.Errorf("%s: %s's history covers %+v, want the records of %v, whole", cn.name, id, h.Coverage, observers)
		}
		if n, _ := checksOf(h); n < min {
			return 0, fmt.Errorf("%s: %s's history holds %d checks, want %d or more", cn.name, id, n, min)
		}
		if i > 0 && !reflect.DeepEqual(h.Points, ref.Points) {
			return 0, fmt.Errorf("%s's history of %s differs from %s's", cn.name, id, nodes[0].name)
		}
		ref = h
	}
	want := 1.0
	if strings.HasPrefix(id, "down-") {
		want = 0
	}
	for _, cn := range nodes {
		u, err := getJSON[api.UptimeResponse](cn, "/api/v1/targets/"+id+"/uptime")
		if err != nil {
			return 0, err
		}
		if u.Day != want || u.Month != want || u.Partial || !slices.Equal(u.Observers, observers) {
			return 0, fmt.Errorf("%s: %s's uptime %+v, want %v over every window from %v, whole", cn.name, id, u, want, observers)
		}
	}
	n, _ := checksOf(ref)
	return n, nil
}

// partialFrom checks that every node answers id's cluster-scope history
// and uptime as partial, missing exactly the members missing.
func partialFrom(nodes []*clNode, id string, from, to time.Time, missing ...string) error {
	for _, cn := range nodes {
		h, err := historyOf(cn, id, from, to, api.ScopeCluster)
		if err != nil {
			return err
		}
		if !h.Partial || !slices.Equal(h.Missing, missing) {
			return fmt.Errorf("%s: %s's history covers %+v, want partial, missing %v", cn.name, id, h.Coverage, missing)
		}
		u, err := getJSON[api.UptimeResponse](cn, "/api/v1/targets/"+id+"/uptime")
		if err != nil {
			return err
		}
		if !u.Partial || !slices.Equal(u.Missing, missing) {
			return fmt.Errorf("%s: %s's uptime covers %+v, want partial, missing %v", cn.name, id, u.Coverage, missing)
		}
	}
	return nil
}

// TestClusterHistory: a target probed by one node has the same history and
// uptime read from each of the three nodes (the others never probed it and
// hold none of it); once its owner is stopped, the survivors say the
// answer is partial and name it, before and after the failure detector
// declares it dead.
func TestClusterHistory(t *testing.T) {
	ids := []string{"down-hist", "hist"}
	c := startCL(t, 3, ids, clFastTuning)
	prober := c.settle("one prober per target", ids)
	from := time.Now().Add(-time.Minute)
	to := from.Add(time.Hour)

	for _, id := range ids {
		owner := prober[id]
		var checks uint32
		waitFor(t, "the same history of "+id+" from every node", 20*time.Second, 0, func() (err error) {
			checks, err = sameHistory(c.live(), id, from, to, []string{owner}, 4)
			return err
		})
		for _, cn := range c.live() {
			h, err := historyOf(cn, id, from, to, api.ScopeLocal)
			if err != nil {
				t.Fatal(err)
			}
			n, fails := checksOf(h)
			switch {
			case h.Scope != api.ScopeLocal || h.Partial:
				t.Errorf("%s: local history of %s covers %+v", cn.name, id, h.Coverage)
			case cn.name != owner && n != 0:
				t.Errorf("%s never probed %s but holds %d of its checks", cn.name, id, n)
			case cn.name == owner && (n == 0 || (id == "down-hist") != (fails == n)):
				t.Errorf("owner %s holds %d checks of %s, %d failed", cn.name, n, id, fails)
			}
		}
		t.Logf("%s: probed by %s, %d checks, the same history and uptime from all 3 nodes", id, owner, checks)
	}

	owner := prober["hist"]
	c.crash(owner)
	waitFor(t, "survivors say hist's history is partial, missing "+owner, 10*time.Second, 0, func() error {
		return partialFrom(c.live(), "hist", from, to, owner)
	})
	waitFor(t, "survivors declare "+owner+" dead", 20*time.Second, 0, func() error {
		for _, cn := range c.live() {
			for _, m := range cn.n.Members(t.Context()) {
				if m.Name == owner && m.State != api.MemberDead {
					return fmt.Errorf("%s sees %s %s", cn.name, owner, m.State)
				}
			}
		}
		return nil
	})
	if err := partialFrom(c.live(), "hist", from, to, owner); err != nil {
		t.Fatalf("once %s is declared dead: %v", owner, err)
	}
}

// TestClusterHistoryReplicas: with replicas: 2 both owners probe every
// interval and a cluster-scope history counts both owners' checks, the
// same from every node.
func TestClusterHistoryReplicas(t *testing.T) {
	c := startCL(t, 3, nil, clFastTuning)
	const id = "twice"
	body := fmt.Sprintf(`{"id":%q,"kind":"http","url":%q,"interval":%q,"replicas":2}`, id, c.tg.URL(id), clInterval.String())
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPut, c.nodes[0].base+"/api/v1/targets/"+id, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	c.do(req, http.StatusCreated)
	from := time.Now().Add(-time.Minute)
	to := from.Add(time.Hour)

	var owners []string
	waitFor(t, "both owners hold checks", 20*time.Second, 0, func() error {
		st, err := listTargets(c.nodes[0])
		if err != nil {
			return err
		}
		owners = slices.Sorted(slices.Values(st[id].Owners))
		if len(owners) != 2 {
			return fmt.Errorf("owners %v, want 2", owners)
		}
		for _, o := range owners {
			h, err := historyOf(c.node(o), id, from, to, api.ScopeLocal)
			if err != nil {
				return err
			}
			if n, _ := checksOf(h); n < 4 {
				return fmt.Errorf("owner %s holds %d checks", o, n)
			}
		}
		return nil
	})
	waitFor(t, "every node counts both owners' checks", 20*time.Second, 0, func() error {
		// Read the owners' own records around the cluster reads: the
		// cluster's count lies between their sums before and after.
		before := localSum(t, c, owners, id, from, to)
		got, err := sameHistory(c.live(), id, from, to, owners, 8)
		if err != nil {
			return err
		}
		after := localSum(t, c, owners, id, from, to)
		if got < before || got > after {
			return fmt.Errorf("cluster history holds %d checks, the owners' own sum went from %d to %d meanwhile", got, before, after)
		}
		return nil
	})
}

func localSum(t *testing.T, c *clCluster, owners []string, id string, from, to time.Time) uint32 {
	t.Helper()
	var sum uint32
	for _, o := range owners {
		h, err := historyOf(c.node(o), id, from, to, api.ScopeLocal)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := checksOf(h)
		sum += n
	}
	return sum
}
