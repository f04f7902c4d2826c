package httpprobe

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/heckhq/heck/internal/probe"
	"github.com/heckhq/heck/internal/probe/internal/testcert"
	"github.com/heckhq/heck/internal/target"
)

func newMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "all ok here") })
	mux.HandleFunc("/status/{code}", func(w http.ResponseWriter, r *http.Request) {
		var code int
		fmt.Sscan(r.PathValue("code"), &code)
		w.WriteHeader(code)
	})
	mux.HandleFunc("/json", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"status":"ok","version":"1.2.3","checks":[{"name":"db","ok":true},{"name":"cache","ok":false}]}`)
	})
	mux.HandleFunc("/degraded", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"status":"degraded"}`) })
	mux.HandleFunc("/text", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "status: ok") })
	mux.Handle("/redirect", http.RedirectHandler("/ok", http.StatusFound))
	mux.Handle("/loop", http.RedirectHandler("/loop", http.StatusFound))
	mux.Handle("/metadata", http.RedirectHandler("http://169.254.169.254/latest/meta-data/", http.StatusFound))
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "method=%s host=%s x-test=%s ua=%s body=%s", r.Method, r.Host, r.Header.Get("X-Test"), r.UserAgent(), b)
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strings.Repeat("a", 100<<10))
		io.WriteString(w, "needle")
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(30 * time.Millisecond) // the server's behaviour under test: a slow answer
		io.WriteString(w, "late")
	})
	mux.HandleFunc("/hang", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	return mux
}

func spec(url string, h *target.HTTPOptions) target.Spec {
	return target.Spec{ID: "t", Kind: target.KindHTTP, URL: url, HTTP: h}.WithDefaults()
}

