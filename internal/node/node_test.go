package node

// In-process tests of one node, end to end through its public surfaces: a
// node built by New from a config and run by Run on 127.0.0.1:0, driven and
// read only through the REST API (internal/client) and the test servers its
// targets point at. Every wait polls a condition with a deadline; probe
// intervals are 200 ms so the file stays fast under -race.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/api"
	"github.com/heckhq/heck/internal/client"
	"github.com/heckhq/heck/internal/config"
	"github.com/heckhq/heck/internal/events"
	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/metrics"
	"github.com/heckhq/heck/internal/target"
	"github.com/heckhq/heck/internal/testkit"
)

// ntInterval is every test target's probe interval.
const ntInterval = 200 * time.Millisecond

// ntPatience bounds every wait: generous, for -race on two busy cores.
const ntPatience = 15 * time.Second

// ntServer is a loopback HTTP target that counts its hits and answers
// with a status the test can change; tests probe it at /health.
type ntServer struct{ *testkit.Server }

func ntNewServer(t *testing.T) ntServer { return ntServer{testkit.NewServer(t)} }

func (s ntServer) url() string { return s.URL() + "/health" }

// ntWaiting is how every test here waits: polling every 20 ms for up to
// ntPatience.
var ntWaiting = testkit.Wait{Timeout: ntPatience, Every: 20 * time.Millisecond}

// ntConfig is a node config on 127.0.0.1:0 with its data in dir, probing
// every ntInterval with rise and fall 1 unless a target says otherwise.
func ntConfig(dir string, targets ...target.Spec) *config.Config {
	cfg := config.Default()
	cfg.Listen = "127.0.0.1:0"
	cfg.Node.Name = "nt"
	cfg.Node.DataDir = dir
	cfg.Store.Path = filepath.Join(dir, config.DefaultStoreFile)
	cfg.Defaults = target.Schedule{
		Interval: target.Duration(ntInterval),
		Timeout:  target.Duration(180 * time.Millisecond),
		Rise:     1,
		Fall:     1,
	}
	cfg.Targets = targets
	return cfg
}

func ntHTTP(id, url string) target.Spec {
	return target.Spec{ID: id, Kind: target.KindHTTP, URL: url}
}

func ntTCP(id, addr string) target.Spec {
	return target.Spec{ID: id, Kind: target.KindTCP, Address: addr}
}

// ntNode is a node running in this process.
type ntNode struct {
	n      *Node
	c      *client.Client
	base   string
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	err    error
}

// ntStart builds and runs a node on cfg; it is stopped at the end of the
// test if the test has not stopped it.
func ntStart(t *testing.T, cfg *config.Config) *ntNode {
	t.Helper()
	logs := &testkit.SyncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	n, err := New(ctx, cfg, log)
	if err != nil {
		cancel()
		t.Fatalf("node.New: %v", err)
	}
	nn := &ntNode{n: n, cancel: cancel, done: make(chan error, 1)}
	go func() { nn.done <- n.Run(ctx) }()
	t.Cleanup(func() {
		if err := nn.stop(); err != nil {
			t.Errorf("stopping the node: %v", err)
		}
		if t.Failed() {
			t.Logf("node log:\n%s", logs.String())
		}
	})
	actx, acancel := context.WithTimeout(ctx, ntPatience)
	defer acancel()
	addr := n.Addr(actx)
	if addr == nil {
		select {
		case err := <-nn.done:
			nn.done <- err
			t.Fatalf("node did not listen: Run returned %v", err)
		default:
			t.Fatal("node did not listen in time")
		}
	}
	nn.base = "http://" + addr.String()
	nn.c, err = client.New(nn.base, "", &http.Client{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return nn
}

// stop cancels the node's context and waits for Run to return its error.
func (nn *ntNode) stop() error {
	nn.once.Do(func() {
		nn.cancel()
		select {
		case nn.err = <-nn.done:
		case <-time.After(ntPatience):
			nn.err = errors.New("Run did not return within the deadline after its context was cancelled")
		}
	})
	return nn.err
}

// ntWait polls cond until it returns nil, failing the test at the deadline
// with cond's last error.
func ntWait(t *testing.T, what string, cond func() error) {
	t.Helper()
	ntWaiting.Until(t, what, cond)
}

// waitState waits for target id to be in state want and returns its status.
func (nn *ntNode) waitState(t *testing.T, id string, want health.State) api.TargetStatus {
	t.Helper()
	var st api.TargetStatus
	ntWait(t, fmt.Sprintf("%s to be %s", id, want), func() error {
		var err error
		st, err = nn.c.Target(context.Background(), id)
		if err != nil {
			return err
		}
		if st.State != want {
			return fmt.Errorf("state %s (cause %q)", st.State, st.Cause)
		}
		return nil
	})
	return st
}

// waitHits waits until s has had n more hits than it has now; tests use a
// steady target's hits as a clock to wait for probes that must not happen.
func (s ntServer) waitHits(t *testing.T, n int64) {
	t.Helper()
	s.WaitHits(t, ntWaiting, n)
}

func ntGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", url, err)
	}
	return resp.StatusCode, string(b)
}

