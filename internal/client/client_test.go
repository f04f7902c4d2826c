package client_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/wire"

	"github.com/heckhq/heck/internal/api"
	"github.com/heckhq/heck/internal/api/apitest"
	"github.com/heckhq/heck/internal/client"
	"github.com/heckhq/heck/internal/events"
	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/history"
	"github.com/heckhq/heck/internal/store"
	"github.com/heckhq/heck/internal/target"
)

func setup(t *testing.T, opts api.Options, token string) (*apitest.Backend, *api.Server, *client.Client) {
	t.Helper()
	b := apitest.New()
	s, ts := apitest.Serve(t, b, opts)
	c, err := client.New(ts.URL+"/", token, ts.Client())
	if err != nil {
		t.Fatal(err)
	}
	return b, s, c
}

func TestClientTargets(t *testing.T) {
	b, _, c := setup(t, api.Options{LoopbackOnly: true}, "")
	ctx := context.Background()
	spec := target.Spec{ID: "web", Kind: target.KindHTTP, URL: "http://127.0.0.1:8080/", Labels: map[string]string{"env": "prod"}}
	st, err := c.AddTarget(ctx, spec)
	if err != nil || st.ID != "web" || st.State != health.Unknown {
		t.Fatalf("AddTarget = %+v, %v", st, err)
	}
	if _, err := c.AddTarget(ctx, spec); !client.IsConflict(err) {
		t.Fatalf("second AddTarget = %v, want a conflict", err)
	}
	spec2 := target.Spec{ID: "db", Kind: target.KindTCP, Address: "127.0.0.1:5432"}
	if _, created, err := c.PutTarget(ctx, spec2); err != nil || !created {
		t.Fatalf("PutTarget new = %v %v", created, err)
	}
	spec2.Address = "127.0.0.1:5433"
	if _, created, err := c.PutTarget(ctx, spec2); err != nil || created {
		t.Fatalf("PutTarget update = %v %v", created, err)
	}
	all, err := c.Targets(ctx, client.ListOptions{})
	if err != nil || len(all) != 2 || all[0].ID != "db" || all[0].Spec.Address != "127.0.0.1:5433" {
		t.Fatalf("Targets = %+v, %v", all, err)
	}
	prod, err := c.Targets(ctx, client.ListOptions{Labels: []string{"env=prod"}, Kind: "http", State: "unknown"})
	if err != nil || len(prod) != 1 || prod[0].ID != "web" {
		t.Fatalf("Targets filtered = %+v, %v", prod, err)
	}
	if _, err := c.Targets(ctx, client.ListOptions{State: "sideways"}); client.StatusOf(err) != 400 {
		t.Fatalf("bad filter = %v", err)
	}
	got, err := c.Target(ctx, "web")
	if err != nil || got.Spec.URL != spec.URL {
		t.Fatalf("Target = %+v, %v", got, err)
	}
	if _, err := c.Target(ctx, "nope"); !client.IsNotFound(err) {
		t.Fatalf("Target(nope) = %v", err)
	}
	if err := c.DeleteTarget(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteTarget(ctx, "web"); !client.IsNotFound(err) {
		t.Fatalf("second delete = %v", err)
	}

	// Validation problems come back with every field.
	_, err = c.AddTarget(ctx, target.Spec{ID: "bad", Kind: target.KindHTTP, URL: "ftp://x", Schedule: target.Schedule{Rise: -1}})
	var apiErr *client.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 422 || len(apiErr.Problem.Errors) != 2 {
		t.Fatalf("invalid AddTarget = %#v", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "url") || !strings.Contains(msg, "rise") {
		t.Fatalf("error message %q does not name the fields", msg)
	}

	b.SetHistory("db", []history.Point{{Count: 3}}, history.Uptime{Day: 1, Week: 0.5, Month: -1},
		[]events.Transition{{TargetID: "db", To: health.Up}, {TargetID: "db", To: health.Down}})
	h, err := c.History(ctx, "db", client.HistoryQuery{From: "-1h", Step: time.Minute})
	if err != nil || len(h.Points) != 1 || h.Step.D() != time.Minute || h.To.Sub(h.From) != time.Hour {
		t.Fatalf("History = %+v, %v", h, err)
	}
	if _, err := c.History(ctx, "db", client.HistoryQuery{From: "later"}); client.StatusOf(err) != 400 {
		t.Fatalf("bad History = %v", err)
	}
	if h.Scope != wire.ScopeCluster || h.Partial || b.LastScope() != wire.ScopeCluster {
		t.Fatalf("History without a scope: coverage %+v, backend asked for %q; want cluster, whole", h.Coverage, b.LastScope())
	}
	u, err := c.Uptime(ctx, "db", client.UptimeQuery{})
	if err != nil || u.Week != 0.5 || u.Month != -1 || u.Scope != wire.ScopeCluster {
		t.Fatalf("Uptime = %+v, %v", u, err)
	}
	b.SetCoverage(wire.Coverage{Observers: []string{"n1"}, Partial: true, Missing: []string{"n2"}})
	u, err = c.Uptime(ctx, "db", client.UptimeQuery{})
	if err != nil || !u.Partial || !slices.Equal(u.Missing, []string{"n2"}) || !slices.Equal(u.Observers, []string{"n1"}) {
		t.Fatalf("partial Uptime = %+v, %v; want partial, n2 missing, n1 observed", u, err)
	}
	h, err = c.History(ctx, "db", client.HistoryQuery{Scope: wire.ScopeLocal})
	if err != nil || h.Scope != wire.ScopeLocal || h.Partial || b.LastScope() != wire.ScopeLocal {
		t.Fatalf("local History = %+v, %v (backend asked for %q)", h.Coverage, err, b.LastScope())
	}
	if _, err := c.History(ctx, "db", client.HistoryQuery{Scope: "everywhere"}); client.StatusOf(err) != 400 {
		t.Fatalf("History of scope everywhere = %v, want 400", err)
	}

	t0 := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	var rs []store.Rollup
	for i := range 5 {
		r := store.Rollup{TargetID: "db", Minute: t0.Add(time.Duration(i) * time.Minute)}
		r.Add(i != 3, time.Duration(i+1)*time.Millisecond)
		rs = append(rs, r)
	}
	b.SetRollups("db", rs)
	rr, err := c.Rollups(ctx, "db", client.RollupQuery{From: t0.Add(time.Minute), To: t0.Add(5 * time.Minute), Step: 2 * time.Minute})
	if err != nil || rr.TargetID != "db" || !rr.From.Equal(t0.Add(time.Minute)) || rr.Step != 2*time.Minute || len(rr.Rollups) != 2 {
		t.Fatalf("Rollups = %+v, %v; want 2 groups of 2m from 03:01", rr, err)
	}
	if g := rr.Rollups[1]; !g.Minute.Equal(t0.Add(3*time.Minute)) || g.Count != 2 || g.Failures != 1 || g.LatencyMax != 5000 {
		t.Fatalf("second group %+v: want 03:03, 2 checks, 1 failure, max 5ms", g)
	}
	if _, err := c.Rollups(ctx, "nope", client.RollupQuery{From: t0, To: t0.Add(time.Hour)}); !client.IsTargetNotFound(err) {
		t.Fatalf("Rollups of an unknown target = %v, want a target-not-found answer", err)
	}
	ts, err := c.Transitions(ctx, "db", 1)
	if err != nil || len(ts) != 1 || ts[0].To != health.Up {
		t.Fatalf("Transitions = %+v, %v", ts, err)
	}
}

func TestClientHealthAndAuth(t *testing.T) {
	b, _, c := setup(t, api.Options{Token: "tok"}, "")
	ctx := context.Background()
	if err := c.Live(ctx); err != nil {
		t.Fatal(err)
	}
	b.SetReady(errors.New("store closed"))
	if err := c.Ready(ctx); client.StatusOf(err) != 503 || !strings.Contains(err.Error(), "store closed") {
		t.Fatalf("Ready = %v", err)
	}
	if _, err := c.Targets(ctx, client.ListOptions{}); client.StatusOf(err) != 401 {
		t.Fatalf("no token = %v, want 401", err)
	}
	_, _, good := setup(t, api.Options{Token: "tok"}, "tok")
	if _, err := good.Targets(ctx, client.ListOptions{}); err != nil {
		t.Fatalf("with token = %v", err)
	}
}

func TestClientEvents(t *testing.T) {
	b, _, c := setup(t, api.Options{LoopbackOnly: true}, "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan client.Event, 10)
	errc := make(chan error, 1)
	go func() {
		errc <- c.Events(ctx, "web", func(e client.Event) error {
			got <- e
			if e.Transition != nil && e.Transition.Cause == "stop" {
				return errors.New("stop")
			}
			return nil
		})
	}()
	// Publish until the stream is connected and the first event arrives.
	deadline := time.After(5 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var first client.Event
wait:
	for {
		select {
		case first = <-got:
			break wait
		case <-tick.C:
			b.Publish(events.Transition{TargetID: "web", To: health.Down, Cause: "refused"})
		case <-deadline:
			t.Fatal("no event arrived")
		}
	}
	if first.Transition == nil || first.Transition.To != health.Down || first.Transition.TargetID != "web" {
		t.Fatalf("first event = %+v", first)
	}
	b.Publish(events.Transition{TargetID: "other", Cause: "stop"}) // filtered out by the server
	b.Publish(events.Transition{TargetID: "web", Cause: "stop"})
	select {
	case err := <-errc:
		if err == nil || err.Error() != "stop" {
			t.Fatalf("Events = %v, want fn's error", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Events did not return fn's error")
	}
}

func TestNewRejectsBadURL(t *testing.T) {
	for _, u := range []string{"ftp://x", "http://", "::"} {
		if _, err := client.New(u, "", nil); err == nil {
			t.Errorf("New(%q) accepted", u)
		}
	}
	c, err := client.New("127.0.0.1:7800", "", nil)
	if err != nil || c.BaseURL() != "http://127.0.0.1:7800" {
		t.Fatalf("New without scheme = %v %v", c, err)
	}
}

// Follow with Reconnect resumes after a dropped connection from the last
// id it saw: the transitions published while it was away arrive once, in
// order, and none twice.
func TestClientFollowReconnects(t *testing.T) {
	b := apitest.New()
	_, ts := apitest.Serve(t, b, api.Options{LoopbackOnly: true})
	c, err := client.New(ts.URL+"/", "", ts.Client())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan client.Event, 100)
	lost := make(chan struct{}, 10)
	errc := make(chan error, 1)
	go func() {
		errc <- c.Follow(ctx, client.FollowOptions{
			Reconnect:   true,
			Retry:       10 * time.Millisecond,
			OnReconnect: func(error, time.Duration) { lost <- struct{}{} },
		}, func(e client.Event) error {
			got <- e
			return nil
		})
	}()
	// Publish until the stream is connected.
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(5 * time.Second)
	var seen []string
	warm := 0
wait:
	for {
		select {
		case e := <-got:
			seen = append(seen, e.ID)
			break wait
		case <-tick.C:
			warm++
			b.Publish(events.Transition{TargetID: "warm" + strconv.Itoa(warm), To: health.Down})
		case <-deadline:
			t.Fatal("no event arrived")
		}
	}
	// Drain what the warm-up left in flight, then drop the connection and
	// publish while the client is away.
	drained := false
	for !drained {
		select {
		case e := <-got:
			seen = append(seen, e.ID)
		case <-time.After(200 * time.Millisecond):
			drained = true
		}
	}
	ts.CloseClientConnections()
	select {
	case <-lost:
	case <-time.After(5 * time.Second):
		t.Fatal("the client did not notice the dropped connection")
	}
	var want []string
	for i := range 5 {
		to := health.Down
		if i%2 == 1 {
			to = health.Up
		}
		tr := b.Publish(events.Transition{TargetID: "web", To: to, At: time.Now(), Cause: "missed " + strconv.Itoa(i)})
		want = append(want, tr.ID)
	}
	var after []string
	for len(after) < len(want) {
		select {
		case e := <-got:
			if e.Transition.TargetID == "web" {
				after = append(after, e.ID)
			} else if slices.Contains(seen, e.ID) {
				t.Fatalf("transition %s arrived twice", e.ID)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("after the reconnect got %v, want %v", after, want)
		}
	}
	if !slices.Equal(after, want) {
		t.Fatalf("after the reconnect got %v, want %v in order", after, want)
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Follow = %v, want context.Canceled", err)
	}
}
