package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/client"
	"github.com/heckhq/heck/internal/events"
	"github.com/heckhq/heck/internal/testkit"
)

// TestServeSIGTERMAndRestart stops heck serve with SIGTERM while a probe is
// in flight: the probe finishes, heck exits 0 within seconds, and a restart
// on the same data directory has the same targets (the API's too), their
// transitions and the history of every probe made before the stop.
func TestServeSIGTERMAndRestart(t *testing.T) {
	t.Parallel()
	const slowFor = 400 * time.Millisecond
	var started, completed, cancelled atomic.Int64
	entered := make(chan struct{}, 64)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started.Add(1)
		select {
		case entered <- struct{}{}:
		default:
		}
		select {
		case <-time.After(slowFor):
			completed.Add(1)
			io.WriteString(w, "slow but fine")
		case <-r.Context().Done():
			cancelled.Add(1)
		}
	}))
	t.Cleanup(slow.Close)
	fast := testkit.NewServer(t)
	closed := testkit.ClosedAddr(t)

	dir := t.TempDir()
	config := func(port int) []string {
		writeFile(t, dir, "heck.yaml", fmt.Sprintf(`listen: 127.0.0.1:%d
node:
  name: e2e
  data_dir: ./state
defaults:
  interval: 300ms
  timeout: 200ms
  rise: 1
  fall: 1
targets:
  - id: slow
    kind: http
    url: %s/slow
    interval: 1s
    timeout: 800ms
  - id: fast
    kind: http
    url: %s/fast
  - id: closed
    kind: tcp
    address: %s
`, port, slow.URL, fast.URL(), closed))
		return []string{"--config", "heck.yaml"}
	}
	n := serve(t, dir, nil, config)
	r := heck(t, dir, nil, "targets", "add", "--server", n.url, "--id", "api-added", "--kind", "tcp",
		"--address", fast.Addr(), "--interval", "300ms", "--timeout", "200ms", "--rise", "1")
	if r.Code != 0 {
		t.Fatalf("heck targets add: %s", r)
	}
	want := map[string]string{"slow": "up", "fast": "up", "closed": "down", "api-added": "up"}
	n.waitStates(t, want)

	ctx := context.Background()
	before := map[string][]events.Transition{}
	for id := range want {
		// A new state shows a moment before its transition is recorded.
		waitFor(t, "a transition of "+id, func() error {
			ts, err := n.c.Transitions(ctx, id, 0)
			if err == nil && len(ts) == 0 {
				err = errors.New("none yet")
			}
			before[id] = ts
			return err
		})
	}

	// SIGTERM while the slow probe is in its handler.
	for len(entered) > 0 {
		<-entered
	}
	select {
	case <-entered:
	case <-time.After(patience):
		t.Fatal("no slow probe started")
	}
	code, took := n.Stop(t)
	if code != 0 {
		t.Errorf("heck serve exited %d on SIGTERM, want 0", code)
	}
	if took > 5*time.Second {
		t.Errorf("heck serve took %s to exit on SIGTERM, want a few seconds at most", took)
	}
	startedAtStop := started.Load()
	waitFor(t, "the slow server to see every probe end", func() error {
		if got := completed.Load() + cancelled.Load(); got != startedAtStop {
			return errAt(got, startedAtStop)
		}
		return nil
	})
	if c := cancelled.Load(); c != 0 {
		t.Errorf("%d in-flight probe(s) were cut off by the shutdown instead of drained", c)
	}

	// Restart on the same directory and read everything back.
	n2 := serve(t, dir, nil, config)
	got := n2.lsJSON(t)
	ids := make([]string, 0, len(got))
	for id := range got {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"api-added", "closed", "fast", "slow"}) {
		t.Errorf("targets after the restart: %v", ids)
	}
	for id, old := range before {
		ts, err := n2.c.Transitions(ctx, id, 0)
		if err != nil {
			t.Fatalf("transitions of %s after the restart: %v", id, err)
		}
		for _, o := range old {
			if !slices.ContainsFunc(ts, func(n events.Transition) bool {
				return n.From == o.From && n.To == o.To && n.At.Equal(o.At) && n.Cause == o.Cause
			}) {
				t.Errorf("%s: transition %+v lost in the restart; now %+v", id, o, ts)
			}
		}
	}
	// Every slow probe made before the stop, the drained one included, is
	// in the history; none made after the restart is missing from the
	// server's count.
	h, err := n2.c.History(ctx, "slow", client.HistoryQuery{From: "-1h", Step: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	var checks int64
	for _, p := range h.Points {
		checks += int64(p.Count)
	}
	if checks < startedAtStop || checks > started.Load() {
		t.Errorf("history of slow holds %d checks after the restart; %d probes were made before the stop, %d in all",
			checks, startedAtStop, started.Load())
	}
	if code, _ := n2.Stop(t); code != 0 {
		t.Errorf("second heck serve exited %d on SIGTERM", code)
	}
}

// TestServeBadConfig checks heck serve refuses a broken config with every
// problem on stderr and exit 2.
func TestServeBadConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "broken.yaml", brokenConfig)
	p := start(t, dir, nil, "serve", "--config", "broken.yaml")
	if code := p.Wait(t, patience); code != 2 {
		t.Errorf("heck serve --config broken.yaml: exit %d, want 2", code)
	}
	stderr := p.Stderr.String()
	for _, want := range append(brokenProblems, "4 problem(s)") {
		if !strings.Contains(stderr, want) {
			t.Errorf("heck serve --config broken.yaml: stderr lacks %q\n%s", want, stderr)
		}
	}
	r := heck(t, dir, nil, "serve", "--config", "missing.yaml")
	if r.Code != 2 || !strings.Contains(r.Stderr, "missing.yaml") {
		t.Errorf("heck serve --config missing.yaml: want exit 2 naming the file\n%s", r)
	}
	// A port in use is an error that says which address and how to fix it.
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	r = heck(t, dir, nil, "serve", "--listen", held.Addr().String(), "--data-dir", "d")
	if r.Code != 2 || !strings.Contains(r.Stderr, held.Addr().String()) || !strings.Contains(r.Stderr, "--listen") {
		t.Errorf("heck serve on a port in use: want exit 2 naming the address and --listen\n%s", r)
	}
	r = heck(t, dir, nil, "serve", "--listen", "127.0.0.1:notaport", "--data-dir", "d")
	if r.Code != 2 || !strings.Contains(r.Stderr, "--listen") {
		t.Errorf("heck serve --listen 127.0.0.1:notaport: want exit 2 naming --listen\n%s", r)
	}
}

