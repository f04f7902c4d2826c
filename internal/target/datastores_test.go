package target

import (
	"strings"
	"testing"
	"time"
)

func TestValidateDatastores(t *testing.T) {
	pg := func(o *PostgresOptions) Spec {
		return Spec{ID: "db", Kind: KindPostgres, Address: "127.0.0.1:5432", Postgres: o}
	}
	rd := func(o *RedisOptions) Spec {
		return Spec{ID: "cache", Kind: KindRedis, Address: "127.0.0.1:6379", Redis: o}
	}
	tests := []struct {
		name  string
		spec  Spec
		field string // "" means valid
		fix   string
	}{
		{"postgres without options", pg(nil), "", ""},
		{"postgres with everything", pg(&PostgresOptions{Database: "app", User: "heck", Password: "${PGPASSWORD}", SSLMode: "verify-full",
			Query: "UPDATE heck_health SET at = now() WHERE id = 1 RETURNING id", Expect: "1"}), "", ""},
		{"postgres address from env", Spec{ID: "db", Kind: KindPostgres, Address: "${PG_ADDR}"}, "", ""},
		{"postgres missing address", Spec{ID: "db", Kind: KindPostgres}, "address", "127.0.0.1:5432"},
		{"postgres address without port", Spec{ID: "db", Kind: KindPostgres, Address: "127.0.0.1"}, "address", "host:port"},
		{"postgres url", Spec{ID: "db", Kind: KindPostgres, Address: "127.0.0.1:5432", URL: "postgres://x"}, "url", "use address"},
		{"postgres bad sslmode", pg(&PostgresOptions{SSLMode: "on"}), "postgres.sslmode", "verify-full"},
		{"postgres huge query", pg(&PostgresOptions{Query: "SELECT " + strings.Repeat("1", MaxPostgresQuery)}), "postgres.query", "health table"},
		{"postgres NUL in user", pg(&PostgresOptions{User: "a\x00b"}), "postgres.user", "remove it"},
		{"postgres with a redis block", Spec{ID: "db", Kind: KindPostgres, Address: "127.0.0.1:5432", Redis: &RedisOptions{}}, "redis", "remove the redis block"},
		{"postgres block on tcp", Spec{ID: "db", Kind: KindTCP, Address: "127.0.0.1:5432", Postgres: &PostgresOptions{}}, "postgres", "set kind: postgres"},

		{"redis without options", rd(nil), "", ""},
		{"redis with everything", rd(&RedisOptions{Username: "heck", Password: "${REDIS_PASSWORD}", DB: 3, TLS: true,
			InsecureSkipVerify: true, ServerName: "cache", Key: "heck:health", KeyTTL: Duration(time.Minute)}), "", ""},
		{"redis missing address", Spec{ID: "cache", Kind: KindRedis}, "address", "127.0.0.1:6379"},
		{"redis username without password", rd(&RedisOptions{Username: "heck"}), "redis.username", "redis.password"},
		{"redis negative db", rd(&RedisOptions{DB: -1}), "redis.db", "from 0"},
		{"redis insecure without tls", rd(&RedisOptions{InsecureSkipVerify: true}), "redis.insecure_skip_verify", "redis.tls: true"},
		{"redis server name without tls", rd(&RedisOptions{ServerName: "x"}), "redis.server_name", "redis.tls: true"},
		{"redis key with a space", rd(&RedisOptions{Key: "heck health"}), "redis.key", "heck:health"},
		{"redis long key", rd(&RedisOptions{Key: strings.Repeat("k", MaxRedisKey+1)}), "redis.key", "short key"},
		{"redis ttl without key", rd(&RedisOptions{KeyTTL: Duration(time.Minute)}), "redis.key_ttl", "set redis.key"},
		{"redis ttl too short", rd(&RedisOptions{Key: "k", KeyTTL: Duration(time.Millisecond)}), "redis.key_ttl", "1s to 24h"},
		{"redis ttl too long", rd(&RedisOptions{Key: "k", KeyTTL: Duration(48 * time.Hour)}), "redis.key_ttl", "1s to 24h"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			errs := tc.spec.Validate()
			if tc.field == "" {
				if len(errs) != 0 {
					t.Fatalf("want valid, got %v", errs)
				}
				return
			}
			for _, e := range errs {
				if e.Field == tc.field && strings.Contains(e.Fix, tc.fix) {
					return
				}
			}
			t.Fatalf("want an error on %s with fix containing %q, got %v", tc.field, tc.fix, errs)
		})
	}
}

