// Package pool owns pools: named sets of targets that consumers balance
// traffic over (a load balancer's backends, a DNS name's addresses). A pool
// names its members by target id or by a label selector, may give each an
// address, port, weight and zone for consumers, and says how to protect
// them from cascading failure: a panic threshold below which consumers
// fail open (as Envoy's), and outlier ejection across the pool.
//
// A pool is one kind of replicated object (internal/objects, kind "pool"),
// written in the config file or through the API and gossiped to every
// node. This package is pure: Evaluate turns a pool and what the node knows
// of its members into a View (who is healthy, who is ejected, whether the
// pool is in panic, whom to serve), and Picker chooses one member of a
// View. Ejections are decided by Detect, from the members' outlier
// summaries; the node runs it as the pool's judge and replicates the
// ejections it decides (kind "ejection").
package pool

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/objects"
	"github.com/heckhq/heck/internal/target"
)

// Defaults and limits.
const (
	// DefaultPanicThreshold is the healthy share, in percent, below which
	// a pool is in panic (Envoy's default).
	DefaultPanicThreshold = 50
	// DefaultWeight is a member's weight when neither the pool nor the
	// target's "weight" label gives one.
	DefaultWeight = 1
	// MaxWeight bounds a member's weight (HAProxy's server weights go to
	// 256).
	MaxWeight = 256
	// MaxMembers bounds the explicit members and overrides of one pool.
	MaxMembers = 10000
)

// Fail-open modes: whom consumers get while a pool is in panic.
const (
	// FailOpenAll serves every member, down ones included (Envoy).
	FailOpenAll = "all"
	// FailOpenNotDown serves every member that is not hard down: up,
	// degraded, unknown, stale and ejected ones.
	FailOpenNotDown = "not_down"
)

// Spec is a pool as written in config or through the API.
type Spec struct {
	Name string `json:"name" yaml:"name"`
	// Targets are the members by id; Selector picks every target whose
	// labels hold all of its pairs. Either or both may be given; members
	// are their union.
	Targets  []string          `json:"targets,omitempty" yaml:"targets,omitempty"`
	Selector map[string]string `json:"selector,omitempty" yaml:"selector,omitempty"`
	// Members override, per target id, what consumers are told of a
	// member; unset fields come from the target (see Address).
	Members map[string]MemberOptions `json:"members,omitempty" yaml:"members,omitempty"`
	// PanicThreshold is the healthy share in percent below which the pool
	// is in panic; nil is 50, 0 turns panic off.
	PanicThreshold *int `json:"panic_threshold,omitempty" yaml:"panic_threshold,omitempty"`
	// FailOpen is whom consumers get during panic: "all" (default) or
	// "not_down".
	FailOpen string `json:"fail_open,omitempty" yaml:"fail_open,omitempty"`
	// Outlier tunes outlier ejection.
	Outlier Outlier `json:"outlier,omitzero" yaml:"outlier,omitempty"`
	// Origin is "config" for a config file's pools, "" for the API's.
	Origin string `json:"origin,omitempty" yaml:"-"`
}

// MemberOptions is what a pool says of one member for consumers.
type MemberOptions struct {
	// Address is the host (an IP or a name) consumers send traffic to.
	Address string `json:"address,omitempty" yaml:"address,omitempty"`
	Port    int    `json:"port,omitempty" yaml:"port,omitempty"`
	// Weight is the member's share of traffic, 1..256.
	Weight int    `json:"weight,omitempty" yaml:"weight,omitempty"`
	Zone   string `json:"zone,omitempty" yaml:"zone,omitempty"`
}

// Threshold returns the pool's panic threshold in percent (0: off).
func (s *Spec) Threshold() int {
	if s.PanicThreshold == nil {
		return DefaultPanicThreshold
	}
	return *s.PanicThreshold
}

// FailOpenMode returns the fail-open mode, "all" when unset.
func (s *Spec) FailOpenMode() string {
	if s.FailOpen == "" {
		return FailOpenAll
	}
	return s.FailOpen
}

