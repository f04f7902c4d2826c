// Package cluster_test runs a real three-node heck cluster: three `heck
// serve` processes on loopback ports, probing counting HTTP targets served
// by the test. It checks what the cluster promises from the outside: each
// target probed once per interval in steady state (counted at the
// targets), failover after a SIGKILL, no target lost, and a restarted node
// taking its targets back without a storm of duplicate probes.
package cluster_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// interval is every target's probe interval.
const interval = time.Second

// heckBin is the binary TestMain builds.
var heckBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "heck-cluster-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "temp dir:", err)
		os.Exit(1)
	}
	heckBin = filepath.Join(dir, "heck")
	build := exec.Command("go", "build", "-o", heckBin, "github.com/heckhq/heck/cmd/heck")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build heck: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// targets counts hits per target id at GET /t/{id}.
type targets struct {
	srv  *httptest.Server
	mu   sync.Mutex
	hits map[string][]time.Time
}

func newTargets(t *testing.T) *targets {
	tg := &targets{hits: map[string][]time.Time{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /t/{id}", func(w http.ResponseWriter, r *http.Request) {
		tg.mu.Lock()
		tg.hits[r.PathValue("id")] = append(tg.hits[r.PathValue("id")], time.Now())
		tg.mu.Unlock()
		io.WriteString(w, "ok")
	})
	tg.srv = httptest.NewServer(mux)
	t.Cleanup(tg.srv.Close)
	return tg
}

func (tg *targets) count(id string, from, to time.Time) int {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	n := 0
	for _, at := range tg.hits[id] {
		if !at.Before(from) && at.Before(to) {
			n++
		}
	}
	return n
}

func (tg *targets) firstAfter(id string, t time.Time) time.Time {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	for _, at := range tg.hits[id] {
		if !at.Before(t) {
			return at
		}
	}
	return time.Time{}
}

// freePort returns a loopback port free for both TCP and UDP (gossip uses
// both).
func freePort(t *testing.T) int {
	t.Helper()
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		l.Close()
		if err == nil {
			u.Close()
			return port
		}
	}
	t.Fatal("no free port for TCP and UDP")
	return 0
}

// proc is one `heck serve` process.
type proc struct {
	name, dir, cfg, api string
	cmd                 *exec.Cmd
	log                 *os.File
	done                chan struct{}
}

// start runs the node; its output goes to dir/heck.log.
func (p *proc) start(t *testing.T) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(p.dir, "heck.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	p.log = f
	p.cmd = exec.Command(heckBin, "serve", "--config", p.cfg)
	p.cmd.Dir = p.dir
	p.cmd.Stdout, p.cmd.Stderr = f, f
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", p.name, err)
	}
	p.done = make(chan struct{})
	go func() {
		_ = p.cmd.Wait()
		f.Close()
		close(p.done)
	}()
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *proc) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill %s: %v", p.name, err)
	}
	<-p.done
}

