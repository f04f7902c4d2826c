package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/api"
	"github.com/heckhq/heck/internal/api/apitest"
	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/listing"
	"github.com/heckhq/heck/internal/probe"
	"github.com/heckhq/heck/internal/target"
)

// listerBackend lists over a listing.Source, as internal/node does;
// Targets must then not be called by the listing.
type listerBackend struct {
	*apitest.Backend
	src         listing.Source
	targetCalls int
}

func (l *listerBackend) Listing(context.Context) listing.Source { return l.src }

func (l *listerBackend) Targets(ctx context.Context) []api.TargetStatus {
	l.targetCalls++
	return l.Backend.Targets(ctx)
}

// fleet makes n targets t00000..: every third down, every tenth labelled
// env=staging (else prod), with a secret in the URL of every 50th.
func fleet(n int) []api.TargetStatus {
	out := make([]api.TargetStatus, n)
	for i := range out {
		env := "prod"
		if i%10 == 0 {
			env = "staging"
		}
		u := fmt.Sprintf("http://127.0.0.1:%d/healthz", 10000+i%5000)
		if i%50 == 0 {
			u = fmt.Sprintf("http://ops:s3cret@127.0.0.1:%d/healthz", 10000+i%5000)
		}
		spec := target.Spec{ID: fmt.Sprintf("t%05d", i), Name: fmt.Sprintf("Service %d", i), Kind: target.KindHTTP,
			URL: u, Labels: map[string]string{"env": env, "team": fmt.Sprintf("team%d", i%7)},
			Schedule: target.Schedule{Interval: target.Duration(time.Minute), Timeout: target.Duration(5 * time.Second), Rise: 2, Fall: 3}}
		ts := api.StatusOf(spec)
		ts.State = health.Up
		if i%3 == 0 {
			ts.State = health.Down
		}
		last := api.ResultFrom(t0, probe.Result{OK: ts.State == health.Up, Latency: 3 * time.Millisecond, Message: "HTTP 200",
			Details: probe.Details{StatusCode: 200}})
		ts.Last, ts.Recent = &last, []api.Result{last, last, last}
		ts.Since, ts.Observer, ts.Owners = t0, "node-a", []string{"node-a"}
		out[i] = ts
	}
	return out
}

func fleetBackend(n int) (*apitest.Backend, []api.TargetStatus) {
	b := apitest.New()
	ts := fleet(n)
	for _, t := range ts {
		b.Set(t)
	}
	return b, ts
}

func listIDs(t *testing.T, r resp) ([]string, api.TargetList) {
	t.Helper()
	l := okJSON[api.TargetList](t, r, "list")
	ids := make([]string, len(l.Targets))
	for i, x := range l.Targets {
		ids[i] = x.ID
		if x.Recent != nil {
			t.Errorf("%s: the listing carries recent results", x.ID)
		}
	}
	return ids, l
}

// The unpaged listing keeps its shape byte for byte: {"targets":[...]}
// sorted by id, redacted, without recent results, one line.
func TestListUnpagedUnchanged(t *testing.T) {
	for _, n := range []int{0, 3, 700} { // 700 targets pass the streaming flush size
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			b, ts := fleetBackend(n)
			s := api.New(b, api.Options{LoopbackOnly: true})
			r := do(t, s, "GET", "/api/v1/targets", "", "")
			want := api.TargetList{Targets: []api.TargetStatus{}}
			for _, x := range ts {
				x.Spec = x.Spec.Redact()
				x.Recent = nil
				want.Targets = append(want.Targets, x)
			}
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			_ = enc.Encode(want)
			if r.code != 200 || r.body != buf.String() {
				t.Fatalf("body differs from the encoded list (%d):\n got %.300s\nwant %.300s", r.code, r.body, buf.String())
			}
			if strings.Contains(r.body, "s3cret") {
				t.Fatal("the listing shows a password")
			}
			for _, h := range []string{"Link", api.NextCursorHeader} {
				if r.header.Get(h) != "" {
					t.Errorf("unpaged listing sets %s", h)
				}
			}
		})
	}
}

func TestListPaged(t *testing.T) {
	base, _ := fleetBackend(250)
	for _, tc := range []struct {
		name  string
		lists bool // over a listing.Source rather than Targets
	}{{"over Targets", false}, {"over a Lister", true}} {
		t.Run(tc.name, func(t *testing.T) {
			var b api.Backend = base
			lb := &listerBackend{Backend: base}
			if tc.lists {
				lb.src = listing.FromStatuses(base.Targets(context.Background()))
				b = lb
			}
			s := api.New(b, api.Options{LoopbackOnly: true})
			var all []string
			path := "/api/v1/targets?limit=100&label=env=prod"
			pages := 0
			for path != "" {
				r := do(t, s, "GET", path, "", "")
				ids, l := listIDs(t, r)
				all = append(all, ids...)
				pages++
				next := r.header.Get(api.NextCursorHeader)
				if next != l.NextCursor {
					t.Fatalf("header cursor %q, body cursor %q", next, l.NextCursor)
				}
				link := r.header.Get("Link")
				if next == "" {
					if link != "" || strings.Contains(r.body, "next_cursor") {
						t.Fatalf("last page links on: %q %.100s", link, r.body)
					}
					path = ""
					continue
				}
				u, ok := strings.CutSuffix(link, `>; rel="next"`)
				if !ok || !strings.HasPrefix(u, "</api/v1/targets?") {
					t.Fatalf("Link %q", link)
				}
				path = u[1:]
				pu, _ := url.Parse(path)
				if q := pu.Query(); q.Get("cursor") != next || q.Get("label") != "env=prod" || q.Get("limit") != "100" {
					t.Fatalf("next link %q loses the query", path)
				}
				if len(ids) != 100 {
					t.Fatalf("page %d has %d targets", pages, len(ids))
				}
			}
			// 225 prod targets: pages of 100, 100, 25, in order, none twice.
			if pages != 3 || len(all) != 225 || !slices.IsSorted(all) || len(slices.Compact(slices.Clone(all))) != 225 {
				t.Fatalf("%d pages, %d targets", pages, len(all))
			}
			if tc.lists && lb.targetCalls != 0 {
				t.Errorf("the listing called Targets %d times on a Lister", lb.targetCalls)
			}
		})
	}
}

