package cli

import (
	"flag"
	"time"

	"github.com/heckhq/heck/internal/target"
)

// dataOpts are the flags of the postgres and redis kinds of targets add;
// --insecure, --server-name and --expect are shared with other kinds.
type dataOpts struct {
	database, user, password, sslmode, query string
	db                                       int
	redisTLS                                 bool
	key                                      string
	keyTTL                                   time.Duration
}

// dataFlagFields maps the postgres and redis fields to their flags.
var dataFlagFields = map[string]string{
	"postgres.database": "--database", "postgres.user": "--user", "postgres.password": "--password",
	"postgres.sslmode": "--sslmode", "postgres.query": "--query", "postgres.expect": "--expect",
	"redis.username": "--user", "redis.password": "--password", "redis.db": "--db", "redis.tls": "--redis-tls",
	"redis.insecure_skip_verify": "--insecure", "redis.server_name": "--server-name", "redis.key": "--key", "redis.key_ttl": "--key-ttl",
}

// dataKindFlags says which of the two kinds each of their own flags
// applies to.
var dataKindFlags = map[string][]target.Kind{
	"database": {target.KindPostgres}, "sslmode": {target.KindPostgres}, "query": {target.KindPostgres},
	"user": {target.KindPostgres, target.KindRedis}, "password": {target.KindPostgres, target.KindRedis},
	"db": {target.KindRedis}, "redis-tls": {target.KindRedis}, "key": {target.KindRedis}, "key-ttl": {target.KindRedis},
}

func init() {
	for k, v := range dataFlagFields {
		flagFields[k] = v
	}
	for k, v := range dataKindFlags {
		kindFlags[k] = v
	}
}

func (o *dataOpts) register(fs *flag.FlagSet) {
	fs.StringVar(&o.database, "database", "", "postgres `DATABASE` to connect to (default postgres)")
	fs.StringVar(&o.user, "user", "", "postgres or redis `USER` (postgres: default postgres; redis: an ACL user)")
	fs.StringVar(&o.password, "password", "", "postgres or redis `PASSWORD`: write a '${VAR}' reference, expanded on the node, so the secret is never stored or shown")
	fs.StringVar(&o.sslmode, "sslmode", "", "postgres `MODE`: disable, allow, prefer (default), require, verify-ca, verify-full")
	fs.StringVar(&o.query, "query", "", "postgres `SQL` to run (default SELECT 1; see docs/deep-health.md)")
	fs.IntVar(&o.db, "db", 0, "redis database `N` (default 0)")
	fs.BoolVar(&o.redisTLS, "redis-tls", false, "connect to redis over TLS")
	fs.StringVar(&o.key, "key", "", "redis `KEY` written and read back on every probe (a key of its own, such as heck:health)")
	fs.DurationVar(&o.keyTTL, "key-ttl", 0, "how long the redis key lives (`DURATION`, default 30s)")
}

// used says which of the flags were given.
func (o *dataOpts) used() map[string]bool {
	return map[string]bool{
		"database": o.database != "", "user": o.user != "", "password": o.password != "", "sslmode": o.sslmode != "",
		"query": o.query != "", "db": o.db != 0, "redis-tls": o.redisTLS, "key": o.key != "", "key-ttl": o.keyTTL != 0,
	}
}

// build fills s's postgres or redis block from the flags; expect,
// insecure and serverName are the shared flags' values.
func (o *dataOpts) build(s *target.Spec, expect string, insecure bool, serverName string) {
	switch s.Kind {
	case target.KindPostgres:
		pg := target.PostgresOptions{Database: o.database, User: o.user, Password: o.password, SSLMode: o.sslmode, Query: o.query, Expect: expect}
		if pg != (target.PostgresOptions{}) {
			s.Postgres = &pg
		}
	case target.KindRedis:
		r := target.RedisOptions{Username: o.user, Password: o.password, DB: o.db, TLS: o.redisTLS,
			InsecureSkipVerify: insecure, ServerName: serverName, Key: o.key, KeyTTL: target.Duration(o.keyTTL)}
		if r != (target.RedisOptions{}) {
			s.Redis = &r
		}
	}
}