// TestNodeStatesAndCauses runs one node over targets of every outcome and
// checks each settles in the right state with the right cause, and that
// the health endpoints and metrics answer.
func TestNodeStatesAndCauses(t *testing.T) {
	t.Parallel()
	ok := ntNewServer(t)
	failing := ntNewServer(t)
	failing.SetStatus(http.StatusServiceUnavailable)
	closed := testkit.ClosedAddr(t)

	cases := []struct {
		spec  target.Spec
		state health.State
		cause string
	}{
		{ntHTTP("http-ok", ok.url()), health.Up, "HTTP 200"},
		{ntHTTP("http-503", failing.url()), health.Down, "503"},
		{ntTCP("tcp-open", ok.Addr()), health.Up, "connected"},
		{ntTCP("tcp-closed", closed), health.Down, "refused"},
		{ntHTTP("http-closed", "http://"+closed+"/"), health.Down, "refused"},
	}
	var specs []target.Spec
	for _, c := range cases {
		specs = append(specs, c.spec)
	}
	nn := ntStart(t, ntConfig(t.TempDir(), specs...))
	for _, c := range cases {
		t.Run(c.spec.ID, func(t *testing.T) {
			st := nn.waitState(t, c.spec.ID, c.state)
			if !ntCauseIs(st.Cause, c.cause) {
				t.Errorf("cause %q, want it to contain %q", st.Cause, c.cause)
			}
			if st.Last == nil || st.Last.OK != (c.state == health.Up) {
				t.Errorf("last result %+v, want ok=%v", st.Last, c.state == health.Up)
			}
			if st.Since.IsZero() {
				t.Error("since is zero after a transition")
			}
			if st.Kind != c.spec.Kind || st.Spec.Origin != config.TargetOrigin {
				t.Errorf("kind %q origin %q, want %q and %q", st.Kind, st.Spec.Origin, c.spec.Kind, config.TargetOrigin)
			}
			// The first transition (oldest, listed last); a probe slowed
			// past its timeout on a loaded machine may add more. The
			// scheduler shows a new state a moment before the transition
			// is recorded, so wait for it.
			ntWait(t, "the first transition", func() error {
				ts, err := nn.c.Transitions(context.Background(), c.spec.ID, 0)
				if err != nil {
					return err
				}
				if len(ts) == 0 {
					return errors.New("no transition")
				}
				if first := ts[len(ts)-1]; first.From != health.Unknown || first.To != c.state || !ntCauseIs(first.Cause, c.cause) {
					t.Fatalf("transitions %+v, want first unknown -> %s with a cause containing %q", ts, c.state, c.cause)
				}
				return nil
			})
		})
	}

	// The listing filters by state.
	downs, err := nn.c.Targets(context.Background(), client.ListOptions{State: "down"})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, d := range downs {
		ids = append(ids, d.ID)
	}
	if want := []string{"http-503", "http-closed", "tcp-closed"}; !slices.Equal(ids, want) {
		t.Errorf("down targets %v, want %v", ids, want)
	}

	for _, path := range []string{"/livez", "/readyz"} {
		if code, body := ntGet(t, nn.base+path); code != http.StatusOK || !strings.Contains(body, "ok") {
			t.Errorf("GET %s: %d %q, want 200 ok", path, code, body)
		}
	}
	code, body := ntGet(t, nn.base+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics: %d", code)
	}
	for _, want := range []string{metrics.NameChecks, metrics.NameTransitions, `heck_target_up{id="http-ok"} 1`, `heck_target_up{id="tcp-closed"} 0`} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics has no %q", want)
		}
	}
}

