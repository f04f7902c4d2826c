// Package node assembles one heck node from its parts: registry, scheduler,
// probes, judge, health table, history recorder, store, metrics, API and
// (when configured) the cluster. cmd/heck stays thin; everything a node does is wired here.
package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/heckhq/heck/internal/api"
	"github.com/heckhq/heck/internal/cluster"
	"github.com/heckhq/heck/internal/config"
	"github.com/heckhq/heck/internal/crdt"
	"github.com/heckhq/heck/internal/dispatch"
	"github.com/heckhq/heck/internal/events"
	"github.com/heckhq/heck/internal/flap"
	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/heartbeat"
	"github.com/heckhq/heck/internal/history"
	"github.com/heckhq/heck/internal/incident"
	"github.com/heckhq/heck/internal/judge"
	"github.com/heckhq/heck/internal/maintenance"
	"github.com/heckhq/heck/internal/metrics"
	"github.com/heckhq/heck/internal/notify"
	"github.com/heckhq/heck/internal/objects"
	"github.com/heckhq/heck/internal/ownership"
	"github.com/heckhq/heck/internal/pool"
	"github.com/heckhq/heck/internal/probe"
	"github.com/heckhq/heck/internal/registry"
	"github.com/heckhq/heck/internal/replica"
	"github.com/heckhq/heck/internal/schedule"
	"github.com/heckhq/heck/internal/silence"
	"github.com/heckhq/heck/internal/statuspage"
	"github.com/heckhq/heck/internal/store"

	// The built-in store drivers, chosen by store.driver.
	_ "github.com/heckhq/heck/internal/store/drivers"
)

// Node is one running heck node.
type Node struct {
	cfg  *config.Config
	log  *slog.Logger
	name string
	// storeName says which store for the logs: the driver, and for
	// SQLite its file (sqlite:PATH).
	storeName string

	st  store.Store
	reg *registry.Registry
	// ids are the live target ids sorted, for the listing (listing.go).
	ids idIndex
	// silences is the replicated collection of silences (kind "silence").
	silences *silence.Collection
	// pools are the replicated pools and ejections, and their views.
	pools *pools
	// windows is the replicated collection of maintenance windows.
	windows *maintenance.Collection
	// incidents and pages are the replicated incidents and status pages;
	// public serves the pages and badges (statuspages.go).
	incidents *incident.Collection
	pages     *statuspage.Collection
	public    *statuspage.Handler
	// disp delivers notifications (dispatch.go).
	disp *dispatcher
	// notifiers is the replicated collection of notifiers.
	notifiers *objects.Collection[notify.Spec]
	// hb holds the heartbeat targets' pings and token index.
	hb *heartbeats
	// users holds the users, tokens and sessions, and the auth (users.go).
	users *users
	// deps holds the dependency graph and the targets to judge again
	// (deps.go).
	deps  *deps
	sched *schedule.Scheduler
	judge *judge.Judge
	rec   *history.Recorder
	// sharedStore: the store is one database shared by every member (it
	// holds every observer's records), so cluster reads need no fan-out.
	sharedStore bool
	// drops carries the store's reports of dropped results to dropLoop.
	drops   chan store.DropReport
	tlog    *events.Log
	metrics *metrics.Checks
	fails   *failLog // nil: failures are not logged
	promReg *prometheus.Registry
	guard   *probe.Guard
	table   *health.Table
	pub     *health.Publisher
	started time.Time

	addr      net.Addr
	dnsAddr   net.Addr // the DNS server's, when it serves DNS
	agentAddr net.Addr // the HAProxy agent's, when it runs one
	listening chan struct{}

	// mu guards the bookkeeping of what this node schedules.
	mu sync.Mutex
	// running maps the id of each scheduled target to what it was built
	// from, so an unchanged spec is not rebuilt.
	running map[string]runningTarget
	// fallbacks counts the running targets with fallback set.
	fallbacks int
	// shortest is the shortest interval of any live target (ns), as the
	// last reconcileAll found it and lowered by writes since: below two of
	// it no silent member can lose a target, so the cluster loop does not
	// walk them.
	shortest atomic.Int64

	// own decides what this node probes (ring and fail-over policy).
	own   *ownership.Policy
	opts  options
	keyMu sync.Mutex // serialises keyring changes and their saving
	cl    *cluster.Cluster
	rep   *replica.Replica
	bf    *backfiller // fills the log's gaps from other members

	// peerClient asks other members for their records (history.go).
	peerClient *http.Client
	// peerMu guards peerWarned: when each member's failure was last
	// logged as a warning.
	peerMu     sync.Mutex
	peerWarned map[string]time.Time
}

