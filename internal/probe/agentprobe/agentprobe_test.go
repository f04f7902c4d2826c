package agentprobe

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/probe"
	"github.com/heckhq/heck/internal/target"
	"github.com/heckhq/heck/internal/testkit"
)

// agent serves a fixed /healthz answer and remembers the query asked.
func agent(t *testing.T, code int, body string) (*httptest.Server, *string) {
	t.Helper()
	var query string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		query = r.URL.RawQuery
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv, &query
}

const (
	okBody = `{"status":"ok","starting":false,"checks":[
		{"name":"cpu","kind":"cpu","status":"ok","critical":false,"message":"CPU 3.0% used"},
		{"name":"db","kind":"tcp","status":"ok","critical":true,"message":"connected"}]}`
	degradedBody = `{"status":"degraded","starting":false,"failing":["swap"],"checks":[
		{"name":"swap","kind":"swap","status":"failing","critical":false,"message":"swap 91.0% used, above the limit of 80.0%"},
		{"name":"db","kind":"tcp","status":"ok","critical":true,"message":"connected"}]}`
	downBody = `{"status":"down","starting":false,"failing":["db","swap"],"checks":[
		{"name":"swap","kind":"swap","status":"failing","critical":false,"message":"swap 91.0% used"},
		{"name":"db","kind":"tcp","status":"failing","critical":true,"message":"connection refused"}]}`
	startingBody = `{"status":"down","starting":true,"checks":[{"name":"db","kind":"tcp","status":"pending","critical":true}]}`
)

func TestProbe(t *testing.T) {
	tests := []struct {
		name    string
		code    int
		body    string
		check   string
		ok      bool
		state   health.State
		msg     []string
		reason  probe.Reason
		nChecks int
	}{
		{name: "ok", code: 200, body: okBody, ok: true, msg: []string{"ok: 2 checks pass"}, nChecks: 2},
		{name: "degraded", code: 200, body: degradedBody, ok: true, state: health.Degraded,
			msg: []string{"degraded: swap: swap 91.0% used, above the limit of 80.0%"}, nChecks: 2},
		{name: "down", code: 503, body: downBody, msg: []string{"down: db (critical): connection refused; swap: swap 91.0% used"},
			reason: probe.ReasonStatus, nChecks: 2},
		{name: "starting", code: 503, body: startingBody, msg: []string{"starting"}, reason: probe.ReasonStatus, nChecks: 1},
		{name: "one check", code: 200, body: okBody, check: "db", ok: true, msg: []string{"ok"}, nChecks: 2},
		{name: "unknown check", code: 404, body: "no check is named \"x\"\n", check: "x", msg: []string{`HTTP 404: no check is named "x"`}, reason: probe.ReasonStatus},
		{name: "not json", code: 200, body: "<html>", msg: []string{"not a heck agent's /healthz"}, reason: probe.ReasonBody},
		{name: "odd status", code: 200, body: `{"status":"weird","checks":[]}`, msg: []string{`status "weird"`}, reason: probe.ReasonBody},
		{name: "server error", code: 500, body: "oops", msg: []string{"HTTP 500 from the agent"}, reason: probe.ReasonStatus},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, query := agent(t, tt.code, tt.body)
			spec := target.Spec{ID: "host", Kind: target.KindAgent, URL: srv.URL + "/healthz"}
			if tt.check != "" {
				spec.Agent = &target.AgentOptions{Check: tt.check}
			}
			if errs := spec.Validate(); len(errs) > 0 {
				t.Fatal(errs)
			}
			p, err := New(spec.WithDefaults(), probe.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			res := p.Probe(context.Background())
			if res.OK != tt.ok || res.State != tt.state {
				t.Errorf("OK %v state %v, want %v %v (%q)", res.OK, res.State, tt.ok, tt.state, res.Message)
			}
			for _, m := range tt.msg {
				if !strings.Contains(res.Message, m) {
					t.Errorf("message %q does not contain %q", res.Message, m)
				}
			}
			if !res.OK && probe.ReasonOf(&res) != tt.reason {
				t.Errorf("reason %v, want %v", probe.ReasonOf(&res), tt.reason)
			}
			if len(res.Details.Checks) != tt.nChecks || res.Details.StatusCode != tt.code {
				t.Errorf("details = %+v", res.Details)
			}
			if tt.check != "" && *query != "check="+tt.check {
				t.Errorf("query %q, want check=%s", *query, tt.check)
			}
			if res.Latency <= 0 {
				t.Errorf("latency %v", res.Latency)
			}
		})
	}
}

func TestDetailsKeepEveryCheck(t *testing.T) {
	srv, _ := agent(t, 503, downBody)
	p, err := New(target.Spec{ID: "h", Kind: target.KindAgent, URL: srv.URL + "/healthz"}.WithDefaults(), probe.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res := p.Probe(context.Background())
	want := []probe.CheckDetail{
		{Name: "swap", Status: "failing", Message: "swap 91.0% used"},
		{Name: "db", Status: "failing", Critical: true, Message: "connection refused"},
	}
	if len(res.Details.Checks) != len(want) {
		t.Fatalf("checks = %+v", res.Details.Checks)
	}
	for i := range want {
		if res.Details.Checks[i] != want[i] {
			t.Errorf("check %d = %+v, want %+v", i, res.Details.Checks[i], want[i])
		}
	}
}

func TestUnreachable(t *testing.T) {
	addr := testkit.ClosedAddr(t)
	p, err := New(target.Spec{ID: "h", Kind: target.KindAgent, URL: "http://" + addr + "/healthz"}.WithDefaults(), probe.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	res := p.Probe(ctx)
	if res.OK || probe.ReasonOf(&res) != probe.ReasonRefused {
		t.Errorf("result = %+v, reason %v", res, probe.ReasonOf(&res))
	}
}

func TestSlowAgentTimesOut(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	p, err := New(target.Spec{ID: "h", Kind: target.KindAgent, URL: srv.URL + "/healthz"}.WithDefaults(), probe.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	res := p.Probe(ctx)
	if res.OK || probe.ReasonOf(&res) != probe.ReasonTimeout {
		t.Errorf("result = %+v, reason %v", res, probe.ReasonOf(&res))
	}
}

func TestNewRejectsBadURL(t *testing.T) {
	if _, err := New(target.Spec{ID: "h", Kind: target.KindAgent, URL: "ftp://x"}, probe.Options{}); err == nil {
		t.Error("no error for ftp://")
	}
}
