package api_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/heckhq/heck/internal/api"
	"github.com/heckhq/heck/internal/api/apitest"
	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/metrics"
)

// manyStates walks its targets' ids, states cycling unknown, up, down.
type manyStates []string

func newManyStates(n int) manyStates {
	ids := make(manyStates, n)
	for i := range ids {
		ids[i] = "target-" + strconv.Itoa(i) + `-"quoted"\`
	}
	return ids
}

func (ids manyStates) EachState(fn func(id string, s health.State)) {
	for i, id := range ids {
		fn(id, health.State(i%3))
	}
}

// scrapeServer is the API server over a node-like /metrics: check
// metrics, heck_targets and heck_target_up for n targets.
func scrapeServer(n int) *api.Server {
	reg := prometheus.NewRegistry()
	metrics.NewChecks(reg).ObserveCheck("http", true, 0, 0, 0)
	states := newManyStates(n)
	reg.MustRegister(metrics.NewTargets(states))
	h := metrics.Handler(reg, states, metrics.HandlerOptions{PerTarget: true})
	return api.New(apitest.New(), api.Options{LoopbackOnly: true, Metrics: h})
}

// The API serves Options.Metrics on GET /metrics behind its read rules,
// and says so when there is none.
func TestMetricsRoute(t *testing.T) {
	s := scrapeServer(3)
	r := do(t, s, "GET", "/metrics", "", "")
	if r.code != http.StatusOK || !strings.Contains(r.body, `heck_targets{state="up"} 1`) ||
		!strings.Contains(r.body, `heck_target_up{id="target-1-\"quoted\"\\"} 1`) {
		t.Fatalf("GET /metrics = %d:\n%s", r.code, r.body)
	}
	guarded := api.New(apitest.New(), api.Options{Token: "tok", Metrics: http.NotFoundHandler()})
	if r := do(t, guarded, "GET", "/metrics", "", ""); r.code != http.StatusUnauthorized {
		t.Errorf("GET /metrics off loopback without the token = %d, want 401", r.code)
	}
	none := api.New(apitest.New(), api.Options{LoopbackOnly: true})
	r = do(t, none, "GET", "/metrics", "", "")
	if p := r.problem(t); r.code != http.StatusNotFound || p.Type != api.TypeNotFound || !strings.Contains(p.Detail, "Options.Metrics") {
		t.Errorf("GET /metrics without Metrics = %d %+v, want a 404 problem", r.code, p)
	}
}

// BenchmarkMetricsScrape5000 scrapes /metrics through the API server with
// per-target series for 5,000 targets; B/op is what one scrape allocates.
func BenchmarkMetricsScrape5000(b *testing.B) {
	s := scrapeServer(5000)
	req := httptest.NewRequest("GET", "/metrics", nil)
	req.RemoteAddr = "127.0.0.1:1234"
	b.ReportAllocs()
	for b.Loop() {
		w := discardWriter{h: http.Header{}}
		s.ServeHTTP(&w, req)
	}
}

type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(int)             {}
