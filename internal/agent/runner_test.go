package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/hostcheck"
	"github.com/heckhq/heck/internal/probe"
	"github.com/heckhq/heck/internal/probe/kinds"
	"github.com/heckhq/heck/internal/target"
	"github.com/heckhq/heck/internal/testkit"
	"github.com/heckhq/heck/internal/wire"
)

// fake is a prober whose outcome the test sets; it counts its runs.
type fake struct {
	ok    atomic.Bool
	runs  atomic.Int64
	msg   string
	state health.State
}

func (f *fake) Probe(context.Context) probe.Result {
	f.runs.Add(1)
	if f.ok.Load() {
		return probe.Result{OK: true, Latency: 1500 * time.Microsecond, Message: f.msg + " fine", State: f.state}
	}
	return probe.Result{Latency: time.Millisecond, Message: f.msg + " broken"}
}

type spec struct {
	name     string
	critical bool
	rise     int
	fall     int
}

// newTestRunner makes a runner of memory checks with fake probers
// (started passing), on a schedule of 20ms.
func newTestRunner(t *testing.T, specs ...spec) (*Runner, []*fake) {
	t.Helper()
	cfg := &Config{}
	for _, s := range specs {
		crit := s.critical
		sc := target.Schedule{Interval: target.Duration(20 * time.Millisecond), Timeout: target.Duration(10 * time.Millisecond),
			Rise: s.rise, Fall: s.fall}
		cfg.Checks = append(cfg.Checks, Check{Target: target.Spec{Name: s.name, Kind: target.Kind(hostcheck.KindMemory),
			Schedule: sc.Resolve(target.Schedule{}, nil)}, Critical: &crit})
	}
	r, err := NewRunner(cfg, probe.Options{}, testkit.Logger(t.Name()))
	if err != nil {
		t.Fatal(err)
	}
	fakes := make([]*fake, len(specs))
	for i := range r.checks {
		fakes[i] = &fake{msg: specs[i].name}
		fakes[i].ok.Store(true)
		r.checks[i].prober = fakes[i]
	}
	return r, fakes
}

type reply struct {
	code int
	body string
}

func get(t *testing.T, h http.Handler, path string) reply {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return reply{rec.Code, rec.Body.String()}
}

func healthOf(t *testing.T, rp reply) wire.AgentHealth {
	t.Helper()
	var h wire.AgentHealth
	if err := json.Unmarshal([]byte(rp.body), &h); err != nil {
		t.Fatalf("healthz body %q: %v", rp.body, err)
	}
	return h
}

// run records one result of check i, passing or not.
func run(r *Runner, f []*fake, i int, ok bool) {
	f[i].ok.Store(ok)
	r.record(i, f[i].Probe(context.Background()))
}

func TestStarting(t *testing.T) {
	r, f := newTestRunner(t, spec{name: "db", critical: true}, spec{name: "cpu"}, spec{name: "disk", critical: true})
	h := r.Handler()
	for _, x := range f {
		if x.runs.Load() != 0 {
			t.Fatal("a check ran before Run")
		}
	}
	rp := get(t, h, "/readyz")
	if rp.code != 503 || !strings.HasPrefix(rp.body, "starting: waiting for the first run of db, cpu, disk") {
		t.Errorf("readyz before any result = %+v", rp)
	}
	hz := get(t, h, "/healthz")
	hh := healthOf(t, hz)
	if hz.code != 503 || hh.Status != wire.AgentDown || !hh.Starting || len(hh.Checks) != 3 || hh.Checks[0].Status != wire.CheckPending {
		t.Errorf("healthz before any result = %d %+v", hz.code, hh)
	}
	if rp := get(t, h, "/livez"); rp.code != 200 {
		t.Errorf("livez while starting = %+v", rp)
	}
	run(r, f, 0, true)
	run(r, f, 1, true)
	if rp := get(t, h, "/readyz"); rp.code != 503 || !strings.Contains(rp.body, "first run of disk\n") {
		t.Errorf("readyz with disk pending = %+v", rp)
	}
	if rp := get(t, h, "/healthz?check=db"); rp.code != 200 || healthOf(t, rp).Status != wire.AgentOK {
		t.Errorf("healthz?check=db after its first run = %+v", rp)
	}
	if rp := get(t, h, "/healthz?check=disk"); rp.code != 503 || !healthOf(t, rp).Starting {
		t.Errorf("healthz?check=disk before its first run = %+v", rp)
	}
	run(r, f, 2, true)
	if rp := get(t, h, "/readyz"); rp.code != 200 || rp.body != "ready\n" {
		t.Errorf("readyz after the first round = %+v", rp)
	}
	if hh := healthOf(t, get(t, h, "/healthz")); hh.Status != wire.AgentOK || hh.Starting {
		t.Errorf("healthz after the first round = %+v", hh)
	}
}

