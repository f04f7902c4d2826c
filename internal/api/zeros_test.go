package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/heckhq/heck/internal/api"
	"github.com/heckhq/heck/internal/target"
)

const tcpJSON = `"id":"z","kind":"tcp","address":"127.0.0.1:9"`

// TestDecodeTargetWritten: the keys whose zero means "use the default" are
// reported written when the JSON gives them a non-null value, matched as
// encoding/json matches member names.
func TestDecodeTargetWritten(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []string // the keys of target.ZeroMeansDefault reported written
	}{
		{"none", `{` + tcpJSON + `}`, nil},
		{"zeros", `{` + tcpJSON + `,"interval":"0s","rise":0,"replicas":0}`, []string{"interval", "rise", "replicas"}},
		{"non-zero values", `{` + tcpJSON + `,"timeout":"1s","fall":2,"fast_interval":"2s","down_interval":"1m"}`,
			[]string{"timeout", "fall", "fast_interval", "down_interval"}},
		// (A null duration is refused by target.Duration's UnmarshalJSON,
		// so the nulls here are of whole numbers.)
		{"null is left out", `{` + tcpJSON + `,"rise":null,"replicas":null}`, nil},
		{"case-insensitive, as encoding/json", `{` + tcpJSON + `,"Interval":"0s","RISE":0}`, []string{"interval", "rise"}},
		{"initial_delay and jitter are not tracked", `{` + tcpJSON + `,"initial_delay":"0s","jitter":"0s"}`, nil},
		{"nested keys do not count", `{` + tcpJSON + `,"labels":{"interval":"0"}}`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, written, p := api.DecodeTargetWritten([]byte(tc.body))
			if p != nil {
				t.Fatalf("decode: %v", p)
			}
			var got []string
			for _, k := range target.ZeroMeansDefault {
				if written(k) {
					got = append(got, k)
				}
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("written = %v, want %v", got, tc.want)
			}
		})
	}
	// A body that does not decode writes nothing, and says why.
	if _, written, p := api.DecodeTargetWritten([]byte(`{"rise":0,`)); p == nil || written == nil || written("rise") {
		t.Errorf("malformed body: want a problem and nothing written, got %v", p)
	}
}

// TestExplicitZeros: POST and PUT refuse a target whose JSON writes a zero
// (or negative) interval, timeout, rise, fall, fast_interval,
// down_interval or replicas with a 422 naming each field, the value and
// the fix; members left out or null take the defaults; initial_delay and
// jitter may be 0. Nothing invalid reaches the backend.
func TestExplicitZeros(t *testing.T) {
	tests := []struct {
		name   string
		method string
		body   string
		want   []string // FieldProblem.String() of each error; none: accepted
	}{
		{"interval 0", "POST", `{` + tcpJSON + `,"interval":"0s"}`,
			[]string{`interval: "0s" is too short; set an interval from 100ms to 24h`}},
		{"interval as a bare 0", "POST", `{` + tcpJSON + `,"interval":0}`,
			[]string{`interval: "0s" is too short; set an interval from 100ms to 24h`}},
		{"interval and rise 0, as the issue names them", "POST", `{` + tcpJSON + `,"interval":"0s","rise":0}`,
			[]string{`interval: "0s" is too short; set an interval from 100ms to 24h`,
				`rise: "0" is out of range; set 1 to 100 consecutive successes`}},
		{"timeout 0", "POST", `{` + tcpJSON + `,"timeout":"0s"}`,
			[]string{`timeout: "0s" is too short; set a timeout from 1ms to 24h, below the interval`}},
		{"fall 0", "POST", `{` + tcpJSON + `,"fall":0}`,
			[]string{`fall: "0" is out of range; set 1 to 100 consecutive failures`}},
		{"fast_interval 0", "POST", `{` + tcpJSON + `,"fast_interval":"0s"}`,
			[]string{`fast_interval: "0s" is too short; set 100ms to 24h, or leave it out to use the interval`}},
		{"down_interval 0", "POST", `{` + tcpJSON + `,"down_interval":"0s"}`,
			[]string{`down_interval: "0s" is too short; set 100ms to 24h, or leave it out to use the interval`}},
		{"replicas 0", "POST", `{` + tcpJSON + `,"replicas":0}`,
			[]string{`replicas: "0" is out of range; set 1 to 16 nodes, or leave it out for the cluster's default`}},
		{"negative rise", "POST", `{` + tcpJSON + `,"rise":-1}`,
			[]string{`rise: "-1" is out of range; set 1 to 100 consecutive successes`}},
		{"negative interval alone", "POST", `{` + tcpJSON + `,"interval":"-5s"}`,
			[]string{`interval: "-5s" is too short; set an interval from 100ms to 24h`}},
		{"zero on PUT, with another problem", "PUT", `{"kind":"tcp","address":"127.0.0.1:9","rise":0,"spread":"region"}`,
			[]string{`rise: "0" is out of range; set 1 to 100 consecutive successes`,
				`spread: "region" is not a known spread; set spread: zone, or leave it out`}},
		{"upper-case member", "POST", `{` + tcpJSON + `,"Fall":0}`,
			[]string{`fall: "0" is out of range; set 1 to 100 consecutive failures`}},

		{"members left out", "POST", `{` + tcpJSON + `}`, nil},
		{"null members", "POST", `{` + tcpJSON + `,"rise":null,"fall":null,"replicas":null}`, nil},
		{"initial_delay and jitter 0", "POST", `{` + tcpJSON + `,"initial_delay":"0s","jitter":"0s"}`, nil},
		{"positive values", "PUT", `{` + tcpJSON + `,"interval":"1s","timeout":"500ms","rise":1,"fall":1,"fast_interval":"1s","down_interval":"1m","replicas":1}`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, s := fixture(t, api.Options{LoopbackOnly: true})
			path := "/api/v1/targets"
			if tc.method == "PUT" {
				path += "/z"
			}
			r := do(t, s, tc.method, path, tc.body, "")
			_, stored := b.Spec("z")
			if len(tc.want) == 0 {
				if r.code != http.StatusCreated && r.code != http.StatusOK || !stored {
					t.Fatalf("want the target stored, got %d %s", r.code, r.body)
				}
				return
			}
			if stored {
				t.Error("an invalid target reached the backend")
			}
			p := r.problem(t)
			if r.code != http.StatusUnprocessableEntity || p.Type != api.TypeInvalidTarget {
				t.Fatalf("got %d %s, want 422 invalid-target", r.code, p.Type)
			}
			var got []string
			for _, e := range p.Errors {
				got = append(got, e.String())
			}
			if g, w := strings.Join(got, "\n"), strings.Join(tc.want, "\n"); g != w {
				t.Errorf("errors:\n%s\nwant:\n%s", g, w)
			}
		})
	}
}
