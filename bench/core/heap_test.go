//go:build heapprofile

package main

// TestHeapPerTarget measures the live heap a node holds per http target: it
// serves N loopback targets in-process, runs a node (internal/node, the
// same code as `heck serve`) from the config bench/core writes, waits until
// every target has been probed, and reports heap in use above what it was
// before the node started, per target. It is behind a build tag because it
// runs for a minute or more and imports the node:
//
//	go test -tags heapprofile -run TestHeapPerTarget -v -count=1 ./bench/core
//
// HECK_HEAP_N (default 50000) sets N, HECK_HEAP_INTERVAL (default 25s) the
// interval, HECK_HEAP_PROFILE a file to write the heap profile to (read it
// with `go tool pprof -sample_index=inuse_space -top FILE`).

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/config"
	"github.com/heckhq/heck/internal/node"
)

// A finer sampling than the default 512 KiB, so per-target structures of a
// few hundred bytes show in the profile with their true share.
func init() { runtime.MemProfileRate = 16 << 10 }

func TestHeapPerTarget(t *testing.T) {
	n := 50000
	if v := os.Getenv("HECK_HEAP_N"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			t.Fatalf("HECK_HEAP_N=%q: want a positive count", v)
		}
	}
	interval := 25 * time.Second
	if v := os.Getenv("HECK_HEAP_INTERVAL"); v != "" {
		var err error
		if interval, err = time.ParseDuration(v); err != nil {
			t.Fatalf("HECK_HEAP_INTERVAL=%q: %v", v, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	srv := &targetServer{}
	var addrs []string
	for i := range 16 {
		for range 4 {
			ln, err := net.Listen("tcp4", serverAddr(i)+":0")
			if err != nil {
				t.Fatalf("listen: %v", err)
			}
			defer ln.Close()
			addrs = append(addrs, ln.Addr().String())
			srv.wg.Add(1)
			go srv.accept(ctx, ln)
		}
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "heck.yaml")
	o := options{interval: interval, timeout: min(interval/2, 2*time.Second), concurrency: 2048}
	if err := heckConfig(path, "127.0.0.1:0", filepath.Join(dir, "data"), targetURLs(addrs, n), o); err != nil {
		t.Fatal(err)
	}
	before := memStats().HeapInuse
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	nd, err := node.New(ctx, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	cfg = nil
	done := make(chan error, 1)
	go func() { done <- nd.Run(ctx) }()

	// Every target probed at least once, then one more interval so the
	// history recorder has closed minutes and written them.
	deadline := time.Now().Add(interval*3 + time.Minute)
	for {
		if h := srv.hits.Load(); h >= int64(n) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d targets probed by %v", srv.hits.Load(), n, deadline)
		}
		time.Sleep(500 * time.Millisecond)
	}
	time.Sleep(interval + 5*time.Second)

	ms := memStats()
	after := ms.HeapInuse
	if p := os.Getenv("HECK_HEAP_PROFILE"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	t.Logf("N=%d interval=%v hits=%d: heap in use %.1f MiB before, %.1f MiB after: %.0f B per target; "+
		"%d goroutines, stacks %.1f MiB",
		n, interval, srv.hits.Load(), float64(before)/(1<<20), float64(after)/(1<<20), float64(after-before)/float64(n),
		runtime.NumGoroutine(), float64(ms.StackInuse)/(1<<20))
	cancel()
	if err := <-done; err != nil {
		t.Logf("node stopped: %v", err)
	}
	runtime.KeepAlive(nd)
}

// memStats reads the memory statistics after collecting garbage.
func memStats() runtime.MemStats {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms
}
