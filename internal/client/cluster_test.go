package client_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/heckhq/heck/internal/wire"

	"github.com/heckhq/heck/internal/api"
	"github.com/heckhq/heck/internal/api/apitest"
	"github.com/heckhq/heck/internal/client"
)

func clusterSetup(t *testing.T, opts api.Options, token string) (*apitest.Cluster, *client.Client) {
	t.Helper()
	b := apitest.NewCluster("n1")
	_, ts := apitest.Serve(t, b, opts)
	c, err := client.New(ts.URL, token, ts.Client())
	if err != nil {
		t.Fatal(err)
	}
	return b, c
}

func TestClientMembersJoinLeave(t *testing.T) {
	b, c := clusterSetup(t, api.Options{LoopbackOnly: true}, "")
	ctx := context.Background()
	ms, err := c.Members(ctx)
	if err != nil || len(ms) != 1 || ms[0].Name != "n1" || !ms[0].Self || ms[0].State != wire.MemberAlive {
		t.Fatalf("Members = %+v, %v", ms, err)
	}
	jr, err := c.Join(ctx, "127.0.0.2:7946", "127.0.0.3")
	if err != nil || jr.Contacted != 2 || len(jr.Members) != 3 || jr.Members[0].Name != "127.0.0.2:7946" {
		t.Fatalf("Join = %+v, %v", jr, err)
	}
	if _, err := c.Join(ctx, "http://x"); client.StatusOf(err) != 422 || !strings.Contains(err.Error(), "addrs[0]") {
		t.Fatalf("Join(bad) = %v, want 422 naming addrs[0]", err)
	}
	b.SetJoinError(errors.New("connection refused"))
	if _, err := c.Join(ctx, "127.0.0.9"); client.StatusOf(err) != 502 || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("Join(failing) = %v, want 502 with the cause", err)
	}
	lr, err := c.Leave(ctx)
	if err != nil || lr.Name != "n1" || lr.State != wire.MemberLeft {
		t.Fatalf("Leave = %+v, %v", lr, err)
	}
	ms, err = c.Members(ctx)
	if err != nil || ms[len(ms)-1].Name != "n1" || ms[len(ms)-1].State != wire.MemberLeft {
		t.Fatalf("Members after leave = %+v, %v", ms, err)
	}
}

func TestClientClusterAuth(t *testing.T) {
	_, anon := clusterSetup(t, api.Options{Token: "tok"}, "")
	ctx := context.Background()
	if _, err := anon.Members(ctx); client.StatusOf(err) != 401 {
		t.Fatalf("Members without token = %v", err)
	}
	if _, err := anon.Leave(ctx); client.StatusOf(err) != 401 {
		t.Fatalf("Leave without token = %v", err)
	}
	b, good := clusterSetup(t, api.Options{Token: "tok"}, "tok")
	if _, err := good.Leave(ctx); err != nil || b.Leaves() != 1 {
		t.Fatalf("Leave with token = %v (leaves %d)", err, b.Leaves())
	}
}