// Includes reports whether the target is a member of the pool.
func (s *Spec) Includes(spec *target.Spec) bool {
	for _, id := range s.Targets {
		if id == spec.ID {
			return true
		}
	}
	if len(s.Selector) == 0 {
		return false
	}
	for k, v := range s.Selector {
		if got, ok := spec.Labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// SelectorString renders the selector as sorted k=v pairs joined by commas.
func (s *Spec) SelectorString() string {
	keys := make([]string, 0, len(s.Selector))
	for k := range s.Selector {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + s.Selector[k]
	}
	return strings.Join(parts, ",")
}

// namePattern keeps pool names usable as one DNS label (<pool>.<zone>).
var namePattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// ValidName reports whether name is a valid pool name.
func ValidName(name string) bool { return namePattern.MatchString(name) }

// Validate checks every field and reports every problem, each naming the
// field, the value and the fix.
func (s *Spec) Validate() error {
	var errs target.FieldErrors
	add := func(field, value, problem, fix string) {
		errs = append(errs, target.FieldError{Field: field, Value: value, Problem: problem, Fix: fix})
	}
	if !ValidName(s.Name) {
		add("name", s.Name, "is not a valid pool name",
			"use 1 to 63 lowercase letters, digits or '-', starting and ending with a letter or digit (it is a DNS label)")
	}
	if len(s.Targets) == 0 && len(s.Selector) == 0 {
		add("targets", "", "is empty, and so is selector", "name the members (targets: [id, ...], --targets a,b) or select them by label (selector: {k: v}, --selector k=v)")
	}
	if len(s.Targets) > MaxMembers {
		add("targets", fmt.Sprintf("%d ids", len(s.Targets)), "lists too many members", fmt.Sprintf("list at most %d, or use a selector", MaxMembers))
	}
	seen := map[string]bool{}
	for i, id := range s.Targets {
		field := fmt.Sprintf("targets[%d]", i)
		switch {
		case !target.ValidID(id):
			add(field, id, "is not a valid target id", "use the id of a target (heck targets ls)")
		case seen[id]:
			add(field, id, "is listed twice", "list each member once")
		}
		seen[id] = true
	}
	for k, v := range s.Selector {
		if k == "" || strings.ContainsAny(k, "=,") || strings.ContainsAny(v, ",") {
			add("selector", k+"="+v, "is not a label pair", "write key=value, keys without '=' or ',', values without ','")
		}
	}
	if len(s.Members) > MaxMembers {
		add("members", fmt.Sprintf("%d entries", len(s.Members)), "has too many entries", fmt.Sprintf("give at most %d", MaxMembers))
	}
	ids := make([]string, 0, len(s.Members))
	for id := range s.Members {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		m := s.Members[id]
		field := "members." + id
		if !target.ValidID(id) {
			add(field, id, "is not a valid target id", "key members by the target's id")
		}
		if m.Weight < 0 || m.Weight > MaxWeight {
			add(field+".weight", strconv.Itoa(m.Weight), "is out of range", fmt.Sprintf("give a weight from 1 to %d (leave it out for %d)", MaxWeight, DefaultWeight))
		}
		if m.Port < 0 || m.Port > 65535 {
			add(field+".port", strconv.Itoa(m.Port), "is not a port", "give a port from 1 to 65535")
		}
		if m.Address != "" && strings.ContainsAny(m.Address, " /:") && net.ParseIP(m.Address) == nil {
			add(field+".address", m.Address, "is not a host", "give an IP address or a host name, without a port or scheme (the port goes in port)")
		}
	}
	if t := s.PanicThreshold; t != nil && (*t < 0 || *t > 100) {
		add("panic_threshold", strconv.Itoa(*t), "is not a percentage", "give 0 to 100 (0 turns panic off; default 50)")
	}
	switch s.FailOpen {
	case "", FailOpenAll, FailOpenNotDown:
	default:
		add("fail_open", s.FailOpen, "is not a fail-open mode", `use "all" (serve every member during panic) or "not_down"`)
	}
	errs = append(errs, s.Outlier.validate()...)
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// Kind is the pool kind's registration.
var Kind = objects.Kind[Spec]{
	Name: "pool",
	Validate: func(key string, s Spec) error {
		if s.Name != key {
			return target.FieldError{Field: "name", Value: s.Name, Problem: fmt.Sprintf("does not match the key %q it is stored under", key),
				Fix: "store a pool under its own name"}
		}
		return s.Validate()
	},
}

// Collection is the replicated set of pools.
type Collection = objects.Collection[Spec]

// ParseSelector parses "k=v" pairs joined by commas ("env=prod,team=db").
func ParseSelector(s string) (map[string]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	out := map[string]string{}
	for _, pair := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(pair), "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, target.FieldError{Field: "selector", Value: s, Problem: fmt.Sprintf("has %q, which is not a label pair", pair),
				Fix: "write key=value pairs joined by commas, e.g. env=prod,team=db"}
		}
		out[k] = strings.TrimSpace(v)
	}
	return out, nil
}

// Endpoint returns where consumers send a member's traffic: the pool's
// override, else what the target probes (an http URL's host and port, the
// host:port of tcp, tls, grpc and dns targets, an icmp host), and its
// weight and zone (the override, else the target's "weight" and "zone"
// labels, else 1 and "").
func (s *Spec) Endpoint(t *target.Spec) MemberOptions {
	o := s.Members[t.ID]
	if o.Address == "" || o.Port == 0 {
		host, port := targetHostPort(t)
		if o.Address == "" {
			o.Address = host
		}
		if o.Port == 0 {
			o.Port = port
		}
	}
	if o.Weight == 0 {
		o.Weight = DefaultWeight
		if w, err := strconv.Atoi(t.Labels["weight"]); err == nil && w > 0 && w <= MaxWeight {
			o.Weight = w
		}
	}
	if o.Zone == "" {
		o.Zone = t.Labels["zone"]
	}
	return o
}