// stop sends SIGTERM and waits, killing after 10 s.
func (p *proc) stop() {
	if p.cmd == nil {
		return
	}
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

func (p *proc) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// tail returns the end of the node's log, for failure messages.
func (p *proc) tail() string {
	b, _ := os.ReadFile(filepath.Join(p.dir, "heck.log"))
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

// startCluster writes three configs (same targets, every node joining
// every node) and starts the nodes.
func startCluster(t *testing.T, tg *targets, ids []string) []*proc {
	t.Helper()
	const n = 3
	gossip := make([]string, n)
	for i := range gossip {
		gossip[i] = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	}
	var procs []*proc
	for i := range n {
		p := &proc{name: fmt.Sprintf("node%d", i+1), dir: t.TempDir()}
		p.api = fmt.Sprintf("127.0.0.1:%d", freePort(t))
		var b strings.Builder
		fmt.Fprintf(&b, "listen: %s\nnode:\n  name: %s\n  data_dir: %s\n", p.api, p.name, filepath.Join(p.dir, "data"))
		fmt.Fprintf(&b, "cluster:\n  bind: %s\n  zone: zone-%d\n  join:\n", gossip[i], i+1)
		for _, g := range gossip {
			fmt.Fprintf(&b, "    - %s\n", g)
		}
		fmt.Fprintf(&b, "defaults:\n  interval: %s\n  timeout: 500ms\ntargets:\n", interval)
		for _, id := range ids {
			fmt.Fprintf(&b, "  - id: %s\n    kind: http\n    url: %s/t/%s\n", id, tg.srv.URL, id)
		}
		p.cfg = filepath.Join(p.dir, "heck.yaml")
		if err := os.WriteFile(p.cfg, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		procs = append(procs, p)
	}
	t.Cleanup(func() {
		var wg sync.WaitGroup
		for _, p := range procs {
			wg.Go(p.stop)
		}
		wg.Wait()
		if t.Failed() {
			for _, p := range procs {
				t.Logf("--- end of %s's log:\n%s", p.name, p.tail())
			}
		}
	})
	for _, p := range procs {
		p.start(t)
	}
	return procs
}

var client = &http.Client{Timeout: 5 * time.Second}

// scheduled returns the targets a node probes (heck_target_up on /metrics).
func scheduled(p *proc) (map[string]bool, error) {
	resp, err := client.Get("http://" + p.api + "/metrics")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s metrics: %s", p.name, resp.Status)
	}
	out := map[string]bool{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "heck_target_up{")
		if !ok {
			continue
		}
		if _, after, ok := strings.Cut(rest, `id="`); ok {
			id, _, _ := strings.Cut(after, `"`)
			out[id] = true
		}
	}
	return out, sc.Err()
}

// listed returns the ids a node lists in /api/v1/targets.
func listed(p *proc) ([]string, error) {
	resp, err := client.Get("http://" + p.api + "/api/v1/targets")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.name, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s targets: %s: %s", p.name, resp.Status, bytes.TrimSpace(body))
	}
	var list struct {
		Targets []struct {
			ID string `json:"id"`
		} `json:"targets"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, fmt.Errorf("%s targets: %w", p.name, err)
	}
	var ids []string
	for _, s := range list.Targets {
		ids = append(ids, s.ID)
	}
	slices.Sort(ids)
	return ids, nil
}

// split checks that the nodes probe every id, each on exactly one node,
// and that every node lists every id; it returns who probes what.
func split(procs []*proc, ids []string) (map[string]string, error) {
	owner := map[string]string{}
	for _, p := range procs {
		if !p.running() {
			return nil, fmt.Errorf("%s exited", p.name)
		}
		got, err := listed(p)
		if err != nil {
			return nil, err
		}
		if !slices.Equal(got, ids) {
			return nil, fmt.Errorf("%s lists %v, want %v", p.name, got, ids)
		}
		set, err := scheduled(p)
		if err != nil {
			return nil, err
		}
		for id := range set {
			if o, dup := owner[id]; dup {
				return nil, fmt.Errorf("%s probed by both %s and %s", id, o, p.name)
			}
			owner[id] = p.name
		}
	}
	for _, id := range ids {
		if owner[id] == "" {
			return nil, fmt.Errorf("%s probed by no node", id)
		}
	}
	return owner, nil
}

// waitFor polls cond until it has held for hold, failing at the deadline.
func waitFor(t *testing.T, what string, timeout, hold time.Duration, cond func() error) time.Duration {
	t.Helper()
	start := time.Now()
	var since time.Time
	var last error
	for {
		err := cond()
		now := time.Now()
		switch {
		case err != nil:
			last, since = err, time.Time{}
		case since.IsZero():
			since = now
		}
		if err == nil && now.Sub(since) >= hold {
			return since.Sub(start)
		}
		if now.Sub(start) > timeout {
			t.Fatalf("%s: not within %v: %v", what, timeout, last)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// amplification counts the hits of ids over window: probes per target per
// interval, the mean and the highest.
func amplification(tg *targets, ids []string, from, to time.Time) (mean, hi float64) {
	n := float64(to.Sub(from)) / float64(interval)
	for _, id := range ids {
		a := float64(tg.count(id, from, to)) / n
		mean += a
		hi = max(hi, a)
	}
	return mean / float64(len(ids)), hi
}

// steady measures probes per target per interval over k intervals and
// checks it is close to one: no target probed by two nodes.
func steady(t *testing.T, tg *targets, ids []string, what string) {
	t.Helper()
	const k = 5
	from := time.Now()
	time.Sleep(k * interval) // a measurement window
	mean, hi := amplification(tg, ids, from, time.Now())
	t.Logf("%s: %.3f probes per target per interval (highest %.2f) over %d intervals", what, mean, hi, k)
	if mean < 0.9 || mean > 1.1 {
		t.Errorf("%s: %.3f probes per target per interval, want 1.00 +-10%%", what, mean)
	}
	if hi > 1+1.5/k {
		t.Errorf("%s: a target got %.2f probes per interval: probed by more than one node", what, hi)
	}
}

func TestKillAndRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three heck processes")
	}
	var ids []string
	for i := range 12 {
		ids = append(ids, fmt.Sprintf("t%02d", i))
	}
	tg := newTargets(t)
	procs := startCluster(t, tg, ids)
	var owner map[string]string
	took := waitFor(t, "one prober per target", 30*time.Second, 2*interval, func() (err error) {
		owner, err = split(procs, ids)
		return err
	})
	t.Logf("cluster settled %v after start: %v", took.Round(time.Millisecond), counts(owner))
	steady(t, tg, ids, "steady state")

	victim := procs[0]
	for _, p := range procs {
		if len(owned(owner, p.name)) > len(owned(owner, victim.name)) {
			victim = p
		}
	}
	lost := owned(owner, victim.name)
	victim.kill(t)
	killed := time.Now()
	var failover time.Duration
	waitFor(t, "killed node's targets probed again", 15*time.Second, 0, func() error {
		for _, id := range lost {
			if tg.firstAfter(id, killed).IsZero() {
				return fmt.Errorf("%s (probed by %s) not probed since the kill", id, victim.name)
			}
		}
		return nil
	})
	for _, id := range lost {
		failover = max(failover, tg.firstAfter(id, killed).Sub(killed))
	}
	t.Logf("SIGKILL of %s (%d targets): failover %v (interval %v)", victim.name, len(lost), failover.Round(time.Millisecond), interval)
	if limit := 3*interval + 3*time.Second; failover > limit {
		t.Errorf("failover took %v, want under %v", failover, limit)
	}
	var survivors []*proc
	for _, p := range procs {
		if p != victim {
			survivors = append(survivors, p)
		}
	}
	// No target lost: both survivors list every target, and they share
	// them with one prober each.
	waitFor(t, "survivors probe every target once", 15*time.Second, 2*interval, func() (err error) {
		_, err = split(survivors, ids)
		return err
	})
	steady(t, tg, ids, "after the kill")

	victim.start(t)
	restarted := time.Now()
	took = waitFor(t, "restarted node takes its targets back", 30*time.Second, 2*interval, func() error {
		o, err := split(procs, ids)
		if err != nil {
			return err
		}
		if got := owned(o, victim.name); !slices.Equal(got, lost) {
			return fmt.Errorf("%s probes %v, want %v", victim.name, got, lost)
		}
		return nil
	})
	// The hand-back window: the restart and the next five intervals. A
	// hand-back costs at most one extra probe of a moved target.
	const k = 5
	if d := time.Until(restarted.Add(k * interval)); d > 0 {
		time.Sleep(d) // the rest of the measurement window
	}
	mean, hi := amplification(tg, ids, restarted, restarted.Add(k*interval))
	t.Logf("restart of %s: its targets back %v after the restart; %.3f probes per target per interval over the %d intervals from the restart (highest %.2f)",
		victim.name, took.Round(time.Millisecond), mean, k, hi)
	if mean > 1.2 || hi > 1+2.0/k {
		t.Errorf("restart: %.3f probes per target per interval (highest %.2f) while the node came back: duplicate probes", mean, hi)
	}
	steady(t, tg, ids, "after the restart")
}

func owned(owner map[string]string, name string) []string {
	var out []string
	for id, o := range owner {
		if o == name {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

func counts(owner map[string]string) map[string]int {
	out := map[string]int{}
	for _, o := range owner {
		out[o]++
	}
	return out
}
