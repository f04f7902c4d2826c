package cli_test

import (
	"strings"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/api"
)

func TestTargetsAddDatastores(t *testing.T) {
	b := server(t, api.Options{LoopbackOnly: true})

	r := heck(t, "targets", "add", "--id", "pg", "--kind", "postgres", "--address", "127.0.0.1:5432", "--database", "app",
		"--user", "heck", "--password", "${PGPASSWORD}", "--sslmode", "disable",
		"--query", "UPDATE heck_health SET at = now() WHERE id = 1 RETURNING id", "--expect", "1")
	if r.code != 0 || !strings.Contains(r.stdout, "added pg (postgres 127.0.0.1:5432)") {
		t.Fatalf("add postgres: %d %s %s", r.code, r.stdout, r.stderr)
	}
	sp, _ := b.Spec("pg")
	if o := sp.Postgres; o == nil || o.Database != "app" || o.User != "heck" || o.Password != "${PGPASSWORD}" || o.SSLMode != "disable" ||
		!strings.HasPrefix(o.Query, "UPDATE heck_health") || o.Expect != "1" {
		t.Fatalf("stored postgres spec %+v", sp.Postgres)
	}

	r = heck(t, "targets", "add", "--id", "cache", "--kind", "redis", "--address", "127.0.0.1:6379", "--user", "heck",
		"--password", "${REDIS_PASSWORD}", "--db", "2", "--key", "heck:health", "--key-ttl", "1m", "--redis-tls",
		"--server-name", "cache.test", "--insecure")
	if r.code != 0 || !strings.Contains(r.stdout, "added cache (redis 127.0.0.1:6379)") {
		t.Fatalf("add redis: %d %s %s", r.code, r.stdout, r.stderr)
	}
	sp, _ = b.Spec("cache")
	if o := sp.Redis; o == nil || o.Username != "heck" || o.Password != "${REDIS_PASSWORD}" || o.DB != 2 || o.Key != "heck:health" ||
		o.KeyTTL.D() != time.Minute || !o.TLS || o.ServerName != "cache.test" || !o.InsecureSkipVerify {
		t.Fatalf("stored redis spec %+v", sp.Redis)
	}

	// Without options: no block at all, the defaults apply.
	if r := heck(t, "targets", "add", "--id", "pg2", "--kind", "postgres", "--address", "127.0.0.1:5433"); r.code != 0 {
		t.Fatalf("add bare postgres: %d %s", r.code, r.stderr)
	}
	if sp, _ := b.Spec("pg2"); sp.Postgres != nil {
		t.Errorf("bare postgres has options %+v", sp.Postgres)
	}

	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"--id", "x", "--kind", "redis", "--address", "127.0.0.1:6379", "--query", "SELECT 1"},
			[]string{"flag --query does not apply to a redis target", "postgres targets"}},
		{[]string{"--id", "x", "--kind", "postgres", "--address", "127.0.0.1:5432", "--key", "k"},
			[]string{"flag --key does not apply to a postgres target", "redis targets"}},
		{[]string{"--id", "x", "--kind", "tcp", "--address", "127.0.0.1:5432", "--password", "pw"},
			[]string{"flag --password does not apply to a tcp target", "postgres, redis targets"}},
	} {
		usageError(t, heck(t, append([]string{"targets", "add"}, c.args...)...), c.want...)
	}

	// The node's validation errors name the flag.
	r = heck(t, "targets", "add", "--id", "x", "--kind", "postgres", "--address", "127.0.0.1:5432", "--sslmode", "on")
	if r.code == 0 || !strings.Contains(r.stderr, "--sslmode") || !strings.Contains(r.stderr, "verify-full") {
		t.Fatalf("bad sslmode: %d %s", r.code, r.stderr)
	}
	r = heck(t, "targets", "add", "--id", "x", "--kind", "redis", "--address", "127.0.0.1:6379", "--user", "heck")
	if r.code == 0 || !strings.Contains(r.stderr, "--user") || !strings.Contains(r.stderr, "redis.password") {
		t.Fatalf("redis user without password: %d %s", r.code, r.stderr)
	}
}