// TestServeBeyondLoopback checks the documented rule: an API that listens
// beyond loopback needs api.token (heck serve refuses to start without
// one), and then reads and changes need the bearer token. The test only
// ever connects to 127.0.0.1.
func TestServeBeyondLoopback(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	port := testkit.FreePort(t)
	r := heck(t, dir, nil, "serve", "--listen", "0.0.0.0:"+itoa(port), "--data-dir", "d")
	if r.Code != 2 || !strings.Contains(r.Stderr, "--listen") || !strings.Contains(r.Stderr, "api.token") {
		t.Errorf("heck serve --listen 0.0.0.0:PORT without a token: want exit 2 naming --listen and api.token\n%s", r)
	}
	writeFile(t, dir, "open.yaml", fmt.Sprintf("listen: 0.0.0.0:%d\n", port))
	r = heck(t, dir, nil, "serve", "--config", "open.yaml")
	if r.Code != 2 || !strings.Contains(r.Stderr, "open.yaml:1") || !strings.Contains(r.Stderr, "api.token") {
		t.Errorf("heck serve on a config listening on 0.0.0.0 without a token: want exit 2 at open.yaml:1 naming api.token\n%s", r)
	}

	const token = "e2e-token-0123456789"
	env := []string{"E2E_API_TOKEN=" + token}
	n := serve(t, dir, env, func(port int) []string {
		writeFile(t, dir, "guarded.yaml", fmt.Sprintf("listen: 0.0.0.0:%d\napi:\n  token: ${E2E_API_TOKEN}\n", port))
		return []string{"--config", "guarded.yaml"}
	})
	spec := `{"id":"x","kind":"tcp","address":"127.0.0.1:9"}`
	cases := []struct {
		method, path, token, body string
		want                      int
	}{
		{http.MethodGet, "/livez", "", "", http.StatusOK},
		{http.MethodGet, "/api/v1/targets", "", "", http.StatusUnauthorized},
		{http.MethodGet, "/api/v1/targets", "wrong", "", http.StatusUnauthorized},
		{http.MethodGet, "/api/v1/targets", token, "", http.StatusOK},
		{http.MethodPost, "/api/v1/targets", "", spec, http.StatusUnauthorized},
		{http.MethodPost, "/api/v1/targets", token, spec, http.StatusCreated},
		{http.MethodDelete, "/api/v1/targets/x", "", "", http.StatusUnauthorized},
		{http.MethodDelete, "/api/v1/targets/x", token, "", http.StatusNoContent},
	}
	for _, c := range cases {
		if code, body := get(t, c.method, n.url+c.path, c.token, c.body); code != c.want {
			t.Errorf("%s %s with token %q: %d, want %d\n%s", c.method, c.path, c.token, code, c.want, body)
		}
	}
	// The command line takes the token from HECK_API_TOKEN.
	add := []string{"targets", "add", "--server", n.url, "--id", "y", "--kind", "tcp", "--address", "127.0.0.1:9"}
	if r := heck(t, dir, nil, add...); r.Code != 2 || !strings.Contains(r.Stderr, "token") {
		t.Errorf("heck targets add without a token: want exit 2 asking for it\n%s", r)
	}
	if r := heck(t, dir, []string{"HECK_API_TOKEN=" + token}, add...); r.Code != 0 {
		t.Errorf("heck targets add with HECK_API_TOKEN: %s", r)
	}
	if r := heck(t, dir, nil, "targets", "add", "--server", n.url, "--token", token, "--id", "z", "--kind", "tcp", "--address", "127.0.0.1:9"); r.Code != 0 {
		t.Errorf("heck targets add --token: %s", r)
	}
}

