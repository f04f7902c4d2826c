package node

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/incident"
	"github.com/heckhq/heck/internal/statuspage"
)

// incidentsAgree checks that every node lists exactly the incidents want
// (id → status).
func incidentsAgree(t *testing.T, nodes []*clNode, want map[string]incident.Status) error {
	for _, cn := range nodes {
		code, b := spCall(t, "GET", cn.base+"/api/v1/incidents", "", "")
		if code != http.StatusOK {
			return fmt.Errorf("%s: GET incidents = %d %s", cn.name, code, b)
		}
		got := map[string]incident.Status{}
		for _, in := range decode[[]incident.Incident](t, b) {
			got[in.ID] = in.Status
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			return fmt.Errorf("%s lists incidents %v, want %v", cn.name, got, want)
		}
	}
	return nil
}

// pagesAgree checks that every node lists the pages want and serves each
// publicly.
func pagesAgree(t *testing.T, nodes []*clNode, want []string) error {
	for _, cn := range nodes {
		code, b := spCall(t, "GET", cn.base+"/api/v1/statuspages", "", "")
		if code != http.StatusOK {
			return fmt.Errorf("%s: GET statuspages = %d %s", cn.name, code, b)
		}
		var got []string
		for _, p := range decode[[]statuspage.Page](t, b) {
			got = append(got, p.ID)
		}
		if !slices.Equal(got, want) {
			return fmt.Errorf("%s lists pages %v, want %v", cn.name, got, want)
		}
		for _, id := range want {
			if code, _ := spCall(t, "GET", cn.base+"/status/"+id, "", ""); code != http.StatusOK {
				return fmt.Errorf("%s: GET /status/%s = %d", cn.name, id, code)
			}
		}
	}
	return nil
}

// TestClusterIncidentsAndPages: an incident opened on one node, updated on
// another and deleted on a third, and a status page written on one node,
// are known to every node and survive a restart of the whole cluster.
func TestClusterIncidentsAndPages(t *testing.T) {
	ids := clIDs("ip", 2, 0)
	c := startCL(t, 3, ids, clFastTuning)
	n0, n1, n2 := c.nodes[0], c.nodes[1], c.nodes[2]

	code, b := spCall(t, "POST", n0.base+"/api/v1/incidents", "", `{"title":"Slow","targets":["`+ids[0]+`"],"message":"Looking"}`)
	expect(t, "POST incident on n0", code, b, http.StatusCreated)
	in := decode[incident.Incident](t, b)
	page := `{"id":"public","title":"Status","groups":[{"name":"G","entries":[{"target":"` + ids[0] + `","display_name":"Site"}]}]}`
	code, b = spCall(t, "POST", n1.base+"/api/v1/statuspages", "", page)
	expect(t, "POST page on n1", code, b, http.StatusCreated)

	took := waitFor(t, "every node knows the incident and the page", 10*time.Second, 0, func() error {
		if err := incidentsAgree(t, c.nodes, map[string]incident.Status{in.ID: incident.Investigating}); err != nil {
			return err
		}
		return pagesAgree(t, c.nodes, []string{"public"})
	})
	t.Logf("an incident and a page reached every node in %v", took.Round(time.Millisecond))

	code, b = spCall(t, "POST", n2.base+"/api/v1/incidents/"+in.ID+"/updates", "", `{"status":"resolved","message":"Fixed"}`)
	expect(t, "resolve on n2", code, b, http.StatusCreated)
	waitFor(t, "every node shows it resolved, on the public page too", 20*time.Second, 0, func() error {
		if err := incidentsAgree(t, c.nodes, map[string]incident.Status{in.ID: incident.Resolved}); err != nil {
			return err
		}
		for _, cn := range c.nodes {
			// The page is built at most statuspage's cache TTL ago.
			_, b := spCall(t, "GET", cn.base+"/status/public.json", "", "")
			var v statuspage.View
			if err := json.Unmarshal(b, &v); err != nil {
				return fmt.Errorf("%s: %w", cn.name, err)
			}
			if len(v.Past) != 1 || len(v.Active) != 0 {
				return fmt.Errorf("%s: the page lists %d past and %d active incidents, want 1 and 0", cn.name, len(v.Past), len(v.Active))
			}
		}
		return nil
	})

	for _, cn := range c.nodes {
		c.crash(cn.name)
	}
	for _, cn := range c.nodes {
		c.restart(cn.name)
	}
	waitFor(t, "incidents and pages survive a restart of the whole cluster", 10*time.Second, 0, func() error {
		if err := incidentsAgree(t, c.nodes, map[string]incident.Status{in.ID: incident.Resolved}); err != nil {
			return err
		}
		return pagesAgree(t, c.nodes, []string{"public"})
	})

	code, b = spCall(t, "DELETE", n1.base+"/api/v1/incidents/"+in.ID, "", "")
	expect(t, "DELETE on n1", code, b, http.StatusNoContent)
	code, b = spCall(t, "DELETE", n0.base+"/api/v1/statuspages/public", "", "")
	expect(t, "DELETE page on n0", code, b, http.StatusNoContent)
	waitFor(t, "every node forgets both", 10*time.Second, 0, func() error {
		if err := incidentsAgree(t, c.nodes, map[string]incident.Status{}); err != nil {
			return err
		}
		return pagesAgree(t, c.nodes, nil)
	})
}
