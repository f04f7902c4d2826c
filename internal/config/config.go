// Package config owns heck's node configuration: its shape, its embedded
// defaults, loading it from YAML with every problem reported at once (file,
// line, field, value and fix), and the command-line overrides.
//
// The store is chosen by store.driver among the drivers registered in
// internal/store; validation checks the name and the driver's own section
// (store.<driver>) against them, so a program that validates configs links
// the drivers (import internal/store/drivers).
package config

import (
	"maps"
	"math"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/heckhq/heck/internal/dispatch"
	"github.com/heckhq/heck/internal/maintenance"
	"github.com/heckhq/heck/internal/notify"
	"github.com/heckhq/heck/internal/pool"
	"github.com/heckhq/heck/internal/probe"
	"github.com/heckhq/heck/internal/statuspage"
	"github.com/heckhq/heck/internal/store"
	"github.com/heckhq/heck/internal/target"
)

// DefaultListen is where the API listens by default.
const DefaultListen = "127.0.0.1:7800"

// The embedded defaults: what a node runs on when neither the config file
// nor a flag says otherwise. Default returns a Config holding them.
const (
	// DefaultDataDir holds the node's data, relative to the working
	// directory.
	DefaultDataDir = "./data"
	// DefaultStoreFile is the SQLite file's name under the data directory.
	DefaultStoreFile = "heck.db"
	// DefaultNodeName is the node name when the host name is unknown.
	DefaultNodeName = "heck"

	// DriverSQLite is the SQLite store's driver name; store.path is short
	// for its setting store.sqlite.path.
	DriverSQLite = "sqlite"
	// DefaultStoreDriver is the embedded SQLite store.
	DefaultStoreDriver = DriverSQLite

	DefaultResultsRetention     = 7 * 24 * time.Hour
	DefaultRollupsRetention     = 90 * 24 * time.Hour
	DefaultTransitionsRetention = 400 * 24 * time.Hour

	// DefaultRecent raw results per target are kept in memory; at most
	// MaxRecent.
	DefaultRecent = 10
	MaxRecent     = 1000

	// DefaultProbeConcurrency bounds the probes in flight at once.
	DefaultProbeConcurrency = 2048

	DefaultLogLevel  = "info"
	DefaultLogFormat = "text"

	// DefaultGossipPort is the gossip port of a join address written
	// without one.
	DefaultGossipPort = 7946
	// DefaultGossipBind is the gossip address of a clustered node whose
	// cluster.bind is unset.
	DefaultGossipBind = "0.0.0.0:7946"

	DefaultWeight   = 1.0
	DefaultReplicas = 1
	// SpreadZone puts a target's replicas in distinct zones.
	SpreadZone = "zone"

	DefaultTombstoneHorizon = 7 * 24 * time.Hour
	// MinTombstoneHorizon is the shortest tombstone horizon accepted.
	MinTombstoneHorizon = time.Hour

	// TargetOrigin marks the targets that come from a config file
	// (target.Spec.Origin).
	TargetOrigin = "config"
)

// LogLevels and LogFormats are the accepted values of log.level and
// log.format.
var (
	LogLevels  = []string{"debug", "info", "warn", "error"}
	LogFormats = []string{"text", "json"}
)

// Default returns the embedded defaults: `heck serve` with no config file
// runs on exactly this. Every call returns a fresh Config.
func Default() *Config {
	on := true
	c := &Config{
		Listen: DefaultListen,
		Node:   Node{Name: hostName(), DataDir: DefaultDataDir},
		API:    API{PerTargetMetrics: &on},
		Log:    Log{Level: DefaultLogLevel, Format: DefaultLogFormat},
		Store: Store{
			Driver: DefaultStoreDriver,
			Retention: Retention{
				Results:     target.Duration(DefaultResultsRetention),
				Rollups:     target.Duration(DefaultRollupsRetention),
				Transitions: target.Duration(DefaultTransitionsRetention),
			},
			Recent: DefaultRecent,
		},
		Probe: Probe{
			DenyNetworks: append([]string(nil), probe.DefaultDenyNetworks...),
			Concurrency:  DefaultProbeConcurrency,
		},
		Cluster: Cluster{
			Weight:           DefaultWeight,
			Replicas:         DefaultReplicas,
			TombstoneHorizon: target.Duration(DefaultTombstoneHorizon),
		},
		DNS: DNS{Zone: DefaultDNSZone, TTL: target.Duration(DefaultDNSTTL)},
	}
	c.deriveStorePath()
	return c
}

// hostName is the default node name.
func hostName() string {
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return DefaultNodeName
}

// deriveStorePath puts the SQLite file under the data directory when no
// store.path was given, and remembers it did, so that moving the data
// directory (--data-dir) moves the file too.
func (c *Config) deriveStorePath() {
	if c.Store.Path == "" || c.storePathDerived {
		c.Store.Path = filepath.Join(c.Node.DataDir, DefaultStoreFile)
		c.storePathDerived = true
	}
}

// PerTargetMetricsEnabled reports whether /metrics carries one series per
// target (on unless api.per_target_metrics is false).
func (a *API) PerTargetMetricsEnabled() bool {
	return a.PerTargetMetrics == nil || *a.PerTargetMetrics
}

