package cli_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/heckhq/heck/internal/api"
	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/target"
)

func TestPools(t *testing.T) {
	b := server(t, api.Options{LoopbackOnly: true})
	for i, st := range []health.State{health.Up, health.Up, health.Down} {
		spec := target.Spec{ID: []string{"a", "b", "c"}[i], Kind: target.KindHTTP, URL: "http://127.0.0.1:900" + string(rune('1'+i)) + "/"}
		ts := api.StatusOf(spec)
		ts.State = st
		b.Set(ts)
	}
	if r := heck(t, "pools", "ls"); r.code != 0 || !strings.Contains(r.stdout, "no pools") {
		t.Fatalf("ls empty: %d %s %s", r.code, r.stdout, r.stderr)
	}
	r := heck(t, "pools", "add", "web", "--targets", "a,b,c")
	if r.code != 0 || !strings.Contains(r.stdout, "added pool web: 3 members, 2 healthy") {
		t.Fatalf("add: %d %s %s", r.code, r.stdout, r.stderr)
	}
	usageError(t, heck(t, "pools", "add", "web", "--targets", "a"), "exists", "--replace")
	if r := heck(t, "pools", "add", "web", "--targets", "a,b,c", "--replace"); r.code != 0 {
		t.Fatalf("add --replace: %d %s", r.code, r.stderr)
	}
	r = heck(t, "pools", "ls")
	for _, w := range []string{"POOL", "web", "2/3", "a=up", "c=down", "no"} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("ls lacks %q:\n%s", w, r.stdout)
		}
	}
	r = heck(t, "pools", "ls", "-o", "json")
	var ps []struct {
		Name    string `json:"name"`
		Panic   *bool  `json:"panic"`
		Members []struct {
			ID    string `json:"id"`
			State string `json:"state"`
		} `json:"members"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &ps); err != nil || len(ps) != 1 || ps[0].Name != "web" || ps[0].Panic == nil || *ps[0].Panic ||
		len(ps[0].Members) != 3 || ps[0].Members[2].ID != "c" || ps[0].Members[2].State != "down" {
		t.Fatalf("ls -o json: %v %s", err, r.stdout)
	}
	r = heck(t, "pick", "web")
	if r.code != 0 || !(strings.HasPrefix(r.stdout, "a 127.0.0.1:9001") || strings.HasPrefix(r.stdout, "b 127.0.0.1:9002")) {
		t.Fatalf("pick: %d %q %s", r.code, r.stdout, r.stderr)
	}
	r = heck(t, "pick", "web", "--strategy", "random", "-o", "json")
	var pk api.Pick
	if err := json.Unmarshal([]byte(r.stdout), &pk); err != nil || r.code != 0 || pk.Member.ID == "c" || pk.Member.ID == "" {
		t.Fatalf("pick -o json: %d %v %s", r.code, err, r.stdout)
	}
	usageError(t, heck(t, "pick", "web", "--strategy", "fastest"), "not a strategy", "least_latency")
	usageError(t, heck(t, "pick", "nope"), "no pool named", "heck pools ls")
	// Nothing to pick: exit 1, with the reason.
	if r := heck(t, "pools", "add", "dead", "--targets", "c", "--panic-threshold", "0"); r.code != 0 {
		t.Fatalf("add dead: %d %s", r.code, r.stderr)
	}
	if r := heck(t, "pick", "dead"); r.code != 1 || !strings.Contains(r.stderr, "panic threshold is 0") {
		t.Fatalf("pick dead: %d %s %s", r.code, r.stdout, r.stderr)
	}
	usageError(t, heck(t, "pools", "add", "Bad_Name", "--targets", "a"), "NAME (name)", "DNS label")
	usageError(t, heck(t, "pools", "add", "x"), "--targets", "--selector")
	usageError(t, heck(t, "pools", "add", "x", "--selector", "env"), "--selector", "key=value")
	if r := heck(t, "pools", "rm", "web", "dead"); r.code != 0 || !strings.Contains(r.stdout, "removed pool web") {
		t.Fatalf("rm: %d %s %s", r.code, r.stdout, r.stderr)
	}
	usageError(t, heck(t, "pools", "rm", "web"), "no pool named")
}