func run(t *testing.T, s target.Spec, opts probe.Options, timeout time.Duration) probe.Result {
	t.Helper()
	if errs := s.Validate(); len(errs) > 0 {
		t.Fatalf("test spec invalid: %v", errs)
	}
	p, err := New(s, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return p.Probe(ctx)
}

func yes() *bool { b := true; return &b }
func no() *bool  { b := false; return &b }

func TestProbe(t *testing.T) {
	srv := httptest.NewServer(newMux())
	defer srv.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	guard, err := probe.NewGuard(probe.DefaultDenyNetworks)
	if err != nil {
		t.Fatal(err)
	}
	u := srv.URL
	tests := []struct {
		name    string
		url     string
		opts    *target.HTTPOptions
		ok      bool
		msg     string // exact, or prefix when it ends in "*"
		code    int
		timeout time.Duration
	}{
		{name: "default ok", url: u + "/ok", ok: true, msg: "HTTP 200", code: 200},
		{name: "5xx fails by default", url: u + "/status/503", msg: "HTTP 503, want 200-399", code: 503},
		{name: "4xx fails by default", url: u + "/status/404", msg: "HTTP 404, want 200-399", code: 404},
		{name: "expect code", url: u + "/status/503", opts: &target.HTTPOptions{ExpectStatus: []string{"503"}}, ok: true, msg: "HTTP 503", code: 503},
		{name: "expect class and code pass", url: u + "/status/404", opts: &target.HTTPOptions{ExpectStatus: []string{"2xx", "404"}}, ok: true, msg: "HTTP 404"},
		{name: "expect class and code fail", url: u + "/status/500", opts: &target.HTTPOptions{ExpectStatus: []string{"2xx", "404"}}, msg: "HTTP 500, want 200-299, 404"},
		{name: "expect range", url: u + "/status/204", opts: &target.HTTPOptions{ExpectStatus: []string{"200-204"}}, ok: true, msg: "HTTP 204"},
		{name: "redirect followed", url: u + "/redirect", ok: true, msg: "HTTP 200", code: 200},
		{name: "redirect not followed", url: u + "/redirect", opts: &target.HTTPOptions{NoFollowRedirects: true}, ok: true, msg: "HTTP 302", code: 302},
		{name: "redirect not followed, 200 wanted", url: u + "/redirect", opts: &target.HTTPOptions{NoFollowRedirects: true, ExpectStatus: []string{"200"}}, msg: "HTTP 302, want 200"},
		{name: "redirect loop", url: u + "/loop", msg: "stopped after 10 redirects"},
		{name: "body contains", url: u + "/ok", opts: &target.HTTPOptions{BodyContains: "ok"}, ok: true, msg: "HTTP 200"},
		{name: "body does not contain", url: u + "/ok", opts: &target.HTTPOptions{BodyContains: "nope"}, msg: `body does not contain "nope"`},
		{name: "body regex", url: u + "/ok", opts: &target.HTTPOptions{BodyRegex: `^all\s+ok`}, ok: true, msg: "HTTP 200"},
		{name: "body regex fails", url: u + "/ok", opts: &target.HTTPOptions{BodyRegex: `^ok$`}, msg: "body does not match /^ok$/"},
		{name: "json equals", url: u + "/json", opts: &target.HTTPOptions{JSON: []target.JSONCondition{{Path: "status", Equals: "ok"}}}, ok: true, msg: "HTTP 200"},
		{name: "json equals fails", url: u + "/degraded", opts: &target.HTTPOptions{JSON: []target.JSONCondition{{Path: "status", Equals: "ok"}}}, msg: `json status = "degraded", want "ok"`},
		{name: "json query", url: u + "/json", opts: &target.HTTPOptions{JSON: []target.JSONCondition{{Path: "checks.#(name==db).ok", Equals: "true"}}}, ok: true, msg: "HTTP 200"},
		{name: "json query fails", url: u + "/json", opts: &target.HTTPOptions{JSON: []target.JSONCondition{{Path: "checks.#(name==cache).ok", Equals: "true"}}}, msg: `json checks.#(name==cache).ok = "false", want "true"`},
		{name: "json matches", url: u + "/json", opts: &target.HTTPOptions{JSON: []target.JSONCondition{{Path: "version", Matches: `^1\.`}}}, ok: true, msg: "HTTP 200"},
		{name: "json matches fails", url: u + "/json", opts: &target.HTTPOptions{JSON: []target.JSONCondition{{Path: "version", Matches: `^2\.`}}}, msg: `json version = "1.2.3", want a match of /^2\./`},
		{name: "json exists", url: u + "/json", opts: &target.HTTPOptions{JSON: []target.JSONCondition{{Path: "version", Exists: yes()}}}, ok: true, msg: "HTTP 200"},
		{name: "json exists fails", url: u + "/json", opts: &target.HTTPOptions{JSON: []target.JSONCondition{{Path: "uptime", Exists: yes()}}}, msg: "json uptime missing, want it present"},
		{name: "json absent", url: u + "/json", opts: &target.HTTPOptions{JSON: []target.JSONCondition{{Path: "error", Exists: no()}}}, ok: true, msg: "HTTP 200"},
		{name: "json absent fails", url: u + "/json", opts: &target.HTTPOptions{JSON: []target.JSONCondition{{Path: "status", Exists: no()}}}, msg: `json status = "ok", want it absent`},
		{name: "json missing", url: u + "/json", opts: &target.HTTPOptions{JSON: []target.JSONCondition{{Path: "state", Equals: "ok"}}}, msg: `json state missing, want "ok"`},
		{name: "json on text", url: u + "/text", opts: &target.HTTPOptions{JSON: []target.JSONCondition{{Path: "status", Equals: "ok"}}}, msg: `json status missing, want "ok" (body is not valid JSON)`},
		{name: "json all must hold", url: u + "/json", opts: &target.HTTPOptions{JSON: []target.JSONCondition{{Path: "status", Equals: "ok"}, {Path: "version", Equals: "9"}}}, msg: `json version = "1.2.3", want "9"`},
		{name: "body past default limit", url: u + "/big", opts: &target.HTTPOptions{BodyContains: "needle"}, msg: `body does not contain "needle" (body cut at 65536 bytes; raise http.max_body_bytes)`},
		{name: "body within raised limit", url: u + "/big", opts: &target.HTTPOptions{BodyContains: "needle", MaxBodyBytes: 200 << 10}, ok: true, msg: "HTTP 200"},
		{name: "body within small limit", url: u + "/big", opts: &target.HTTPOptions{BodyRegex: "^a+$", MaxBodyBytes: 1000}, ok: true, msg: "HTTP 200"},
		{name: "method body headers", url: u + "/echo", opts: &target.HTTPOptions{Method: "POST", Body: `{"ping":1}`, Headers: map[string]string{"X-Test": "yes"},
			BodyContains: `method=POST host=` + strings.TrimPrefix(u, "http://") + ` x-test=yes ua=heck-probe/1 body={"ping":1}`}, ok: true, msg: "HTTP 200"},
		{name: "host header", url: u + "/echo", opts: &target.HTTPOptions{Headers: map[string]string{"Host": "vhost.test", "User-Agent": "mine"}, BodyContains: "host=vhost.test x-test= ua=mine"}, ok: true, msg: "HTTP 200"},
		{name: "head", url: u + "/ok", opts: &target.HTTPOptions{Method: "HEAD"}, ok: true, msg: "HTTP 200"},
		{name: "max latency ok", url: u + "/ok", opts: &target.HTTPOptions{MaxLatency: target.Duration(time.Minute)}, ok: true, msg: "HTTP 200"},
		{name: "max latency exceeded", url: u + "/slow", opts: &target.HTTPOptions{MaxLatency: target.Duration(time.Millisecond)}, msg: "latency *"},
		{name: "connection refused", url: closedURL + "/", msg: "connect: connection refused"},
		{name: "hanging server", url: u + "/hang", msg: "timed out after 200ms", timeout: 200 * time.Millisecond},
		{name: "redirect to metadata refused", url: u + "/metadata", msg: "refused to connect to 169.254.169.254: in denied network 169.254.0.0/16 (probe.deny_networks)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			timeout := tt.timeout
			if timeout == 0 {
				timeout = 5 * time.Second
			}
			res := run(t, spec(tt.url, tt.opts), probe.Options{Guard: guard}, timeout)
			checkResult(t, res, tt.ok, tt.msg)
			if tt.code != 0 && res.Details.StatusCode != tt.code {
				t.Errorf("status code = %d, want %d", res.Details.StatusCode, tt.code)
			}
			if res.Latency <= 0 {
				t.Errorf("latency = %v, want > 0", res.Latency)
			}
			if res.OK && !strings.HasPrefix(res.Details.RemoteAddr, "127.0.0.1:") {
				t.Errorf("remote addr = %q", res.Details.RemoteAddr)
			}
		})
	}
}