type runningTarget struct {
	// ts and node identify the registry write it was built from.
	ts       crdt.Timestamp
	node     string
	interval time.Duration
	// fallback: probed here for a silent owner, not as a ring owner.
	fallback bool
}

// Option adjusts a node for tests and benchmarks.
type Option func(*options)

type options struct {
	clusterTuning    func(*memberlist.Config)
	clusterTransport memberlist.Transport
	rejoinInterval   time.Duration
	peerTimeout      time.Duration
}

// WithClusterTuning adjusts memberlist's configuration (faster timings in
// tests).
func WithClusterTuning(f func(*memberlist.Config)) Option {
	return func(o *options) { o.clusterTuning = f }
}

// WithClusterTransport replaces memberlist's network transport (partition
// tests).
func WithClusterTransport(t memberlist.Transport) Option {
	return func(o *options) { o.clusterTransport = t }
}

// WithRejoinInterval sets how often missing members are retried.
func WithRejoinInterval(d time.Duration) Option {
	return func(o *options) { o.rejoinInterval = d }
}

// WithPeerTimeout bounds each member's answer to a cluster-scope history
// or uptime read (default 2 s).
func WithPeerTimeout(d time.Duration) Option {
	return func(o *options) { o.peerTimeout = d }
}

// Run runs a node until ctx is cancelled, then drains in-flight probes,
// flushes the store and returns.
func Run(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	n, err := New(ctx, cfg, log)
	if err != nil {
		return err
	}
	return n.Run(ctx)
}

