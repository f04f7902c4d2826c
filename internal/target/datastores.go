package target

import (
	"strconv"
	"strings"
	"time"
)

// PostgresOptions are the options of a postgres target, whose Address is
// the server's host:port. Each probe opens a new connection, runs Query
// and, when Expect is set, compares the first column of the first row
// with it.
type PostgresOptions struct {
	// Database to connect to (default "postgres").
	Database string `json:"database,omitempty" yaml:"database,omitempty"`
	// User to connect as (default "postgres").
	User string `json:"user,omitempty" yaml:"user,omitempty"`
	// Password, a secret: write it as a ${VAR} reference. Empty leaves
	// it to the environment (PGPASSWORD, ~/.pgpass), as libpq does.
	Password string `json:"password,omitempty" yaml:"password,omitempty"`
	// SSLMode is libpq's sslmode: disable, allow, prefer (default),
	// require, verify-ca or verify-full.
	SSLMode string `json:"sslmode,omitempty" yaml:"sslmode,omitempty"`
	// Query to run (default "SELECT 1"), sent as a simple query: it may
	// hold several statements, of which the last one's rows count.
	Query string `json:"query,omitempty" yaml:"query,omitempty"`
	// Expect, when set, must equal the first column of the first row the
	// query returns, in PostgreSQL's text form ("1", "t", "ok").
	Expect string `json:"expect,omitempty" yaml:"expect,omitempty"`
}

// Postgres defaults.
const (
	DefaultPostgresDatabase = "postgres"
	DefaultPostgresUser     = "postgres"
	DefaultPostgresSSLMode  = "prefer"
	DefaultPostgresQuery    = "SELECT 1"
	// MaxPostgresQuery bounds the length of a postgres query.
	MaxPostgresQuery = 4096
)