// TestNodeRiseFall checks HAProxy's rise and fall: a target turns up only
// after rise successes in a row and down only after fall failures in a row,
// as its recent results show at every moment.
func TestNodeRiseFall(t *testing.T) {
	t.Parallel()
	srv := ntNewServer(t)
	spec := ntHTTP("flappy", srv.url())
	spec.Rise, spec.Fall = 3, 3
	nn := ntStart(t, ntConfig(t.TempDir(), spec))
	ctx := context.Background()

	// streak counts the newest results in a row that have ok.
	streak := func(rs []api.Result, ok bool) int {
		n := 0
		for _, r := range rs {
			if r.OK != ok {
				break
			}
			n++
		}
		return n
	}
	// check asserts the state agrees with the results at this moment; it
	// returns the state.
	check := func(before health.State) health.State {
		t.Helper()
		st, err := nn.c.Target(ctx, "flappy")
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case st.State != before && st.State == health.Up && streak(st.Recent, true) < 3:
			t.Fatalf("up after %d successes in a row, want 3: %+v", streak(st.Recent, true), st.Recent)
		case st.State != before && st.State == health.Down && streak(st.Recent, false) < 3:
			t.Fatalf("down after %d failures in a row, want 3: %+v", streak(st.Recent, false), st.Recent)
		case st.State == before && before == health.Unknown && streak(st.Recent, true) >= 4:
			// One more result than rise may land between the state and the
			// results being read; two more cannot.
			t.Fatalf("still unknown after %d successes in a row, want up at 3", streak(st.Recent, true))
		case st.State == before && before == health.Up && streak(st.Recent, false) >= 4:
			t.Fatalf("still up after %d failures in a row, want down at 3", streak(st.Recent, false))
		}
		return st.State
	}

	state := health.Unknown
	sawPending := false
	ntWait(t, "flappy to rise", func() error {
		if state = check(state); state != health.Up {
			return fmt.Errorf("state %s", state)
		}
		return nil
	})
	srv.SetStatus(http.StatusInternalServerError)
	ntWait(t, "flappy to fall", func() error {
		st, err := nn.c.Target(ctx, "flappy")
		if err == nil && st.State == health.Up && len(st.Recent) > 0 && !st.Recent[0].OK {
			sawPending = true // a failure seen while still up
		}
		if state = check(state); state != health.Down {
			return fmt.Errorf("state %s", state)
		}
		return nil
	})
	if !sawPending {
		t.Log("never caught the target up with a failure pending (fall happened between polls)")
	}
	var ts []events.Transition
	ntWait(t, "two transitions", func() error {
		var err error
		if ts, err = nn.c.Transitions(ctx, "flappy", 0); err == nil && len(ts) < 2 {
			err = fmt.Errorf("%d transitions", len(ts))
		}
		return err
	})
	if len(ts) != 2 || ts[0].To != health.Down || ts[1].To != health.Up || !ntCauseIs(ts[0].Cause, "500") {
		t.Errorf("transitions %+v, want up then down (cause HTTP 500)", ts)
	}
}

// ntCauseIs reports whether cause says want, or that the probe timed out:
// on a starved machine a probe can miss its timeout, and the result that
// tips the state is then a timeout.
func ntCauseIs(cause, want string) bool {
	return strings.Contains(cause, want) || strings.Contains(cause, "timed out")
}

