package kinds

import (
	"reflect"
	"strings"
	"testing"

	"github.com/heckhq/heck/internal/target"
)

func TestParseArgDatastores(t *testing.T) {
	tests := []struct {
		arg  string
		want target.Spec
		err  string
	}{
		{arg: "postgres://127.0.0.1", want: target.Spec{Kind: target.KindPostgres, Address: "127.0.0.1:5432"}},
		{arg: "postgresql://heck@127.0.0.1:5433/app?sslmode=disable", want: target.Spec{Kind: target.KindPostgres, Address: "127.0.0.1:5433",
			Postgres: &target.PostgresOptions{User: "heck", Database: "app", SSLMode: "disable"}}},
		{arg: "postgres://heck:${PGPW}@127.0.0.1/app?query=SELECT+2&expect=2", want: target.Spec{Kind: target.KindPostgres, Address: "127.0.0.1:5432",
			Postgres: &target.PostgresOptions{User: "heck", Password: "${PGPW}", Database: "app", Query: "SELECT 2", Expect: "2"}}},
		{arg: "POSTGRES://[::1]:5432/x", want: target.Spec{Kind: target.KindPostgres, Address: "[::1]:5432", Postgres: &target.PostgresOptions{Database: "x"}}},
		{arg: "redis://127.0.0.1", want: target.Spec{Kind: target.KindRedis, Address: "127.0.0.1:6379"}},
		{arg: "redis://:s3cret@127.0.0.1:6380/2?key=heck:health", want: target.Spec{Kind: target.KindRedis, Address: "127.0.0.1:6380",
			Redis: &target.RedisOptions{Password: "s3cret", DB: 2, Key: "heck:health"}}},
		{arg: "redis://s3cret@127.0.0.1", want: target.Spec{Kind: target.KindRedis, Address: "127.0.0.1:6379", Redis: &target.RedisOptions{Password: "s3cret"}}},
		{arg: "rediss://heck:${REDIS_PW}@127.0.0.1", want: target.Spec{Kind: target.KindRedis, Address: "127.0.0.1:6379",
			Redis: &target.RedisOptions{Username: "heck", Password: "${REDIS_PW}", TLS: true}}},
		{arg: "postgres://", err: "names no host"},
		{arg: "postgres://127.0.0.1/app?color=red", err: `unknown query parameter "color"; use sslmode, query or expect`},
		{arg: "postgres://heck:hunter2@127.0.0.1/app?sslmode=on", err: `postgres.sslmode: "on" is not an sslmode`},
		{arg: "redis://127.0.0.1/zero", err: `the path "/zero" is not a database number`},
		{arg: "redis://127.0.0.1?ttl=1", err: `unknown query parameter "ttl"; use key`},
		{arg: "redis://127.0.0.1:99999", err: "has no valid port"},
	}
	for _, tt := range tests {
		t.Run(tt.arg, func(t *testing.T) {
			got, err := ParseArg(tt.arg)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseArg(%q) error = %v, want %q", tt.arg, err, tt.err)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Errorf("the error shows the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseArg(%q): %v", tt.arg, err)
			}
			tt.want.ID = CheckID
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseArg(%q)\n got %+v %+v %+v\nwant %+v %+v %+v", tt.arg, got, got.Postgres, got.Redis, tt.want, tt.want.Postgres, tt.want.Redis)
			}
		})
	}
}
