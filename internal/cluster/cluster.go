// Package cluster owns heck's membership layer: a thin layer over
// hashicorp/memberlist (SWIM) that joins and leaves a cluster, tracks the
// members and their metadata (zone, weight, version, API address), reports
// member events, encrypts gossip with a rotatable keyring, and carries the
// replication traffic of the layer above through a Replica.
//
// # Replication flow
//
// The layer above (the node's CRDTs) implements Replica. Two paths move
// data between nodes:
//
//   - Deltas: Broadcast queues a delta on a memberlist.TransmitLimitedQueue;
//     memberlist piggybacks it on gossip packets to random members, each
//     delta retransmitted RetransmitMult*ceil(log10(N+1)) times by the node
//     that made it (memberlist does not relay user broadcasts: a Replica that
//     wants epidemic relay re-Broadcasts deltas that were new to it). A delta
//     whose frame does not fit in one gossip packet (MaxBroadcastSize) is
//     sent instead by a reliable (TCP) message to each live member, from one
//     background sender; if that sender falls behind by more than
//     largeQueueDepth messages, further large deltas are dropped with a
//     warning. Multicast sends a delta straight to every live member
//     instead (one UDP packet each, or the reliable path when large), for
//     a Replica whose gossip is backed up (Queued). Every path is best
//     effort: anti-entropy repairs any loss.
//   - Anti-entropy: memberlist's periodic push/pull (and every join) carries
//     each side's digest (Replica.LocalDigest) in LocalState; each side hands
//     the peer's digest to Replica.MergeDigest, which sends what that peer
//     lacks with Send (reliable, TCP). So each side sends only the
//     difference, never its whole state.
//
// Every payload is framed as [type byte][uvarint name length][sender name]
// [payload] so deltas, digest answers, digests and later kinds coexist.
//
// # Reconnection
//
// memberlist stops talking to a member it declared dead once
// GossipToTheDeadTime passes, so two halves of a long partition never find
// each other again by themselves. As Serf does, a background loop retries,
// every RejoinInterval, the join addresses (re-resolved each time) that are
// not the address of a live member, and the last addresses of up to
// RejoinMax random members that died less than ReconnectTimeout ago (one
// join bridging the halves is enough: gossip brings the rest).
//
// # Membership view
//
// Members and Events come from the cluster's own table, fed by memberlist's
// event callbacks: memberlist's Node structs are rewritten in place under
// its lock (reading them afterwards races) and their State field is never
// updated. Consequences: a member is alive, dead or left (memberlist's
// suspicion is not visible race-free, so a suspect stays alive until it is
// declared dead); "left" is known from the member's own leave announcement
// (a msgLeave frame sent reliably to each member by Leave), and a member
// whose announcement did not reach us is listed as dead. Events include
// this node's own join at Start.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// Defaults.
const (
	DefaultBind             = "0.0.0.0:7946"
	DefaultRejoinInterval   = 30 * time.Second
	DefaultReconnectTimeout = 24 * time.Hour
	// largeQueueDepth bounds the large deltas waiting for reliable sends.
	largeQueueDepth = 256
	// maxQueuedBroadcasts bounds the gossip queue; the oldest deltas are
	// pruned beyond it (anti-entropy repairs them).
	maxQueuedBroadcasts = 4096
	// packetHeadroom is what memberlist takes out of UDPBufferSize before a
	// user broadcast: compound header (2), per-message overhead (2), user
	// message type (1), encryption (up to 45); rounded up. A label adds its
	// length plus 2.
	packetHeadroom = 64
)