func checkResult(t *testing.T, res probe.Result, ok bool, msg string) {
	t.Helper()
	if res.OK != ok {
		t.Errorf("OK = %v, want %v (message %q)", res.OK, ok, res.Message)
	}
	if prefix, isPrefix := strings.CutSuffix(msg, "*"); isPrefix {
		if !strings.HasPrefix(res.Message, prefix) {
			t.Errorf("message = %q, want prefix %q", res.Message, prefix)
		}
	} else if res.Message != msg {
		t.Errorf("message = %q, want %q", res.Message, msg)
	}
}

func TestMaxLatencyMessage(t *testing.T) {
	srv := httptest.NewServer(newMux())
	defer srv.Close()
	res := run(t, spec(srv.URL+"/slow", &target.HTTPOptions{MaxLatency: target.Duration(time.Millisecond)}), probe.Options{}, 5*time.Second)
	if !strings.HasSuffix(res.Message, " above max 1ms") || res.Latency < 30*time.Millisecond {
		t.Fatalf("result = %+v", res)
	}
}

// tlsServer serves mux over TLS with a certificate valid for validFor and
// records the server names clients ask for.
func tlsServer(t *testing.T, validFor time.Duration) (*httptest.Server, *testcert.Pair, *sync.Map) {
	t.Helper()
	pair := testcert.New(t, validFor)
	srv := httptest.NewUnstartedServer(newMux())
	snis := &sync.Map{}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair.Cert}, GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		snis.Store(hello.ServerName, true)
		return &pair.Cert, nil
	}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, pair, snis
}