func TestReadyAndHealth(t *testing.T) {
	tests := []struct {
		name      string
		ok        []bool // db (critical), swap, disk (critical)
		ready     int
		readyBody []string
		status    string
		code      int
		failing   []string
	}{
		{"all pass", []bool{true, true, true}, 200, []string{"ready\n"}, wire.AgentOK, 200, nil},
		{"critical failing", []bool{false, true, true}, 503, []string{"not ready: critical checks failing: db: db broken"}, wire.AgentDown, 503, []string{"db"}},
		{"non-critical failing", []bool{true, false, true}, 200, []string{"ready (degraded: swap failing, not critical)"}, wire.AgentDegraded, 200, []string{"swap"}},
		{"both", []bool{false, false, false}, 503, []string{"db: db broken; disk: disk broken"}, wire.AgentDown, 503, []string{"db", "disk", "swap"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, f := newTestRunner(t, spec{name: "db", critical: true, rise: 1, fall: 1}, spec{name: "swap", rise: 1, fall: 1},
				spec{name: "disk", critical: true, rise: 1, fall: 1})
			for i, ok := range tt.ok {
				run(r, f, i, ok)
			}
			h := r.Handler()
			rp := get(t, h, "/readyz")
			if rp.code != tt.ready {
				t.Errorf("readyz = %+v, want %d", rp, tt.ready)
			}
			for _, s := range tt.readyBody {
				if !strings.Contains(rp.body, s) {
					t.Errorf("readyz body %q does not name %q", rp.body, s)
				}
			}
			hz := get(t, h, "/healthz")
			hh := healthOf(t, hz)
			if hz.code != tt.code || hh.Status != tt.status || fmt.Sprint(hh.Failing) != fmt.Sprint(tt.failing) {
				t.Errorf("healthz = %d %s failing %v, want %d %s %v", hz.code, hh.Status, hh.Failing, tt.code, tt.status, tt.failing)
			}
			if rp := get(t, h, "/livez"); rp.code != 200 {
				t.Errorf("livez = %+v: it must never depend on a check", rp)
			}
			for i, c := range hh.Checks {
				want := wire.CheckOK
				if !tt.ok[i] {
					want = wire.CheckFailing
				}
				if c.Status != want || c.LastRun.IsZero() || c.LatencyMS <= 0 || c.Kind != "memory" {
					t.Errorf("check %s = %+v, want status %s with last run and latency", c.Name, c, want)
				}
				one := healthOf(t, get(t, h, "/healthz?check="+c.Name))
				if len(one.Checks) != 1 || one.Checks[0].Name != c.Name {
					t.Errorf("?check=%s = %+v", c.Name, one)
				}
				wantOne := wire.AgentOK
				switch {
				case !tt.ok[i] && c.Critical:
					wantOne = wire.AgentDown
				case !tt.ok[i]:
					wantOne = wire.AgentDegraded
				}
				if one.Status != wantOne {
					t.Errorf("?check=%s status %s, want %s", c.Name, one.Status, wantOne)
				}
			}
		})
	}
}

