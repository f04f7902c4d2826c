package testkit

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
)

// Server is one loopback HTTP target: it counts its hits and answers any
// path with "ok" and a status the test may change (200 at first). It is
// closed when the test ends.
type Server struct {
	srv    *httptest.Server
	hits   atomic.Int64
	status atomic.Int32
	mu     sync.Mutex
	header http.Header // of the last request
}

// NewServer starts a Server.
func NewServer(t testing.TB) *Server {
	t.Helper()
	s := &Server{}
	s.status.Store(http.StatusOK)
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		s.mu.Lock()
		s.header = r.Header.Clone()
		s.mu.Unlock()
		w.WriteHeader(int(s.status.Load()))
		io.WriteString(w, "ok")
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// URL is the server's base URL, http://127.0.0.1:port.
func (s *Server) URL() string { return s.srv.URL }

// Addr is the server's host:port.
func (s *Server) Addr() string { return s.srv.Listener.Addr().String() }

// Hits returns how many requests the server has had.
func (s *Server) Hits() int64 { return s.hits.Load() }

// SetStatus sets the status of the answers from now on.
func (s *Server) SetStatus(code int) { s.status.Store(int32(code)) }

// LastHeader returns header name of the last request.
func (s *Server) LastHeader(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.header.Get(name)
}

// WaitHits waits (as w says) until the server has had n more hits than
// it has now.
func (s *Server) WaitHits(t testing.TB, w Wait, n int64) {
	t.Helper()
	want := s.hits.Load() + n
	w.Until(t, fmt.Sprintf("%d hits at %s", n, s.URL()), func() error {
		if got := s.hits.Load(); got < want {
			return fmt.Errorf("%d hits, want %d", got, want)
		}
		return nil
	})
}

// HitsWhile returns how many hits the server has while clock, a target
// probed steadily, has n more: how a test waits for probes that must not
// happen. A probe of the server already in flight is first let land (one
// hit of clock).
func (s *Server) HitsWhile(t testing.TB, w Wait, clock *Server, n int64) int64 {
	t.Helper()
	clock.WaitHits(t, w, 1)
	before := s.hits.Load()
	clock.WaitHits(t, w, n)
	return s.hits.Load() - before
}
