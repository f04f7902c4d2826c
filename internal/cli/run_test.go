package cli_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// pingRecorder is a fake ping endpoint recording each ping's path and body.
type pingRecorder struct {
	mu    sync.Mutex
	pings []string
	srv   *httptest.Server
}

func newPingRecorder(t *testing.T, status int) *pingRecorder {
	p := &pingRecorder{}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		p.mu.Lock()
		p.pings = append(p.pings, r.Method+" "+r.URL.Path+" "+strings.TrimSpace(string(b)))
		p.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *pingRecorder) got() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.pings, " | ")
}

func TestRun(t *testing.T) {
	cases := []struct {
		name, script string
		code         int
		want         string
	}{
		{"success", "echo backed up", 0, "POST /ping/tok/start  | POST /ping/tok/0 backed up"},
		{"failure", "echo disk full >&2; exit 3", 3, "POST /ping/tok/start  | POST /ping/tok/3 disk full"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := newPingRecorder(t, http.StatusOK)
			r := heck(t, "run", "--ping", p.srv.URL+"/ping/tok", "--", "sh", "-c", c.script)
			if r.code != c.code {
				t.Fatalf("exit %d, want %d (stderr %s)", r.code, c.code, r.stderr)
			}
			if got := p.got(); got != c.want {
				t.Fatalf("pings %q, want %q", got, c.want)
			}
			if !strings.Contains(r.stdout+r.stderr, "disk full") && c.code != 0 {
				t.Errorf("the job's output was not passed through: %q %q", r.stdout, r.stderr)
			}
		})
	}
}

// A ping that fails never stops the job; a command that cannot start is
// reported as a failure.
func TestRunPingFails(t *testing.T) {
	p := newPingRecorder(t, http.StatusNotFound)
	r := heck(t, "run", "--ping", p.srv.URL+"/ping/secret-token", "--", "sh", "-c", "echo ran")
	if r.code != 0 || !strings.Contains(r.stdout, "ran") || !strings.Contains(r.stderr, "404") || strings.Contains(r.stderr, "secret-token") {
		t.Fatalf("exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	p = newPingRecorder(t, http.StatusOK)
	r = heck(t, "run", "--ping", p.srv.URL+"/ping/tok", "--", "/nonexistent/job")
	if r.code != 2 || !strings.Contains(p.got(), "/ping/tok/fail") {
		t.Fatalf("missing command: exit %d, pings %q", r.code, p.got())
	}
	usageError(t, heck(t, "run", "--ping", "ftp://x/", "--", "true"), "not a ping URL")
	usageError(t, heck(t, "run", "--ping", "", "--", "true"), "--ping is missing")
}
