package api_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/heckhq/heck/internal/api"
	"github.com/heckhq/heck/internal/api/apitest"
	"github.com/heckhq/heck/internal/target"
)

func clusterFixture(t *testing.T, opts api.Options) (*apitest.Cluster, *api.Server) {
	t.Helper()
	b := apitest.NewCluster("n1")
	b.Set(api.StatusOf(target.Spec{ID: "web", Kind: target.KindHTTP, URL: "http://127.0.0.1:8080/"}))
	b.Set(api.StatusOf(target.Spec{ID: "db", Kind: target.KindTCP, Address: "127.0.0.1:5432"}))
	b.SetMember(api.Member{Name: "n0", Addr: "127.0.0.2:7946", Zone: "b", State: api.MemberDead, Weight: 2, Targets: 0})
	return b, api.New(b, opts)
}

func decodeMembers(t *testing.T, r resp) []api.Member {
	t.Helper()
	return okJSON[api.MemberList](t, r, "members").Members
}

func TestMembersSingleNode(t *testing.T) {
	_, s := fixture(t, api.Options{LoopbackOnly: true, NodeName: "solo"})
	ms := decodeMembers(t, do(t, s, "GET", "/api/v1/members", "", ""))
	want := api.Member{Name: "solo", State: api.MemberAlive, Weight: 1, Targets: 2, Self: true}
	if len(ms) != 1 || ms[0] != want {
		t.Fatalf("members = %+v, want only %+v", ms, want)
	}
	for _, path := range []string{"/api/v1/members/join", "/api/v1/leave"} {
		r := do(t, s, "POST", path, `{"addrs":["127.0.0.1:7946"]}`, "")
		p := r.problem(t)
		if r.code != http.StatusConflict || p.Type != api.TypeNotClustered || !strings.Contains(p.Detail, "--gossip") {
			t.Errorf("POST %s on a single node = %d %+v, want 409 not-clustered naming --gossip", path, r.code, p)
		}
	}
}

func TestMembersSingleNodeDefaultName(t *testing.T) {
	_, s := fixture(t, api.Options{LoopbackOnly: true})
	ms := decodeMembers(t, do(t, s, "GET", "/api/v1/members", "", ""))
	if len(ms) != 1 || ms[0].Name == "" || !ms[0].Self {
		t.Fatalf("members = %+v, want this node named after the host", ms)
	}
}

func TestMembersCluster(t *testing.T) {
	b, s := clusterFixture(t, api.Options{LoopbackOnly: true})
	ms := decodeMembers(t, do(t, s, "GET", "/api/v1/members", "", ""))
	if len(ms) != 2 || ms[0].Name != "n0" || ms[1].Name != "n1" {
		t.Fatalf("members = %+v, want n0, n1 sorted by name", ms)
	}
	if !ms[1].Self || ms[1].Targets != 2 || ms[1].State != api.MemberAlive || ms[0].Self || ms[0].State != api.MemberDead || ms[0].Zone != "b" {
		t.Fatalf("members = %+v", ms)
	}
	// JSON names are the documented ones.
	r := do(t, s, "GET", "/api/v1/members", "", "")
	for _, k := range []string{`"name":"n1"`, `"state":"alive"`, `"targets":2`, `"self":true`, `"addr":"127.0.0.1:7946"`, `"api_addr":"127.0.0.1:7800"`, `"zone":"b"`, `"weight":2`} {
		if !strings.Contains(r.body, k) {
			t.Errorf("members body lacks %s: %s", k, r.body)
		}
	}

	r = do(t, s, "POST", "/api/v1/members/join", `{"addrs":[" 127.0.0.3:7946 ","heck-headless.default.svc.cluster.local"]}`, "")
	var jr api.JoinResponse
	if err := json.Unmarshal([]byte(r.body), &jr); err != nil || r.code != 200 {
		t.Fatalf("join = %d %s (%v)", r.code, r.body, err)
	}
	if jr.Contacted != 2 || len(jr.Members) != 4 {
		t.Fatalf("join = %+v, want 2 contacted and 4 members", jr)
	}
	if got := b.Joins(); len(got) != 1 || fmt.Sprint(got[0]) != "[127.0.0.3:7946 heck-headless.default.svc.cluster.local]" {
		t.Fatalf("backend joined %q, want the trimmed addresses", got)
	}

	r = do(t, s, "POST", "/api/v1/leave", "", "")
	var lr api.LeaveResponse
	if err := json.Unmarshal([]byte(r.body), &lr); err != nil || r.code != 200 || lr != (api.LeaveResponse{Name: "n1", State: api.MemberLeft}) {
		t.Fatalf("leave = %d %s (%v)", r.code, r.body, err)
	}
	// Leaving again is not an error (the backend says ErrLeft).
	if r := do(t, s, "POST", "/api/v1/leave", "", ""); r.code != 200 || b.Leaves() != 2 {
		t.Fatalf("second leave = %d %s (leaves %d)", r.code, r.body, b.Leaves())
	}
	r = do(t, s, "POST", "/api/v1/members/join", `{"addrs":["127.0.0.3"]}`, "")
	if p := r.problem(t); r.code != 409 || p.Type != api.TypeNodeLeft || !strings.Contains(p.Detail, "restart") {
		t.Fatalf("join after leave = %d %+v, want 409 node-left saying to restart", r.code, p)
	}
}

