package apitest

import (
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/heckhq/heck/internal/api"
)

// Serve runs the API over b on a loopback test server, with a registry of
// its own unless opts names one, and closes both when the test ends.
func Serve(t testing.TB, b api.Backend, opts api.Options) (*api.Server, *httptest.Server) {
	t.Helper()
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
	}
	s := api.New(b, opts)
	ts := httptest.NewServer(s)
	t.Cleanup(func() { s.Close(); ts.Close() })
	return s, ts
}