// Config configures one node's membership.
type Config struct {
	// NodeName must be unique in the cluster.
	NodeName string
	// Bind is the gossip listen address, host:port (default 0.0.0.0:7946);
	// port 0 picks a free port. Ignored when Transport is set.
	Bind string
	// Advertise is the host:port other nodes reach this node at (default:
	// derived from Bind; a private address when Bind is 0.0.0.0). A host
	// name is resolved at Start.
	Advertise string
	// Join lists host:port or DNS names (default port 7946). A name is
	// resolved to all its A/AAAA records and each is joined, so a Kubernetes
	// headless Service works.
	Join []string
	// Zone, Weight (default 1), APIAddr and Version are advertised in the
	// node's metadata.
	Zone    string
	Weight  float64
	APIAddr string
	Version string
	// Keys are AES keys (16, 24 or 32 bytes) for gossip encryption; the
	// first encrypts, all decrypt. None means no encryption.
	Keys [][]byte
	// Logger receives memberlist's logs at their levels (default
	// slog.Default()).
	Logger *slog.Logger
	// Tuning adjusts memberlist's configuration (LAN defaults) last; tests
	// use it for faster timings.
	Tuning func(*memberlist.Config)
	// Transport replaces memberlist's UDP/TCP transport (tests and
	// benchmarks: a PartitionTransport or CountingTransport over loopback).
	// memberlist.MockNetwork is not a good fit: its unbuffered channels let
	// two nodes acknowledging each other deadlock, and its maps are not
	// locked. The cluster owns the transport once New succeeds.
	Transport memberlist.Transport
	// Resolve looks up join names (default: the system resolver).
	Resolve ResolveFunc
	// RejoinInterval is how often missing members and join addresses are
	// retried (default 30s; negative disables the loop).
	RejoinInterval time.Duration
	// ReconnectTimeout is how long the address of a dead member keeps being
	// retried (default 24h).
	ReconnectTimeout time.Duration
}

// Replica is what the layer above gives the cluster: the node's replicated
// state. Its methods are called from memberlist's goroutines and must not
// block for long.
type Replica interface {
	// HandleDelta applies a delta from node from (a broadcast or a Send).
	// It runs on memberlist's receive path: apply and return; never call
	// Send from it. msg is the Replica's to keep.
	HandleDelta(from string, msg []byte)
	// LocalDigest summarises the local state (say, a version vector); it is
	// sent to a peer at every push/pull.
	LocalDigest() []byte
	// MergeDigest receives a peer's digest. It runs on the cluster's own
	// goroutine (one at a time, the latest digest per peer) and should
	// answer with what the peer lacks via Send.
	MergeDigest(from string, digest []byte)
}

// Member is one node as seen by this node.
type Member struct {
	Name    string  `json:"name"`
	Addr    string  `json:"addr"`
	APIAddr string  `json:"api_addr,omitempty"`
	Zone    string  `json:"zone,omitempty"`
	Weight  float64 `json:"weight"`
	State   string  `json:"state"` // alive, suspect, dead, left
	Version string  `json:"version,omitempty"`
}

// Errors callers can test for with errors.Is.
var (
	// ErrKeyMismatch: a peer refused us (or we it) because the gossip
	// encryption keys differ.
	ErrKeyMismatch = errors.New("gossip encryption key mismatch? check cluster.keys")
	// ErrUnknownMember: Send to a node that is not a live member.
	ErrUnknownMember = errors.New("not a live member")
	// ErrNotRunning: the cluster is not started, or was closed or left.
	ErrNotRunning = errors.New("cluster not running")
)

type lifecycle int

const (
	stateNew lifecycle = iota
	stateStarting
	stateRunning
	stateLeft
	stateClosed
)

// memberEntry is this node's copy of one member. memberlist's own Node
// structs are updated in place under its lock, so the cluster never reads
// them outside memberlist's event callbacks (which run under that lock):
// each callback copies what it needs here.
type memberEntry struct {
	member Member
	node   memberlist.Node // Name, Addr, Port: what SendReliable needs
	at     time.Time       // when it died or left
}

