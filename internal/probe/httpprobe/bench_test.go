package httpprobe

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/probe"
	"github.com/heckhq/heck/internal/probe/internal/probetest"
	"github.com/heckhq/heck/internal/target"
)

func benchServer(b *testing.B) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	b.Cleanup(srv.Close)
	return srv
}

// BenchmarkHTTPProbe is one probe of a loopback server on a fresh
// connection, through a guard, with a body condition: the work heck does
// per check. Compare with BenchmarkBareHTTPGet.
func BenchmarkHTTPProbe(b *testing.B) {
	srv := benchServer(b)
	g, _ := probe.NewGuard(probe.DefaultDenyNetworks)
	p := probetest.New(b, New, spec(srv.URL+"/", &target.HTTPOptions{BodyContains: "ok"}), probe.Options{Guard: g})
	b.ReportAllocs()
	for b.Loop() {
		if res := probetest.Probe(p, 2*time.Second); !res.OK {
			b.Fatal(res.Message)
		}
	}
}

// BenchmarkBareHTTPGet is the baseline: a plain net/http GET loop with
// keep-alives off, reading the body.
func BenchmarkBareHTTPGet(b *testing.B) {
	srv := benchServer(b)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	b.ReportAllocs()
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/", nil)
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		cancel()
	}
}
