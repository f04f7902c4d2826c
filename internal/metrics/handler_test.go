package metrics_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/heckhq/heck/internal/events"
	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/metrics"
	"github.com/heckhq/heck/internal/probe"
)

type state struct {
	id string
	s  health.State
}

// states is a fixed list of targets.
type states []state

func (ss states) EachState(fn func(string, health.State)) {
	for _, s := range ss {
		fn(s.id, s.s)
	}
}

// counting counts its walks.
type counting struct {
	states
	calls atomic.Int32
}

func (c *counting) EachState(fn func(string, health.State)) {
	c.calls.Add(1)
	c.states.EachState(fn)
}

// manyStates walks its targets' ids (with quotes and a backslash, built
// once, as a node holds them), states cycling unknown, up, down.
type manyStates []string

func manyID(i int) string { return "target-" + strconv.Itoa(i) + `-"quoted"\` }

func newManyStates(n int) manyStates {
	ids := make(manyStates, n)
	for i := range ids {
		ids[i] = manyID(i)
	}
	return ids
}

func (ids manyStates) EachState(fn func(string, health.State)) {
	for i, id := range ids {
		fn(id, health.State(i%3))
	}
}

// node assembles a registry the way internal/node does (without the Go
// and process collectors, whose values move between two scrapes).
func node(ss metrics.States, perTarget bool) (http.Handler, *metrics.Checks, *prometheus.Registry) {
	reg := prometheus.NewRegistry()
	m := metrics.NewChecks(reg)
	reg.MustRegister(metrics.NewTargets(ss))
	return metrics.Handler(reg, ss, metrics.HandlerOptions{PerTarget: perTarget}), m, reg
}

type scrape struct {
	code   int
	header http.Header
	body   string
}

func get(t testing.TB, h http.Handler, gz bool) scrape {
	t.Helper()
	req := httptest.NewRequest("GET", "/metrics", nil)
	if gz {
		req.Header.Set("Accept-Encoding", "gzip")
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	resp := w.Result()
	var body io.Reader = resp.Body
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(body)
		if err != nil {
			t.Fatalf("gzip answer: %v", err)
		}
		body = zr
	}
	b, err := io.ReadAll(body)
	if err != nil {
		t.Fatalf("read answer: %v", err)
	}
	return scrape{resp.StatusCode, resp.Header, string(b)}
}

func scrapeFamilies(t testing.TB, h http.Handler, gz bool) map[string]*dto.MetricFamily {
	t.Helper()
	r := get(t, h, gz)
	if r.code != http.StatusOK {
		t.Fatalf("status %d: %s", r.code, r.body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(r.body))
	if err != nil {
		t.Fatalf("/metrics is not valid exposition text: %v\n%s", err, r.body)
	}
	return mfs
}

func TestScrapeValidAndComplete(t *testing.T) {
	const n = 5000
	h, m, _ := node(newManyStates(n), true)
	m.ObserveCheck("http", true, 0, 0, 0)
	for _, gz := range []bool{false, true} {
		mfs := scrapeFamilies(t, h, gz)
		up := mfs[metrics.NameTargetUp]
		if up == nil || len(up.Metric) != n {
			t.Fatalf("gzip %v: %s has %v series, want %d", gz, metrics.NameTargetUp, up, n)
		}
		seen := map[string]float64{}
		for _, m := range up.Metric {
			seen[m.Label[0].GetValue()] = m.Gauge.GetValue()
		}
		for i, want := range []float64{-1, 1, 0} { // unknown, up, down
			if got, ok := seen[manyID(i)]; !ok || got != want {
				t.Errorf("gzip %v: %s{id=%q} = %v (present %v), want %v", gz, metrics.NameTargetUp, manyID(i), got, ok, want)
			}
		}
		for _, name := range []string{metrics.NameTargets, metrics.NameChecks} {
			if mfs[name] == nil {
				t.Errorf("gzip %v: /metrics lacks %s", gz, name)
			}
		}
	}
	r := get(t, h, true)
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q", ct)
	}
	if r.header.Get("Content-Encoding") != "gzip" || r.header.Get("Vary") != "Accept-Encoding" {
		t.Errorf("gzip answer headers %v", r.header)
	}
}

// upCollector is how heck_target_up was exported before it was streamed:
// one const metric per target, encoded by promhttp. It is the reference
// the streamed answer must equal.
type upCollector struct {
	ss   metrics.States
	desc *prometheus.Desc
}

func (c upCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }
func (c upCollector) Collect(ch chan<- prometheus.Metric) {
	c.ss.EachState(func(id string, s health.State) {
		v := -1.0
		switch s {
		case health.Up:
			v = 1
		case health.Down:
			v = 0
		}
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, v, id)
	})
}

// The streamed answer has the very lines promhttp writes for the same
// registry with heck_target_up as const metrics; only their order differs
// (heck_target_up comes last, its series in the order of the states).
func TestStreamedEqualsPromhttp(t *testing.T) {
	ss := states{{"web", health.Up}, {"db", health.Down}, {`we"ird\id` + "\n", health.Stale}, {"a", health.Unknown}}
	h, m, reg := node(ss, true)
	m.ObserveCheck("http", true, probe.ReasonNone, 2*time.Millisecond, time.Millisecond)
	m.ObserveCheck("tcp", false, probe.ReasonTimeout, time.Second, 0)
	m.ObserveTransition(events.Transition{To: health.Down})
	m.AddStoreWriteErrors(2)

	ref := prometheus.NewRegistry()
	ref.MustRegister(upCollector{ss, metrics.NewDesc(metrics.NameTargetUp)})
	want := get(t, promhttp.HandlerFor(prometheus.Gatherers{reg, ref}, promhttp.HandlerOpts{}), false).body
	got := get(t, h, false).body
	if sortedLines(got) != sortedLines(want) {
		t.Fatalf("streamed answer differs from promhttp's beyond order\n--- streamed\n%s\n--- promhttp\n%s", got, want)
	}
	if !strings.HasSuffix(got, "heck_target_up{id=\"a\"} -1\n") {
		t.Errorf("heck_target_up is not last, in the states' order:\n%s", got)
	}
}

