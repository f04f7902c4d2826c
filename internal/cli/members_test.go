package cli_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/heckhq/heck/internal/wire"

	"github.com/heckhq/heck/internal/api"
	"github.com/heckhq/heck/internal/api/apitest"
	"github.com/heckhq/heck/internal/target"
)

// clusterServer starts an API over a fake cluster of n1 (self, alive,
// owning two targets), n2 (alive, zone b) and n3 (dead), and points
// HECK_SERVER at it.
func clusterServer(t *testing.T, opts api.Options) *apitest.Cluster {
	t.Helper()
	b := apitest.NewCluster("n1")
	b.Set(wire.StatusOf(target.Spec{ID: "web", Kind: target.KindHTTP, URL: "http://127.0.0.1:8080/"}))
	b.Set(wire.StatusOf(target.Spec{ID: "db", Kind: target.KindTCP, Address: "127.0.0.1:5432"}))
	b.SetMember(wire.Member{Name: "n2", Addr: "127.0.0.2:7946", Zone: "b", State: wire.MemberAlive, Weight: 1, Targets: 3})
	b.SetMember(wire.Member{Name: "n3", Addr: "127.0.0.3:7946", State: wire.MemberDead, Weight: 1})
	_, ts := apitest.Serve(t, b, opts)
	t.Setenv("HECK_SERVER", ts.URL)
	t.Setenv("HECK_API_TOKEN", "")
	return b
}

// rows splits a table into its cells.
func rows(out string) [][]string {
	var rs [][]string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		rs = append(rs, strings.Fields(l))
	}
	return rs
}

func TestMembers(t *testing.T) {
	clusterServer(t, api.Options{LoopbackOnly: true})
	r := heck(t, "members")
	want := [][]string{
		{"NAME", "ADDRESS", "ZONE", "STATE", "TARGETS", "SELF"},
		{"n1", "127.0.0.1:7946", "-", "alive", "2", "*"},
		{"n2", "127.0.0.2:7946", "b", "alive", "3"},
		{"n3", "127.0.0.3:7946", "-", "dead", "0"},
	}
	if r.code != 0 {
		t.Fatalf("members: %d %s", r.code, r.stderr)
	}
	if got := rows(r.stdout); len(got) != len(want) || strings.Join(flat(got), " ") != strings.Join(flat(want), " ") {
		t.Fatalf("members table:\n%s\nwant rows %v", r.stdout, want)
	}

	r = heck(t, "members", "-o", "json")
	var ms []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &ms); err != nil || r.code != 0 || len(ms) != 3 {
		t.Fatalf("members -o json: %d %v %s", r.code, err, r.stdout)
	}
	if ms[0]["name"] != "n1" || ms[0]["state"] != "alive" || ms[0]["self"] != true || ms[0]["targets"] != 2.0 ||
		ms[2]["name"] != "n3" || ms[2]["state"] != "dead" {
		t.Fatalf("members json = %v", ms)
	}
}

func flat(rs [][]string) []string {
	var out []string
	for _, r := range rs {
		out = append(out, strings.Join(r, "|"))
	}
	return out
}

func TestMembersSingleNode(t *testing.T) {
	server(t, api.Options{LoopbackOnly: true, NodeName: "solo"})
	r := heck(t, "members")
	if got := rows(r.stdout); r.code != 0 || len(got) != 2 || strings.Join(got[1], " ") != "solo - - alive 3 *" {
		t.Fatalf("members of a single node: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = heck(t, "join", "127.0.0.1:7946")
	if r.code != 2 || !strings.Contains(r.stderr, "Not clustered") || !strings.Contains(r.stderr, "--gossip") {
		t.Fatalf("join on a single node: %d %s", r.code, r.stderr)
	}
	if r := heck(t, "leave"); r.code != 2 || !strings.Contains(r.stderr, "Not clustered") {
		t.Fatalf("leave on a single node: %d %s", r.code, r.stderr)
	}
}

func TestJoin(t *testing.T) {
	b := clusterServer(t, api.Options{LoopbackOnly: true})
	r := heck(t, "join", "127.0.0.4:7946", "127.0.0.5")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "joined: 2 of 2 address(es) answered") || !strings.Contains(r.stdout, "127.0.0.5") {
		t.Fatalf("join: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if j := b.Joins(); len(j) != 1 || strings.Join(j[0], ",") != "127.0.0.4:7946,127.0.0.5" {
		t.Fatalf("backend joined %v", j)
	}
	r = heck(t, "join", "-o", "json", "127.0.0.6")
	var jr wire.JoinResponse
	if err := json.Unmarshal([]byte(r.stdout), &jr); err != nil || r.code != 0 || jr.Contacted != 1 || len(jr.Members) != 6 {
		t.Fatalf("join -o json: %d %v %s", r.code, err, r.stdout)
	}

	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"no address", []string{"join"}, []string{"missing argument", "heck join ADDR"}},
		{"bad address", []string{"join", "127.0.0.7", "http://127.0.0.1:7800"}, []string{"Invalid join request", "ADDR 2 (addrs[1])", "is a URL", "10.0.0.2:7946"}},
		{"bad port", []string{"join", "127.0.0.7:99999"}, []string{"ADDR 1 (addrs[0])", "port"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			usageError(t, heck(t, c.args...), c.want...)
		})
	}
	b.SetJoinError(errors.New("127.0.0.8:7946: connection refused"))
	r = heck(t, "join", "127.0.0.8")
	if r.code != 2 || !strings.Contains(r.stderr, "Join failed") || !strings.Contains(r.stderr, "connection refused") {
		t.Fatalf("failing join: %d %s", r.code, r.stderr)
	}
}

func TestLeave(t *testing.T) {
	b := clusterServer(t, api.Options{Token: "t0k"})
	r := heck(t, "leave")
	if r.code != 2 || !strings.Contains(r.stderr, "Unauthorized") || !strings.Contains(r.stderr, "--token") || b.Leaves() != 0 {
		t.Fatalf("leave without token: %d %s", r.code, r.stderr)
	}
	r = heck(t, "leave", "--token", "t0k")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "n1 left the cluster (state left)") || b.Leaves() != 1 {
		t.Fatalf("leave: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = heck(t, "leave", "--token", "t0k", "-o", "json")
	var lr wire.LeaveResponse
	if err := json.Unmarshal([]byte(r.stdout), &lr); err != nil || r.code != 0 || lr.Name != "n1" || lr.State != "left" {
		t.Fatalf("second leave -o json: %d %v %s", r.code, err, r.stdout)
	}
	r = heck(t, "members", "--token", "t0k")
	if got := rows(r.stdout); r.code != 0 || strings.Join(got[1], " ") != "n1 127.0.0.1:7946 - left 2 *" {
		t.Fatalf("members after leave: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := heck(t, "leave", "extra"); r.code != 2 || !strings.Contains(r.stderr, "too many arguments") {
		t.Fatalf("leave extra: %d %s", r.code, r.stderr)
	}
}