func TestDatastoreDefaults(t *testing.T) {
	var none *PostgresOptions
	if none.DatabaseOrDefault() != "postgres" || none.UserOrDefault() != "postgres" || none.SSLModeOrDefault() != "prefer" || none.QueryOrDefault() != "SELECT 1" {
		t.Errorf("postgres defaults: %q %q %q %q", none.DatabaseOrDefault(), none.UserOrDefault(), none.SSLModeOrDefault(), none.QueryOrDefault())
	}
	set := &PostgresOptions{Database: "app", User: "heck", SSLMode: "disable", Query: "SELECT 2"}
	if set.DatabaseOrDefault() != "app" || set.UserOrDefault() != "heck" || set.SSLModeOrDefault() != "disable" || set.QueryOrDefault() != "SELECT 2" {
		t.Errorf("postgres options not kept: %+v", set)
	}
	if (&PostgresOptions{Query: "  "}).QueryOrDefault() != "SELECT 1" {
		t.Error("a blank query should take the default")
	}
	var r *RedisOptions
	if r.KeyTTLOrDefault() != 30*time.Second || (&RedisOptions{KeyTTL: Duration(time.Minute)}).KeyTTLOrDefault() != time.Minute {
		t.Error("redis key ttl default")
	}
}

func TestDatastoreSecrets(t *testing.T) {
	s := Spec{ID: "db", Kind: KindPostgres, Address: "127.0.0.1:5432",
		Postgres: &PostgresOptions{User: "${PGUSER_X}", Password: "${PGPASS_X}", Database: "app"}}
	r := Spec{ID: "cache", Kind: KindRedis, Address: "127.0.0.1:6379", Redis: &RedisOptions{Username: "heck", Password: "${REDIS_PASS_X}"}}
	env := map[string]string{"PGUSER_X": "heck", "PGPASS_X": "hunter2", "REDIS_PASS_X": "s3cret"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }

	x, err := s.Expand(lookup)
	if err != nil {
		t.Fatal(err)
	}
	if x.Postgres.User != "heck" || x.Postgres.Password != "hunter2" || s.Postgres.Password != "${PGPASS_X}" {
		t.Fatalf("postgres expand: %+v (original %+v)", x.Postgres, s.Postgres)
	}
	xr, err := r.Expand(lookup)
	if err != nil || xr.Redis.Password != "s3cret" || r.Redis.Password != "${REDIS_PASS_X}" {
		t.Fatalf("redis expand: %+v %v", xr.Redis, err)
	}
	if got := s.EnvRefs(); strings.Join(got, ",") != "PGUSER_X,PGPASS_X" {
		t.Errorf("postgres EnvRefs = %v", got)
	}
	if got := r.EnvRefs(); strings.Join(got, ",") != "REDIS_PASS_X" {
		t.Errorf("redis EnvRefs = %v", got)
	}

	// A reference is shown as written; a literal password never is.
	if got := s.Redact().Postgres.Password; got != "${PGPASS_X}" {
		t.Errorf("a reference should be shown as written, got %q", got)
	}
	if got := x.Redact().Postgres.Password; got != Redacted {
		t.Errorf("literal postgres password shown as %q", got)
	}
	if got := xr.Redact().Redis.Password; got != Redacted {
		t.Errorf("literal redis password shown as %q", got)
	}
	if x.Postgres.Password != "hunter2" {
		t.Error("Redact modified its receiver")
	}

	delete(env, "PGPASS_X")
	_, err = s.Expand(lookup)
	fes, ok := AsFieldErrors(err)
	if !ok || len(fes) != 1 || fes[0].Field != "postgres.password" || !strings.Contains(fes[0].Fix, "export PGPASS_X") {
		t.Fatalf("unset variable error: %v", err)
	}
	if c := x.Clone(); c.Postgres == x.Postgres {
		t.Error("Clone shares the postgres options")
	}
	if c := xr.Clone(); c.Redis == xr.Redis {
		t.Error("Clone shares the redis options")
	}
}
