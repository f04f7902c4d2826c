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
	"net/url"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/heckhq/heck/internal/probe"
	"github.com/heckhq/heck/internal/probe/internal/probetest"
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

// run builds the prober of s and probes it once within timeout.
func run(t *testing.T, s target.Spec, opts probe.Options, timeout time.Duration) probe.Result {
	t.Helper()
	return probetest.Probe(probetest.New(t, New, s, opts), timeout)
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
	code := func(c int) probe.Details { return probe.Details{StatusCode: c} }
	// Every case dials through the default guard.
	guarded := func(s target.Spec, o probe.Options) (*Prober, error) {
		o.Guard = guard
		return New(s, o)
	}
	probetest.Run(t, guarded, []probetest.Case{
		{Name: "default ok", Spec: spec(u+"/ok", nil), OK: true, Msg: "HTTP 200", Details: code(200)},
		{Name: "5xx fails by default", Spec: spec(u+"/status/503", nil), Msg: "HTTP 503, want 200-399", Details: code(503)},
		{Name: "4xx fails by default", Spec: spec(u+"/status/404", nil), Msg: "HTTP 404, want 200-399", Details: code(404)},
		{Name: "expect code", Spec: spec(u+"/status/503", &target.HTTPOptions{ExpectStatus: []string{"503"}}), OK: true, Msg: "HTTP 503", Details: code(503)},
		{Name: "expect class and code pass", Spec: spec(u+"/status/404", &target.HTTPOptions{ExpectStatus: []string{"2xx", "404"}}), OK: true, Msg: "HTTP 404"},
		{Name: "expect class and code fail", Spec: spec(u+"/status/500", &target.HTTPOptions{ExpectStatus: []string{"2xx", "404"}}), Msg: "HTTP 500, want 200-299, 404"},
		{Name: "expect range", Spec: spec(u+"/status/204", &target.HTTPOptions{ExpectStatus: []string{"200-204"}}), OK: true, Msg: "HTTP 204"},
		{Name: "redirect followed", Spec: spec(u+"/redirect", nil), OK: true, Msg: "HTTP 200", Details: code(200)},
		{Name: "redirect not followed", Spec: spec(u+"/redirect", &target.HTTPOptions{NoFollowRedirects: true}), OK: true, Msg: "HTTP 302", Details: code(302)},
		{Name: "redirect not followed, 200 wanted", Spec: spec(u+"/redirect", &target.HTTPOptions{NoFollowRedirects: true, ExpectStatus: []string{"200"}}), Msg: "HTTP 302, want 200"},
		{Name: "redirect loop", Spec: spec(u+"/loop", nil), Msg: "stopped after 10 redirects"},
		{Name: "body contains", Spec: spec(u+"/ok", &target.HTTPOptions{BodyContains: "ok"}), OK: true, Msg: "HTTP 200"},
		{Name: "body does not contain", Spec: spec(u+"/ok", &target.HTTPOptions{BodyContains: "nope"}), Msg: `body does not contain "nope"`},
		{Name: "body regex", Spec: spec(u+"/ok", &target.HTTPOptions{BodyRegex: `^all\s+ok`}), OK: true, Msg: "HTTP 200"},
		{Name: "body regex fails", Spec: spec(u+"/ok", &target.HTTPOptions{BodyRegex: `^ok$`}), Msg: "body does not match /^ok$/"},
		{Name: "json equals", Spec: spec(u+"/json", &target.HTTPOptions{JSON: []target.JSONCondition{{Path: "status", Equals: "ok"}}}), OK: true, Msg: "HTTP 200"},
		{Name: "json equals fails", Spec: spec(u+"/degraded", &target.HTTPOptions{JSON: []target.JSONCondition{{Path: "status", Equals: "ok"}}}), Msg: `json status = "degraded", want "ok"`},
		{Name: "json query", Spec: spec(u+"/json", &target.HTTPOptions{JSON: []target.JSONCondition{{Path: "checks.#(name==db).ok", Equals: "true"}}}), OK: true, Msg: "HTTP 200"},
		{Name: "json query fails", Spec: spec(u+"/json", &target.HTTPOptions{JSON: []target.JSONCondition{{Path: "checks.#(name==cache).ok", Equals: "true"}}}), Msg: `json checks.#(name==cache).ok = "false", want "true"`},
		{Name: "json matches", Spec: spec(u+"/json", &target.HTTPOptions{JSON: []target.JSONCondition{{Path: "version", Matches: `^1\.`}}}), OK: true, Msg: "HTTP 200"},
		{Name: "json matches fails", Spec: spec(u+"/json", &target.HTTPOptions{JSON: []target.JSONCondition{{Path: "version", Matches: `^2\.`}}}), Msg: `json version = "1.2.3", want a match of /^2\./`},
		{Name: "json exists", Spec: spec(u+"/json", &target.HTTPOptions{JSON: []target.JSONCondition{{Path: "version", Exists: yes()}}}), OK: true, Msg: "HTTP 200"},
		{Name: "json exists fails", Spec: spec(u+"/json", &target.HTTPOptions{JSON: []target.JSONCondition{{Path: "uptime", Exists: yes()}}}), Msg: "json uptime missing, want it present"},
		{Name: "json absent", Spec: spec(u+"/json", &target.HTTPOptions{JSON: []target.JSONCondition{{Path: "error", Exists: no()}}}), OK: true, Msg: "HTTP 200"},
		{Name: "json absent fails", Spec: spec(u+"/json", &target.HTTPOptions{JSON: []target.JSONCondition{{Path: "status", Exists: no()}}}), Msg: `json status = "ok", want it absent`},
		{Name: "json missing", Spec: spec(u+"/json", &target.HTTPOptions{JSON: []target.JSONCondition{{Path: "state", Equals: "ok"}}}), Msg: `json state missing, want "ok"`},
		{Name: "json on text", Spec: spec(u+"/text", &target.HTTPOptions{JSON: []target.JSONCondition{{Path: "status", Equals: "ok"}}}), Msg: `json status missing, want "ok" (body is not valid JSON)`},
		{Name: "json all must hold", Spec: spec(u+"/json", &target.HTTPOptions{JSON: []target.JSONCondition{{Path: "status", Equals: "ok"}, {Path: "version", Equals: "9"}}}), Msg: `json version = "1.2.3", want "9"`},
		{Name: "body past default limit", Spec: spec(u+"/big", &target.HTTPOptions{BodyContains: "needle"}), Msg: `body does not contain "needle" (body cut at 65536 bytes; raise http.max_body_bytes)`},
		{Name: "body within raised limit", Spec: spec(u+"/big", &target.HTTPOptions{BodyContains: "needle", MaxBodyBytes: 200 << 10}), OK: true, Msg: "HTTP 200"},
		{Name: "body within small limit", Spec: spec(u+"/big", &target.HTTPOptions{BodyRegex: "^a+$", MaxBodyBytes: 1000}), OK: true, Msg: "HTTP 200"},
		{Name: "method body headers", Spec: spec(u+"/echo", &target.HTTPOptions{Method: "POST", Body: `{"ping":1}`, Headers: map[string]string{"X-Test": "yes"},
			BodyContains: `method=POST host=` + strings.TrimPrefix(u, "http://") + ` x-test=yes ua=heck-probe/1 body={"ping":1}`}), OK: true, Msg: "HTTP 200"},
		{Name: "host header", Spec: spec(u+"/echo", &target.HTTPOptions{Headers: map[string]string{"Host": "vhost.test", "User-Agent": "mine"}, BodyContains: "host=vhost.test x-test= ua=mine"}), OK: true, Msg: "HTTP 200"},
		{Name: "head", Spec: spec(u+"/ok", &target.HTTPOptions{Method: "HEAD"}), OK: true, Msg: "HTTP 200"},
		{Name: "max latency ok", Spec: spec(u+"/ok", &target.HTTPOptions{MaxLatency: target.Duration(time.Minute)}), OK: true, Msg: "HTTP 200"},
		{Name: "max latency exceeded", Spec: spec(u+"/slow", &target.HTTPOptions{MaxLatency: target.Duration(time.Millisecond)}), Msg: "latency *"},
		{Name: "connection refused", Spec: spec(closedURL+"/", nil), Msg: "connect: connection refused"},
		{Name: "hanging server", Spec: spec(u+"/hang", nil), Msg: "timed out after 200ms", Timeout: 200 * time.Millisecond},
		{Name: "redirect to metadata refused", Spec: spec(u+"/metadata", nil), Msg: "refused to connect to 169.254.169.254: in denied network 169.254.0.0/16 (probe.deny_networks)"},
	}, remoteIsLoopback)
}