func TestJoinErrors(t *testing.T) {
	b, s := clusterFixture(t, api.Options{LoopbackOnly: true})
	tooMany := make([]string, api.MaxJoinAddrs+1)
	for i := range tooMany {
		tooMany[i] = fmt.Sprintf("%q", fmt.Sprintf("127.0.0.%d", i+1))
	}
	cases := []struct {
		name, body string
		code       int
		typ        string
		field      string // the field named in errors, when any
		detail     string
	}{
		{"empty body", "", 400, api.TypeInvalidJSON, "", `"addrs"`},
		{"malformed", `{"addrs":[`, 400, api.TypeInvalidJSON, "", "ends early"},
		{"unknown field", `{"adrs":["127.0.0.1"]}`, 400, api.TypeInvalidJSON, "adrs", ""},
		{"wrong type", `{"addrs":"127.0.0.1"}`, 400, api.TypeInvalidJSON, "addrs", ""},
		{"no addrs", `{}`, 422, api.TypeInvalidRequest, "addrs", ""},
		{"empty addrs", `{"addrs":[]}`, 422, api.TypeInvalidRequest, "addrs", ""},
		{"too many", `{"addrs":[` + strings.Join(tooMany, ",") + `]}`, 422, api.TypeInvalidRequest, "addrs", ""},
		{"blank", `{"addrs":["127.0.0.1", " "]}`, 422, api.TypeInvalidRequest, "addrs[1]", ""},
		{"url", `{"addrs":["http://127.0.0.1:7800"]}`, 422, api.TypeInvalidRequest, "addrs[0]", ""},
		{"port 0", `{"addrs":["127.0.0.1:0"]}`, 422, api.TypeInvalidRequest, "addrs[0]", ""},
		{"port too big", `{"addrs":["127.0.0.1:70000"]}`, 422, api.TypeInvalidRequest, "addrs[0]", ""},
		{"bare ipv6 with port", `{"addrs":["::1:7946:x"]}`, 422, api.TypeInvalidRequest, "addrs[0]", ""},
		{"bad host", `{"addrs":["no*such"]}`, 422, api.TypeInvalidRequest, "addrs[0]", ""},
		{"no host", `{"addrs":[":7946"]}`, 422, api.TypeInvalidRequest, "addrs[0]", ""},
		{"text body", "addrs=1", 400, api.TypeInvalidJSON, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := do(t, s, "POST", "/api/v1/members/join", c.body, "")
			p := r.problem(t)
			if r.code != c.code || p.Type != c.typ {
				t.Fatalf("join %s = %d %+v, want %d %s", c.body, r.code, p, c.code, c.typ)
			}
			if c.field != "" && (len(p.Errors) == 0 || p.Errors[0].Field != c.field || p.Errors[0].Fix == "") {
				t.Fatalf("problem errors = %+v, want field %s with a fix", p.Errors, c.field)
			}
			if !strings.Contains(p.Detail, c.detail) {
				t.Fatalf("detail %q lacks %q", p.Detail, c.detail)
			}
		})
	}
	if n := len(b.Joins()); n != 0 {
		t.Fatalf("bad requests reached the backend %d times", n)
	}

	t.Run("valid forms reach the backend", func(t *testing.T) {
		for _, a := range []string{"127.0.0.1", "127.0.0.1:7946", "[::1]:7946", "[::1]", "::1", "node-1.heck_x.local", "localhost:1"} {
			r := do(t, s, "POST", "/api/v1/members/join", `{"addrs":["`+a+`"]}`, "")
			if r.code != 200 {
				t.Errorf("join %q = %d %s, want 200", a, r.code, r.body)
			}
		}
	})
	t.Run("backend failure", func(t *testing.T) {
		b.SetJoinError(errors.New("127.0.0.9:7946: connection refused"))
		defer b.SetJoinError(nil)
		r := do(t, s, "POST", "/api/v1/members/join", `{"addrs":["127.0.0.9"]}`, "")
		p := r.problem(t)
		if r.code != 502 || p.Type != api.TypeJoinFailed || !strings.Contains(p.Detail, "connection refused") || !strings.Contains(p.Detail, "cluster.keys") {
			t.Fatalf("failed join = %d %+v", r.code, p)
		}
	})
	t.Run("backend not clustered", func(t *testing.T) {
		b.SetJoinError(fmt.Errorf("node: %w", api.ErrNotClustered))
		defer b.SetJoinError(nil)
		r := do(t, s, "POST", "/api/v1/members/join", `{"addrs":["127.0.0.9"]}`, "")
		if p := r.problem(t); r.code != 409 || p.Type != api.TypeNotClustered {
			t.Fatalf("join = %d %+v, want 409 not-clustered", r.code, p)
		}
	})
}

