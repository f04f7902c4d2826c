package notify

import (
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestPostClassification(t *testing.T) {
	now := time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC)
	cases := []struct {
		name       string
		handler    http.HandlerFunc
		ok         bool
		permanent  bool
		retryAfter time.Duration // -1: none
		timeout    bool
	}{
		{"200", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }, true, false, -1, false},
		{"204", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }, true, false, -1, false},
		{"400", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "invalid_payload", 400) }, false, true, -1, false},
		{"401", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(401) }, false, true, -1, false},
		{"404", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }, false, true, -1, false},
		{"408", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(408) }, false, false, -1, false},
		{"429 seconds", func(w http.ResponseWriter, r *http.Request) { w.Header().Set("Retry-After", "7"); w.WriteHeader(429) }, false, false, 7 * time.Second, false},
		{"429 decimal", func(w http.ResponseWriter, r *http.Request) { w.Header().Set("Retry-After", "1.5"); w.WriteHeader(429) }, false, false, 1500 * time.Millisecond, false},
		{"429 date", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", now.Add(90*time.Second).Format(http.TimeFormat))
			w.WriteHeader(429)
		}, false, false, 90 * time.Second, false},
		{"429 none", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(429) }, false, false, -1, false},
		{"429 garbage", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "soon")
			w.WriteHeader(429)
		}, false, false, -1, false},
		{"429 huge", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "999999")
			w.WriteHeader(429)
		}, false, false, MaxRetryAfter, false},
		{"500", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }, false, false, -1, false},
		{"503 retry", func(w http.ResponseWriter, r *http.Request) { w.Header().Set("Retry-After", "3"); w.WriteHeader(503) }, false, false, 3 * time.Second, false},
		{"hangs", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }, false, false, -1, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var gotBody, gotType string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				gotBody, gotType = string(b), r.Header.Get("Content-Type")
				c.handler(w, r)
			}))
			defer srv.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			url := srv.URL + "/services/SuperSecretPath?token=SuperSecretQuery"
			_, err := PostJSON(ctx, srv.Client(), func() time.Time { return now }, url, nil, map[string]string{"a": "b"})
			if c.ok {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				if gotBody != `{"a":"b"}` || gotType != "application/json" {
					t.Fatalf("server got %q as %q", gotBody, gotType)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			if Permanent(err) != c.permanent {
				t.Errorf("Permanent = %v, want %v (%v)", Permanent(err), c.permanent, err)
			}
			d, has := RetryAfter(err)
			if c.retryAfter < 0 && has {
				t.Errorf("RetryAfter = %v, want none", d)
			}
			if c.retryAfter >= 0 && (!has || d != c.retryAfter) {
				t.Errorf("RetryAfter = %v %v, want %v", d, has, c.retryAfter)
			}
			if Timeout(err) != c.timeout {
				t.Errorf("Timeout = %v, want %v (%v)", Timeout(err), c.timeout, err)
			}
			if strings.Contains(err.Error(), "SuperSecret") {
				t.Errorf("the URL's secret is in the error: %v", err)
			}
			var se *StatusError
			if !c.timeout && (!errors.As(err, &se) || !strings.Contains(err.Error(), srv.URL)) {
				t.Errorf("error should be a StatusError naming %s: %v", srv.URL, err)
			}
		})
	}
}

func TestPostConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, err = Post(context.Background(), nil, nil, Request{URL: "http://" + addr + "/hook/SuperSecret", Body: []byte("{}")})
	if err == nil || Permanent(err) {
		t.Fatalf("refused: err = %v, want a temporary error", err)
	}
	if strings.Contains(err.Error(), "SuperSecret") {
		t.Errorf("secret in error: %v", err)
	}
}

func TestPostBadURLIsPermanent(t *testing.T) {
	_, err := Post(context.Background(), nil, nil, Request{URL: "http://127.0.0.1:1/\x7f"})
	if !Permanent(err) {
		t.Fatalf("err = %v, want permanent", err)
	}
}

func TestPostUntrustedCertificateIsPermanent(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	defer srv.Close()
	_, err := Post(context.Background(), &http.Client{}, nil, Request{URL: srv.URL})
	if err == nil || !Permanent(err) {
		t.Fatalf("err = %v, want permanent", err)
	}
}

func TestPermanentWrapping(t *testing.T) {
	base := errors.New("boom")
	if Permanent(nil) || Permanent(base) || MarkPermanent(nil) != nil {
		t.Fatal("nil or plain error taken as permanent")
	}
	p := MarkPermanent(base)
	wrapped := &RetryAfterError{Err: errors.New("x"), After: time.Second}
	if !Permanent(p) || !errors.Is(p, base) || !Permanent(errors.Join(errors.New("ctx"), p)) {
		t.Fatal("permanent lost through wrapping")
	}
	if d, ok := RetryAfter(errors.Join(wrapped)); !ok || d != time.Second {
		t.Fatal("RetryAfter lost through wrapping")
	}
	for code, want := range map[int]bool{400: true, 403: true, 404: true, 410: true, 408: false, 429: false, 500: false, 502: false, 200: false} {
		if PermanentStatus(code) != want {
			t.Errorf("PermanentStatus(%d) = %v", code, !want)
		}
	}
}