// Cluster is one node's membership. Create it with New, then Start.
type Cluster struct {
	cfg     Config
	log     *slog.Logger
	replica Replica
	mlConf  *memberlist.Config
	meta    atomic.Pointer[[]byte] // encoded local Meta, read by memberlist
	keyring *memberlist.Keyring
	maxBcst int

	ml atomic.Pointer[memberlist.Memberlist]
	// waiting is set while no join address has answered since Start: the
	// first rejoin that succeeds logs "cluster: joined" and clears it.
	waiting    atomic.Bool
	broadcasts *memberlist.TransmitLimitedQueue
	counting   atomic.Pointer[CountingTransport] // the transport Start made, if any
	large      chan []byte
	stats      struct {
		largeSent, largeDropped, pruned, multicast atomic.Uint64
	}

	// life serialises memberlist's Leave and Shutdown (Leave after
	// Shutdown panics).
	life  sync.Mutex
	mu    sync.Mutex
	state lifecycle
	// members is fed by the event delegate: every member ever seen, with
	// dead and left ones kept for ReconnectTimeout.
	local   Meta // guarded by mu
	members map[string]*memberEntry
	// leaving: members that announced a graceful leave, and when.
	leaving map[string]time.Time

	events *eventQueue
	digest *digestQueue

	ctx          context.Context
	cancel       context.CancelFunc
	rejoinCancel context.CancelFunc
	wg           sync.WaitGroup
	closeOnce    sync.Once
}