// TestNodeRuntimeChanges adds, updates and deletes a target through the
// API while another runs, and checks each change reaches the probes at
// once without disturbing the other target.
func TestNodeRuntimeChanges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	steady := ntNewServer(t) // also the clock of "no more hits"
	first := ntNewServer(t)
	second := ntNewServer(t)
	// Fall 3: one probe slowed past its timeout on a loaded machine must
	// not count as a disturbance.
	steadySpec := ntHTTP("steady", steady.url())
	steadySpec.Fall = 3
	nn := ntStart(t, ntConfig(t.TempDir(), steadySpec))
	before := nn.waitState(t, "steady", health.Up)

	// Add.
	added := ntHTTP("added", first.url())
	added.Labels = map[string]string{"via": "api"}
	st, err := nn.c.AddTarget(ctx, added)
	if err != nil {
		t.Fatalf("add: %v", err)
	}
	if st.ID != "added" || st.Spec.Origin != "" {
		t.Errorf("add answered %+v, want id added with no origin", st)
	}
	if _, err := nn.c.AddTarget(ctx, added); !client.IsConflict(err) {
		t.Errorf("adding the same id again: %v, want a conflict", err)
	}
	nn.waitState(t, "added", health.Up)
	first.waitHits(t, 2)

	// Update: a new URL; probes move from first to second.
	updated := ntHTTP("added", second.url())
	updated.Labels = map[string]string{"via": "api", "v": "2"}
	if _, created, err := nn.c.PutTarget(ctx, updated); err != nil || created {
		t.Fatalf("update: created=%v err=%v, want a replacement", created, err)
	}
	second.waitHits(t, 2)
	// (A probe with the old spec may have been in flight.)
	if n := first.HitsWhile(t, ntWaiting, steady.Server, 4); n != 0 {
		t.Errorf("the old URL got %d hits after the update", n)
	}
	got, err := nn.c.Target(ctx, "added")
	if err != nil {
		t.Fatal(err)
	}
	if got.Spec.URL != second.url() || got.Labels["v"] != "2" {
		t.Errorf("after update: url %q labels %v", got.Spec.URL, got.Labels)
	}

	// Delete: probing stops.
	if err := nn.c.DeleteTarget(ctx, "added"); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := nn.c.Target(ctx, "added"); !client.IsNotFound(err) {
		t.Errorf("get after delete: %v, want not found", err)
	}
	if err := nn.c.DeleteTarget(ctx, "added"); !client.IsNotFound(err) {
		t.Errorf("deleting again: %v, want not found", err)
	}
	if n := second.HitsWhile(t, ntWaiting, steady.Server, 4); n != 0 {
		t.Errorf("a deleted target got %d more hits", n)
	}

	// The steady target never noticed: same state since the start, one
	// transition, probes all along.
	after, err := nn.c.Target(ctx, "steady")
	if err != nil {
		t.Fatal(err)
	}
	if after.State != health.Up || !after.Since.Equal(before.Since) {
		t.Errorf("steady went from up since %v to %s since %v", before.Since, after.State, after.Since)
	}
	ts, err := nn.c.Transitions(ctx, "steady", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 1 {
		t.Errorf("steady has %d transitions, want 1: %+v", len(ts), ts)
	}
	list, err := nn.c.Targets(ctx, client.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].ID != "steady" {
		t.Errorf("targets %+v, want steady alone", list)
	}
}

// TestNodeSecrets checks ${VAR} expansion: the probe gets the value, the
// API shows the reference and never the value, and a reference to an unset
// variable turns the target down with a message naming the variable.
func TestNodeSecrets(t *testing.T) {
	const secret = "s3cret-value-that-must-not-leak"
	t.Setenv("NT_TEST_SECRET", secret)
	ctx := context.Background()
	srv := ntNewServer(t)

	withHeader := func(id, name, value string) target.Spec {
		s := ntHTTP(id, srv.url())
		s.HTTP = &target.HTTPOptions{Headers: map[string]string{name: value}}
		return s
	}
	nn := ntStart(t, ntConfig(t.TempDir(),
		withHeader("cfg-secret", "X-Api-Key", "${NT_TEST_SECRET}"),
		withHeader("cfg-unset", "Authorization", "Bearer ${NT_TEST_UNSET_VAR}"),
		withHeader("cfg-literal", "Authorization", "Bearer literal-"+secret),
	))
	if _, err := nn.c.AddTarget(ctx, withHeader("api-unset", "X-Token", "${NT_TEST_UNSET_OTHER}")); err != nil {
		t.Fatalf("adding a target with an unset variable: %v", err)
	}

	nn.waitState(t, "cfg-secret", health.Up)
	ntWait(t, "the secret header at the server", func() error {
		if got := srv.LastHeader("X-Api-Key"); got != secret {
			return fmt.Errorf("X-Api-Key %q", got)
		}
		return nil
	})
	for id, name := range map[string]string{"cfg-unset": "NT_TEST_UNSET_VAR", "api-unset": "NT_TEST_UNSET_OTHER"} {
		// No timeout here: the prober fails at once, without I/O.
		st := nn.waitState(t, id, health.Down)
		if !strings.Contains(st.Cause, name) || !strings.Contains(st.Cause, "not set") {
			t.Errorf("%s: cause %q, want it to name %s as not set", id, st.Cause, name)
		}
	}

	for _, path := range []string{"/api/v1/targets", "/api/v1/targets/cfg-secret", "/api/v1/targets/cfg-literal", "/metrics"} {
		code, body := ntGet(t, nn.base+path)
		if code != http.StatusOK {
			t.Errorf("GET %s: %d", path, code)
		}
		if strings.Contains(body, secret) {
			t.Errorf("GET %s shows the secret value:\n%s", path, body)
		}
	}
	st, err := nn.c.Target(ctx, "cfg-secret")
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Spec.HTTP.Headers["X-Api-Key"]; got != "${NT_TEST_SECRET}" {
		t.Errorf("spec shows X-Api-Key %q, want the reference as written", got)
	}
	st, err = nn.c.Target(ctx, "cfg-literal")
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Spec.HTTP.Headers["Authorization"]; got != target.Redacted {
		t.Errorf("spec shows a literal Authorization as %q, want %q", got, target.Redacted)
	}
}