func sortedLines(s string) string {
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// Without per-target series the answer is promhttp's, heck_targets is
// counted in one walk of the states, and there is no heck_target_up.
func TestTargetsWithoutPerTarget(t *testing.T) {
	ss := &counting{states: states{{"a", health.Up}, {"b", health.Up}, {"c", health.Stale}}}
	h, _, _ := node(ss, false)
	r := get(t, h, false)
	for _, want := range []string{`heck_targets{state="up"} 2`, `heck_targets{state="stale"} 1`, `heck_targets{state="down"} 0`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(r.body, metrics.NameTargetUp) {
		t.Error("heck_target_up exported without PerTarget")
	}
	if n := ss.calls.Load(); n != 1 {
		t.Errorf("EachState called %d times per scrape, want 1", n)
	}
	h, _, _ = node(ss, true)
	ss.calls.Store(0)
	get(t, h, false)
	if n := ss.calls.Load(); n != 2 {
		t.Errorf("EachState called %d times per scrape with per-target series, want 2 (gauges, then the series)", n)
	}
}

type failing struct{}

func (failing) Gather() ([]*dto.MetricFamily, error) { return nil, errors.New("collector broke") }

func TestGatherError(t *testing.T) {
	var logs bytes.Buffer
	h := metrics.Handler(failing{}, states{}, metrics.HandlerOptions{PerTarget: true,
		Logger: slogTo(&logs)})
	r := get(t, h, false)
	if r.code != http.StatusInternalServerError || !strings.Contains(r.body, "collector broke") {
		t.Fatalf("gather error = %d %q, want 500 naming the error", r.code, r.body)
	}
	if !strings.Contains(logs.String(), "collector broke") {
		t.Errorf("gather error not logged: %q", logs.String())
	}
}

// BenchmarkScrape5000 scrapes the handler with per-target series for
// 5,000 targets; B/op is what one scrape allocates. (BenchmarkMetricsScrape5000
// in internal/api measures the same through the API server.)
func BenchmarkScrape5000(b *testing.B) {
	h, m, _ := node(newManyStates(5000), true)
	m.ObserveCheck("http", true, 0, 0, 0)
	req := httptest.NewRequest("GET", "/metrics", nil)
	b.ReportAllocs()
	for b.Loop() {
		w := discardWriter{h: http.Header{}}
		h.ServeHTTP(&w, req)
	}
}

type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(int)             {}