func TestHealthzQueries(t *testing.T) {
	r, f := newTestRunner(t, spec{name: "db", critical: true})
	run(r, f, 0, true)
	h := r.Handler()
	for _, tt := range []struct {
		path string
		code int
		body string
	}{
		{"/healthz?check=nope", 404, `no check is named "nope"`},
		{"/healthz?verbose=1", 400, "unknown query"},
		{"/healthz?check=db", 200, `"name":"db"`},
		{"/nothing", 404, ""},
	} {
		rp := get(t, h, tt.path)
		if rp.code != tt.code || !strings.Contains(rp.body, tt.body) {
			t.Errorf("%s = %+v, want %d %q", tt.path, rp, tt.code, tt.body)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/healthz", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /healthz = %d", rec.Code)
	}
}

// TestRiseFall follows one check (rise 2, fall 3) through a run of
// results: until rise or fall settle it, its status is its last result's.
func TestRiseFall(t *testing.T) {
	r, f := newTestRunner(t, spec{name: "db", critical: true, rise: 2, fall: 3})
	steps := []struct {
		ok           bool
		status       string
		fails, succs int
		ready        int
	}{
		{false, wire.CheckFailing, 1, 0, 503}, // unsettled: the last result decides
		{true, wire.CheckOK, 0, 1, 200},
		{true, wire.CheckOK, 0, 2, 200}, // up
		{false, wire.CheckOK, 1, 0, 200},
		{false, wire.CheckOK, 2, 0, 200},
		{false, wire.CheckFailing, 3, 0, 503}, // down after fall
		{true, wire.CheckFailing, 0, 1, 503},
		{false, wire.CheckFailing, 1, 0, 503},
		{true, wire.CheckFailing, 0, 1, 503},
		{true, wire.CheckOK, 0, 2, 200}, // up after rise
	}
	for i, s := range steps {
		run(r, f, 0, s.ok)
		c := healthOf(t, get(t, r.Handler(), "/healthz")).Checks[0]
		if c.Status != s.status || c.ConsecutiveFailures != s.fails || c.ConsecutiveSuccesses != s.succs {
			t.Errorf("step %d (ok %v): %s, %d failures, %d successes; want %s, %d, %d", i, s.ok, c.Status,
				c.ConsecutiveFailures, c.ConsecutiveSuccesses, s.status, s.fails, s.succs)
		}
		if rp := get(t, r.Handler(), "/readyz"); rp.code != s.ready {
			t.Errorf("step %d: readyz %d, want %d", i, rp.code, s.ready)
		}
	}
}

// TestDegradedResultPasses: a dependency that says it is degraded (an
// agent checking another agent) passes.
func TestDegradedResultPasses(t *testing.T) {
	r, f := newTestRunner(t, spec{name: "peer", critical: true})
	f[0].state = health.Degraded
	run(r, f, 0, true)
	if rp := get(t, r.Handler(), "/readyz"); rp.code != 200 {
		t.Errorf("readyz = %+v", rp)
	}
}

// TestRun runs checks in the background: none runs before Run, each runs
// on its own, readyz follows them, and Run returns when ctx ends.
func TestRun(t *testing.T) {
	r, f := newTestRunner(t, spec{name: "db", critical: true, rise: 1, fall: 2}, spec{name: "cache", rise: 1, fall: 1})
	r.checks[1].sched.InitialDelay = target.Duration(50 * time.Millisecond)
	h := r.Handler()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { r.Run(ctx) })
	defer func() { cancel(); wg.Wait() }()

	w := testkit.Wait{Timeout: 10 * time.Second, Every: 5 * time.Millisecond}
	w.Until(t, "ready after the first round", func() error {
		if rp := get(t, h, "/readyz"); rp.code != 200 {
			return fmt.Errorf("readyz %+v", rp)
		}
		return nil
	})
	f[0].ok.Store(false)
	w.Until(t, "not ready once the critical check fails fall times", func() error {
		if rp := get(t, h, "/readyz"); rp.code != 503 || !strings.Contains(rp.body, "db: db broken") {
			return fmt.Errorf("readyz %+v", rp)
		}
		return nil
	})
	f[0].ok.Store(true)
	f[1].ok.Store(false)
	w.Until(t, "ready and degraded", func() error {
		hh := healthOf(t, get(t, h, "/healthz"))
		if rp := get(t, h, "/readyz"); rp.code != 200 || hh.Status != wire.AgentDegraded {
			return fmt.Errorf("readyz %+v, healthz %s", rp, hh.Status)
		}
		return nil
	})
	runs := f[0].runs.Load()
	w.Until(t, "the checks go on running", testkit.True(func() bool { return f[0].runs.Load() >= runs+3 }))
}

