package web

import (
	"html/template"
	"net/http"
	"sort"

	"github.com/heckhq/heck/internal/pool"
	"github.com/heckhq/heck/internal/wire"
)

type zone struct {
	Name           string
	Alive, Members int
	Targets        int
}

type poolRow struct {
	V     pool.View
	Share float64
}

type clusterView struct {
	Members   []wire.Member
	Zones     []zone
	Pools     []poolRow
	Graph     template.HTML
	Truncated bool
	Roots     []wire.GraphNode
	HasGraph  bool
}

// maxGraphNodes bounds the drawn graph; the failing targets are kept.
const maxGraphNodes = 300

func (h *Handler) clusterPage(w http.ResponseWriter, r *http.Request, v visitor) {
	ctx := r.Context()
	var cv clusterView
	if h.d.Members != nil {
		cv.Members = h.d.Members.Members(ctx)
		sort.Slice(cv.Members, func(i, j int) bool { return cv.Members[i].Name < cv.Members[j].Name })
		zs := map[string]*zone{}
		for _, m := range cv.Members {
			z := zs[m.Zone]
			if z == nil {
				z = &zone{Name: m.Zone}
				zs[m.Zone] = z
			}
			z.Members++
			if m.State == wire.MemberAlive {
				z.Alive++
			}
			z.Targets += m.Targets
		}
		for _, z := range zs {
			cv.Zones = append(cv.Zones, *z)
		}
		sort.Slice(cv.Zones, func(i, j int) bool { return cv.Zones[i].Name < cv.Zones[j].Name })
	}
	if h.d.Pools != nil {
		for _, p := range h.d.Pools.PoolViews(ctx) {
			share := -1.0
			if len(p.Members) > 0 {
				share = float64(p.Healthy) / float64(len(p.Members))
			}
			cv.Pools = append(cv.Pools, poolRow{V: p, Share: share})
		}
		sort.Slice(cv.Pools, func(i, j int) bool { return cv.Pools[i].V.Name < cv.Pools[j].V.Name })
	}
	if h.d.Graph != nil {
		g := h.d.Graph.Graph(ctx)
		for _, n := range g.Nodes {
			if n.RootCause {
				cv.Roots = append(cv.Roots, n)
			}
		}
		cv.Graph, cv.Truncated = graphSVG(g, maxGraphNodes)
		cv.HasGraph = cv.Graph != ""
	}
	h.render(w, r, http.StatusOK, "cluster", h.newPage(r, v, "Cluster", "cluster", cv))
}
