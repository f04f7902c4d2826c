// Package config owns heck's node configuration: its shape, its embedded
// defaults, loading it from YAML with every problem reported at once (file,
// line, field, value and fix), and the command-line overrides.
package config

import (
	"github.com/heckhq/heck/internal/target"
)

// DefaultListen is where the API and UI listen by default.
const DefaultListen = "127.0.0.1:7800"

// Config is one node's configuration.
type Config struct {
	Node     Node            `yaml:"node"`
	Listen   string          `yaml:"listen"`
	API      API             `yaml:"api"`
	Log      Log             `yaml:"log"`
	Store    Store           `yaml:"store"`
	Probe    Probe           `yaml:"probe"`
	Defaults target.Schedule `yaml:"defaults"`
	Targets  []target.Spec   `yaml:"targets"`
	Cluster  Cluster         `yaml:"cluster"`

	// Path is the file the config came from ("" for embedded defaults).
	Path string `yaml:"-"`
}

// Node names this node and where it keeps its data.
type Node struct {
	// Name defaults to the host name.
	Name string `yaml:"name"`
	// DataDir holds the SQLite database (default ./data).
	DataDir string `yaml:"data_dir"`
}

// API configures the REST API.
type API struct {
	// Token is the bearer token for mutations; required when Listen is not
	// a loopback address. Usually "${HECK_API_TOKEN}".
	Token string `yaml:"token"`
	// OpenReads serves reads without a token even off loopback.
	OpenReads bool `yaml:"open_reads"`
	// PerTargetMetrics exports one series per target on /metrics (default
	// on; turn off for very large fleets).
	PerTargetMetrics *bool `yaml:"per_target_metrics"`
}

// Log configures logging.
type Log struct {
	Level  string `yaml:"level"`  // debug, info (default), warn, error
	Format string `yaml:"format"` // text (default) or json
}

// Store configures where history is kept.
type Store struct {
	// Driver is sqlite (default); postgres comes later.
	Driver string `yaml:"driver"`
	// Path of the SQLite file (default <data_dir>/heck.db).
	Path      string    `yaml:"path"`
	Retention Retention `yaml:"retention"`
	// Recent is how many raw results per target are kept in memory
	// (default 10).
	Recent int `yaml:"recent"`
}

// Retention says how long each kind of record is kept ("30d", "168h").
type Retention struct {
	Results     target.Duration `yaml:"results"`     // default 7d
	Rollups     target.Duration `yaml:"rollups"`     // default 90d
	Transitions target.Duration `yaml:"transitions"` // default 400d
}

// Probe configures probing as a whole.
type Probe struct {
	// DenyNetworks are CIDRs no probe may connect to, checked at dial time
	// (default: link-local and cloud metadata addresses).
	DenyNetworks []string `yaml:"deny_networks"`
	// Concurrency bounds probes in flight at once (default 2048).
	Concurrency int `yaml:"concurrency"`
}

// Cluster configures membership and replication (see docs/cluster.md).
// An empty Bind and Join means a single node.
type Cluster struct {
	// Bind is the gossip address (host:port, default 0.0.0.0:7946 when
	// clustering).
	Bind string `yaml:"bind"`
	// Advertise is the address others reach this node's gossip at.
	Advertise string `yaml:"advertise"`
	// Join lists host:port or DNS names (every A record is joined).
	Join []string `yaml:"join"`
	// Zone of this node, for zone-spread ownership.
	Zone string `yaml:"zone"`
	// Weight of this node in ownership (default 1).
	Weight float64 `yaml:"weight"`
	// Keys are base64 AES keys (16, 24 or 32 bytes) for gossip encryption;
	// the first encrypts, all decrypt.
	Keys []string `yaml:"keys"`
	// Replicas is how many nodes probe each target (default 1).
	Replicas int `yaml:"replicas"`
	// Spread "zone" puts a target's replicas in distinct zones.
	Spread string `yaml:"spread"`
	// TombstoneHorizon is how long a deleted target's tombstone is kept
	// (default 7d); it bounds the partition that heals without resurrecting
	// deleted targets.
	TombstoneHorizon target.Duration `yaml:"tombstone_horizon"`
}

// Enabled reports whether this node should join a cluster.
func (c *Cluster) Enabled() bool { return c.Bind != "" || len(c.Join) > 0 }