// TestProbePanic: a check that panics fails, the agent lives on.
func TestProbePanic(t *testing.T) {
	r, _ := newTestRunner(t, spec{name: "bad", critical: true, rise: 1, fall: 1})
	r.checks[0].prober = panicky{}
	res := r.probe(context.Background(), r.checks[0])
	if res.OK || !strings.Contains(res.Message, "panicked") {
		t.Errorf("result = %+v", res)
	}
}

type panicky struct{}

func (panicky) Probe(context.Context) probe.Result { panic("boom") }

// TestExampleRuns loads examples/agent.yaml and runs it on loopback (its
// HTTP dependency pointed at this agent's own port) until every check has
// passed once, then reads it as a heck node would, through the agent
// target kind.
func TestExampleRuns(t *testing.T) {
	root, err := testkit.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(filepath.Join(root, "examples", "agent.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	for i := range cfg.Checks {
		if u := cfg.Checks[i].Target.URL; u != "" {
			cfg.Checks[i].Target.URL = strings.Replace(u, "127.0.0.1:7900", ln.Addr().String(), 1)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, cfg, testkit.Logger("agent")) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()
	hc := &http.Client{Timeout: 5 * time.Second}
	fetch := func(path string) (int, string, error) {
		resp, err := hc.Get(base + path)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), err
	}
	w := testkit.Wait{Timeout: 20 * time.Second, Every: 20 * time.Millisecond}
	w.Until(t, "the example agent ready", func() error {
		code, body, err := fetch("/readyz")
		if err != nil || code != 200 {
			return fmt.Errorf("readyz %d %q %v", code, body, err)
		}
		return nil
	})
	code, body, err := fetch("/healthz")
	if err != nil || code != 200 {
		t.Fatalf("healthz %d %v", code, err)
	}
	var hh wire.AgentHealth
	if err := json.Unmarshal([]byte(body), &hh); err != nil {
		t.Fatal(err)
	}
	for _, c := range hh.Checks {
		if c.Critical && c.Status != wire.CheckOK {
			t.Errorf("critical check %s is %s: %s", c.Name, c.Status, c.Message)
		}
		if c.Status == wire.CheckPending {
			t.Errorf("check %s pending once ready", c.Name)
		}
	}

	// The agent target kind of heck serve reads it.
	spec := target.Spec{ID: "host", Kind: target.KindAgent, URL: base + "/healthz"}
	if errs := spec.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	p, err := kinds.New(spec.WithDefaults(), probe.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res := p.Probe(context.Background())
	if !res.OK || len(res.Details.Checks) != len(cfg.Checks) || res.Details.Checks[0].Name != cfg.Checks[0].Name() {
		t.Errorf("agent target result = %+v", res)
	}
}

// TestNextInterval: the interval after a result is the fast interval while
// a change is pending, the down interval while down, the interval else.
func TestNextInterval(t *testing.T) {
	r, f := newTestRunner(t, spec{name: "db", critical: true, rise: 2, fall: 2})
	sc := &r.checks[0].sched
	sc.Interval, sc.FastInterval, sc.DownInterval = target.Duration(time.Second), target.Duration(200*time.Millisecond), target.Duration(5*time.Second)
	steps := []struct {
		ok   bool
		want time.Duration
	}{
		{true, 200 * time.Millisecond}, // unknown: pending
		{true, time.Second},            // up
		{false, 200 * time.Millisecond},
		{false, 5 * time.Second}, // down
		{true, 200 * time.Millisecond},
		{true, time.Second},
	}
	for i, s := range steps {
		f[0].ok.Store(s.ok)
		if got := r.record(0, f[0].Probe(context.Background())); got != s.want {
			t.Errorf("step %d (ok %v): next in %v, want %v", i, s.ok, got, s.want)
		}
	}
}