// TestNodeDenyNetworks checks probe.deny_networks: targets at a denied
// address, directly or through a redirect, go down with a clear message,
// and the denied address never sees a connection.
func TestNodeDenyNetworks(t *testing.T) {
	t.Parallel()
	denied, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("cannot listen on 127.0.0.2 (this system routes only 127.0.0.1 to loopback): %v", err)
	}
	var accepted atomic.Int64
	go func() {
		for {
			c, err := denied.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	t.Cleanup(func() { denied.Close() })
	deniedAddr := denied.Addr().String()

	redirects := 0
	var mu sync.Mutex
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		redirects++
		mu.Unlock()
		http.Redirect(w, r, "http://"+deniedAddr+"/metadata", http.StatusFound)
	}))
	t.Cleanup(redirector.Close)
	allowed := ntNewServer(t)

	cfg := ntConfig(t.TempDir(),
		ntHTTP("http-denied", "http://"+deniedAddr+"/"),
		ntTCP("tcp-denied", deniedAddr),
		ntHTTP("redirect-denied", redirector.URL+"/"),
		ntHTTP("allowed", allowed.url()),
	)
	cfg.Probe.DenyNetworks = append(cfg.Probe.DenyNetworks, "127.0.0.2/32")
	nn := ntStart(t, cfg)

	nn.waitState(t, "allowed", health.Up)
	for _, id := range []string{"http-denied", "tcp-denied", "redirect-denied"} {
		st := nn.waitState(t, id, health.Down)
		if !strings.Contains(st.Cause, "denied network 127.0.0.2/32") {
			t.Errorf("%s: cause %q, want a refusal naming the denied network 127.0.0.2/32", id, st.Cause)
		}
	}
	// A few more rounds of refusals before counting connections.
	allowed.waitHits(t, 3)
	mu.Lock()
	r := redirects
	mu.Unlock()
	if r == 0 {
		t.Error("the redirecting server was never asked; the redirect case proved nothing")
	}
	if n := accepted.Load(); n != 0 {
		t.Errorf("the denied address accepted %d connections, want none", n)
	}
}

// TestNodeDenyByName checks the deny-list applies to the addresses a name
// resolves to: "localhost" with all of loopback denied is refused before
// any connection is made.
func TestNodeDenyByName(t *testing.T) {
	t.Parallel()
	if addrs, err := net.DefaultResolver.LookupHost(context.Background(), "localhost"); err != nil || len(addrs) == 0 {
		t.Skipf("localhost does not resolve here (%v); nothing to test", err)
	}
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	port := srv.Listener.Addr().(*net.TCPAddr).Port

	cfg := ntConfig(t.TempDir(),
		ntHTTP("by-name", fmt.Sprintf("http://localhost:%d/", port)),
		ntTCP("tcp-by-name", fmt.Sprintf("localhost:%d", port)),
	)
	cfg.Probe.DenyNetworks = append(cfg.Probe.DenyNetworks, "127.0.0.0/8", "::1/128")
	nn := ntStart(t, cfg)
	for _, id := range []string{"by-name", "tcp-by-name"} {
		st := nn.waitState(t, id, health.Down)
		if !strings.Contains(st.Cause, "denied network") {
			t.Errorf("%s: cause %q, want a refusal naming the denied network", id, st.Cause)
		}
		ntWait(t, "three refusals of "+id, func() error {
			st, err := nn.c.Target(context.Background(), id)
			if err != nil {
				return err
			}
			if len(st.Recent) < 3 {
				return fmt.Errorf("%d results", len(st.Recent))
			}
			return nil
		})
	}
	if n := conns.Load(); n != 0 {
		t.Errorf("the server behind the denied name got %d connections, want none", n)
	}
}

