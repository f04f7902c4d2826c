// Package apitest provides an in-memory api.Backend for tests of the API,
// its client and the command line.
package apitest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/heckhq/heck/internal/cluster/gossipkey"

	"github.com/heckhq/heck/internal/api"
	"github.com/heckhq/heck/internal/events"
	"github.com/heckhq/heck/internal/history"
	"github.com/heckhq/heck/internal/store"
	"github.com/heckhq/heck/internal/target"
)

// Backend is an in-memory api.Backend. Its exported fields may be set
// before use; its methods are safe for concurrent use.
type Backend struct {
	// Log is the transition log Publish appends to and the event stream
	// follows.
	Log *events.Log

	sil silences  // zero value usable; see silences.go
	pl  pools     // zero value usable; see pools.go
	nt  notifiers // zero value usable; see notifiers.go

	mu          sync.Mutex
	targets     map[string]api.TargetStatus
	points      map[string][]history.Point
	uptime      map[string]history.Uptime
	transitions map[string][]events.Transition
	rollups     map[string][]store.Rollup
	coverage    api.Coverage
	readyErr    error
	putErr      error
	// lastRange records the last History query.
	lastFrom, lastTo time.Time
	lastStep         time.Duration
	lastScope        api.Scope
}

// New returns an empty backend.
func New() *Backend {
	return &Backend{Log: events.NewMemoryLog(), targets: map[string]api.TargetStatus{},
		points: map[string][]history.Point{}, uptime: map[string]history.Uptime{},
		transitions: map[string][]events.Transition{}, rollups: map[string][]store.Rollup{}}
}

// SetRollups sets the minute rollups Rollups sums for id.
func (b *Backend) SetRollups(id string, rs []store.Rollup) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.rollups[id] = rs
}

// SetCoverage sets the coverage History and Uptime report with scope
// cluster (scope local reports itself, whole).
func (b *Backend) SetCoverage(c api.Coverage) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.coverage = c
}

// LastScope returns the scope of the last History or Uptime call.
func (b *Backend) LastScope() api.Scope {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.lastScope
}

func (b *Backend) coverageOf(scope api.Scope) api.Coverage {
	b.lastScope = scope
	if scope == api.ScopeLocal {
		return api.Coverage{Scope: api.ScopeLocal}
	}
	c := b.coverage
	c.Scope = api.ScopeCluster
	return c
}

// Set adds or replaces a target's status as is.
func (b *Backend) Set(st api.TargetStatus) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.targets[st.ID] = st
}

// SetHistory sets what History, Uptime and Transitions return for id.
func (b *Backend) SetHistory(id string, pts []history.Point, u history.Uptime, ts []events.Transition) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.points[id], b.uptime[id], b.transitions[id] = pts, u, ts
}

// SetReady sets the error Ready returns.
func (b *Backend) SetReady(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.readyErr = err
}

// SetPutError sets the error PutTarget returns.
func (b *Backend) SetPutError(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.putErr = err
}

// LastRange returns the range of the last History call.
func (b *Backend) LastRange() (from, to time.Time, step time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.lastFrom, b.lastTo, b.lastStep
}

// Spec returns the stored spec of id, unredacted.
func (b *Backend) Spec(id string) (target.Spec, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	st, ok := b.targets[id]
	return st.Spec, ok
}

// Publish appends t to the log (with an id made up when it has none) and
// returns it as logged.
func (b *Backend) Publish(t events.Transition) events.Transition {
	if t.ID == "" {
		t.ID = fmt.Sprintf("t%d", b.Log.Last()+1)
	}
	t, _ = b.Log.Append(context.Background(), t)
	return t
}

// Targets implements api.Backend.
func (b *Backend) Targets(context.Context) []api.TargetStatus {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]api.TargetStatus, 0, len(b.targets))
	for _, t := range b.targets {
		out = append(out, t)
	}
	return out
}

// Target implements api.Backend.
func (b *Backend) Target(_ context.Context, id string) (api.TargetStatus, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	t, ok := b.targets[id]
	return t, ok
}

// PutTarget implements api.Backend.
func (b *Backend) PutTarget(_ context.Context, spec target.Spec) (bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.putErr != nil {
		return false, b.putErr
	}
	old, ok := b.targets[spec.ID]
	st := api.StatusOf(spec)
	if ok {
		st.State, st.Since, st.Cause, st.Last, st.Recent = old.State, old.Since, old.Cause, old.Last, old.Recent
	}
	b.targets[spec.ID] = st
	return !ok, nil
}

// DeleteTarget implements api.Backend.
func (b *Backend) DeleteTarget(_ context.Context, id string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.targets[id]; !ok {
		return store.ErrNotFound
	}
	delete(b.targets, id)
	return nil
}

// History implements api.Backend.
func (b *Backend) History(_ context.Context, id string, from, to time.Time, step time.Duration, scope api.Scope) ([]history.Point, api.Coverage, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lastFrom, b.lastTo, b.lastStep = from, to, step
	return b.points[id], b.coverageOf(scope), nil
}

