package registry

import (
	"reflect"
	"unique"

	"github.com/heckhq/heck/internal/crdt"
	"github.com/heckhq/heck/internal/target"
)

// packed is a spec as the registry holds it in memory: 64 bytes instead of
// a target.Spec's 256, for 50,000 targets on a node. What most targets
// share (kind, origin, schedule, placement) is interned once for all of
// them; what few targets have (labels, kind options, an id other than the
// entry's key) sits behind a pointer that is nil for the rest. The zero
// packed is the zero spec (a tombstone's value).
type packed struct {
	name, url, address string
	common             unique.Handle[common]
	rare               *rare
}

// common is the part of a spec that many targets have alike.
type common struct {
	kind     target.Kind
	origin   string
	sched    target.Schedule
	replicas int
	spread   string
}

// rare is the part of a spec that most targets leave unset.
type rare struct {
	// id is the spec's ID when it differs from the entry's key (ownID).
	id     string
	ownID  bool
	labels map[string]string
	http   *target.HTTPOptions
	tcp    *target.TCPOptions
	dns    *target.DNSOptions
	tls    *target.TLSOptions
	grpc   *target.GRPCOptions
	icmp   *target.ICMPOptions
	hb     *target.HeartbeatOptions
	agent  *target.AgentOptions
	pg     *target.PostgresOptions
	redis  *target.RedisOptions
	deps   []target.Dependency
}

// pack packs s, the value of the entry of key. It shares s's labels map
// and option pointers (the registry's copy is never written to).
func pack(key string, s *target.Spec) packed {
	if reflect.ValueOf(s).Elem().IsZero() {
		return packed{}
	}
	p := packed{
		name:    s.Name,
		url:     s.URL,
		address: s.Address,
		common: unique.Make(common{kind: s.Kind, origin: s.Origin, sched: s.Schedule,
			replicas: s.Replicas, spread: s.Spread}),
	}
	r := rare{labels: s.Labels, http: s.HTTP, tcp: s.TCP, dns: s.DNS, tls: s.TLS, grpc: s.GRPC, icmp: s.ICMP, hb: s.Heartbeat, agent: s.Agent, deps: s.DependsOn}
	r.pg, r.redis = s.Postgres, s.Redis
	if s.ID != key {
		r.id, r.ownID = s.ID, true
	}
	if !reflect.ValueOf(r).IsZero() {
		p.rare = &r
	}
	return p
}

// spec unpacks p, the value of the entry of key.
func (p *packed) spec(key string) target.Spec {
	if p.common == (unique.Handle[common]{}) {
		return target.Spec{}
	}
	c := p.common.Value()
	s := target.Spec{ID: key, Name: p.name, Kind: c.kind, Origin: c.origin, URL: p.url, Address: p.address,
		Schedule: c.sched, Replicas: c.replicas, Spread: c.spread}
	if r := p.rare; r != nil {
		if r.ownID {
			s.ID = r.id
		}
		s.Labels, s.HTTP, s.TCP, s.DNS, s.TLS, s.GRPC, s.ICMP, s.Heartbeat = r.labels, r.http, r.tcp, r.dns, r.tls, r.grpc, r.icmp, r.hb
		s.DependsOn, s.Agent = r.deps, r.agent
		s.Postgres, s.Redis = r.pg, r.redis
	}
	return s
}

type packedEntry = crdt.Entry[packed]

// packEntry packs e; its node name is interned, so the entries loaded
// from the store or merged from a peer share one copy of each name.
func packEntry(e *Entry) packedEntry {
	return packedEntry{Key: e.Key, Value: pack(e.Key, &e.Value), TS: e.TS, Node: unique.Make(e.Node).Value(), Deleted: e.Deleted}
}

func unpackEntry(e *packedEntry) Entry {
	return Entry{Key: e.Key, Value: e.Value.spec(e.Key), TS: e.TS, Node: e.Node, Deleted: e.Deleted}
}

// stamp is an entry's write without its value, for comparing writes.
func stamp(e *Entry) packedEntry {
	return packedEntry{Key: e.Key, TS: e.TS, Node: e.Node, Deleted: e.Deleted}
}
