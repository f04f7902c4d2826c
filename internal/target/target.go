// Package target owns the description of a monitored target: its identity,
// its schedule, and the options of its probe kind. It validates a spec
// (every problem at once, each naming the field, the value and the fix),
// fills in documented defaults, expands ${VAR} references from the
// environment and redacts secrets before a spec is shown to anyone.
//
// The package holds data only; probing lives in internal/probe.
package target

import (
	"time"
	_ "time/tzdata" // heartbeat schedules in any time zone

	"github.com/robfig/cron/v3"
)

// Kind names a probe kind.
type Kind string

// The probe kinds heck knows.
const (
	KindHTTP Kind = "http"
	KindTCP  Kind = "tcp"
	KindDNS  Kind = "dns"
	KindTLS  Kind = "tls"
	KindGRPC Kind = "grpc"
	KindICMP Kind = "icmp"
	// KindHeartbeat is a push target: the host checks in (POST /ping/TOKEN)
	// and heck judges whether it did so in time.
	KindHeartbeat Kind = "heartbeat"
	// KindAgent probes a heck agent's /healthz (heck agent) and keeps the
	// status of each of its checks.
	KindAgent Kind = "agent"
	// KindPostgres connects to a PostgreSQL server and runs a query.
	KindPostgres Kind = "postgres"
	// KindRedis sends PING to a Redis server, optionally with a key round trip.
	KindRedis Kind = "redis"
)

// Kinds lists every known kind, in the order they are documented.
var Kinds = []Kind{KindHTTP, KindTCP, KindDNS, KindTLS, KindGRPC, KindICMP, KindHeartbeat, KindPostgres, KindRedis, KindAgent}

// Spec is everything a user says about a target. It is what the config file,
// the API and the registry carry. The zero value of an optional field means
// "use the default"; Resolve fills them in (see Bounds).
type Spec struct {
	ID     string            `json:"id" yaml:"id"`
	Name   string            `json:"name,omitempty" yaml:"name,omitempty"`
	Kind   Kind              `json:"kind" yaml:"kind"`
	Labels map[string]string `json:"labels,omitempty" yaml:"labels,omitempty"`
	// Origin says where the target came from: "config" for a config file's
	// targets (removed again when they leave the file), "" for the API.
	Origin string `json:"origin,omitempty" yaml:"-"`

	// URL is the endpoint of an http target, the /healthz of an agent
	// target.
	URL string `json:"url,omitempty" yaml:"url,omitempty"`
	// Address is host:port for tcp, tls, grpc and dns (the resolver), and a
	// host for icmp.
	Address string `json:"address,omitempty" yaml:"address,omitempty"`

	Schedule `yaml:",inline"`

	// Replicas is how many cluster nodes probe the target, for several
	// vantage points (0: the cluster's default, cluster.replicas).
	Replicas int `json:"replicas,omitempty" yaml:"replicas,omitempty"`
	// Spread "zone" puts the target's replicas in distinct zones.
	Spread string `json:"spread,omitempty" yaml:"spread,omitempty"`

	HTTP *HTTPOptions `json:"http,omitempty" yaml:"http,omitempty"`
	TCP  *TCPOptions  `json:"tcp,omitempty" yaml:"tcp,omitempty"`
	DNS  *DNSOptions  `json:"dns,omitempty" yaml:"dns,omitempty"`
	TLS  *TLSOptions  `json:"tls,omitempty" yaml:"tls,omitempty"`
	GRPC *GRPCOptions `json:"grpc,omitempty" yaml:"grpc,omitempty"`
	ICMP *ICMPOptions `json:"icmp,omitempty" yaml:"icmp,omitempty"`

	Heartbeat *HeartbeatOptions `json:"heartbeat,omitempty" yaml:"heartbeat,omitempty"`
	Agent     *AgentOptions     `json:"agent,omitempty" yaml:"agent,omitempty"`

	Postgres *PostgresOptions `json:"postgres,omitempty" yaml:"postgres,omitempty"`
	Redis    *RedisOptions    `json:"redis,omitempty" yaml:"redis,omitempty"`

	// DependsOn names the targets this one needs (internal/graph): when a
	// critical one is down, this one's failure is its impact, not a new
	// outage; a failed non-critical one makes it degraded at most.
	DependsOn []Dependency `json:"depends_on,omitempty" yaml:"depends_on,omitempty"`
}

