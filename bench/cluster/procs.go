package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/heckhq/heck/internal/api"
	"github.com/heckhq/heck/internal/cluster"
	"github.com/heckhq/heck/internal/target"
)

// gossipFleet is what the gossip scenario needs of a set of nodes: the
// in-process fleet, or separate `heck serve` processes (procFleet).
type gossipFleet interface {
	start(ctx context.Context, name string, specs []target.Spec) error
	waitMembers(ctx context.Context, want int, timeout time.Duration) error
	waitSettled(ctx context.Context, targets int, timeout time.Duration) error
	// apis maps the running nodes to their API addresses.
	apis() map[string]string
	// sent is what each running node has sent over gossip so far.
	sent(ctx context.Context) map[string]cluster.Traffic
}

// inProcess adapts the in-process fleet.
type inProcess struct{ f *fleet }

func (p inProcess) start(ctx context.Context, name string, specs []target.Spec) error {
	_, err := p.f.start(ctx, name, specs)
	return err
}

func (p inProcess) waitMembers(ctx context.Context, want int, timeout time.Duration) error {
	return p.f.waitMembers(ctx, want, timeout)
}

func (p inProcess) waitSettled(ctx context.Context, targets int, timeout time.Duration) error {
	_, err := p.f.waitSettled(ctx, targets, timeout)
	return err
}

func (p inProcess) apis() map[string]string {
	out := map[string]string{}
	for _, m := range p.f.alive() {
		out[m.name] = m.api
	}
	return out
}

func (p inProcess) sent(context.Context) map[string]cluster.Traffic { return perNodeSent(p.f) }

// procFleet runs each node as its own `heck serve` process on loopback
// ports, so that one slow node does not slow the others and nothing is
// shared but the machine. Bytes come from each node's
// heck_gossip_sent_bytes_total, ownership from its heck_target_up series.
type procFleet struct {
	bin, dir string
	mu       sync.Mutex
	procs    []*heckProc
}

type heckProc struct {
	name, api, gossip string
	cmd               *exec.Cmd
	done              chan struct{}
}

func (pf *procFleet) start(ctx context.Context, name string, specs []target.Spec) error {
	dir := filepath.Join(pf.dir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	apiAddr, err := freeLoopbackPort()
	if err != nil {
		return err
	}
	gossip, err := freeLoopbackPort()
	if err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "listen: %s\nnode:\n  name: %s\n  data_dir: %s\ncluster:\n  bind: %s\n", apiAddr, name, filepath.Join(dir, "data"), gossip)
	pf.mu.Lock()
	if len(pf.procs) > 0 {
		fmt.Fprintf(&b, "  join:\n    - %s\n", pf.procs[0].gossip)
	}
	pf.mu.Unlock()
	if len(specs) > 0 {
		b.WriteString("targets:\n")
		for _, s := range specs {
			fmt.Fprintf(&b, "  - id: %s\n    kind: %s\n", s.ID, s.Kind)
			if s.URL != "" {
				fmt.Fprintf(&b, "    url: %s\n", s.URL)
			}
			if s.Address != "" {
				fmt.Fprintf(&b, "    address: %s\n", s.Address)
			}
			fmt.Fprintf(&b, "    interval: %s\n", s.Interval.D())
			if s.Rise > 0 {
				fmt.Fprintf(&b, "    rise: %d\n    fall: %d\n", s.Rise, s.Fall)
			}
		}
	}
	cfg := filepath.Join(dir, "heck.yaml")
	if err := os.WriteFile(cfg, []byte(b.String()), 0o644); err != nil {
		return err
	}
	logf, err := os.Create(filepath.Join(dir, "heck.log"))
	if err != nil {
		return err
	}
	cmd := exec.Command(pf.bin, "serve", "--config", cfg)
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", name, err)
	}
	p := &heckProc{name: name, api: apiAddr, gossip: gossip, cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	pf.mu.Lock()
	pf.procs = append(pf.procs, p)
	pf.mu.Unlock()
	// Ready when its API answers.
	return pollUntil(ctx, 60*time.Second, 100*time.Millisecond, func() (bool, string) {
		select {
		case <-p.done:
			return false, name + " exited; see " + filepath.Join(dir, "heck.log")
		default:
		}
		resp, err := http.Get("http://" + apiAddr + "/livez")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	})
}

func (pf *procFleet) running() []*heckProc {
	pf.mu.Lock()
	defer pf.mu.Unlock()
	return append([]*heckProc(nil), pf.procs...)
}

func (pf *procFleet) apis() map[string]string {
	out := map[string]string{}
	for _, p := range pf.running() {
		out[p.name] = p.api
	}
	return out
}

func (pf *procFleet) waitMembers(ctx context.Context, want int, timeout time.Duration) error {
	return pollUntil(ctx, timeout, time.Second, func() (bool, string) {
		for _, p := range pf.running() {
			var ms api.MemberList
			if err := getJSON(ctx, "http://"+p.api+"/api/v1/members", &ms); err != nil {
				return false, err.Error()
			}
			alive := 0
			for _, m := range ms.Members {
				if m.State == api.MemberAlive {
					alive++
				}
			}
			if alive != want {
				return false, fmt.Sprintf("%s sees %d alive members, want %d", p.name, alive, want)
			}
		}
		return true, ""
	})
}

// waitSettled waits until every target is scheduled on exactly one node,
// as the nodes' heck_target_up series say.
func (pf *procFleet) waitSettled(ctx context.Context, targets int, timeout time.Duration) error {
	return pollUntil(ctx, timeout, time.Second, func() (bool, string) {
		probers := make([]int8, targets)
		for _, p := range pf.running() {
			series, err := scrape(ctx, p.api)
			if err != nil {
				return false, err.Error()
			}
			for k := range series {
				rest, ok := strings.CutPrefix(k, `heck_target_up{id="`)
				if !ok {
					continue
				}
				id, _, _ := strings.Cut(rest, `"`)
				if i, ok := index(id); ok && i < targets && probers[i] < 127 {
					probers[i]++
				}
			}
		}
		return assignment{probers: probers}.settled()
	})
}

func (pf *procFleet) sent(ctx context.Context) map[string]cluster.Traffic {
	out := map[string]cluster.Traffic{}
	for _, p := range pf.running() {
		series, err := scrape(ctx, p.api)
		if err != nil {
			fmt.Printf("  (metrics of %s unreadable: %v)\n", p.name, err)
			continue
		}
		out[p.name] = cluster.Traffic{
			Packets:     int64(series["heck_gossip_sent_packets_total"]),
			PacketBytes: int64(series[`heck_gossip_sent_bytes_total{transport="udp"}`]),
			StreamBytes: int64(series[`heck_gossip_sent_bytes_total{transport="tcp"}`]),
		}
	}
	return out
}

// stop ends every process: SIGTERM, then SIGKILL after 15 s.
func (pf *procFleet) stop() {
	var wg sync.WaitGroup
	for _, p := range pf.running() {
		wg.Go(func() {
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.done:
			case <-time.After(15 * time.Second):
				_ = p.cmd.Process.Kill()
				<-p.done
			}
		})
	}
	wg.Wait()
}

// freeLoopbackPort returns 127.0.0.1:port with port free for both TCP and
// UDP (gossip uses both).
func freeLoopbackPort() (string, error) {
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", err
		}
		addr := l.Addr().String()
		u, err := net.ListenPacket("udp", addr)
		l.Close()
		if err == nil {
			u.Close()
			return addr, nil
		}
	}
	return "", fmt.Errorf("no loopback port free for both TCP and UDP")
}

func getJSON(ctx context.Context, url string, v any) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	return nil
}
