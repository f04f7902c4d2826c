// Package notifytest is a loopback HTTP server for channel tests: it
// records every request and answers with a status the test chooses.
package notifytest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/notify"
)

// Request is one recorded request.
type Request struct {
	Method string
	Path   string
	Header http.Header
	Body   []byte
}

// Server records requests and answers Status (200 when zero) with Body.
type Server struct {
	*httptest.Server
	mu       sync.Mutex
	requests []Request
	status   int
	body     string
	header   http.Header
}

// NewServer starts a server on 127.0.0.1, closed when the test ends.
func NewServer(t testing.TB) *Server {
	s := &Server{status: http.StatusOK, header: http.Header{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// Answer sets the status, body and headers of the next answers.
func (s *Server) Answer(status int, body string, header ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status, s.body, s.header = status, body, http.Header{}
	for i := 0; i+1 < len(header); i += 2 {
		s.header.Set(header[i], header[i+1])
	}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.RequestURI(), Header: r.Header.Clone(), Body: b})
	status, body := s.status, s.body
	for k, v := range s.header {
		w.Header()[k] = v
	}
	s.mu.Unlock()
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// Requests returns the requests so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Last returns the last request, failing the test when there is none.
func (s *Server) Last(t testing.TB) Request {
	t.Helper()
	rs := s.Requests()
	if len(rs) == 0 {
		t.Fatal("the server got no request")
	}
	return rs[len(rs)-1]
}

// Options are channel options for tests: the server's client and a fixed
// clock.
func (s *Server) Options() notify.Options {
	return notify.Options{HTTPClient: s.Client(), Now: func() time.Time { return Now }}
}

// Now is the clock of Options.
var Now = time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC)

// Firing is a firing message for web, with text that needs escaping.
func Firing() notify.Message {
	return notify.Message{ID: "tr-1", Kind: notify.KindFiring,
		Target: notify.Target{ID: "web", Name: "web <front> & co", Kind: "http", URLOrAddress: "http://127.0.0.1:8080/"},
		From:   notify.StateUp, To: notify.StateDown, At: Now.Add(-time.Minute), Cause: "HTTP 503 <b>bold</b> & *stars*",
		Severity: notify.SeverityCritical, Impacted: []string{"api"}, Node: "heck-1", DashboardURL: "http://127.0.0.1:7000/t/web"}
}

// Resolved is the resolved message closing Firing's incident.
func Resolved() notify.Message {
	m := Firing()
	m.ID, m.Kind, m.Incident, m.From, m.To, m.Cause, m.Severity = "tr-2", notify.KindResolved, "tr-1", notify.StateDown, notify.StateUp, "", notify.SeverityInfo
	return m
}
