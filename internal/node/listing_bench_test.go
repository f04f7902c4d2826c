package node

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/target"
	"github.com/heckhq/heck/internal/testkit"
)

// BenchmarkNodeListing measures GET /api/v1/targets of a real node holding
// 10,000 targets (tcp to a refused loopback port, probed once an hour so
// probes stay out of the figures), end to end over loopback HTTP:
//
//	go test -run '^$' -bench NodeListing -benchtime 200x ./internal/node
func BenchmarkNodeListing(b *testing.B) {
	const n = 10000
	_, a := startBenchNode(b, n, func(i int) map[string]string {
		env := "prod"
		if i%10 == 0 {
			env = "staging"
		}
		return map[string]string{"env": env, "team": fmt.Sprintf("team%d", i%7)}
	})
	base := "http://" + a.String() + "/api/v1/targets"
	hc := &http.Client{Timeout: 30 * time.Second}
	get := func(b *testing.B, url string) int64 {
		resp, err := hc.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		m, err := io.Copy(io.Discard, resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("GET %s: %d, %v", url, resp.StatusCode, err)
		}
		return m
	}
	for _, c := range []struct{ name, query string }{
		{"unpaged", ""},
		{"page100", "?limit=100"},
		{"page100-mid", "?limit=100&cursor=dDA1MDAw"}, // after t05000
		{"filtered-label", "?limit=100&label=env=staging"},
		{"filtered-state", "?limit=100&state=down&label=env=staging"},
		{"filtered-text", "?limit=100&q=t099"},
	} {
		b.Run(c.name, func(b *testing.B) {
			var bytes int64
			for b.Loop() {
				bytes = get(b, base+c.query)
			}
			b.ReportMetric(float64(bytes), "bytes/resp")
		})
	}
}

// startBenchNode runs a node holding n targets (tcp to a refused loopback
// port, probed once an hour so probes stay out of the figures), labelled
// by labels, until the benchmark ends; it returns once every target is
// registered, with the API's address.
func startBenchNode(b *testing.B, n int, labels func(i int) map[string]string) (*Node, net.Addr) {
	addr := testkit.ClosedAddr(b)
	cfg := ntConfig(b.TempDir())
	cfg.Defaults.Interval = target.Duration(time.Hour)
	cfg.Defaults.Timeout = target.Duration(time.Second)
	for i := range n {
		cfg.Targets = append(cfg.Targets, target.Spec{ID: fmt.Sprintf("t%05d", i), Kind: target.KindTCP, Address: addr,
			Labels: labels(i)})
	}
	ctx, cancel := context.WithCancel(context.Background())
	nd, err := New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		cancel()
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- nd.Run(ctx) }()
	b.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			b.Errorf("node: %v", err)
		}
	})
	actx, acancel := context.WithTimeout(ctx, time.Minute)
	defer acancel()
	a := nd.Addr(actx)
	if a == nil {
		b.Fatal("node did not listen")
	}
	testkit.Wait{Timeout: time.Minute, Every: 50 * time.Millisecond}.Until(b, "every target listed", func() error {
		if got := len(nd.reg.IDs()); got != n {
			return fmt.Errorf("%d targets", got)
		}
		return nil
	})
	return nd, a
}