// New builds a node from cfg: opens the store, loads the registry and syncs
// the config file's targets into it. Nothing is probed until Run. The node
// owns cfg from then on (it drops cfg.Targets once they are in the
// registry).
func New(ctx context.Context, cfg *config.Config, log *slog.Logger, opts ...Option) (*Node, error) {
	if log == nil {
		log = slog.Default()
	}
	name := cfg.Node.Name
	if name == "" {
		h, _ := os.Hostname()
		name = h
	}
	n := &Node{
		cfg:        cfg,
		log:        log,
		name:       name,
		running:    map[string]runningTarget{},
		started:    time.Now(),
		listening:  make(chan struct{}),
		peerClient: newPeerHTTP(),
	}
	for _, o := range opts {
		o(&n.opts)
	}
	guard, err := probe.NewGuard(cfg.Probe.DenyNetworks)
	if err != nil {
		return nil, fmt.Errorf("probe.deny_networks: %w", err)
	}
	n.guard = guard

	settings := storeSettings(cfg)
	n.drops = make(chan store.DropReport, 16)
	st, err := store.Open(ctx, cfg.Store.Driver, store.Options{Settings: settings, Logger: log, Observer: name, OnDrop: n.onStoreDrop})
	if err != nil {
		return nil, fmt.Errorf("open store (store.driver %s): %w", cfg.Store.Driver, err)
	}
	n.st = st
	if sh, ok := st.(interface{ Shared() bool }); ok {
		n.sharedStore = sh.Shared()
	}
	n.storeName = cfg.Store.Driver
	if cfg.Store.Driver == config.DriverSQLite {
		n.storeName += ":" + settings["path"]
	}

	n.tlog, err = events.OpenLog(ctx, st, events.LogOptions{Logger: log})
	if err != nil {
		st.Close()
		return nil, err
	}

	n.promReg = prometheus.NewRegistry()
	n.promReg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		metrics.NewTargets(n))
	registerStoreMetrics(n.promReg, st)
	n.metrics = metrics.NewChecks(n.promReg)
	n.fails = newFailLog(n.log)

	n.rec = history.NewRecorder(st, history.RecorderOptions{
		Retention: store.Retention{
			Results:     cfg.Store.Retention.Results.D(),
			Rollups:     cfg.Store.Retention.Rollups.D(),
			Transitions: cfg.Store.Retention.Transitions.D(),
			Tombstones:  tombstoneHorizon(cfg),
		},
		Logger: log,
	})
	// Watermarks carry freshness, so an unchanged observation is never
	// republished: gossip follows changes, not the probe rate.
	n.table = health.NewTable(health.TableOptions{})
	n.pub = health.NewPublisher(name, n.table, health.PublisherOptions{})
	n.own = ownership.New(name, ownership.Defaults{Replicas: cfg.Cluster.Replicas, Spread: cfg.Cluster.Spread}, n.table)
	n.judge = judge.New()
	n.deps = newDeps()
	n.sched = schedule.New(schedule.Options{
		Sink:        n,
		Concurrency: cfg.Probe.Concurrency,
		Recent:      cfg.Store.Recent,
		Logger:      log,
	})

	clock := crdt.NewClock(nil)
	n.reg = registry.New(name, clock, st)
	bad, err := n.reg.Load(ctx)
	if err != nil {
		st.Close()
		return nil, err
	}
	for _, e := range bad {
		log.Warn("skipping a stored target that cannot be read; it is kept in the store untouched", "err", e)
	}
	// config.Parse resolves its targets; a Config built in code may not
	// have (Resolve is idempotent). The registry holds only resolved specs.
	for i := range cfg.Targets {
		cfg.Targets[i].Schedule = cfg.Targets[i].Schedule.Resolve(cfg.Defaults, nil)
	}
	if err := n.reg.SyncConfig(ctx, cfg.Targets); err != nil {
		st.Close()
		return nil, fmt.Errorf("load config targets: %w", err)
	}
	// The registry holds the targets now; drop the config's copy so a large
	// fleet is not kept in memory twice (New owns cfg).
	cfg.Targets = nil
	n.reg.Subscribe(n.onRegistryChange)
	n.reg.Subscribe(n.ids.changed)
	// The replicated collections, loaded from the store; then the config
	// file's pools, windows and notifiers are synced into theirs.
	n.silences = objects.New(silence.Kind, name, clock, st)
	n.pools = newPools(objects.New(pool.Kind, name, clock, st), objects.New(pool.EjectionKind, name, clock, st),
		objects.New(pool.StateKind, name, clock, st))
	n.windows = objects.New(maintenance.Kind, name, clock, st)
	n.notifiers = objects.New(NotifierKind, name, clock, st)
	n.disp = &dispatcher{deliveries: objects.New(dispatch.Kind, name, clock, st), routes: cfg.Routes,
		queues: map[string]chan delivery{}, pending: map[string]bool{}, flaps: map[string]*flap.Detector{},
		open: map[string]events.Transition{}}
	n.hb = newHeartbeats(objects.New(heartbeat.Kind, name, clock, st))
	n.incidents = objects.New(incident.Kind, name, clock, st)
	n.pages = objects.New(statuspage.Kind, name, clock, st)
	n.public = statuspage.NewHandler(publicSource{n}, log)
	if err := n.initAuth(ctx, clock, st); err != nil {
		st.Close()
		return nil, err
	}
	for _, c := range []interface {
		Load(context.Context) ([]error, error)
		Kind() string
	}{n.silences, n.pools.specs, n.pools.ejections, n.pools.states, n.windows, n.notifiers, n.disp.deliveries, n.hb.pings, n.incidents, n.pages} {
		bad, err = c.Load(ctx)
		if err != nil {
			st.Close()
			return nil, err
		}
		for _, e := range bad {
			log.Warn("skipping a stored "+c.Kind()+" that cannot be read; it is kept in the store untouched", "err", e)
		}
	}
	for _, sync := range []struct {
		what string
		run  func() error
	}{
		{"pools", func() error {
			return syncConfig(ctx, n, n.pools.specs, cfg.Pools, func(p *pool.Spec) string { return p.Name }, func(p *pool.Spec) *string { return &p.Origin })
		}},
		{"maintenance windows", func() error {
			return syncConfig(ctx, n, n.windows, cfg.Maintenance, func(w *maintenance.Window) string { return w.ID }, func(w *maintenance.Window) *string { return &w.Origin })
		}},
		{"notifiers", func() error {
			return syncConfig(ctx, n, n.notifiers, cfg.Notifiers, func(s *notify.Spec) string { return s.ID }, func(s *notify.Spec) *string { return &s.Origin })
		}},
		{"status pages", func() error {
			defer n.warnUnknownPageTargets()
			return syncConfig(ctx, n, n.pages, cfg.StatusPages, func(p *statuspage.Page) string { return p.ID }, func(p *statuspage.Page) *string { return &p.Origin })
		}},
	} {
		if err := sync.run(); err != nil {
			st.Close()
			return nil, fmt.Errorf("load config %s: %w", sync.what, err)
		}
	}
	n.pools.specs.Subscribe(func(changed []objects.Entry[pool.Spec], _ bool) {
		n.pools.invalidate(true)
		for _, e := range changed {
			if e.Deleted {
				n.pools.picker.Forget(e.Key)
			}
		}
	})
	n.pools.ejections.Subscribe(n.onEjections)
	n.pools.states.Subscribe(n.onPoolStates)
	// Every change of a replicated object is an audit event (after the
	// config sync above: a start does not re-record the config).
	n.reg.SubscribeContext(n.auditRegistry)
	n.silences.SubscribeContext(auditConfig[silence.Silence](n, "silence", nil, nil))
	n.pools.specs.SubscribeContext(auditConfig(n, "pool", nil, func(p pool.Spec) string { return p.Origin }))
	n.notifiers.SubscribeContext(auditConfig(n, "notifier", notify.Spec.Redacted, func(s notify.Spec) string { return s.Origin }))
	n.windows.SubscribeContext(auditConfig(n, "maintenance", nil, func(w maintenance.Window) string { return w.Origin }))
	n.incidents.SubscribeContext(auditConfig[incident.Incident](n, "incident", nil, nil))
	n.pages.SubscribeContext(auditConfig(n, "statuspage", nil, func(p statuspage.Page) string { return p.Origin }))
	var all []registry.Entry
	for _, spec := range n.reg.List() {
		all = append(all, registry.Entry{Key: spec.ID, Value: spec})
	}
	n.hb.index(all)
	n.reg.Subscribe(func(changed []registry.Entry, _ bool) { n.hb.index(changed) })
	n.reg.Subscribe(func([]registry.Entry, bool) { n.pools.invalidate(true) })
	n.reg.Subscribe(func(changed []registry.Entry, _ bool) { n.noteRegistryDeps(changed) })
	n.promReg.MustRegister(newPoolCollector(n))
	return n, nil
}

