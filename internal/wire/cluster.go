package wire

import (
	"errors"
	"fmt"
	"net"
)

// Member states.
const (
	MemberAlive = "alive"
	MemberDead  = "dead" // stopped answering
	MemberLeft  = "left" // left gracefully
)

// Member is one node of the cluster as this node sees it.
type Member struct {
	Name string `json:"name"`
	// Addr is the gossip address (host:port).
	Addr string `json:"addr,omitempty"`
	// APIAddr is where the member serves this API.
	APIAddr string  `json:"api_addr,omitempty"`
	Zone    string  `json:"zone,omitempty"`
	Weight  float64 `json:"weight"`
	// State is alive, dead or left (MemberAlive...).
	State   string `json:"state"`
	Version string `json:"version,omitempty"`
	// Targets is how many targets the member owns (probes as a primary
	// owner or replica) in this node's view.
	Targets int `json:"targets"`
	// Self marks the node that answered.
	Self bool `json:"self,omitempty"`
}

// MemberList is the body of GET /api/v1/members, sorted by name.
type MemberList struct {
	Members []Member `json:"members"`
}

// JoinRequest is the body of POST /api/v1/members/join.
type JoinRequest struct {
	// Addrs are gossip addresses: host:port, a host (port 7946), or a DNS
	// name every address of which is joined.
	Addrs []string `json:"addrs"`
}

// JoinResponse is the answer of a join: how many addresses answered, and
// the members afterwards.
type JoinResponse struct {
	Contacted int      `json:"contacted"`
	Members   []Member `json:"members"`
}

// LeaveResponse is the answer of POST /api/v1/leave: the node that left
// and its state.
type LeaveResponse struct {
	Name  string `json:"name"`
	State string `json:"state"`
}

// ReachableAPIAddr is where a member's API answers, from what it
// advertises (internal/cluster carries both in its metadata): its API
// address, with the host of its gossip address when the API listens on
// every address (0.0.0.0:7800, [::]:7800). There is no separate API
// advertise setting: a member whose API listens on an address the others
// cannot reach (loopback across hosts, a port mapped by NAT) cannot be
// reached at it.
func ReachableAPIAddr(apiAddr, gossipAddr string) (string, error) {
	if apiAddr == "" {
		return "", errors.New("the member advertises no api_addr")
	}
	host, port, err := net.SplitHostPort(apiAddr)
	if err != nil {
		return "", fmt.Errorf("api_addr %q is not host:port", apiAddr)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		gh, _, gerr := net.SplitHostPort(gossipAddr)
		if gerr != nil || gh == "" || net.ParseIP(gh).IsUnspecified() {
			return "", fmt.Errorf("api_addr %q listens on every address and the gossip address %q names no host", apiAddr, gossipAddr)
		}
		host = gh
	}
	return net.JoinHostPort(host, port), nil
}

// Reach is where the member's API answers (ReachableAPIAddr).
func (m Member) Reach() (string, error) { return ReachableAPIAddr(m.APIAddr, m.Addr) }