func TestListFilters(t *testing.T) {
	b, _ := fleetBackend(30)
	s := api.New(b, api.Options{Token: "tok", LoopbackOnly: true})
	body := `{"name":"edge","targets":["t00001","t00002"],"selector":{"team":"team3"}}`
	if r := do(t, s, "POST", "/api/v1/pools", body, "tok"); r.code != http.StatusCreated {
		t.Fatalf("POST pool = %d %s", r.code, r.body)
	}
	for _, tc := range []struct {
		query string
		want  string
	}{
		{"state=down&label=env=staging", "t00000"}, // staging: 0, 10, 20; down: every third
		{"state=up,down&limit=3", "t00000,t00001,t00002"},
		{"pool=edge", "t00001,t00002,t00003,t00010,t00017,t00024"},
		{"pool=edge&state=up", "t00001,t00002,t00010,t00017"},
		{"q=SERVICE 2", "t00002,t00020,t00021,t00022,t00023,t00024,t00025,t00026,t00027,t00028,t00029"},
		{"q=s3cret", ""},
		{"q=team6&kind=http&label=env=prod", "t00006,t00013,t00027"},
		{"kind=tcp", ""},
	} {
		t.Run(tc.query, func(t *testing.T) {
			ids, _ := listIDs(t, do(t, s, "GET", "/api/v1/targets?"+url.PathEscape(tc.query), "", ""))
			if got := strings.Join(ids, ","); got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestListBadQueries(t *testing.T) {
	b, _ := fleetBackend(3)
	s := api.New(b, api.Options{LoopbackOnly: true})
	for _, tc := range []struct {
		query  string
		fields []string
	}{
		{"limit=0", []string{"limit"}},
		{"limit=5000", []string{"limit"}},
		{"limit=ten", []string{"limit"}},
		{"cursor=%25%25", []string{"cursor"}},
		{"cursor=", []string{"cursor"}},
		{"pool=nope", []string{"pool"}},
		{"colour=red", []string{"colour"}},
		{"limit=0&cursor=*&state=no&page=2", []string{"cursor", "limit", "page", "state"}},
	} {
		t.Run(tc.query, func(t *testing.T) {
			r := do(t, s, "GET", "/api/v1/targets?"+tc.query, "", "")
			if r.code != http.StatusBadRequest {
				t.Fatalf("= %d %s, want 400", r.code, r.body)
			}
			p := r.problem(t)
			var fields []string
			for _, e := range p.Errors {
				fields = append(fields, e.Field)
				if e.Fix == "" || e.Problem == "" {
					t.Errorf("%s: no problem or fix: %+v", e.Field, e)
				}
			}
			if p.Type != api.TypeInvalidQuery || !slices.Equal(fields, tc.fields) {
				t.Fatalf("problem %s fields %v, want %v", p.Type, fields, tc.fields)
			}
		})
	}
}

// benchServer serves a fleet of n targets over a Lister (as a node does)
// or over Targets (a backend without one).
func benchServer(n int, lister bool) *api.Server {
	b, ts := fleetBackend(n)
	if !lister {
		return api.New(b, api.Options{LoopbackOnly: true})
	}
	return api.New(&listerBackend{Backend: b, src: listing.FromStatuses(ts)}, api.Options{LoopbackOnly: true})
}

// BenchmarkList10000 lists 10,000 targets through the API server:
//
//	go test -run '^$' -bench List10000 -benchmem ./internal/api
//
// "lister" is the node's path (statuses built on demand; here they are
// prebuilt, so this measures the API's own share); "targets" a backend
// that builds every status per request.
func BenchmarkList10000(b *testing.B) {
	for _, path := range []string{"lister", "targets"} {
		s := benchServer(10000, path == "lister")
		for _, c := range []struct{ name, query string }{
			{"page100", "?limit=100"},
			{"page100-mid", "?limit=100&cursor=" + listing.EncodeCursor("t05000")},
			{"filtered-label", "?limit=100&label=env=staging"},
			{"filtered-state-text", "?limit=100&state=down&q=service%2099"},
			{"unpaged", ""},
		} {
			b.Run(path+"/"+c.name, func(b *testing.B) {
				req := httptest.NewRequest("GET", "/api/v1/targets"+c.query, nil)
				req.RemoteAddr = "127.0.0.1:1234"
				b.ReportAllocs()
				var w countWriter
				for b.Loop() {
					w = countWriter{h: http.Header{}}
					s.ServeHTTP(&w, req)
					if w.code != 0 && w.code != http.StatusOK {
						b.Fatalf("status %d", w.code)
					}
				}
				b.ReportMetric(float64(w.n), "bytes/resp")
			})
		}
	}
}

type countWriter struct {
	h    http.Header
	n    int
	code int
}

func (w *countWriter) Header() http.Header         { return w.h }
func (w *countWriter) Write(p []byte) (int, error) { w.n += len(p); return len(p), nil }
func (w *countWriter) WriteHeader(c int)           { w.code = c }
