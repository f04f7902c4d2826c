package registry

import (
	"reflect"
	"testing"
	"time"
	"unsafe"

	"github.com/heckhq/heck/internal/target"
)

// fullSpec sets every field of a spec, so a field pack forgets shows.
func fullSpec() target.Spec {
	yes := true
	return target.Spec{
		ID: "full", Name: "Full", Kind: target.KindHTTP, Labels: map[string]string{"team": "core"}, Origin: "config",
		URL: "http://127.0.0.1:8080/", Address: "127.0.0.1:8080",
		Schedule: target.Schedule{InitialDelay: target.Duration(time.Second), Interval: target.Duration(10 * time.Second),
			Timeout: target.Duration(2 * time.Second), Rise: 3, Fall: 4, Jitter: target.Duration(time.Millisecond),
			FastInterval: target.Duration(5 * time.Second), DownInterval: target.Duration(20 * time.Second)},
		Replicas: 2, Spread: "zone",
		HTTP: &target.HTTPOptions{Method: "HEAD", JSON: []target.JSONCondition{{Path: "ok", Exists: &yes}}},
		TCP:  &target.TCPOptions{Send: "PING"}, DNS: &target.DNSOptions{Name: "example."},
		TLS: &target.TLSOptions{ServerName: "x"}, GRPC: &target.GRPCOptions{Service: "s"},
		ICMP:      &target.ICMPOptions{PayloadSize: 8},
		Heartbeat: &target.HeartbeatOptions{Period: target.Duration(time.Minute), Token: "0123456789abcdef"},
		Agent:     &target.AgentOptions{Check: "db"},
		DependsOn: []target.Dependency{{Target: "db"}},
		Postgres:  &target.PostgresOptions{Database: "app", Password: "${PGPASSWORD}"},
		Redis:     &target.RedisOptions{Key: "heck:health"},
	}
}

// TestFullSpecSetsEveryField keeps fullSpec honest when target.Spec grows:
// a new field must be set there, and packed (pack, spec) must carry it.
func TestFullSpecSetsEveryField(t *testing.T) {
	v := reflect.ValueOf(fullSpec())
	for i := range v.NumField() {
		if v.Field(i).IsZero() {
			t.Errorf("fullSpec leaves target.Spec.%s unset: set it, and make sure pack and spec carry it", v.Type().Field(i).Name)
		}
	}
}

func TestPackRoundTrip(t *testing.T) {
	plain := target.Spec{ID: "t1", Kind: target.KindHTTP, Origin: "config", URL: "http://127.0.0.1:1/t/1",
		Schedule: target.Schedule{Interval: target.Duration(25 * time.Second), Timeout: target.Duration(2 * time.Second)}}
	tests := []struct {
		name     string
		key      string
		spec     target.Spec
		wantRare bool
	}{
		{"zero (a tombstone's value)", "gone", target.Spec{}, false},
		{"plain", "t1", plain, false},
		{"every field", "full", fullSpec(), true},
		{"id other than the key", "k", target.Spec{ID: "other", Kind: target.KindTCP, Address: "127.0.0.1:1"}, true},
		{"empty id under a key", "k", target.Spec{Kind: target.KindTCP}, true},
		{"only an id", "k", target.Spec{ID: "k"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := pack(tt.key, &tt.spec)
			if got := p.spec(tt.key); !reflect.DeepEqual(got, tt.spec) {
				t.Errorf("round trip\n got %+v\nwant %+v", got, tt.spec)
			}
			if (p.rare != nil) != tt.wantRare {
				t.Errorf("rare part allocated: %v, want %v", p.rare != nil, tt.wantRare)
			}
		})
	}
}

// TestPackShares: targets alike in kind, origin and schedule share one
// copy of them.
func TestPackShares(t *testing.T) {
	a := target.Spec{ID: "a", Kind: target.KindHTTP, URL: "http://127.0.0.1:1/a", Schedule: target.Schedule{Interval: target.Duration(time.Second)}}
	b := a
	b.ID, b.URL = "b", "http://127.0.0.1:1/b"
	c := a
	c.Interval = target.Duration(2 * time.Second)
	pa, pb, pc := pack("a", &a), pack("b", &b), pack("c", &c)
	if pa.common != pb.common || pa.common == pc.common {
		t.Errorf("common parts: a==b %v (want true), a==c %v (want false)", pa.common == pb.common, pa.common == pc.common)
	}
	if s := unsafe.Sizeof(packed{}); s > 64 {
		t.Errorf("packed is %d bytes, want at most 64", s)
	}
}