func TestProbeTLS(t *testing.T) {
	srv, pair, snis := tlsServer(t, 3*24*time.Hour+time.Hour)
	trusted := probe.Options{RootCAs: pair.Pool}
	tests := []struct {
		name string
		opts *target.HTTPOptions
		po   probe.Options
		ok   bool
		msg  string
	}{
		{"verified", nil, trusted, true, "HTTP 200"},
		{"unknown authority", nil, probe.Options{}, false, "TLS: certificate signed by unknown authority"},
		{"insecure", &target.HTTPOptions{InsecureSkipVerify: true}, probe.Options{}, true, "HTTP 200"},
		{"cert min days ok", &target.HTTPOptions{CertMinDays: 3}, trusted, true, "HTTP 200"},
		{"cert min days fails", &target.HTTPOptions{CertMinDays: 14}, trusted, false, "certificate expires in 3 days, minimum 14"},
		{"sni from host header", &target.HTTPOptions{Headers: map[string]string{"Host": "example.test"}}, trusted, true, "HTTP 200"},
		{"host header not in cert", &target.HTTPOptions{Headers: map[string]string{"Host": "other.test"}}, trusted, false, "TLS: x509: certificate is valid for localhost, example.test, not other.test"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := run(t, spec(srv.URL+"/ok", tt.opts), tt.po, 5*time.Second)
			checkResult(t, res, tt.ok, tt.msg)
			if res.OK {
				if res.Details.TLSVersion != "TLS 1.3" || res.Details.CertDaysLeft != 3 || !res.Details.CertExpiry.Equal(pair.Leaf.NotAfter) {
					t.Errorf("details = %+v", res.Details)
				}
			}
		})
	}
	if _, ok := snis.Load("example.test"); !ok {
		t.Error("the Host header was not used as the TLS server name")
	}
}

func TestProbeExpiredCertificate(t *testing.T) {
	srv, _, _ := tlsServer(t, -2*24*time.Hour-time.Hour)
	res := run(t, spec(srv.URL+"/ok", &target.HTTPOptions{InsecureSkipVerify: true, CertMinDays: 1}), probe.Options{}, 5*time.Second)
	checkResult(t, res, false, "certificate expired 2 days ago")
	if res.Details.CertDaysLeft != -3 {
		t.Errorf("days left = %d", res.Details.CertDaysLeft)
	}
}

// TestKeepAlive counts the connections the server sees: a fresh one per
// probe by default, one for all probes with keep_alive.
func TestKeepAlive(t *testing.T) {
	for _, keep := range []bool{false, true} {
		t.Run(fmt.Sprint("keep_alive=", keep), func(t *testing.T) {
			var conns atomic.Int32
			srv := httptest.NewUnstartedServer(newMux())
			srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
				if s == http.StateNew {
					conns.Add(1)
				}
			}
			srv.Start()
			defer srv.Close()
			p, err := New(spec(srv.URL+"/ok", &target.HTTPOptions{KeepAlive: keep, BodyContains: "ok"}), probe.Options{})
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 3; i++ {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				res := p.Probe(ctx)
				cancel()
				if !res.OK || !strings.HasPrefix(res.Details.RemoteAddr, "127.0.0.1:") {
					t.Fatalf("probe %d: %+v", i, res)
				}
			}
			want := int32(3)
			if keep {
				want = 1
			}
			if got := conns.Load(); got != want {
				t.Fatalf("server saw %d connections, want %d", got, want)
			}
		})
	}
}