// Rollups implements api.Backend: the minutes SetRollups set, summed into
// groups of step from from.
func (b *Backend) Rollups(_ context.Context, id string, from, to time.Time, step time.Duration) ([]store.Rollup, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []store.Rollup
	for _, r := range b.rollups[id] {
		if r.Minute.Before(from) || !r.Minute.Before(to) {
			continue
		}
		start := from.Add(r.Minute.Sub(from) / step * step)
		if n := len(out); n > 0 && out[n-1].Minute.Equal(start) {
			out[n-1].Merge(r)
			continue
		}
		r.Minute, r.TargetID = start, ""
		out = append(out, r)
	}
	return out, nil
}

// Uptime implements api.Backend.
func (b *Backend) Uptime(_ context.Context, id string, scope api.Scope) (history.Uptime, api.Coverage, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	cov := b.coverageOf(scope)
	if u, ok := b.uptime[id]; ok {
		return u, cov, nil
	}
	return history.Uptime{Day: -1, Week: -1, Month: -1}, cov, nil
}

// Transitions implements api.Backend.
func (b *Backend) Transitions(_ context.Context, id string, limit int) ([]events.Transition, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	ts := b.transitions[id]
	if len(ts) > limit {
		ts = ts[:limit]
	}
	return ts, nil
}

// QueryTransitions implements api.Backend.
func (b *Backend) QueryTransitions(ctx context.Context, q store.TransitionQuery) ([]events.Transition, error) {
	return b.Log.Query(ctx, q)
}

// TransitionLog implements api.Backend.
func (b *Backend) TransitionLog() api.TransitionLog { return b.Log }

// Ready implements api.Backend.
func (b *Backend) Ready(context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.readyErr
}

var _ api.Backend = (*Backend)(nil)

// Cluster is a Backend that is also an api.ClusterBackend: a node named
// Self in a cluster of fake members. Join adds one alive member per
// address (named after it); Leave marks Self left, after which Join and a
// second Leave return api.ErrLeft.
type Cluster struct {
	*Backend

	cmu      sync.Mutex
	self     string
	members  map[string]api.Member
	joinErr  error
	leaveErr error
	joins    [][]string
	leaves   int
}

// NewCluster returns a cluster backend whose own member is self (alive,
// owning every target).
func NewCluster(self string) *Cluster {
	c := &Cluster{Backend: New(), self: self, members: map[string]api.Member{}}
	c.members[self] = api.Member{Name: self, Addr: "127.0.0.1:7946", APIAddr: "127.0.0.1:7800",
		State: api.MemberAlive, Weight: 1, Self: true}
	return c
}

// SetMember adds or replaces a member as is.
func (c *Cluster) SetMember(m api.Member) {
	c.cmu.Lock()
	defer c.cmu.Unlock()
	c.members[m.Name] = m
}

// SetJoinError sets the error Join returns; SetLeaveError that of Leave.
func (c *Cluster) SetJoinError(err error) {
	c.cmu.Lock()
	defer c.cmu.Unlock()
	c.joinErr = err
}

// SetLeaveError sets the error Leave returns.
func (c *Cluster) SetLeaveError(err error) {
	c.cmu.Lock()
	defer c.cmu.Unlock()
	c.leaveErr = err
}

// Joins returns the addresses of every Join call, in order.
func (c *Cluster) Joins() [][]string {
	c.cmu.Lock()
	defer c.cmu.Unlock()
	return append([][]string(nil), c.joins...)
}

// Leaves returns how many times Leave was called.
func (c *Cluster) Leaves() int {
	c.cmu.Lock()
	defer c.cmu.Unlock()
	return c.leaves
}

// Members implements api.ClusterBackend. Self owns every target; the
// others own what SetMember said.
func (c *Cluster) Members(ctx context.Context) []api.Member {
	n := len(c.Targets(ctx))
	c.cmu.Lock()
	defer c.cmu.Unlock()
	out := make([]api.Member, 0, len(c.members))
	for _, m := range c.members {
		if m.Self {
			m.Targets = n
		}
		out = append(out, m)
	}
	return out
}

// Join implements api.ClusterBackend.
func (c *Cluster) Join(_ context.Context, addrs []string) (int, error) {
	c.cmu.Lock()
	defer c.cmu.Unlock()
	c.joins = append(c.joins, append([]string(nil), addrs...))
	if c.members[c.self].State == api.MemberLeft {
		return 0, api.ErrLeft
	}
	if c.joinErr != nil {
		return 0, c.joinErr
	}
	for _, a := range addrs {
		c.members[a] = api.Member{Name: a, Addr: a, State: api.MemberAlive, Weight: 1}
	}
	return len(addrs), nil
}

