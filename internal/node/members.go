package node

import (
	"context"
	"fmt"

	"github.com/heckhq/heck/internal/api"
	"github.com/heckhq/heck/internal/cluster"
)

var _ api.ClusterBackend = (*Node)(nil)

// Members lists the members this node knows with how many targets each
// owns in this node's view.
func (n *Node) Members(ctx context.Context) []api.Member {
	owned := map[string]int{}
	for _, s := range n.reg.List() {
		for _, o := range n.own.RingOwners(&s) {
			owned[o]++
		}
	}
	if n.cl == nil {
		return []api.Member{{Name: n.name, APIAddr: n.apiAddr(), Zone: n.cfg.Cluster.Zone, Weight: 1,
			State: api.MemberAlive, Targets: n.reg.Len(), Self: true}}
	}
	var out []api.Member
	for _, m := range n.cl.Members() {
		state := m.State
		if m.Name == n.name && n.own.Left() {
			state = api.MemberLeft
		}
		out = append(out, api.Member{Name: m.Name, Addr: m.Addr, APIAddr: m.APIAddr, Zone: m.Zone,
			Weight: m.Weight, State: state, Version: m.Version, Targets: owned[m.Name], Self: m.Name == n.name})
	}
	return out
}

func (n *Node) apiAddr() string {
	if n.addr == nil {
		return ""
	}
	return n.addr.String()
}

// Join contacts more members at runtime.
func (n *Node) Join(ctx context.Context, addrs []string) (int, error) {
	if n.cl == nil {
		return 0, fmt.Errorf("join: %w; start heck serve with --gossip or --join (cluster.bind, cluster.join)", api.ErrNotClustered)
	}
	if n.own.Left() {
		return 0, fmt.Errorf("join: %w; restart the node to join again", api.ErrLeft)
	}
	return n.cl.Join(ctx, addrs...)
}

// Leave stops probing, announces the leave so the others take this node's
// targets over at once, and stops gossiping. The API keeps serving.
func (n *Node) Leave(ctx context.Context) error {
	if n.cl == nil {
		return fmt.Errorf("leave: %w", api.ErrNotClustered)
	}
	if !n.own.Leave() {
		return nil
	}
	n.reconcileAll() // owns nothing any more: every target is unscheduled
	if err := n.cl.Leave(ctx); err != nil && err != cluster.ErrNotRunning {
		return fmt.Errorf("leave: %w", err)
	}
	n.log.Info("left the cluster; still serving the API until stopped")
	return nil
}
