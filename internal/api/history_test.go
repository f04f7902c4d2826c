package api_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/api"
	"github.com/heckhq/heck/internal/store"
)

// randomGroups returns n non-empty groups of step from from, oldest first,
// every one consistent (failures and buckets adding up to its count).
func randomGroups(rng *rand.Rand, from time.Time, step time.Duration, n int) []store.Rollup {
	var out []store.Rollup
	k := 0
	for range n {
		k += 1 + rng.IntN(3)
		g := store.Rollup{Minute: from.Add(time.Duration(k) * step)}
		for range 1 + rng.IntN(120) {
			g.Add(rng.IntN(10) > 0, time.Duration(rng.ExpFloat64()*float64(20*time.Millisecond)))
		}
		out = append(out, g)
	}
	return out
}

func TestRollupsRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for iter := range 200 {
		step := time.Duration(1+rng.IntN(60)) * time.Minute
		from := t0.Add(time.Duration(rng.IntN(100000)) * time.Second)
		gs := randomGroups(rng, from, step, rng.IntN(50))
		to := from.Add(time.Duration(3*len(gs)+1) * step)
		in := api.RollupsResponse{TargetID: "web/1 \"x\"", Node: "n1", From: from, To: to, Step: step, Rollups: gs}
		b, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		if !json.Valid(b) {
			t.Fatalf("iteration %d: not JSON: %s", iter, b)
		}
		var out api.RollupsResponse
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("iteration %d: %v\n%s", iter, err, b)
		}
		if out.Rollups == nil {
			out.Rollups = []store.Rollup{}
		}
		if in.Rollups == nil {
			in.Rollups = []store.Rollup{}
		}
		if !reflect.DeepEqual(in, out) {
			t.Fatalf("iteration %d: round trip\n got %+v\nwant %+v", iter, out, in)
		}
	}
}

func TestRollupsRefusesBadAnswers(t *testing.T) {
	head := `{"target_id":"web","node":"n1","from":1746100800,"to":1746104400,"step":60,"rollups":`
	for _, c := range []struct{ name, body, want string }{
		{"short row", head + `[[0,1,0,5]]}`, "columns"},
		{"long row", head + `[[0,1,0,5,5,1,0,0,0,0,0,0,0,0,0,0,0,0,0,0]]}`, "columns"},
		{"outside the range", head + `[[60,1,0,5,5,1]]}`, "outside"},
		{"buckets disagree", head + `[[0,2,0,5,5,1]]}`, "disagree"},
		{"more failures than checks", head + `[[0,1,2,5,5,1]]}`, "disagree"},
		{"out of order", head + `[[3,1,0,5,5,1],[2,1,0,5,5,1]]}`, "not after"},
		{"too large", head + `[[0,4294967296,0,5,5,4294967296]]}`, "too large"},
		{"negative", head + `[[0,-1,0,5,5,1]]}`, "rollups"},
		{"no from", `{"node":"n1","to":1,"step":60,"rollups":[]}`, "from"},
		{"bad step", `{"node":"n1","from":0,"to":60,"step":90,"rollups":[]}`, "step"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var r api.RollupsResponse
			err := json.Unmarshal([]byte(c.body), &r)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one saying %q", err, c.want)
			}
		})
	}
}