// Leave implements api.ClusterBackend.
func (c *Cluster) Leave(context.Context) error {
	c.cmu.Lock()
	defer c.cmu.Unlock()
	c.leaves++
	if c.leaveErr != nil {
		return c.leaveErr
	}
	m := c.members[c.self]
	if m.State == api.MemberLeft {
		return api.ErrLeft
	}
	m.State = api.MemberLeft
	c.members[c.self] = m
	return nil
}

var _ api.ClusterBackend = (*Cluster)(nil)

// Keyring is a Cluster that is also an api.KeyringBackend, with the
// semantics of memberlist's keyring: installing a key already installed
// and removing one that is not installed change nothing; using a key that
// is not installed and removing the primary key fail. With no keys,
// gossip encryption is off and every change fails.
type Keyring struct {
	*Cluster

	kmu     sync.Mutex
	keys    [][]byte // the primary first
	keysErr error
	opErr   error
	ops     []string
}

// NewKeyring returns a keyring backend whose own member is self, with
// keys installed, the first one primary (none: encryption off).
func NewKeyring(self string, keys ...[]byte) *Keyring {
	k := &Keyring{Cluster: NewCluster(self)}
	for _, key := range keys {
		k.keys = append(k.keys, append([]byte(nil), key...))
	}
	return k
}

// SetKeyErrors sets the error Keys returns and the error the changes
// (InstallKey, UseKey, RemoveKey) return.
func (k *Keyring) SetKeyErrors(keysErr, opErr error) {
	k.kmu.Lock()
	defer k.kmu.Unlock()
	k.keysErr, k.opErr = keysErr, opErr
}

// RawKeys returns the installed keys, the primary first.
func (k *Keyring) RawKeys() [][]byte {
	k.kmu.Lock()
	defer k.kmu.Unlock()
	out := make([][]byte, len(k.keys))
	for i, key := range k.keys {
		out[i] = append([]byte(nil), key...)
	}
	return out
}

// Ops returns the changes tried, in order: "install", "use" or "remove",
// a space and the key's fingerprint.
func (k *Keyring) Ops() []string {
	k.kmu.Lock()
	defer k.kmu.Unlock()
	return append([]string(nil), k.ops...)
}

// Keys implements api.KeyringBackend.
func (k *Keyring) Keys(context.Context) ([]api.KeyInfo, error) {
	k.kmu.Lock()
	defer k.kmu.Unlock()
	if k.keysErr != nil {
		return nil, k.keysErr
	}
	out := make([]api.KeyInfo, len(k.keys))
	for i, key := range k.keys {
		out[i] = api.KeyInfo{Fingerprint: gossipkey.Fingerprint(key), Primary: i == 0}
	}
	return out, nil
}

// index returns where key is in the keyring, or -1. k.kmu is held.
func (k *Keyring) index(key []byte) int {
	for i, have := range k.keys {
		if bytes.Equal(have, key) {
			return i
		}
	}
	return -1
}

// begin records a change and returns the error it fails with before it
// is made, or nil. k.kmu is held.
func (k *Keyring) begin(op string, key []byte) error {
	k.ops = append(k.ops, op+" "+gossipkey.Fingerprint(key))
	if k.opErr != nil {
		return k.opErr
	}
	if len(k.keys) == 0 {
		return errors.New("gossip encryption is off on this node: start it with cluster.keys to use a keyring")
	}
	return nil
}

// InstallKey implements api.KeyringBackend.
func (k *Keyring) InstallKey(_ context.Context, key []byte) error {
	k.kmu.Lock()
	defer k.kmu.Unlock()
	if err := k.begin("install", key); err != nil {
		return err
	}
	if n := len(key); n != 16 && n != 24 && n != 32 {
		return fmt.Errorf("install key: %d bytes: want 16, 24 or 32", n)
	}
	if k.index(key) < 0 {
		k.keys = append(k.keys, append([]byte(nil), key...))
	}
	return nil
}

// UseKey implements api.KeyringBackend.
func (k *Keyring) UseKey(_ context.Context, key []byte) error {
	k.kmu.Lock()
	defer k.kmu.Unlock()
	if err := k.begin("use", key); err != nil {
		return err
	}
	i := k.index(key)
	if i < 0 {
		return errors.New("cluster: use key: requested key is not in the keyring (install it first)")
	}
	k.keys[0], k.keys[i] = k.keys[i], k.keys[0]
	return nil
}

// RemoveKey implements api.KeyringBackend.
func (k *Keyring) RemoveKey(_ context.Context, key []byte) error {
	k.kmu.Lock()
	defer k.kmu.Unlock()
	if err := k.begin("remove", key); err != nil {
		return err
	}
	i := k.index(key)
	switch {
	case i == 0:
		return errors.New("cluster: remove key: removing the primary key is not allowed (use another key first)")
	case i > 0:
		k.keys = append(k.keys[:i], k.keys[i+1:]...)
	}
	return nil
}

var _ api.KeyringBackend = (*Keyring)(nil)
