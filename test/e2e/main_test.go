package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/client"
	"github.com/heckhq/heck/internal/testkit"
)

// bin runs the binary TestMain built; moduleRoot is the repository.
var (
	bin        testkit.Heck
	moduleRoot string
)

// patience bounds every wait for a condition: generous, for two busy cores.
const patience = 30 * time.Second

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	root, err := testkit.ModuleRoot()
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 2
	}
	moduleRoot = root
	h, remove, err := testkit.BuildHeck()
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 2
	}
	defer remove()
	h.Patience = patience
	bin = h
	return m.Run()
}

// heck runs the binary to completion in dir with env added to the
// environment.
func heck(t *testing.T, dir string, env []string, args ...string) testkit.Result {
	t.Helper()
	return bin.Run(t, dir, env, args...)
}

// start runs heck in dir without waiting; the process is killed at the end
// of the test if still running.
func start(t *testing.T, dir string, env []string, args ...string) *testkit.Proc {
	t.Helper()
	return bin.Start(t, dir, env, args...)
}

// node is a running heck serve.
type node struct {
	*testkit.Proc
	dir  string
	port int
	url  string // http://127.0.0.1:port
	c    *client.Client
}

// serve starts heck serve in dir with the args args(port) makes for a free
// port, and waits until it is ready. A port taken between freePort and the
// bind is retried with another.
func serve(t *testing.T, dir string, env []string, args func(port int) []string) *node {
	t.Helper()
	for attempt := 0; ; attempt++ {
		port := testkit.FreePort(t)
		p := start(t, dir, env, append([]string{"serve"}, args(port)...)...)
		n := &node{Proc: p, dir: dir, port: port, url: fmt.Sprintf("http://127.0.0.1:%d", port)}
		err := n.waitReady()
		if err == nil {
			c, err := client.New(n.url, "", &http.Client{Timeout: 10 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			n.c = c
			return n
		}
		if p.Exited() && strings.Contains(p.Stderr.String(), "address already in use") && attempt < 3 {
			continue
		}
		t.Fatalf("heck serve on port %d: %v\nstderr:\n%s", port, err, p.Stderr)
	}
}

// waitReady polls /readyz until it answers 200, the process exits or the
// patience runs out.
func (n *node) waitReady() error {
	hc := &http.Client{Timeout: 2 * time.Second}
	_, err := testkit.Wait{Timeout: patience, Every: 50 * time.Millisecond}.Poll("ready", func() error {
		if n.Exited() {
			return testkit.Abort(fmt.Errorf("exited with code %d before it was ready", n.Code))
		}
		resp, err := hc.Get(n.url + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET /readyz: %s", resp.Status)
		}
		return nil
	})
	return err
}

// waitFor polls cond until it returns nil, failing the test at the
// deadline with cond's last error.
func waitFor(t *testing.T, what string, cond func() error) {
	t.Helper()
	waiting.Until(t, what, cond)
}

// waiting is how the tests wait: polling every 100 ms for up to patience.
var waiting = testkit.Wait{Timeout: patience, Every: 100 * time.Millisecond}

// listed is a target object of the JSON the listing commands print: the
// fields the command line promises, kept raw to check they are there.
type listed map[string]any

func (l listed) str(key string) string {
	s, _ := l[key].(string)
	return s
}

// decodeTargets parses a JSON array of target objects and checks each
// carries string id, kind and state.
func decodeTargets(t *testing.T, raw []any) map[string]listed {
	t.Helper()
	out := map[string]listed{}
	for i, v := range raw {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("target %d is %T, want an object", i, v)
		}
		l := listed(m)
		for _, k := range []string{"id", "kind", "state"} {
			if l.str(k) == "" {
				t.Errorf("target %d has no string %q: %v", i, k, m)
			}
		}
		out[l.str("id")] = l
	}
	return out
}

// lsJSON runs heck targets ls -o json against n and returns its targets
// by id.
func (n *node) lsJSON(t *testing.T, env ...string) map[string]listed {
	t.Helper()
	r := heck(t, n.dir, env, "targets", "ls", "-o", "json", "--server", n.url)
	if r.Code != 0 {
		t.Fatalf("heck targets ls -o json: %s", r)
	}
	var l struct {
		Targets []any `json:"targets"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &l); err != nil || l.Targets == nil {
		t.Fatalf("heck targets ls -o json printed no {\"targets\": [...]}: %v\n%s", err, r.Stdout)
	}
	return decodeTargets(t, l.Targets)
}

// states waits until every target in want has its state per heck targets
// ls -o json, and returns the last listing.
func (n *node) waitStates(t *testing.T, want map[string]string) map[string]listed {
	t.Helper()
	var got map[string]listed
	waitFor(t, fmt.Sprintf("states %v", want), func() error {
		got = n.lsJSON(t)
		for id, s := range want {
			if got[id].str("state") != s {
				return fmt.Errorf("%s is %q (cause %q)", id, got[id].str("state"), got[id].str("cause"))
			}
		}
		return nil
	})
	return got
}

// writeFile writes a file under dir and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// get fetches url with the optional bearer token and returns the status
// and body.
func get(t *testing.T, method, url, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func itoa(i int) string { return strconv.Itoa(i) }

// errAt says a count has not reached what a wait wants.
func errAt(got, want int64) error { return fmt.Errorf("%d, want %d", got, want) }