// BindAddr is the gossip address to bind: cluster.bind, or
// DefaultGossipBind when unset.
func (c *Cluster) BindAddr() string {
	if c.Bind == "" {
		return DefaultGossipBind
	}
	return c.Bind
}

// JoinAddrs returns the join addresses with DefaultGossipPort added to
// those written without a port. DNS names stay names: the cluster resolves
// each to all its addresses.
func (c *Cluster) JoinAddrs() []string {
	out := make([]string, 0, len(c.Join))
	for _, j := range c.Join {
		out = append(out, withDefaultPort(j))
	}
	return out
}

func withDefaultPort(addr string) string {
	if _, _, err := net.SplitHostPort(addr); err == nil {
		return addr
	}
	host := addr
	if len(host) > 1 && host[0] == '[' && host[len(host)-1] == ']' {
		host = host[1 : len(host)-1]
	}
	return net.JoinHostPort(host, strconv.Itoa(DefaultGossipPort))
}

// weightOK reports whether w is a usable ownership weight.
func weightOK(w float64) bool { return w > 0 && !math.IsInf(w, 1) }

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
	Pools    []pool.Spec     `yaml:"pools,omitempty"`
	// Notifiers are the notification channels (internal/notify).
	Notifiers []notify.Spec `yaml:"notifiers,omitempty"`
	// Routes send transitions to notifiers; with none, every notifier
	// gets every transition.
	Routes []dispatch.Route `yaml:"routes,omitempty"`
	// Maintenance are the planned maintenance windows.
	Maintenance []maintenance.Window `yaml:"maintenance,omitempty"`
	// StatusPages are the public status pages (internal/statuspage); the
	// API may add more.
	StatusPages []statuspage.Page `yaml:"status_pages,omitempty"`
	Cluster     Cluster           `yaml:"cluster"`
	DNS         DNS               `yaml:"dns"`
	HAProxy     HAProxy           `yaml:"haproxy_agent"`

	// Path is the file the config came from ("" for embedded defaults).
	Path string `yaml:"-"`

	// storePathDerived is set while Store.Path is <data_dir>/heck.db
	// because no store.path was given.
	storePathDerived bool
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
	// Driver names the store driver (store.Drivers lists those built in):
	// sqlite by default, or, when the file does not say, the driver whose
	// section it writes.
	Driver string `yaml:"driver"`
	// Path of the SQLite file (default <data_dir>/heck.db); short for
	// store.sqlite.path.
	Path      string    `yaml:"path"`
	Retention Retention `yaml:"retention"`
	// Recent is how many raw results per target are kept in memory
	// (default 10).
	Recent int `yaml:"recent"`
	// Sections are the drivers' own settings, each written as a block
	// named after its driver beside the keys above (store.sqlite.path;
	// store.postgres.dsn once that driver exists): key to value, ${VAR}
	// expanded, checked and read by the driver. Only the chosen driver's
	// section may be written.
	Sections map[string]map[string]string `yaml:",inline"`
}

// DriverSettings returns what the chosen driver opens the store with: a
// copy of its section, and for SQLite the file of store.path unless
// store.sqlite.path is written.
func (s *Store) DriverSettings() store.Settings {
	out := store.Settings{}
	maps.Copy(out, s.Sections[s.Driver])
	if s.Driver == DriverSQLite {
		if _, ok := out[sqlitePath]; !ok {
			out[sqlitePath] = s.Path
		}
	}
	return out
}

// storeDrivers is where validation finds the store drivers: the registry
// of internal/store (tests add drivers of their own here).
var storeDrivers = struct {
	lookup func(name string) (store.Opener, bool)
	names  func() []string
}{store.Lookup, store.Drivers}

// sqlitePath is the SQLite driver's setting that store.path is short for.
const sqlitePath = "path"

// inferDriver chooses the driver the file did not name: the one
// registered driver whose section is written, if there is exactly one.
func (s *Store) inferDriver() {
	chosen := ""
	for name := range s.Sections {
		if _, ok := storeDrivers.lookup(name); !ok {
			continue
		}
		if chosen != "" {
			return // several: validation reports those beside the default
		}
		chosen = name
	}
	if chosen != "" {
		s.Driver = chosen
	}
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

// DNS configures the authoritative DNS server for pools and targets
// (internal/dnsserver). An empty Listen turns it off.
type DNS struct {
	// Listen is the UDP and TCP address (host:port), such as
	// "127.0.0.1:8053".
	Listen string `yaml:"listen"`
	// Zone is the zone served (default "heck.").
	Zone string `yaml:"zone"`
	// TTL of the answers (default 5s).
	TTL target.Duration `yaml:"ttl"`
}

// Default DNS settings.
const (
	DefaultDNSZone = "heck."
	DefaultDNSTTL  = 5 * time.Second
)

// HAProxy configures the HAProxy agent-check listener
// (internal/haproxy). An empty Listen turns it off.
type HAProxy struct {
	// Listen is the TCP address (host:port) HAProxy's agent-check
	// connects to, such as "127.0.0.1:5555".
	Listen string `yaml:"listen"`
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
