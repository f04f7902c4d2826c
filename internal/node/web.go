package node

import (
	"context"
	"net"

	"github.com/heckhq/heck/internal/api"
	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/web"
)

// Observations are every observer's latest observation of a target, as
// the health table holds them (the web UI's vantage points).
func (n *Node) Observations(_ context.Context, id string) []health.Observation {
	return n.table.Get(id)
}

// webDeps are what the web UI reads and writes of this node.
func (n *Node) webDeps() web.Deps {
	return web.Deps{Targets: n, History: n, Transitions: n, Log: n.tlog, Members: n, Pools: n, Graph: n, Vantages: n,
		Incidents: n, StatusPages: n, Auth: n.users.auth, Users: n.users.auth}
}

// mountWeb serves the web UI at "/" beside the API of s (listening at
// addr). Its pages are open to read where the API's reads are; changes
// need a signed-in user. Its live streams end with the requests' context,
// the node's.
func (n *Node) mountWeb(s *api.Server, addr net.Addr) {
	h, err := web.New(n.webDeps(), web.Options{NodeName: n.name, OpenReads: n.cfg.API.OpenReads || isLoopback(addr), Logger: n.log})
	if err != nil {
		n.log.Error("web UI not served", "err", err)
		return
	}
	s.Handle("/", h)
}
