package apitest

import (
	"net/http/httptest"
	"testing"

	"github.com/heckhq/heck/internal/api"
)

// Serve runs the API over b on a loopback test server and closes both when
// the test ends.
func Serve(t testing.TB, b api.Backend, opts api.Options) (*api.Server, *httptest.Server) {
	t.Helper()
	s := api.New(b, opts)
	ts := httptest.NewServer(s)
	t.Cleanup(func() { s.Close(); ts.Close() })
	return s, ts
}
