package httpprobe

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/probe"
	"github.com/heckhq/heck/internal/target"
)

func TestProbeReason(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/500":
			w.WriteHeader(http.StatusInternalServerError)
		case "/slow":
			<-r.Context().Done()
		default:
			_, _ = w.Write([]byte("hello"))
		}
	}))
	defer srv.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String() + "/"
	ln.Close()

	for _, tc := range []struct {
		name string
		url  string
		opts *target.HTTPOptions
		want probe.Reason
	}{
		{"ok", srv.URL + "/", nil, probe.ReasonNone},
		{"status", srv.URL + "/500", nil, probe.ReasonStatus},
		{"body", srv.URL + "/", &target.HTTPOptions{BodyContains: "absent"}, probe.ReasonBody},
		{"timeout", srv.URL + "/slow", nil, probe.ReasonTimeout},
		{"refused", closed, nil, probe.ReasonRefused},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := New(target.Spec{ID: "x", Kind: target.KindHTTP, URL: tc.url, HTTP: tc.opts}, probe.Options{})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			res := p.Probe(ctx)
			if got := probe.ReasonOf(&res); got != tc.want {
				t.Errorf("reason %q (%s), want %q", got, res.Message, tc.want)
			}
		})
	}
}