// Run probes, serves the API and records history until ctx is cancelled.
func (n *Node) Run(parent context.Context) error {
	defer n.st.Close()
	defer n.peerClient.CloseIdleConnections()
	// ctx ends on the caller's cancel or on a part's failure.
	ctx, cancelRun := context.WithCancel(parent)
	defer cancelRun()

	ln, err := net.Listen("tcp", n.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (set --listen or listen: to a free address)", n.cfg.Listen, err)
	}
	dnsL, err := n.listenDNS(ctx)
	if err != nil {
		ln.Close()
		return err
	}
	agent, agentLn, err := n.listenAgent(ctx)
	if err != nil {
		ln.Close()
		dnsL.close()
		return err
	}
	apiSrv := n.handler(ln.Addr())
	srv := &http.Server{
		Handler:           n.public.Hosts(apiSrv), // a status page's own host name first
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	// Open event streams end at shutdown instead of holding it up.
	srv.RegisterOnShutdown(apiSrv.Close)
	n.addr = ln.Addr()
	close(n.listening)

	if n.cfg.Cluster.Enabled() {
		if err := n.startCluster(ctx, ln.Addr().String()); err != nil {
			ln.Close()
			dnsL.close()
			if agentLn != nil {
				agentLn.Close()
			}
			return err
		}
	}
	n.refreshMembership(time.Now())
	// Everything scheduled before the first dispatch.
	n.reconcileAll()

	recCtx, recStop := context.WithCancel(context.WithoutCancel(ctx))
	defer recStop()
	var wg sync.WaitGroup
	errc := make(chan error, 8)
	wg.Add(5)
	go func() {
		defer wg.Done()
		n.collectTombstones(ctx)
	}()
	go func() {
		defer wg.Done()
		n.poolLoop(ctx)
	}()
	wg.Add(2)
	go func() {
		defer wg.Done()
		n.flushPings(ctx)
	}()
	go func() {
		defer wg.Done()
		n.dispatchLoop(ctx)
	}()
	wg.Add(2)
	go func() {
		defer wg.Done()
		n.depsLoop(ctx)
	}()
	go func() {
		defer wg.Done()
		n.dropLoop(ctx)
	}()
	if dnsL != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := dnsL.srv.Serve(ctx, dnsL.pc, dnsL.ln); err != nil {
				errc <- fmt.Errorf("dns server: %w", err)
			}
		}()
		n.log.Info("serving DNS", "listen", dnsL.pc.LocalAddr().String(), "zone", dnsL.srv.Zone())
	}
	if agent != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := agent.Serve(ctx, agentLn); err != nil {
				errc <- fmt.Errorf("haproxy agent: %w", err)
			}
		}()
		n.log.Info("serving the HAProxy agent check", "listen", agentLn.Addr().String())
	}
	if n.cl != nil {
		wg.Add(3)
		go func() {
			defer wg.Done()
			n.clusterLoop(ctx)
		}()
		go func() {
			defer wg.Done()
			n.bf.run(ctx)
		}()
		go func() {
			defer wg.Done()
			n.rep.Run(ctx)
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		n.tlog.Run(recCtx)
	}()
	go func() {
		defer wg.Done()
		if err := n.rec.Run(recCtx); err != nil {
			errc <- fmt.Errorf("history recorder: %w", err)
		}
	}()
	schedDone := make(chan struct{})
	go func() {
		defer wg.Done()
		defer close(schedDone)
		if err := n.sched.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			errc <- fmt.Errorf("scheduler: %w", err)
		}
	}()
	go func() {
		defer wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("api server: %w", err)
		}
	}()

	apiURL, try := startHints(ln.Addr().String())
	n.log.Info("heck node running", "node", n.name, "listen", ln.Addr().String(),
		"targets", n.reg.Len(), "store", n.storeName, "api", apiURL, "try", try)

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
		n.log.Error("stopping after a failure", "err", runErr)
		cancelRun()
	}

	n.log.Info("shutting down: draining probes and flushing the store")
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	n.leave(shutCtx)
	_ = srv.Shutdown(shutCtx)
	<-schedDone // in-flight probes finished and recorded
	recStop()   // the recorder and the transition log flush everything and return
	wg.Wait()
	close(errc)
	for err := range errc {
		n.log.Error("while stopping", "err", err)
		if runErr == nil {
			runErr = err
		}
	}
	n.log.Info("heck node stopped")
	return runErr
}