func TestLeaveErrors(t *testing.T) {
	b, s := clusterFixture(t, api.Options{LoopbackOnly: true})
	b.SetLeaveError(fmt.Errorf("node: %w", api.ErrNotClustered))
	r := do(t, s, "POST", "/api/v1/leave", "", "")
	if p := r.problem(t); r.code != 409 || p.Type != api.TypeNotClustered {
		t.Fatalf("leave = %d %+v, want 409 not-clustered", r.code, p)
	}
	b.SetLeaveError(errors.New("announce leave: timeout"))
	r = do(t, s, "POST", "/api/v1/leave", "", "")
	if p := r.problem(t); r.code != 500 || p.Type != api.TypeInternal || !strings.Contains(p.Detail, "announce leave: timeout") {
		t.Fatalf("leave = %d %+v, want 500 with the cause", r.code, p)
	}
}

func TestClusterRoutesAuthAndMethods(t *testing.T) {
	const tok = "s3cret"
	cases := []struct {
		name              string
		opts              api.Options
		token             string
		read, join, leave int
	}{
		{"loopback, no token", api.Options{LoopbackOnly: true}, "", 200, 200, 200},
		{"loopback, token, none sent", api.Options{LoopbackOnly: true, Token: tok}, "", 200, 401, 401},
		{"public, no token configured", api.Options{}, "", 403, 403, 403},
		{"public, token, none sent", api.Options{Token: tok}, "", 401, 401, 401},
		{"public, token, open reads", api.Options{Token: tok, OpenReads: true}, "", 200, 401, 401},
		{"public, token, right", api.Options{Token: tok}, tok, 200, 200, 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, s := clusterFixture(t, c.opts)
			if r := do(t, s, "GET", "/api/v1/members", "", c.token); r.code != c.read {
				t.Errorf("members = %d, want %d", r.code, c.read)
			}
			if r := do(t, s, "POST", "/api/v1/members/join", `{"addrs":["127.0.0.5"]}`, c.token); r.code != c.join {
				t.Errorf("join = %d, want %d", r.code, c.join)
			}
			if r := do(t, s, "POST", "/api/v1/leave", "", c.token); r.code != c.leave {
				t.Errorf("leave = %d, want %d", r.code, c.leave)
			}
			wantLeaves := 0
			if c.leave == 200 {
				wantLeaves = 1
			}
			if b.Leaves() != wantLeaves {
				t.Errorf("backend left %d times, want %d", b.Leaves(), wantLeaves)
			}
		})
	}

	_, s := clusterFixture(t, api.Options{LoopbackOnly: true})
	for _, c := range []struct{ method, path, allow string }{
		{"GET", "/api/v1/leave", "POST"},
		{"DELETE", "/api/v1/members", "GET"},
		{"GET", "/api/v1/members/join", "POST"},
	} {
		r := do(t, s, c.method, c.path, "", "")
		if p := r.problem(t); r.code != 405 || r.header.Get("Allow") != c.allow || p.Type != api.TypeMethodNotAllow {
			t.Errorf("%s %s = %d Allow %q, want 405 Allow %s", c.method, c.path, r.code, r.header.Get("Allow"), c.allow)
		}
	}
}
