package node

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/pool"
	"github.com/heckhq/heck/internal/store"
	"github.com/heckhq/heck/internal/target"
)

// webPool starts a node over n loopback HTTP targets labelled app=web and a
// config pool "web" selecting them; it returns the node and the servers.
func webPool(t *testing.T, n int, tweak func(*target.Spec), p pool.Spec) (*ntNode, []ntServer) {
	t.Helper()
	var srvs []ntServer
	var specs []target.Spec
	for i := range n {
		s := ntNewServer(t)
		srvs = append(srvs, s)
		spec := ntHTTP(fmt.Sprintf("w%d", i), s.url())
		spec.Labels = map[string]string{"app": "web"}
		if tweak != nil {
			tweak(&spec)
		}
		specs = append(specs, spec)
	}
	cfg := ntConfig(t.TempDir(), specs...)
	p.Name, p.Selector = "web", map[string]string{"app": "web"}
	cfg.Pools = []pool.Spec{p}
	return ntStart(t, cfg), srvs
}

// waitPool waits until the pool's view satisfies cond.
func (nn *ntNode) waitPool(t *testing.T, what string, cond func(v pool.View) error) pool.View {
	t.Helper()
	var v pool.View
	ntWait(t, what, func() error {
		var ok bool
		if v, ok = nn.n.PoolView("web"); !ok {
			return fmt.Errorf("no pool web")
		}
		return cond(v)
	})
	return v
}

func serving(v pool.View) string {
	s := ""
	for _, m := range v.Members {
		if m.Serving {
			s += m.ID + " "
		}
	}
	return s
}

// A pool follows its members' verdicts: a down member stops being picked;
// with most of the pool down it fails open and says so.
func TestPoolFollowsVerdicts(t *testing.T) {
	nn, srvs := webPool(t, 4, nil, pool.Spec{})
	nn.waitPool(t, "every member serving", func(v pool.View) error {
		if len(v.Members) != 4 || v.Serving != 4 || v.Panic {
			return fmt.Errorf("serving %q of %d, panic %v", serving(v), len(v.Members), v.Panic)
		}
		return nil
	})
	srvs[0].SetStatus(500)
	v := nn.waitPool(t, "w0 out", func(v pool.View) error {
		if m, _ := v.Member("w0"); m.Serving || m.State != health.Down {
			return fmt.Errorf("w0 %s serving %v", m.State, m.Serving)
		}
		return nil
	})
	if v.Panic || v.Healthy != 3 {
		t.Fatalf("one of four down: panic %v healthy %d", v.Panic, v.Healthy)
	}
	for range 30 {
		m, _, ok, picked := nn.n.Pick("web", pool.RoundRobin, "")
		if !ok || !picked || m.ID == "w0" {
			t.Fatalf("pick = %s (pool %v, picked %v), want a healthy member", m.ID, ok, picked)
		}
	}
	srvs[1].SetStatus(500)
	srvs[2].SetStatus(500)
	nn.waitPool(t, "panic, failing open over all", func(v pool.View) error {
		if !v.Panic || v.Serving != 4 || v.Healthy != 1 {
			return fmt.Errorf("panic %v serving %q healthy %d", v.Panic, serving(v), v.Healthy)
		}
		return nil
	})
	// The pool's judge records the panic on its own clock: wait for it
	// before recovering, or a short panic between two of its rounds
	// leaves no event (the view panicked; the recorded state never did).
	ntWait(t, "the panic recorded", func() error {
		if st, ok := nn.n.pools.states.Get("web"); !ok || !st.Panic {
			return fmt.Errorf("pool state %+v (%v)", st, ok)
		}
		return nil
	})
	for _, s := range srvs {
		s.SetStatus(200)
	}
	nn.waitPool(t, "out of panic", func(v pool.View) error {
		if v.Panic || v.Healthy != 4 {
			return fmt.Errorf("panic %v healthy %d", v.Panic, v.Healthy)
		}
		return nil
	})
	// Both changes are events of the log, on the event stream too.
	ntWait(t, "panic and recovery events", func() error {
		es, err := nn.n.tlog.Query(t.Context(), store.TransitionQuery{Events: true, TargetID: "pool/web"})
		if err != nil {
			return err
		}
		var types []string
		for i := len(es) - 1; i >= 0; i-- {
			types = append(types, es[i].Type)
		}
		if strings.Join(types, ",") != "pool_panic,pool_recovered" {
			return fmt.Errorf("events %v", types)
		}
		return nil
	})
	if ts, _ := nn.n.Transitions(t.Context(), "w0", 0); len(ts) == 0 || ts[0].Type != "" {
		t.Fatalf("transitions of w0: %+v", ts)
	}
	if _, _, ok, _ := nn.n.Pick("nope", pool.RoundRobin, ""); ok {
		t.Fatal("picked from a pool that does not exist")
	}
}