// TestNodeRestart stops a node and starts a new one on the same data
// directory: targets (the API's too) and their history survive, and a
// config target removed from the file is gone while the API's stays.
func TestNodeRestart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	srv := ntNewServer(t)
	apiSrv := ntNewServer(t)
	closed := testkit.ClosedAddr(t)
	keep := ntHTTP("cfg-keep", srv.url())
	drop := ntTCP("cfg-drop", closed)

	nn := ntStart(t, ntConfig(dir, keep, drop))
	added := ntHTTP("api-added", apiSrv.url())
	added.Name = "added through the API"
	if _, err := nn.c.AddTarget(ctx, added); err != nil {
		t.Fatal(err)
	}
	nn.waitState(t, "cfg-keep", health.Up)
	nn.waitState(t, "cfg-drop", health.Down)
	nn.waitState(t, "api-added", health.Up)
	srv.waitHits(t, 2)

	type saved struct {
		transitions []events.Transition
		checks      uint32
	}
	before := map[string]saved{}
	for _, id := range []string{"cfg-keep", "api-added"} {
		var ts []events.Transition
		ntWait(t, "a transition of "+id, func() error {
			var err error
			if ts, err = nn.c.Transitions(ctx, id, 0); err == nil && len(ts) == 0 {
				err = errors.New("none yet")
			}
			return err
		})
		before[id] = saved{ts, ntChecks(t, nn, id)}
	}
	if err := nn.stop(); err != nil {
		t.Fatalf("Run returned %v after its context was cancelled, want nil", err)
	}
	hitsAtStop := srv.Hits()

	// The same data directory, and the config without cfg-drop and with
	// cfg-keep changed.
	keep.Labels = map[string]string{"changed": "yes"}
	nn2 := ntStart(t, ntConfig(dir, keep))
	list, err := nn2.c.Targets(ctx, client.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, st := range list {
		ids = append(ids, st.ID)
	}
	if want := []string{"api-added", "cfg-keep"}; !slices.Equal(ids, want) {
		t.Errorf("targets after restart %v, want %v", ids, want)
	}
	st, err := nn2.c.Target(ctx, "api-added")
	if err != nil {
		t.Fatal(err)
	}
	if st.Spec.URL != added.URL || st.Name != added.Name || st.Spec.Origin != "" {
		t.Errorf("api-added after restart: %+v", st.Spec)
	}
	if st, err := nn2.c.Target(ctx, "cfg-keep"); err != nil || st.Labels["changed"] != "yes" {
		t.Errorf("cfg-keep after its config changed: labels %v (err %v), want changed=yes", st.Labels, err)
	}
	if _, err := nn2.c.Target(ctx, "cfg-drop"); !client.IsNotFound(err) {
		t.Errorf("cfg-drop after it left the config: %v, want not found", err)
	}
	for id, b := range before {
		ts, err := nn2.c.Transitions(ctx, id, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, old := range b.transitions {
			if !slices.ContainsFunc(ts, func(n events.Transition) bool {
				return n.From == old.From && n.To == old.To && n.At.Equal(old.At) && n.Cause == old.Cause
			}) {
				t.Errorf("%s: transition %+v lost in the restart; now %+v", id, old, ts)
			}
		}
		if got := ntChecks(t, nn2, id); got < b.checks {
			t.Errorf("%s: history holds %d checks after the restart, %d before", id, got, b.checks)
		}
		u, err := nn2.c.Uptime(ctx, id, client.UptimeQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if u.Day <= 0 {
			t.Errorf("%s: uptime over 24h %v after restart, want above 0", id, u.Day)
		}
	}
	// And probing resumes.
	ntWait(t, "probes after the restart", func() error {
		if srv.Hits() <= hitsAtStop {
			return errors.New("no hit yet")
		}
		return nil
	})
	nn2.waitState(t, "cfg-keep", health.Up)
}

// ntChecks sums the checks of id's history over the last hour.
func ntChecks(t *testing.T, nn *ntNode, id string) uint32 {
	t.Helper()
	h, err := nn.c.History(context.Background(), id, client.HistoryQuery{From: "-1h", Step: time.Minute})
	if err != nil {
		t.Fatalf("history of %s: %v", id, err)
	}
	var n uint32
	for _, p := range h.Points {
		n += p.Count
	}
	return n
}