// remoteIsLoopback asserts that a probe which succeeded names a loopback
// remote address.
func remoteIsLoopback(t *testing.T, _ probetest.Case, res probe.Result) {
	t.Helper()
	if res.OK && !strings.HasPrefix(res.Details.RemoteAddr, "127.0.0.1:") {
		t.Errorf("remote addr = %q", res.Details.RemoteAddr)
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
	u := srv.URL + "/ok"
	probetest.Run(t, New, []probetest.Case{
		{Name: "verified", Spec: spec(u, nil), Options: trusted, OK: true, Msg: "HTTP 200"},
		{Name: "unknown authority", Spec: spec(u, nil), Msg: "TLS: certificate signed by unknown authority"},
		{Name: "insecure", Spec: spec(u, &target.HTTPOptions{InsecureSkipVerify: true}), OK: true, Msg: "HTTP 200"},
		{Name: "cert min days ok", Spec: spec(u, &target.HTTPOptions{CertMinDays: 3}), Options: trusted, OK: true, Msg: "HTTP 200"},
		{Name: "cert min days fails", Spec: spec(u, &target.HTTPOptions{CertMinDays: 14}), Options: trusted, Msg: "certificate expires in 3 days, minimum 14"},
		{Name: "sni from host header", Spec: spec(u, &target.HTTPOptions{Headers: map[string]string{"Host": "example.test"}}), Options: trusted, OK: true, Msg: "HTTP 200"},
		{Name: "host header not in cert", Spec: spec(u, &target.HTTPOptions{Headers: map[string]string{"Host": "other.test"}}), Options: trusted, Msg: "TLS: x509: certificate is valid for localhost, example.test, not other.test"},
	}, func(t *testing.T, _ probetest.Case, res probe.Result) {
		if res.OK {
			probetest.CheckDetails(t, res.Details, probe.Details{TLSVersion: "TLS 1.3", CertDaysLeft: 3, CertExpiry: pair.Leaf.NotAfter})
		}
	})
	if _, ok := snis.Load("example.test"); !ok {
		t.Error("the Host header was not used as the TLS server name")
	}
}

func TestProbeExpiredCertificate(t *testing.T) {
	srv, _, _ := tlsServer(t, -2*24*time.Hour-time.Hour)
	res := run(t, spec(srv.URL+"/ok", &target.HTTPOptions{InsecureSkipVerify: true, CertMinDays: 1}), probe.Options{}, 5*time.Second)
	probetest.CheckResult(t, res, false, "certificate expired 2 days ago")
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
			p := probetest.New(t, New, spec(srv.URL+"/ok", &target.HTTPOptions{KeepAlive: keep, BodyContains: "ok"}), probe.Options{})
			for i := 0; i < 3; i++ {
				res := probetest.Probe(p, 5*time.Second)
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
	p := probetest.New(t, New, s, probe.Options{})
	res := p.Probe(context.Background())
	probetest.CheckResult(t, res, false, "timed out after 150ms")
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
		t.Run(tt.name, func(t *testing.T) { probetest.NewFails(t, New, tt.spec, tt.want) })
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
// 50,000 targets stay well under 4 KiB each: a target with nothing but a
// URL is one allocation of 80 bytes.
func TestProberMemory(t *testing.T) {
	if size := unsafe.Sizeof(Prober{}); size > 80 {
		t.Errorf("Prober is %d bytes", size)
	}
	for _, tt := range []struct {
		name string
		opts *target.HTTPOptions
		max  int64
	}{
		{"plain", nil, 112},
		{"body check", &target.HTTPOptions{BodyContains: "ok"}, 1024},
	} {
		t.Run(tt.name, func(t *testing.T) {
			const n = 5000
			probers := make([]*Prober, n)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			for i := range probers {
				p, err := New(spec(fmt.Sprintf("http://127.0.0.1:8080/health/%d", i), tt.opts), probe.Options{})
				if err != nil {
					t.Fatal(err)
				}
				probers[i] = p
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			// The URL strings are the spec's, which the registry holds.
			per := int64(after.HeapAlloc-before.HeapAlloc)/n - int64(len("http://127.0.0.1:8080/health/1234"))
			t.Logf("%d bytes per prober", per)
			if per > tt.max {
				t.Errorf("%d bytes per prober, want at most %d", per, tt.max)
			}
			runtime.KeepAlive(probers)
		})
	}
}

// TestTLSHandshakeHangs probes an https URL whose server accepts the
// connection and never answers: the probe times out, and the connection is
// closed rather than left to a dial the transport detached from the probe.
func TestTLSHandshakeHangs(t *testing.T) {
	for _, keep := range []bool{false, true} {
		t.Run(fmt.Sprint("keep_alive=", keep), func(t *testing.T) {
			ln := probetest.Listen(t)
			accepted := make(chan net.Conn, 1)
			go func() {
				if c, err := ln.Accept(); err == nil {
					accepted <- c
				}
			}()
			res := run(t, spec("https://"+ln.Addr().String()+"/", &target.HTTPOptions{KeepAlive: keep}), probe.Options{}, 200*time.Millisecond)
			probetest.CheckResult(t, res, false, "timed out after 200ms")
			c := <-accepted
			defer c.Close()
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			// The client sent its hello; after it, the next read must see
			// the connection closed, not the deadline.
			if _, err := io.Copy(io.Discard, c); err != nil {
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
				res := probetest.Probe(p, 5*time.Second)
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

// TestRequestURL: the URL a probe requests is the target's URL exactly,
// whether the prober keeps its parts (plain URLs) or the parsed URL.
func TestRequestURL(t *testing.T) {
	for _, tt := range []struct {
		raw   string
		plain bool
	}{
		{"http://127.0.0.1:8080", true},
		{"http://127.0.0.1:8080/health", true},
		{"https://[::1]:8443/a/b?x=1&y=%20z", true},
		{"http://127.0.0.1/caf%C3%A9/", true},
		{"http://127.0.0.1/a%2Fb", false}, // RawPath keeps the escaped slash
		{"http://user:pw@127.0.0.1/", false},
		{"http://127.0.0.1/#frag", false},
		{"http://127.0.0.1/?", false}, // ForceQuery
	} {
		t.Run(tt.raw, func(t *testing.T) {
			p, err := New(spec(tt.raw, nil), probe.Options{})
			if err != nil {
				t.Fatal(err)
			}
			want, _ := url.Parse(tt.raw)
			var got *url.URL
			var buf url.URL
			p.setURL(&got, &buf)
			if !reflect.DeepEqual(got, want) || got.String() != tt.raw {
				t.Errorf("request URL %#v (%s), want %#v", got, got, want)
			}
			if plain := p.extra.url == nil; plain != tt.plain {
				t.Errorf("kept as parts: %v, want %v", plain, tt.plain)
			}
		})
	}
}