// A member failing its probes before its fall threshold takes it down is
// ejected by the pool's judge, for the base ejection time, and comes back
// on its own.
func TestPoolEjectsOutlier(t *testing.T) {
	base := 600 * time.Millisecond
	nn, srvs := webPool(t, 4, func(s *target.Spec) { s.Schedule.Fall = 50 },
		pool.Spec{Outlier: pool.Outlier{BaseEjectionTime: target.Duration(base), MaxEjectionTime: target.Duration(2 * base)}})
	nn.waitPool(t, "every member serving", func(v pool.View) error {
		if v.Healthy != 4 {
			return fmt.Errorf("healthy %d, serving %q", v.Healthy, serving(v))
		}
		return nil
	})
	srvs[2].SetStatus(503)
	v := nn.waitPool(t, "w2 ejected", func(v pool.View) error {
		if m, _ := v.Member("w2"); m.Ejected == nil || m.Serving {
			return fmt.Errorf("w2 %s, %d failures, ejected %v", m.State, m.Fails, m.Ejected)
		}
		return nil
	})
	m, _ := v.Member("w2")
	if m.State != health.Up || v.Ejected != 1 || m.Ejected.Count != 1 || m.Ejected.Until.Sub(m.Ejected.At) != base {
		t.Fatalf("ejected member %+v (ejection %+v), pool ejected %d", m, m.Ejected, v.Ejected)
	}
	srvs[2].SetStatus(200)
	nn.waitPool(t, "w2 reinstated", func(v pool.View) error {
		if m, _ := v.Member("w2"); m.Ejected != nil || !m.Serving {
			return fmt.Errorf("w2 ejected %v serving %v", m.Ejected, m.Serving)
		}
		return nil
	})
	es, err := nn.n.tlog.Query(t.Context(), store.TransitionQuery{Type: "ejection"})
	if err != nil || len(es) != 1 || es[0].TargetID != "w2" || es[0].Subject != "pool/web" || !strings.Contains(es[0].Cause, "consecutive") {
		t.Fatalf("ejection events %+v, %v", es, err)
	}
	_, body := ntGet(t, nn.base+"/metrics")
	for _, want := range []string{`heck_pool_members{pool="web"} 4`, `heck_pool_ejections_total{pool="web",reason="consecutive_failures"} 1`,
		`heck_pool_panic{pool="web"} 0`} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// The node serves its pools over DNS: SRV of web.heck. lists the serving
// members' ports, and a member that goes down leaves the answer.
func TestPoolDNS(t *testing.T) {
	var srvs []ntServer
	var specs []target.Spec
	for i := range 3 {
		s := ntNewServer(t)
		srvs = append(srvs, s)
		spec := ntHTTP(fmt.Sprintf("w%d", i), s.url())
		spec.Labels = map[string]string{"app": "web"}
		specs = append(specs, spec)
	}
	cfg := ntConfig(t.TempDir(), specs...)
	cfg.Pools = []pool.Spec{{Name: "web", Selector: map[string]string{"app": "web"}}}
	cfg.DNS.Listen = "127.0.0.1:0"
	nn := ntStart(t, cfg)
	addr := nn.n.DNSAddr(t.Context())
	if addr == nil {
		t.Fatal("no DNS address")
	}
	ports := func() (string, error) {
		m := new(dns.Msg)
		m.SetQuestion("web.heck.", dns.TypeSRV)
		r, err := dns.Exchange(m, addr.String())
		if err != nil {
			return "", err
		}
		var ps []int
		for _, rr := range r.Answer {
			if s, ok := rr.(*dns.SRV); ok {
				ps = append(ps, int(s.Port))
			}
		}
		sort.Ints(ps)
		return fmt.Sprint(ps), nil
	}
	port := func(s ntServer) int {
		_, p, _ := net.SplitHostPort(s.Addr())
		n, _ := strconv.Atoi(p)
		return n
	}
	want := func(ss ...ntServer) string {
		var ps []int
		for _, s := range ss {
			ps = append(ps, port(s))
		}
		sort.Ints(ps)
		return fmt.Sprint(ps)
	}
	nn.waitPool(t, "every member healthy", func(v pool.View) error {
		if v.Healthy != 3 {
			return fmt.Errorf("healthy %d", v.Healthy)
		}
		return nil
	})
	ntWait(t, "SRV lists every member", func() error {
		got, err := ports()
		if err != nil || got != want(srvs...) {
			return fmt.Errorf("SRV ports %s (%v), want %s", got, err, want(srvs...))
		}
		return nil
	})
	srvs[1].SetStatus(500)
	ntWait(t, "SRV drops the down member", func() error {
		got, err := ports()
		if err != nil || got != want(srvs[0], srvs[2]) {
			return fmt.Errorf("SRV ports %s (%v), want %s", got, err, want(srvs[0], srvs[2]))
		}
		return nil
	})
	_, body := ntGet(t, nn.base+"/metrics")
	if !strings.Contains(body, `heck_dns_queries_total{rcode="NOERROR"}`) {
		t.Error("metrics lack heck_dns_queries_total")
	}
}

// A member much slower than its pool is ejected by the latency test, but
// only after it stayed slow for several rounds and probe intervals.
func TestPoolEjectsSlowMember(t *testing.T) {
	var specs []target.Spec
	for i := range 6 {
		delay := time.Duration(0)
		if i == 4 {
			delay = 60 * time.Millisecond
		}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(delay)
		}))
		t.Cleanup(srv.Close)
		spec := ntHTTP(fmt.Sprintf("w%d", i), srv.URL+"/health")
		spec.Labels = map[string]string{"app": "web"}
		specs = append(specs, spec)
	}
	cfg := ntConfig(t.TempDir(), specs...)
	cfg.Pools = []pool.Spec{{Name: "web", Selector: map[string]string{"app": "web"}}}
	nn := ntStart(t, cfg)
	start := time.Now()
	v := nn.waitPool(t, "w4 ejected for latency", func(v pool.View) error {
		if m, _ := v.Member("w4"); m.Ejected == nil {
			return fmt.Errorf("w4 latency %v, not ejected", m.Latency)
		}
		return nil
	})
	m, _ := v.Member("w4")
	if m.Ejected.Test != pool.ReasonLatency || v.Ejected != 1 {
		t.Fatalf("ejection %+v, pool ejected %d", m.Ejected, v.Ejected)
	}
	if took := time.Since(start); took < 2*time.Second {
		t.Errorf("ejected after %v: before confirmRounds rounds", took)
	}
}