// TestEventsStream follows /api/v1/events as the README curls it and sees
// the transition when a target's server goes away.
func TestEventsStream(t *testing.T) {
	t.Parallel()
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(web.Close)
	dir := t.TempDir()
	n := serve(t, dir, nil, func(port int) []string {
		writeFile(t, dir, "heck.yaml", fmt.Sprintf(`listen: 127.0.0.1:%d
defaults: {interval: 200ms, timeout: 150ms, rise: 1, fall: 1}
targets:
  - {id: web, kind: http, url: "%s/"}
`, port, web.URL))
		return []string{"--config", "heck.yaml"}
	})
	n.waitStates(t, map[string]string{"web": "up"})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, n.url+"/api/v1/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "*/*") // as curl sends
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("GET /api/v1/events: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	type event struct{ name, data string }
	evc := make(chan event, 16)
	go func() {
		defer close(evc)
		sc := bufio.NewScanner(resp.Body)
		var ev event
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.data != "" {
					evc <- ev
				}
				ev = event{}
			case strings.HasPrefix(line, "event:"):
				ev.name = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
			case strings.HasPrefix(line, "data:"):
				ev.data += strings.TrimSpace(strings.TrimPrefix(line, "data:"))
			}
		}
	}()

	web.Close()
	timeout := time.After(patience)
	for {
		select {
		case ev, ok := <-evc:
			if !ok {
				t.Fatal("the event stream ended before the transition")
			}
			if ev.name != "transition" {
				continue
			}
			var tr events.Transition
			if err := json.Unmarshal([]byte(ev.data), &tr); err != nil {
				t.Fatalf("transition event %q: %v", ev.data, err)
			}
			// The cause depends on where the server's close caught the probe:
			// connection refused, reset, or an EOF.
			if tr.TargetID != "web" || tr.From.String() != "up" || tr.To.String() != "down" || tr.Cause == "" || tr.At.IsZero() {
				t.Fatalf("transition %+v, want web up -> down with a cause", tr)
			}
			// The stream ends cleanly when heck stops.
			if code, took := n.Stop(t); code != 0 || took > 5*time.Second {
				t.Errorf("heck serve with an open event stream exited %d after %s on SIGTERM, want 0 within seconds", code, took)
			}
			select {
			case _, ok := <-evc:
				for ok {
					_, ok = <-evc
				}
			case <-time.After(patience):
				t.Error("the event stream stayed open after heck stopped")
			}
			return
		case <-timeout:
			t.Fatalf("no transition on the event stream within %s after the server went away", patience)
		}
	}
}
