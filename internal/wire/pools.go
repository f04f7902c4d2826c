package wire

import "github.com/heckhq/heck/internal/pool"

// Pool is a pool as the API shows it (GET /api/v1/pools/{pool}): its name,
// members (each with id, state, address, port, weight, zone, healthy,
// ejected and serving), the healthy and serving counts, panic, and the
// spec as written.
type Pool = pool.View

// PoolMember is one member of a pool.
type PoolMember = pool.Member

// PoolSpec is the body of PUT /api/v1/pools/{pool} and POST /api/v1/pools.
type PoolSpec = pool.Spec

// Healthy is the answer of GET /api/v1/pools/{pool}/healthy: the members
// consumers should send traffic to now (the healthy ones, or while the pool
// is in panic the fail-open set), and whether it is in panic.
type Healthy struct {
	Pool    string       `json:"pool"`
	Panic   bool         `json:"panic"`
	Members []PoolMember `json:"members"`
}

// Pick is the answer of GET /api/v1/pools/{pool}/pick: one member.
type Pick struct {
	Pool     string     `json:"pool"`
	Strategy string     `json:"strategy"`
	Zone     string     `json:"zone,omitempty"`
	Panic    bool       `json:"panic"`
	Member   PoolMember `json:"member"`
}