// New validates cfg and prepares a node; nothing listens until Start.
func New(cfg Config, r Replica) (*Cluster, error) {
	if r == nil {
		return nil, errors.New("cluster: nil Replica")
	}
	if cfg.NodeName == "" {
		return nil, errors.New("cluster: node name is empty: set node.name (or --node-name) to a name unique in the cluster")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Resolve == nil {
		cfg.Resolve = defaultResolve
	}
	if cfg.RejoinInterval == 0 {
		cfg.RejoinInterval = DefaultRejoinInterval
	}
	if cfg.ReconnectTimeout <= 0 {
		cfg.ReconnectTimeout = DefaultReconnectTimeout
	}
	if cfg.Weight == 0 {
		cfg.Weight = 1
	}
	if cfg.Bind == "" {
		cfg.Bind = DefaultBind
	}
	bindHost, bindPort, err := splitHostPort(cfg.Bind, DefaultPort)
	if err != nil {
		return nil, fmt.Errorf("cluster.bind %q: %v: want host:port, e.g. 0.0.0.0:7946", cfg.Bind, err)
	}
	if net.ParseIP(bindHost) == nil {
		return nil, fmt.Errorf("cluster.bind %q: host must be an IP address, e.g. 0.0.0.0:7946 or 127.0.0.1:0", cfg.Bind)
	}
	if cfg.Advertise != "" {
		if _, _, err := splitHostPort(cfg.Advertise, 0); err != nil {
			return nil, fmt.Errorf("cluster.advertise %q: %v: want host:port", cfg.Advertise, err)
		}
	}
	for i, j := range cfg.Join {
		if _, port, err := splitHostPort(j, DefaultPort); err != nil || port == 0 {
			if err == nil {
				err = errors.New("port 0 cannot be joined")
			}
			return nil, fmt.Errorf("cluster.join[%d] %q: %v: want host:port or a DNS name", i, j, err)
		}
	}
	var keyring *memberlist.Keyring
	if len(cfg.Keys) > 0 {
		for i, k := range cfg.Keys {
			if err := memberlist.ValidateKey(k); err != nil {
				return nil, fmt.Errorf("cluster.keys[%d]: key is %d bytes: want 16, 24 or 32 bytes (AES-128/192/256), base64-encoded in the config", i, len(k))
			}
		}
		keyring, err = memberlist.NewKeyring(cfg.Keys, cfg.Keys[0])
		if err != nil {
			return nil, fmt.Errorf("cluster.keys: %w", err)
		}
	}
	localMeta := Meta{Zone: cfg.Zone, APIAddr: cfg.APIAddr, Version: cfg.Version, Weight: cfg.Weight}
	meta, err := localMeta.check()
	if err != nil {
		return nil, err
	}

	ctx, cancel := context.WithCancel(context.Background())
	c := &Cluster{
		cfg:     cfg,
		log:     cfg.Logger,
		replica: r,
		local:   localMeta,
		keyring: keyring,
		large:   make(chan []byte, largeQueueDepth),
		members: map[string]*memberEntry{},
		leaving: map[string]time.Time{},
		events:  newEventQueue(),
		digest:  newDigestQueue(),
		ctx:     ctx,
		cancel:  cancel,
	}

	c.meta.Store(&meta)

	conf := memberlist.DefaultLANConfig()
	conf.Name = cfg.NodeName
	conf.BindAddr = bindHost
	conf.BindPort = bindPort
	conf.AdvertisePort = bindPort
	conf.Keyring = keyring
	conf.Delegate = &delegate{c: c}
	conf.Events = &eventDelegate{c: c}
	conf.Conflict = &conflictDelegate{c: c}
	conf.Logger = newStdLogger(c.log)
	conf.Transport = cfg.Transport
	// Deltas arrive in bursts (a flapping fleet, a join's first sync);
	// memberlist's default of 1024 queued messages drops them under load.
	conf.HandoffQueueDepth = 8192
	if cfg.Tuning != nil {
		cfg.Tuning(conf)
	}
	c.mlConf = conf
	c.maxBcst = conf.UDPBufferSize - packetHeadroom
	if conf.Label != "" {
		c.maxBcst -= len(conf.Label) + 2
	}
	c.broadcasts = &memberlist.TransmitLimitedQueue{
		NumNodes: func() int {
			if ml := c.ml.Load(); ml != nil {
				return ml.NumMembers()
			}
			return 1
		},
		RetransmitMult: conf.RetransmitMult,
	}
	return c, nil
}

// netTransport binds memberlist's UDP/TCP transport on the bind address,
// wrapped so that Traffic counts what this node sends. Port 0 picks a free
// port (retried, as memberlist does, when UDP and TCP cannot share it).
func (c *Cluster) netTransport() (*CountingTransport, error) {
	nc := &memberlist.NetTransportConfig{
		BindAddrs: []string{c.mlConf.BindAddr},
		BindPort:  c.mlConf.BindPort,
		Logger:    c.mlConf.Logger,
	}
	tries := 1
	if nc.BindPort == 0 {
		tries = 10
	}
	var nt *memberlist.NetTransport
	var err error
	for range tries {
		if nt, err = memberlist.NewNetTransport(nc); err == nil {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	if c.mlConf.BindPort == 0 {
		port := nt.GetAutoBindPort()
		c.mlConf.BindPort = port
		if c.mlConf.AdvertisePort == 0 {
			c.mlConf.AdvertisePort = port
		}
	}
	return NewCountingTransport(nt), nil
}

// Traffic is what this node has sent over gossip (UDP packets and TCP
// streams, memberlist's own included), when the cluster made its own
// transport or was given a CountingTransport; zero otherwise.
func (c *Cluster) Traffic() Traffic {
	if t := c.counting.Load(); t != nil {
		return t.Traffic()
	}
	if t, ok := c.cfg.Transport.(*CountingTransport); ok {
		return t.Traffic()
	}
	return Traffic{}
}

// LocalName is this node's name.
func (c *Cluster) LocalName() string { return c.cfg.NodeName }

// Addr is the gossip address other nodes reach this node at ("" before
// Start).
func (c *Cluster) Addr() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.members[c.cfg.NodeName]; ok {
		return e.member.Addr
	}
	return ""
}

// MaxBroadcastSize is the largest message Broadcast sends by gossip; larger
// ones go by reliable send to each member.
func (c *Cluster) MaxBroadcastSize() int {
	return c.maxBcst - frameSize(c.cfg.NodeName, nil)
}

// Events delivers member join, leave (dead or left) and update events.
// Events are coalesced per member while the reader is behind (a join
// followed by updates is one join with the latest metadata), so memberlist
// never waits for the reader. The channel is closed by Close.
func (c *Cluster) Events() <-chan Event { return c.events.out }

// Start listens, joins the configured addresses and starts the background
// loops. A join address that does not answer is not an error (it may not be
// up yet: the rejoin loop keeps trying); a peer that refuses us because of
// the encryption keys is, and so is a listen failure. Call Close after a
// failed Start.
func (c *Cluster) Start(ctx context.Context) error {
	c.mu.Lock()
	if c.state != stateNew {
		c.mu.Unlock()
		return fmt.Errorf("cluster: start: %w (already started or closed)", ErrNotRunning)
	}
	c.state = stateStarting
	c.mu.Unlock()
	started := false
	defer func() {
		if !started {
			c.mu.Lock()
			if c.state == stateStarting {
				c.state = stateNew
			}
			c.mu.Unlock()
		}
	}()
	if c.cfg.Advertise != "" {
		host, port, _ := splitHostPort(c.cfg.Advertise, 0)
		ip := net.ParseIP(host)
		if ip == nil {
			ips, err := c.cfg.Resolve(ctx, host)
			if err != nil || len(ips) == 0 {
				return fmt.Errorf("cluster.advertise %q: cannot resolve %s: %v", c.cfg.Advertise, host, err)
			}
			ip = ips[0]
		}
		c.mlConf.AdvertiseAddr = ip.String()
		if port != 0 {
			c.mlConf.AdvertisePort = port
		}
	}
	// memberlist calls our event delegate from Create (for this node), so
	// c.mu must not be held here. life keeps Close from racing Create.
	c.life.Lock()
	if c.ctx.Err() != nil {
		c.life.Unlock()
		return fmt.Errorf("cluster: start: %w (closed)", ErrNotRunning)
	}
	var own *CountingTransport
	if c.mlConf.Transport == nil {
		t, err := c.netTransport()
		if err != nil {
			c.life.Unlock()
			return fmt.Errorf("cluster: start gossip on %s: %w", c.cfg.Bind, err)
		}
		own = t
		c.mlConf.Transport = t
	}
	ml, err := memberlist.Create(c.mlConf)
	if err != nil {
		if own != nil {
			_ = own.Shutdown()
			c.mlConf.Transport = nil
		}
		c.life.Unlock()
		return fmt.Errorf("cluster: start gossip on %s: %w", c.cfg.Bind, err)
	}
	if own != nil {
		c.counting.Store(own)
	}
	c.mu.Lock()
	if c.state != stateStarting { // closed during Create
		c.mu.Unlock()
		_ = ml.Shutdown()
		c.life.Unlock()
		return fmt.Errorf("cluster: start: %w (closed)", ErrNotRunning)
	}
	c.ml.Store(ml)
	started = true
	c.state = stateRunning
	rctx, rcancel := context.WithCancel(c.ctx)
	c.rejoinCancel = rcancel
	c.wg.Add(3)
	go c.events.run(c.ctx, &c.wg)
	go c.runDigests()
	go c.runLarge()
	if c.cfg.RejoinInterval > 0 {
		c.wg.Add(1)
		go c.runRejoin(rctx)
	}
	c.mu.Unlock()
	c.life.Unlock()

	c.log.Info("cluster: gossip listening", "node", c.cfg.NodeName, "addr", c.Addr(), "encrypted", c.keyring != nil)
	if len(c.cfg.Join) == 0 {
		return nil
	}
	n, err := c.join(ctx, c.cfg.Join)
	if err != nil {
		if errors.Is(err, ErrKeyMismatch) {
			return err
		}
		if c.cfg.RejoinInterval > 0 {
			c.waiting.Store(true)
			c.log.Warn("cluster: no join address answered yet; running alone and retrying in the background "+
				"(logged once; \"cluster: joined\" follows when a peer answers)",
				"join", c.cfg.Join, "every", c.cfg.RejoinInterval, "err", err)
		} else {
			c.log.Warn("cluster: no join address answered; running alone (rejoin is off: join at runtime with heck join ADDR)",
				"join", c.cfg.Join, "err", err)
		}
		return nil
	}
	c.log.Info("cluster: joined", "contacted", n, "members", ml.NumMembers())
	return nil
}

// Leave tells the cluster this node is going: it stops rejoining,
// announces the leave to every live member by a reliable message (so they
// list it as left, not dead), broadcasts memberlist's leave and waits until
// memberlist has sent it its full number of times, then a short
// propagation delay (five gossip intervals). It is bounded by ctx (5 s when
// ctx has no deadline) and each announcement by TCPTimeout. The node keeps
// answering gossip until Close.
func (c *Cluster) Leave(ctx context.Context) error {
	c.mu.Lock()
	if c.state != stateRunning {
		st := c.state
		c.mu.Unlock()
		if st == stateLeft {
			return nil
		}
		return fmt.Errorf("cluster: leave: %w", ErrNotRunning)
	}
	c.state = stateLeft
	c.rejoinCancel()
	c.mu.Unlock()

	timeout := 5 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	if timeout <= 0 {
		return fmt.Errorf("cluster: leave: %w", context.DeadlineExceeded)
	}
	ml := c.ml.Load()
	frame := appendFrame(nil, msgLeave, c.cfg.NodeName, nil)
	var wg sync.WaitGroup
	for _, n := range c.livePeers() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := ml.SendReliable(n, frame); err != nil {
				c.log.Debug("cluster: leave announcement not delivered", "to", n.Name, "err", err)
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("cluster: leave: %w", err)
	}
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	c.life.Lock()
	err := ml.Leave(timeout)
	c.life.Unlock()
	if err != nil {
		return fmt.Errorf("cluster: leave: %w", err)
	}
	t := time.NewTimer(5 * c.mlConf.GossipInterval)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
	c.log.Info("cluster: left", "node", c.cfg.NodeName)
	return nil
}

// Close stops gossip (without a leave: others will find this node dead),
// stops the background loops and closes Events. A rejoin attempt in flight
// cannot be interrupted, so Close may wait up to memberlist's TCPTimeout
// for it. Safe to call more than once.
func (c *Cluster) Close() error {
	var err error
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.state = stateClosed
		c.mu.Unlock()
		c.cancel()
		c.life.Lock()
		if ml := c.ml.Load(); ml != nil {
			if e := ml.Shutdown(); e != nil {
				err = fmt.Errorf("cluster: shutdown: %w", e)
			}
		} else if c.cfg.Transport != nil {
			// Never handed to memberlist: we own it.
			_ = c.cfg.Transport.Shutdown()
		}
		c.life.Unlock()
		c.wg.Wait()
		c.events.close()
	})
	return err
}

// Stats are counters of the delta paths, for metrics.
type Stats struct {
	QueuedBroadcasts int    // deltas waiting in the gossip queue
	Pruned           uint64 // deltas dropped from a full gossip queue
	LargeQueued      int    // large deltas waiting for reliable sends
	LargeSent        uint64 // large deltas sent to every member
	LargeDropped     uint64 // large deltas dropped: reliable sender behind
	Multicast        uint64 // small deltas sent straight to every member (Multicast)
}

// Stats returns the current counters.
func (c *Cluster) Stats() Stats {
	return Stats{
		QueuedBroadcasts: c.broadcasts.NumQueued(),
		Pruned:           c.stats.pruned.Load(),
		LargeQueued:      len(c.large),
		LargeSent:        c.stats.largeSent.Load(),
		Multicast:        c.stats.multicast.Load(),
		LargeDropped:     c.stats.largeDropped.Load(),
	}
}