// Addr returns the API's address once the node listens (for tests that
// listen on port 0), or nil if ctx ends first.
func (n *Node) Addr(ctx context.Context) net.Addr {
	select {
	case <-n.listening:
		return n.addr
	case <-ctx.Done():
		return nil
	}
}

// handler builds the API server for a listener at addr.
func (n *Node) handler(addr net.Addr) *api.Server {
	s := api.New(n, api.Options{
		Token:        n.cfg.API.Token,
		OpenReads:    n.cfg.API.OpenReads,
		LoopbackOnly: isLoopback(addr),
		Metrics: metrics.Handler(n.promReg, n, metrics.HandlerOptions{
			PerTarget: n.cfg.API.PerTargetMetricsEnabled(), Logger: n.log}),
		Logger:   n.log,
		NodeName: n.name,
		Auth:     n.users.auth,
		Users:    n.users.auth,
	})
	for _, p := range statuspage.Patterns {
		s.Handle(p, n.public) // public status pages and badges, no login
	}
	n.mountWeb(s, addr)
	return s
}

// storeSettings are the settings the store is opened with: the chosen
// driver's, and for SQLite a file under the data directory when a config
// built in code names none.
func storeSettings(cfg *config.Config) store.Settings {
	set := cfg.Store.DriverSettings()
	if cfg.Store.Driver == config.DriverSQLite && set["path"] == "" {
		set["path"] = filepath.Join(cfg.Node.DataDir, config.DefaultStoreFile)
	}
	return set
}