func TestNoDeadlineUsesTargetTimeout(t *testing.T) {
	srv := httptest.NewServer(newMux())
	defer srv.Close()
	s := spec(srv.URL+"/hang", nil)
	s.Timeout = target.Duration(150 * time.Millisecond)
	p, err := New(s, probe.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res := p.Probe(context.Background())
	checkResult(t, res, false, "timed out after 150ms")
}

func TestNewRejectsBadInput(t *testing.T) {
	tests := []struct {
		name string
		spec target.Spec
		want string
	}{
		{"bad url", spec("ftp://x/", nil), `url: "ftp://x/" is not an http or https URL`},
		{"bad status", spec("http://127.0.0.1/", &target.HTTPOptions{ExpectStatus: []string{"2zz"}}), "http.expect_status[0]"},
		{"bad regex", spec("http://127.0.0.1/", &target.HTTPOptions{BodyRegex: "("}), "http.body_regex"},
		{"two json conditions", spec("http://127.0.0.1/", &target.HTTPOptions{JSON: []target.JSONCondition{{Path: "a", Equals: "b", Exists: yes()}}}), "http.json[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.spec, probe.Options{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New error = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestTransportsShared(t *testing.T) {
	g, _ := probe.NewGuard(probe.DefaultDenyNetworks)
	a, _ := New(spec("http://127.0.0.1:1/a", nil), probe.Options{Guard: g})
	b, _ := New(spec("https://127.0.0.1:2/b", &target.HTTPOptions{BodyContains: "x"}), probe.Options{Guard: g})
	c, _ := New(spec("http://127.0.0.1:1/a", &target.HTTPOptions{InsecureSkipVerify: true}), probe.Options{Guard: g})
	d, _ := New(spec("http://127.0.0.1:1/a", &target.HTTPOptions{NoFollowRedirects: true}), probe.Options{Guard: g})
	if a.client != b.client {
		t.Error("targets with equal settings do not share a client")
	}
	if a.client == c.client || a.client.Transport == c.client.Transport {
		t.Error("insecure target shares a verifying transport")
	}
	if a.client == d.client || a.client.Transport != d.client.Transport {
		t.Error("redirect policy should differ by client and share the transport")
	}
}

// TestProberMemory builds many probers and checks what each costs, so
// 50,000 targets stay well under 4 KiB each.
func TestProberMemory(t *testing.T) {
	if size := unsafe.Sizeof(Prober{}); size > 160 {
		t.Errorf("Prober is %d bytes", size)
	}
	const n = 5000
	probers := make([]*Prober, n)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range probers {
		p, err := New(spec(fmt.Sprintf("http://127.0.0.1:8080/health/%d", i), &target.HTTPOptions{BodyContains: "ok"}), probe.Options{})
		if err != nil {
			t.Fatal(err)
		}
		probers[i] = p
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := int64(after.HeapAlloc-before.HeapAlloc) / n
	t.Logf("%d bytes per prober", per)
	if per > 1024 {
		t.Errorf("%d bytes per prober, want at most 1024", per)
	}
	runtime.KeepAlive(probers)
}

// TestTLSHandshakeHangs probes an https URL whose server accepts the
// connection and never answers: the probe times out, and the connection is
// closed rather than left to a dial the transport detached from the probe.
func TestTLSHandshakeHangs(t *testing.T) {
	for _, keep := range []bool{false, true} {
		t.Run(fmt.Sprint("keep_alive=", keep), func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			accepted := make(chan net.Conn, 1)
			go func() {
				if c, err := ln.Accept(); err == nil {
					accepted <- c
				}
			}()
			res := run(t, spec("https://"+ln.Addr().String()+"/", &target.HTTPOptions{KeepAlive: keep}), probe.Options{}, 200*time.Millisecond)
			checkResult(t, res, false, "timed out after 200ms")
			c := <-accepted
			defer c.Close()
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			// The client sent its hello; after it, the next read must see
			// the connection closed, not the deadline.
			_, err = io.Copy(io.Discard, c)
			if err != nil {
				t.Fatalf("server side: %v; the probe left its connection open", err)
			}
		})
	}
}

// TestConcurrentProbers runs many probers at once over the shared
// transports (the race detector watches), each getting its own answer.
func TestConcurrentProbers(t *testing.T) {
	srv := httptest.NewServer(newMux())
	defer srv.Close()
	var wg sync.WaitGroup
	errs := make(chan string, 32)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			path, want, ok := "/ok", "HTTP 200", true
			if i%3 == 0 {
				path, want, ok = "/status/500", "HTTP 500, want 200-399", false
			}
			p, err := New(spec(srv.URL+path, &target.HTTPOptions{KeepAlive: i%2 == 0}), probe.Options{})
			if err != nil {
				errs <- err.Error()
				return
			}
			for range 10 {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				res := p.Probe(ctx)
				cancel()
				if res.OK != ok || res.Message != want || !strings.HasPrefix(res.Details.RemoteAddr, "127.0.0.1:") {
					errs <- fmt.Sprintf("prober %d: %+v", i, res)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
