package api_test

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/heckhq/heck/internal/api"
	"github.com/heckhq/heck/internal/api/apitest"
	"github.com/heckhq/heck/internal/health"
)

// manyStates is a backend whose StateSource walks n targets without
// holding their statuses.
type manyStates struct {
	*apitest.Backend
	ids []string
}

func (b *manyStates) EachState(fn func(id string, s health.State)) {
	for i, id := range b.ids {
		fn(id, health.State(i%3))
	}
}

func scrapeServer(n int) *api.Server {
	b := &manyStates{Backend: apitest.New()}
	for i := range n {
		b.ids = append(b.ids, "target-"+strconv.Itoa(i)+`-"quoted"\`)
	}
	reg := prometheus.NewRegistry()
	m := api.NewMetrics(reg)
	m.ObserveCheck("http", true, 0, 0, 0)
	return api.New(b, api.Options{LoopbackOnly: true, Registry: reg, PerTargetMetrics: true})
}

func TestMetricsScrapeValidAndComplete(t *testing.T) {
	const n = 5000
	s := scrapeServer(n)
	for _, gz := range []bool{false, true} {
		req := httptest.NewRequest("GET", "/metrics", nil)
		req.RemoteAddr = "127.0.0.1:1234"
		if gz {
			req.Header.Set("Accept-Encoding", "gzip")
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		resp := w.Result()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("gzip %v: status %d", gz, resp.StatusCode)
		}
		var body io.Reader = resp.Body
		if resp.Header.Get("Content-Encoding") == "gzip" {
			var err error
			if body, err = gzipReader(body); err != nil {
				t.Fatal(err)
			}
		}
		p := expfmt.NewTextParser(model.UTF8Validation)
		mfs, err := p.TextToMetricFamilies(body)
		if err != nil {
			t.Fatalf("gzip %v: /metrics is not valid exposition text: %v", gz, err)
		}
		up := mfs[api.MetricTargetUp]
		if up == nil || len(up.Metric) != n {
			t.Fatalf("gzip %v: %s has %v series, want %d", gz, api.MetricTargetUp, up, n)
		}
		seen := map[string]float64{}
		for _, m := range up.Metric {
			seen[m.Label[0].GetValue()] = m.Gauge.GetValue()
		}
		for i, want := range []float64{-1, 1, 0} { // unknown, up, down
			id := "target-" + strconv.Itoa(i) + `-"quoted"\`
			if got, ok := seen[id]; !ok || got != want {
				t.Errorf("gzip %v: %s{id=%q} = %v (present %v), want %v", gz, api.MetricTargetUp, id, got, ok, want)
			}
		}
		for _, name := range []string{api.MetricTargets, api.MetricChecks} {
			if mfs[name] == nil {
				t.Errorf("gzip %v: /metrics lacks %s", gz, name)
			}
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
			t.Errorf("gzip %v: Content-Type %q", gz, ct)
		}
	}
}

// BenchmarkMetricsScrape5000 scrapes /metrics with per-target series for
// 5,000 targets; B/op is what one scrape allocates.
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

func gzipReader(r io.Reader) (io.Reader, error) { return gzip.NewReader(r) }