// Dependency is one edge of the dependency graph.
type Dependency struct {
	Target string `json:"target" yaml:"target"`
	// Critical is true unless set false.
	Critical *bool `json:"critical,omitempty" yaml:"critical,omitempty"`
}

// IsCritical reports whether the dependency is critical (the default).
func (d Dependency) IsCritical() bool { return d.Critical == nil || *d.Critical }

// AgentOptions are the options of an agent target, whose URL is a heck
// agent's /healthz.
type AgentOptions struct {
	// Check asks about one check of the agent (?check=NAME) instead of
	// the host as a whole.
	Check string `json:"check,omitempty" yaml:"check,omitempty"`
}

// HeartbeatOptions are the options of a heartbeat target: the host pings
// every Period; it is late once Period plus Grace pass without a ping, and
// down after FailAfter more (or at once on a failure ping).
type HeartbeatOptions struct {
	// Period is how often the host pings; or Schedule, a cron expression
	// ("0 3 * * *", five fields, or @daily...) of when it should, in
	// TimeZone (an IANA name, default UTC). One of the two is set.
	Period   Duration `json:"period,omitempty" yaml:"period,omitempty"`
	Schedule string   `json:"schedule,omitempty" yaml:"schedule,omitempty"`
	TimeZone string   `json:"time_zone,omitempty" yaml:"time_zone,omitempty"`
	// Grace is how long a ping may be late before the target is (default
	// half the period, at least 1s).
	Grace Duration `json:"grace,omitempty" yaml:"grace,omitempty"`
	// FailAfter is how long after turning late the target goes down
	// (default one period).
	FailAfter Duration `json:"fail_after,omitempty" yaml:"fail_after,omitempty"`
	// Token is the unguessable part of the ping URL (/ping/TOKEN): 16 to
	// 128 letters, digits, '_' or '-', or a ${VAR}. The API makes one when
	// it is left out; a config file must give one.
	Token string `json:"token" yaml:"token"`
}

// Heartbeat bounds.
const (
	MinHeartbeatPeriod = time.Second
	MaxHeartbeatPeriod = 31 * 24 * time.Hour
	MinTokenLen        = 16
	MaxTokenLen        = 128
)

// GraceOrDefault returns the grace in force: half the period (at least
// 1s), or a minute for a cron schedule.
func (h *HeartbeatOptions) GraceOrDefault() time.Duration {
	if h.Grace > 0 {
		return h.Grace.D()
	}
	if h.Period == 0 {
		return time.Minute
	}
	return max(h.Period.D()/2, time.Second)
}

// FailAfterOrDefault returns the fail-after in force: one period, or an
// hour for a cron schedule.
func (h *HeartbeatOptions) FailAfterOrDefault() time.Duration {
	if h.FailAfter > 0 {
		return h.FailAfter.D()
	}
	if h.Period == 0 {
		return time.Hour
	}
	return h.Period.D()
}

// CronParser parses heartbeat schedules: five fields, or a descriptor
// (@hourly, @daily, @weekly...).
var CronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Cron returns the parsed schedule and its location, when Schedule is set.
func (h *HeartbeatOptions) Cron() (cron.Schedule, *time.Location, error) {
	loc := time.UTC
	if h.TimeZone != "" {
		l, err := time.LoadLocation(h.TimeZone)
		if err != nil {
			return nil, nil, err
		}
		loc = l
	}
	s, err := CronParser.Parse(h.Schedule)
	return s, loc, err
}