func targetHostPort(t *target.Spec) (string, int) {
	if t.URL != "" {
		u, err := url.Parse(t.URL)
		if err != nil {
			return "", 0
		}
		port, _ := strconv.Atoi(u.Port())
		if port == 0 {
			switch u.Scheme {
			case "http":
				port = 80
			case "https":
				port = 443
			}
		}
		return u.Hostname(), port
	}
	host, p, err := net.SplitHostPort(t.Address)
	if err != nil {
		return t.Address, 0 // icmp: a bare host
	}
	port, _ := strconv.Atoi(p)
	return host, port
}

// Outlier tunes outlier ejection of a pool. Zero values take the defaults.
type Outlier struct {
	// Disabled turns outlier ejection off for the pool.
	Disabled bool `json:"disabled,omitempty" yaml:"disabled,omitempty"`
	// ConsecutiveFailures ejects a member after that many failed probes
	// in a row, before its fall threshold takes it down (2 to 8, default
	// 3; it matters for members whose fall is above it).
	ConsecutiveFailures int `json:"consecutive_failures,omitempty" yaml:"consecutive_failures,omitempty"`
	// Deviations ejects a member whose latency or error rate is more than
	// that many median absolute deviations above the pool's median
	// (default 5).
	Deviations float64 `json:"deviations,omitempty" yaml:"deviations,omitempty"`
	// MinMembers is the fewest members with a summary for the latency and
	// error-rate tests to run (default 5): with fewer, a median means
	// little.
	MinMembers int `json:"min_members,omitempty" yaml:"min_members,omitempty"`
	// BaseEjectionTime is the first ejection's length; the n-th in a row
	// lasts n times as long, up to MaxEjectionTime (defaults 30s, 5m).
	BaseEjectionTime target.Duration `json:"base_ejection_time,omitempty" yaml:"base_ejection_time,omitempty"`
	MaxEjectionTime  target.Duration `json:"max_ejection_time,omitempty" yaml:"max_ejection_time,omitempty"`
	// MaxEjectionPercent bounds the share of members ejected at once
	// (default 10; at least one member may always be ejected from a pool
	// of 3 or more).
	MaxEjectionPercent *int `json:"max_ejection_percent,omitempty" yaml:"max_ejection_percent,omitempty"`
}

// Outlier defaults.
const (
	DefaultConsecutiveFailures = 3
	DefaultDeviations          = 5
	DefaultMinMembers          = 5
	DefaultBaseEjectionTime    = 30 * time.Second
	DefaultMaxEjectionTime     = 5 * time.Minute
	DefaultMaxEjectionPercent  = 10
)

// WithDefaults returns o with every unset field at its default.
func (o Outlier) WithDefaults() Outlier {
	if o.ConsecutiveFailures <= 0 {
		o.ConsecutiveFailures = DefaultConsecutiveFailures
	}
	if o.Deviations <= 0 {
		o.Deviations = DefaultDeviations
	}
	if o.MinMembers <= 0 {
		o.MinMembers = DefaultMinMembers
	}
	if o.BaseEjectionTime <= 0 {
		o.BaseEjectionTime = target.Duration(DefaultBaseEjectionTime)
	}
	if o.MaxEjectionTime <= 0 {
		o.MaxEjectionTime = target.Duration(DefaultMaxEjectionTime)
	}
	if o.MaxEjectionTime < o.BaseEjectionTime {
		o.MaxEjectionTime = o.BaseEjectionTime
	}
	if o.MaxEjectionPercent == nil {
		p := DefaultMaxEjectionPercent
		o.MaxEjectionPercent = &p
	}
	return o
}

func (o *Outlier) validate() target.FieldErrors {
	var errs target.FieldErrors
	add := func(field, value, problem, fix string) {
		errs = append(errs, target.FieldError{Field: "outlier." + field, Value: value, Problem: problem, Fix: fix})
	}
	if c := o.ConsecutiveFailures; c != 0 && (c < health.MinFails || c > health.MaxFails) {
		add("consecutive_failures", strconv.Itoa(c), "is out of range",
			fmt.Sprintf("give %d to %d (default 3): one failure is noise, and a longer streak is the fall threshold's to judge", health.MinFails, health.MaxFails))
	}
	if o.Deviations < 0 {
		add("deviations", strconv.FormatFloat(o.Deviations, 'g', -1, 64), "is negative", "give a positive number of median absolute deviations (default 5)")
	}
	if o.MinMembers < 0 {
		add("min_members", strconv.Itoa(o.MinMembers), "is negative", "give a count of 1 or more (default 5)")
	}
	if o.BaseEjectionTime < 0 {
		add("base_ejection_time", o.BaseEjectionTime.String(), "is negative", "give a duration such as 30s")
	}
	if o.MaxEjectionTime < 0 {
		add("max_ejection_time", o.MaxEjectionTime.String(), "is negative", "give a duration such as 5m")
	}
	if p := o.MaxEjectionPercent; p != nil && (*p < 0 || *p > 100) {
		add("max_ejection_percent", strconv.Itoa(*p), "is not a percentage", "give 0 to 100 (default 10)")
	}
	return errs
}
