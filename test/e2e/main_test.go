package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/client"
)

// heckBin is the binary TestMain built; moduleRoot the repository.
var heckBin, moduleRoot string

// patience bounds every wait for a condition: generous, for two busy cores.
const patience = 30 * time.Second

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	root, err := findModuleRoot()
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 2
	}
	moduleRoot = root
	tmp, err := os.MkdirTemp("", "heck-e2e-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 2
	}
	defer os.RemoveAll(tmp)
	heckBin = filepath.Join(tmp, "heck")
	build := exec.Command("go", "build", "-o", heckBin, "./cmd/heck")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: go build -o %s ./cmd/heck: %v\n%s", heckBin, err, out)
		return 2
	}
	return m.Run()
}

// findModuleRoot walks up from the working directory to go.mod.
func findModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find the module root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("find the module root: no go.mod above the working directory")
		}
		dir = parent
	}
}

// syncBuffer is a bytes.Buffer safe for a process writing and a test
// reading at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// result is what a finished heck command printed and its exit code.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// heck runs the binary to completion in dir with env added to the
// environment.
func heck(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	cmd := exec.CommandContext(ctx, heckBin, args...)
	cmd.Dir = dir
	cmd.Env = append(baseEnv(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ee.Exited():
		r.code = ee.ExitCode()
	default:
		t.Fatalf("heck %s: %v\n%s", strings.Join(args, " "), err, r)
	}
	return r
}

// baseEnv is the environment of every heck process: the test's, without
// anything that points the client commands elsewhere.
func baseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "HECK_SERVER=") || strings.HasPrefix(kv, "HECK_API_TOKEN=") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// proc is a long-running heck process (heck serve).
type proc struct {
	cmd            *exec.Cmd
	stdout, stderr *syncBuffer
	done           chan struct{}
	code           int // valid once done is closed
}

// start runs heck in dir without waiting; the process is killed at the end
// of the test if still running.
func start(t *testing.T, dir string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(heckBin, args...)
	p.cmd.Dir = dir
	p.cmd.Env = append(baseEnv(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start heck %s: %v", strings.Join(args, " "), err)
	}
	go func() {
		err := p.cmd.Wait()
		p.code = 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			p.code = ee.ExitCode() // -1 when killed by a signal
		} else if err != nil {
			p.code = -2
		}
		close(p.done)
	}()
	t.Cleanup(func() {
		if !p.exited() {
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("heck %s (exit %d)\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), p.code, p.stdout, p.stderr)
		}
	})
	return p
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// wait waits up to d for the process to exit and returns its code.
func (p *proc) wait(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.code
	case <-time.After(d):
		t.Fatalf("heck did not exit within %s\nstderr:\n%s", d, p.stderr)
		return 0
	}
}

// stop sends SIGTERM and returns the exit code and how long the process
// took to exit.
func (p *proc) stop(t *testing.T) (int, time.Duration) {
	t.Helper()
	return p.signal(t, syscall.SIGTERM)
}

// signal sends sig and returns the exit code and how long the process took
// to exit.
func (p *proc) signal(t *testing.T, sig os.Signal) (int, time.Duration) {
	t.Helper()
	at := time.Now()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("%v: %v", sig, err)
	}
	code := p.wait(t, patience)
	return code, time.Since(at)
}

// freePort returns a loopback port nothing listens on at the moment.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// node is a running heck serve.
type node struct {
	*proc
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
		port := freePort(t)
		p := start(t, dir, env, append([]string{"serve"}, args(port)...)...)
		n := &node{proc: p, dir: dir, port: port, url: fmt.Sprintf("http://127.0.0.1:%d", port)}
		err := n.waitReady()
		if err == nil {
			c, err := client.New(n.url, "", &http.Client{Timeout: 10 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			n.c = c
			return n
		}
		if p.exited() && strings.Contains(p.stderr.String(), "address already in use") && attempt < 3 {
			continue
		}
		t.Fatalf("heck serve on port %d: %v\nstderr:\n%s", port, err, p.stderr)
	}
}

// waitReady polls /readyz until it answers 200, the process exits or the
// patience runs out.
func (n *node) waitReady() error {
	hc := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(patience)
	for {
		if n.exited() {
			return fmt.Errorf("exited with code %d before it was ready", n.code)
		}
		resp, err := hc.Get(n.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %s: %v", patience, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitFor polls cond until it returns nil, failing the test at the
// deadline with cond's last error.
func waitFor(t *testing.T, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s still waiting for %s: %v", patience, what, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

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
	if r.code != 0 {
		t.Fatalf("heck targets ls -o json: %s", r)
	}
	var raw []any
	if err := json.Unmarshal([]byte(r.stdout), &raw); err != nil {
		t.Fatalf("heck targets ls -o json printed no JSON array: %v\n%s", err, r.stdout)
	}
	return decodeTargets(t, raw)
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