// Schedule says when a target is probed and how results become a state.
type Schedule struct {
	// InitialDelay holds back the first probe after the target is added.
	InitialDelay Duration `json:"initial_delay,omitempty" yaml:"initial_delay,omitempty"`
	// Interval between probes while the state is settled (default 10s).
	Interval Duration `json:"interval,omitempty" yaml:"interval,omitempty"`
	// Timeout of one probe (default 2s, or 80% of the interval when that is
	// shorter); must be below Interval.
	Timeout Duration `json:"timeout,omitempty" yaml:"timeout,omitempty"`
	// Rise consecutive successes take a target up (default 2).
	Rise int `json:"rise,omitempty" yaml:"rise,omitempty"`
	// Fall consecutive failures take a target down (default 3).
	Fall int `json:"fall,omitempty" yaml:"fall,omitempty"`
	// Jitter is the largest random offset added to each run (default 0).
	// The first run is always spread over one interval.
	Jitter Duration `json:"jitter,omitempty" yaml:"jitter,omitempty"`
	// FastInterval applies while a transition is pending: some results
	// disagree with the current state (HAProxy's fastinter; default Interval).
	FastInterval Duration `json:"fast_interval,omitempty" yaml:"fast_interval,omitempty"`
	// DownInterval applies while the target is down (HAProxy's downinter;
	// default Interval).
	DownInterval Duration `json:"down_interval,omitempty" yaml:"down_interval,omitempty"`
}

// HTTPOptions are the options of an http probe.
type HTTPOptions struct {
	// Method defaults to GET.
	Method  string            `json:"method,omitempty" yaml:"method,omitempty"`
	Headers map[string]string `json:"headers,omitempty" yaml:"headers,omitempty"`
	Body    string            `json:"body,omitempty" yaml:"body,omitempty"`
	// NoFollowRedirects makes a 3xx the final answer (redirects are
	// followed by default, at most 10).
	NoFollowRedirects bool `json:"no_follow_redirects,omitempty" yaml:"no_follow_redirects,omitempty"`
	// InsecureSkipVerify turns off TLS certificate verification.
	InsecureSkipVerify bool `json:"insecure_skip_verify,omitempty" yaml:"insecure_skip_verify,omitempty"`
	// ExpectStatus lists accepted codes: "200", ranges "200-299" or classes
	// "2xx". Default: 200-399, as the kubelet.
	ExpectStatus []string `json:"expect_status,omitempty" yaml:"expect_status,omitempty"`
	// BodyContains must appear in the body.
	BodyContains string `json:"body_contains,omitempty" yaml:"body_contains,omitempty"`
	// BodyRegex must match the body (RE2 syntax).
	BodyRegex string `json:"body_regex,omitempty" yaml:"body_regex,omitempty"`
	// JSON conditions on the body, all must hold.
	JSON []JSONCondition `json:"json,omitempty" yaml:"json,omitempty"`
	// MaxLatency fails a probe that answers slower than this.
	MaxLatency Duration `json:"max_latency,omitempty" yaml:"max_latency,omitempty"`
	// CertMinDays fails an https probe whose certificate expires in fewer
	// days than this.
	CertMinDays int `json:"cert_min_days,omitempty" yaml:"cert_min_days,omitempty"`
	// KeepAlive reuses connections between probes. Off by default: each probe
	// opens a fresh connection, as HAProxy and the kubelet do.
	KeepAlive bool `json:"keep_alive,omitempty" yaml:"keep_alive,omitempty"`
	// MaxBodyBytes read for body conditions (default 64 KiB).
	MaxBodyBytes int `json:"max_body_bytes,omitempty" yaml:"max_body_bytes,omitempty"`
}

// JSONCondition tests one value of a JSON body, addressed by a GJSON path
// ("status", "checks.#(name==db).ok"). Exactly one of Equals, Matches or
// Exists is set.
type JSONCondition struct {
	Path    string `json:"path" yaml:"path"`
	Equals  string `json:"equals,omitempty" yaml:"equals,omitempty"`
	Matches string `json:"matches,omitempty" yaml:"matches,omitempty"`
	Exists  *bool  `json:"exists,omitempty" yaml:"exists,omitempty"`
}

// TCPOptions are the options of a tcp probe.
type TCPOptions struct {
	// Send is written after the connection opens.
	Send string `json:"send,omitempty" yaml:"send,omitempty"`
	// Expect must appear in what the peer sends back.
	Expect string `json:"expect,omitempty" yaml:"expect,omitempty"`
}