func isLoopback(addr net.Addr) bool {
	ta, ok := addr.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}

func tombstoneHorizon(cfg *config.Config) time.Duration {
	if h := cfg.Cluster.TombstoneHorizon.D(); h > 0 {
		return h
	}
	return config.DefaultTombstoneHorizon
}

// deleteExpiredSilences deletes the silences that ended more than
// silence.Retention ago. Every node does it on its own; the deletes are
// tombstones of the same keys and converge like any other write.
func (n *Node) deleteExpiredSilences(ctx context.Context, now time.Time) {
	ids := silence.Expired(n.Silences(ctx), now, silence.Retention)
	for _, id := range ids {
		if err := n.silences.Delete(ctx, id); err != nil && !errors.Is(err, objects.ErrNotFound) {
			n.log.Warn("delete expired silence", "silence", id, "err", err)
		}
	}
	if len(ids) > 0 {
		n.log.Info("deleted expired silences", "count", len(ids), "retention", silence.Retention)
	}
}

// collectTombstones forgets deleted targets' tombstones once they are older
// than the horizon (the store prunes its copies on the same horizon).
func (n *Node) collectTombstones(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if keys := n.reg.CollectTombstones(now, tombstoneHorizon(n.cfg)); len(keys) > 0 {
				n.table.ForgetTombstones(keys...)
				n.log.Info("collected tombstones of deleted targets", "count", len(keys))
			}
			n.deleteExpiredSilences(ctx, now)
			n.users.auth.Sweep(ctx, now, tombstoneHorizon(n.cfg))
			if keys := n.silences.Collect(crdt.MakeTimestamp(now.Add(-tombstoneHorizon(n.cfg)), 0)); len(keys) > 0 {
				n.log.Info("collected tombstones of deleted silences", "count", len(keys))
			}
			n.collectPublicTombstones(now)
		}
	}
}

// startHints are the start log line's pointers for whoever just started
// the node: the API's URL as a client on this machine reaches it (a
// wildcard listen address is reached on loopback) and what to run next.
func startHints(listen string) (apiURL, try string) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "http://" + listen, "heck status"
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
		if ip != nil && ip.To4() == nil {
			host = "::1"
		}
	}
	base := "http://" + net.JoinHostPort(host, port)
	try = "heck status"
	if port != "7800" || (host != "127.0.0.1" && host != "localhost") {
		try = "heck status --server " + base
	}
	return base + "/api/v1/targets", try
}
