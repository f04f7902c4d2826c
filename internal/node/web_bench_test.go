package node

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

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
	nd, _ := startBenchNode(b, 10000, func(i int) map[string]string {
		return map[string]string{"env": "prod", "team": fmt.Sprintf("team%d", i%7)}
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
