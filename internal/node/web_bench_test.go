package node

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/target"
	"github.com/heckhq/heck/internal/testkit"
	"github.com/heckhq/heck/internal/web"
)

// BenchmarkNodeDashboard measures the web UI's dashboard of a real node
// holding 10,000 targets (tcp to a refused loopback port, probed once an
// hour), server time: "cold" reads every row's sparkline and uptime from
// the store again (a first render), "warm" reuses them as a wall screen's
// reloads do.
//
//	go test -run '^$' -bench NodeDashboard -benchtime 20x ./internal/node
func BenchmarkNodeDashboard(b *testing.B) {
	const n = 10000
	addr := testkit.ClosedAddr(b)
	cfg := ntConfig(b.TempDir())
	cfg.Defaults.Interval = target.Duration(time.Hour)
	cfg.Defaults.Timeout = target.Duration(time.Second)
	for i := range n {
		cfg.Targets = append(cfg.Targets, target.Spec{ID: fmt.Sprintf("t%05d", i), Kind: target.KindTCP, Address: addr,
			Labels: map[string]string{"env": "prod", "team": fmt.Sprintf("team%d", i%7)}})
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
	if nd.Addr(actx) == nil {
		b.Fatal("node did not listen")
	}
	testkit.Wait{Timeout: time.Minute}.Until(b, "every target listed", func() error {
		if got := len(nd.reg.IDs()); got != n {
			return fmt.Errorf("%d targets", got)
		}
		return nil
	})
	for _, c := range []struct {
		name string
		ttl  time.Duration
	}{{"cold", time.Nanosecond}, {"warm", time.Hour}} {
		b.Run(c.name, func(b *testing.B) {
			h, err := web.New(nd.webDeps(), web.Options{OpenReads: true, StatsTTL: c.ttl})
			if err != nil {
				b.Fatal(err)
			}
			size := 0
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
				if rec.Code != 200 || !strings.Contains(rec.Body.String(), "of 10000") {
					b.Fatalf("status %d", rec.Code)
				}
				size = rec.Body.Len()
			}
			b.ReportMetric(float64(size), "bytes/page")
		})
	}
}