func TestRollupsRoute(t *testing.T) {
	b, s := fixture(t, api.Options{LoopbackOnly: true, NodeName: "n7"})
	rng := rand.New(rand.NewPCG(9, 10))
	var minutes []store.Rollup
	for i := range 24 * 60 {
		r := store.Rollup{TargetID: "web", Minute: t0.Add(time.Duration(i) * time.Minute)}
		for range 60 {
			r.Add(rng.IntN(100) > 0, time.Duration(200+rng.IntN(800))*time.Microsecond)
		}
		minutes = append(minutes, r)
	}
	b.SetRollups("web", minutes)
	path := "/api/v1/targets/web/rollups?scope=local&from=1746100800&to=1746187200" // t0 .. t0+24h

	r := do(t, s, "GET", path, "", "")
	got := okJSON[api.RollupsResponse](t, r, "rollups")
	if got.Node != "n7" || got.TargetID != "web" || got.Step != time.Minute || len(got.Rollups) != len(minutes) {
		t.Fatalf("rollups: node %q, target %q, step %s, %d groups; want n7, web, 1m, %d", got.Node, got.TargetID, got.Step, len(got.Rollups), len(minutes))
	}
	for i, g := range got.Rollups {
		want := minutes[i]
		want.TargetID = ""
		if g != want {
			t.Fatalf("minute %d: %+v, want %+v", i, g, want)
		}
	}
	t.Logf("24h of 1-minute rollups: %d bytes of JSON", len(r.body))

	// Gzipped for a client that accepts it, the same once decompressed.
	req := httptest.NewRequest("GET", path, nil)
	req.Header.Set("Accept-Encoding", "br, gzip;q=0.8")
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	if rec.Header().Get("Content-Encoding") != "gzip" || !strings.Contains(rec.Header().Get("Vary"), "Accept-Encoding") {
		t.Fatalf("headers %v: want Content-Encoding gzip and Vary", rec.Header())
	}
	zr, err := gzip.NewReader(bytes.NewReader(rec.Body.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil || string(plain) != r.body {
		t.Fatalf("gunzipped body differs from the plain one (%v)", err)
	}
	t.Logf("gzipped: %d bytes", rec.Body.Len())

	// Groups of a day over 30 days: what an uptime asks for.
	r = do(t, s, "GET", "/api/v1/targets/web/rollups?from=1746100800&to=1748692800&step=24h", "", "")
	day := okJSON[api.RollupsResponse](t, r, "rollups by day")
	if len(day.Rollups) != 1 || day.Rollups[0].Count != 24*60*60 || !day.Rollups[0].Minute.Equal(t0) {
		t.Fatalf("one day in a group: %+v", day.Rollups)
	}

	// An unknown target is told apart from a missing route.
	r = do(t, s, "GET", "/api/v1/targets/nope/rollups", "", "")
	if p := r.problem(t); !api.IsTargetNotFound(p) {
		t.Fatalf("unknown target: %+v is not a target-not-found problem", p)
	}
	r = do(t, s, "GET", "/api/v1/nothing/rollups", "", "")
	if p := r.problem(t); r.code != 404 || api.IsTargetNotFound(p) {
		t.Fatalf("unknown route: %d %+v must not read as an unknown target", r.code, p)
	}
}

func TestCoverageFields(t *testing.T) {
	b, s := fixture(t, api.Options{LoopbackOnly: true})
	r := do(t, s, "GET", "/api/v1/targets/web/history", "", "")
	if !strings.Contains(r.body, `"scope":"cluster","partial":false`) || strings.Contains(r.body, "missing") {
		t.Fatalf("whole history: %s; want scope cluster, partial false, no missing", r.body)
	}
	b.SetCoverage(api.Coverage{Observers: []string{"n0"}, Partial: true, Missing: []string{"n1", "n2"}})
	r = do(t, s, "GET", "/api/v1/targets/web/uptime", "", "")
	if !strings.Contains(r.body, `"partial":true,"missing":["n1","n2"]`) || !strings.Contains(r.body, `"24h":`) {
		t.Fatalf("partial uptime: %s", r.body)
	}
	r = do(t, s, "GET", "/api/v1/targets/web/uptime?scope=local", "", "")
	if !strings.Contains(r.body, `"scope":"local","partial":false`) {
		t.Fatalf("local uptime: %s", r.body)
	}
}

// BenchmarkRollupsJSON encodes and decodes one member's 24 h of 1-minute
// rollups, as a cluster-scope read of a day in minutes does once per
// member that holds them.
func BenchmarkRollupsJSON(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	gs := make([]store.Rollup, 0, 1440)
	for i := range 1440 {
		g := store.Rollup{Minute: t0.Add(time.Duration(i) * time.Minute)}
		for range 60 {
			g.Add(rng.IntN(500) > 0, time.Duration(150+rng.IntN(1500))*time.Microsecond)
		}
		gs = append(gs, g)
	}
	r := api.RollupsResponse{TargetID: "web", Node: "n1", From: t0, To: t0.Add(24 * time.Hour), Step: time.Minute, Rollups: gs}
	enc, _ := r.MarshalJSON()
	b.Run("encode", func(b *testing.B) {
		b.SetBytes(int64(len(enc)))
		for b.Loop() {
			_, _ = r.MarshalJSON()
		}
	})
	b.Run("decode", func(b *testing.B) {
		b.SetBytes(int64(len(enc)))
		for b.Loop() {
			var out api.RollupsResponse
			if err := out.UnmarshalJSON(enc); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestRollupsKeyOrder: an answer with its keys in another order (another
// writer) reads the same as MarshalJSON's.
func TestRollupsKeyOrder(t *testing.T) {
	a := `{"target_id":"w","node":"n1","from":1746100800,"to":1746104400,"step":60,"rollups":[[0,2,1,5,4,1,1],[3,1,0,7,7,0,1]]}`
	b := ` { "rollups" : [ [0, 2, 1, 5, 4, 1, 1] , [3,1,0,7,7,0,1] ], "step":60, "node":"n1", "to":1746104400, "from":1746100800, "target_id":"w", "extra": {"x": [1, "]}"]} } `
	var ra, rb api.RollupsResponse
	if err := json.Unmarshal([]byte(a), &ra); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(b), &rb); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ra, rb) || len(ra.Rollups) != 2 || ra.Rollups[1].Buckets[1] != 1 {
		t.Fatalf("reordered keys read\n%+v\nbut MarshalJSON's order\n%+v", rb, ra)
	}
}