// DNSOptions are the options of a dns probe; the target's Address is the
// resolver (host:port).
type DNSOptions struct {
	// Name to query.
	Name string `json:"name" yaml:"name"`
	// Type of record (A, AAAA, CNAME, MX, NS, TXT, SRV, PTR, SOA); default A.
	Type string `json:"type,omitempty" yaml:"type,omitempty"`
	// Rcode expected (default NOERROR).
	Rcode string `json:"rcode,omitempty" yaml:"rcode,omitempty"`
	// ExpectAnswers must each be among the answers (the record's value, e.g.
	// "127.0.0.1" for A, "mail.example. 10" is not needed: MX matches on
	// host name).
	ExpectAnswers []string `json:"expect_answers,omitempty" yaml:"expect_answers,omitempty"`
	// Transport is udp (default) or tcp.
	Transport string `json:"transport,omitempty" yaml:"transport,omitempty"`
}

// TLSOptions are the options of a tls probe.
type TLSOptions struct {
	// ServerName for SNI and verification (default: the address's host).
	ServerName         string `json:"server_name,omitempty" yaml:"server_name,omitempty"`
	InsecureSkipVerify bool   `json:"insecure_skip_verify,omitempty" yaml:"insecure_skip_verify,omitempty"`
	// CertMinDays fails when the leaf certificate expires in fewer days.
	CertMinDays int `json:"cert_min_days,omitempty" yaml:"cert_min_days,omitempty"`
}

// GRPCOptions are the options of a grpc probe (grpc.health.v1).
type GRPCOptions struct {
	// Service to ask about; empty asks for the server as a whole.
	Service            string `json:"service,omitempty" yaml:"service,omitempty"`
	TLS                bool   `json:"tls,omitempty" yaml:"tls,omitempty"`
	InsecureSkipVerify bool   `json:"insecure_skip_verify,omitempty" yaml:"insecure_skip_verify,omitempty"`
	ServerName         string `json:"server_name,omitempty" yaml:"server_name,omitempty"`
}

// ICMPOptions are the options of an icmp probe.
type ICMPOptions struct {
	// PayloadSize in bytes (default 56, as ping).
	PayloadSize int `json:"payload_size,omitempty" yaml:"payload_size,omitempty"`
}

// DisplayName is Name, or ID when Name is empty.
func (s *Spec) DisplayName() string {
	if s.Name != "" {
		return s.Name
	}
	return s.ID
}

// WithDefaults returns a copy of s with every unset schedule field filled
// from the built-in defaults: Resolve with no defaults block.
func (s Spec) WithDefaults() Spec {
	s.Schedule = s.Schedule.Resolve(Schedule{}, nil)
	return s
}

// Clone returns a deep copy of s.
func (s Spec) Clone() Spec {
	c := s
	c.Labels = cloneMap(s.Labels)
	if s.HTTP != nil {
		h := *s.HTTP
		h.Headers = cloneMap(s.HTTP.Headers)
		h.ExpectStatus = append([]string(nil), s.HTTP.ExpectStatus...)
		h.JSON = append([]JSONCondition(nil), s.HTTP.JSON...)
		c.HTTP = &h
	}
	if s.TCP != nil {
		v := *s.TCP
		c.TCP = &v
	}
	if s.DNS != nil {
		v := *s.DNS
		v.ExpectAnswers = append([]string(nil), s.DNS.ExpectAnswers...)
		c.DNS = &v
	}
	if s.TLS != nil {
		v := *s.TLS
		c.TLS = &v
	}
	if s.GRPC != nil {
		v := *s.GRPC
		c.GRPC = &v
	}
	if s.ICMP != nil {
		v := *s.ICMP
		c.ICMP = &v
	}
	if s.Heartbeat != nil {
		v := *s.Heartbeat
		c.Heartbeat = &v
	}
	if s.Agent != nil {
		v := *s.Agent
		c.Agent = &v
	}
	if s.Postgres != nil {
		v := *s.Postgres
		c.Postgres = &v
	}
	if s.Redis != nil {
		v := *s.Redis
		c.Redis = &v
	}
	c.DependsOn = append([]Dependency(nil), s.DependsOn...)
	return c
}

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}