// PostgresSSLModes are the sslmode values a postgres target accepts.
var PostgresSSLModes = []string{"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}

// DatabaseOrDefault returns the database in force.
func (o *PostgresOptions) DatabaseOrDefault() string {
	if o == nil || o.Database == "" {
		return DefaultPostgresDatabase
	}
	return o.Database
}

// UserOrDefault returns the user in force.
func (o *PostgresOptions) UserOrDefault() string {
	if o == nil || o.User == "" {
		return DefaultPostgresUser
	}
	return o.User
}

// SSLModeOrDefault returns the sslmode in force.
func (o *PostgresOptions) SSLModeOrDefault() string {
	if o == nil || o.SSLMode == "" {
		return DefaultPostgresSSLMode
	}
	return o.SSLMode
}

// QueryOrDefault returns the query in force.
func (o *PostgresOptions) QueryOrDefault() string {
	if o == nil || strings.TrimSpace(o.Query) == "" {
		return DefaultPostgresQuery
	}
	return o.Query
}

// RedisOptions are the options of a redis target, whose Address is the
// server's host:port. Each probe opens a new connection, authenticates
// when a password is set, selects DB and sends PING; with Key set it also
// writes a fresh value to Key (expiring after KeyTTL) and reads it back.
type RedisOptions struct {
	// Username for Redis 6 ACLs (AUTH username password); needs Password.
	Username string `json:"username,omitempty" yaml:"username,omitempty"`
	// Password, a secret: write it as a ${VAR} reference.
	Password string `json:"password,omitempty" yaml:"password,omitempty"`
	// DB is the database number selected after connecting (default 0).
	DB int `json:"db,omitempty" yaml:"db,omitempty"`
	// TLS connects over TLS, verified against the system's roots unless
	// InsecureSkipVerify; ServerName is the name verified (default: the
	// address's host).
	TLS                bool   `json:"tls,omitempty" yaml:"tls,omitempty"`
	InsecureSkipVerify bool   `json:"insecure_skip_verify,omitempty" yaml:"insecure_skip_verify,omitempty"`
	ServerName         string `json:"server_name,omitempty" yaml:"server_name,omitempty"`
	// Key, when set, is written (SET with KeyTTL) and read back (GET) on
	// every probe, which proves the server accepts writes (not a replica,
	// not out of memory) as well as answering. Use a key of its own, such
	// as "heck:health".
	Key string `json:"key,omitempty" yaml:"key,omitempty"`
	// KeyTTL is how long the written key lives (default 30s).
	KeyTTL Duration `json:"key_ttl,omitempty" yaml:"key_ttl,omitempty"`
}

// Redis bounds and defaults.
const (
	DefaultRedisKeyTTL = 30 * time.Second
	MaxRedisKeyTTL     = 24 * time.Hour
	MaxRedisDB         = 1 << 20
	MaxRedisKey        = 512
)

// KeyTTLOrDefault returns the key TTL in force.
func (o *RedisOptions) KeyTTLOrDefault() time.Duration {
	if o == nil || o.KeyTTL <= 0 {
		return DefaultRedisKeyTTL
	}
	return o.KeyTTL.D()
}

func (v *validator) postgres(s *Spec) {
	v.hostPort("address", s.Address, "127.0.0.1:5432")
	v.only(s, "postgres")
	o := s.Postgres
	if o == nil {
		return
	}
	if o.SSLMode != "" && !contains(PostgresSSLModes, o.SSLMode) {
		v.add("postgres.sslmode", o.SSLMode, "is not an sslmode", "use one of "+strings.Join(PostgresSSLModes, ", ")+" (default prefer)")
	}
	if len(o.Query) > MaxPostgresQuery {
		v.add("postgres.query", o.Query[:40]+"...", "is "+strconv.Itoa(len(o.Query))+" bytes long",
			"keep a health query short (at most "+strconv.Itoa(MaxPostgresQuery)+" bytes), such as SELECT 1 or an UPDATE of a one-row health table (docs/deep-health.md)")
	}
	for _, f := range []struct{ name, val string }{{"postgres.database", o.Database}, {"postgres.user", o.User}, {"postgres.query", o.Query}} {
		if strings.ContainsRune(f.val, 0) {
			v.add(f.name, "", "contains a NUL byte", "remove it")
		}
	}
	if strings.ContainsRune(o.Password, 0) {
		v.add("postgres.password", "", "contains a NUL byte (the value is not shown: it is a secret)", "remove it")
	}
}

func (v *validator) redis(s *Spec) {
	v.hostPort("address", s.Address, "127.0.0.1:6379")
	v.only(s, "redis")
	o := s.Redis
	if o == nil {
		return
	}
	if o.Username != "" && o.Password == "" {
		v.add("redis.username", o.Username, "is set without a password", "set redis.password too (AUTH takes both), such as password: ${REDIS_PASSWORD}")
	}
	if o.DB < 0 || o.DB > MaxRedisDB {
		v.add("redis.db", strconv.Itoa(o.DB), "is out of range", "set a database number from 0 (the default) to "+strconv.Itoa(MaxRedisDB))
	}
	if !o.TLS {
		if o.InsecureSkipVerify {
			v.add("redis.insecure_skip_verify", "true", "only applies over TLS", "set redis.tls: true, or remove it")
		}
		if o.ServerName != "" {
			v.add("redis.server_name", o.ServerName, "only applies over TLS", "set redis.tls: true, or remove it")
		}
	}
	switch {
	case len(o.Key) > MaxRedisKey:
		v.add("redis.key", o.Key[:40]+"...", "is "+strconv.Itoa(len(o.Key))+" bytes long", "use a short key of its own, such as \"heck:health\"")
	case strings.ContainsAny(o.Key, " \t\r\n\x00"):
		v.add("redis.key", o.Key, "contains white space or a NUL byte", "use a key such as \"heck:health\"")
	}
	if o.KeyTTL != 0 && o.Key == "" {
		v.add("redis.key_ttl", o.KeyTTL.String(), "is set without a key", "set redis.key too, or remove key_ttl")
	} else if o.KeyTTL < 0 || (o.KeyTTL != 0 && o.KeyTTL.D() < time.Second) || o.KeyTTL.D() > MaxRedisKeyTTL {
		v.add("redis.key_ttl", o.KeyTTL.String(), "is out of range", "set 1s to 24h, or leave it out for 30s")
	}
}
