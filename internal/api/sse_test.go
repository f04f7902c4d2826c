package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/api"
	"github.com/heckhq/heck/internal/api/apitest"
	"github.com/heckhq/heck/internal/events"
	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/testkit"
)

// sseServer serves the API over b, loopback only and with heartbeat (the
// default when zero), and counts event-stream handlers still running.
func sseServer(t *testing.T, b *apitest.Backend, heartbeat time.Duration) (*api.Server, *httptest.Server, *atomic.Int32) {
	t.Helper()
	s := api.New(b, api.Options{LoopbackOnly: true, Heartbeat: heartbeat})
	var running atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		running.Add(1)
		defer running.Add(-1)
		s.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	return s, ts, &running
}

type stream struct {
	resp *http.Response
	rd   *bufio.Reader
}

func openStream(t *testing.T, ctx context.Context, url string) *stream {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	st := &stream{resp: resp, rd: bufio.NewReader(resp.Body)}
	st.until(t, ": connected")
	return st
}

// next reads one event (or comment block) up to its blank line.
func (s *stream) next(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for {
		line, err := s.rd.ReadString('\n')
		if err != nil {
			t.Fatalf("stream ended: %v (read %q)", err, b.String())
		}
		if line == "\n" {
			return b.String()
		}
		b.WriteString(line)
	}
}

func (s *stream) until(t *testing.T, substr string) string {
	t.Helper()
	for {
		if ev := s.next(t); strings.Contains(ev, substr) {
			return ev
		}
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testkit.Wait{Timeout: 5 * time.Second, Every: 5 * time.Millisecond}.Until(t, what, testkit.True(cond))
}

func dataOf(t *testing.T, ev string, v any) {
	t.Helper()
	for _, line := range strings.Split(ev, "\n") {
		if d, ok := strings.CutPrefix(line, "data: "); ok {
			if err := json.Unmarshal([]byte(d), v); err != nil {
				t.Fatalf("data %q: %v", d, err)
			}
			return
		}
	}
	t.Fatalf("event without data: %q", ev)
}

func TestEventsDelivery(t *testing.T) {
	b := apitest.New()
	_, ts, running := sseServer(t, b, 20*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := openStream(t, ctx, ts.URL+"/api/v1/events")

	at := time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC)
	first := b.Publish(events.Transition{TargetID: "web", From: health.Unknown, To: health.Up, At: at, Cause: "HTTP 200"})
	ev := st.until(t, "event: transition")
	var tr events.Transition
	dataOf(t, ev, &tr)
	if tr.TargetID != "web" || tr.To != health.Up || tr.Cause != "HTTP 200" || !tr.At.Equal(at) || tr.ID != first.ID {
		t.Fatalf("transition = %+v", tr)
	}
	if !strings.Contains(ev, "id: "+first.ID+"\n") {
		t.Errorf("event without the transition's id %s: %q", first.ID, ev)
	}

	st.until(t, ": heartbeat")

	// A burst far larger than any buffer reaches a reader that is slower
	// than the writer, whole and in order.
	const n = 1000
	for i := range n {
		b.Publish(flip("web", at, i+1))
	}
	for i := range n {
		dataOf(t, st.until(t, "event: transition"), &tr)
		if want := flip("web", at, i+1); tr.To != want.To || !tr.At.Equal(want.At) {
			t.Fatalf("event %d = %v at %v, want %v at %v: lost or out of order", i, tr.To, tr.At, want.To, want.At)
		}
	}

	// Client disconnect ends the handler.
	cancel()
	st.resp.Body.Close()
	waitFor(t, "the handler to end after the client left", func() bool { return running.Load() == 0 })
}

// flip is the i-th of alternating transitions of target, a second apart.
func flip(target string, at time.Time, i int) events.Transition {
	to := health.Down
	if i%2 == 0 {
		to = health.Up
	}
	return events.Transition{TargetID: target, To: to, At: at.Add(time.Duration(i) * time.Second), Cause: fmt.Sprint(i)}
}

// A client reconnecting with Last-Event-ID gets exactly what it missed, in
// order, then the live stream.
func TestEventsLastEventID(t *testing.T) {
	b := apitest.New()
	_, ts, _ := sseServer(t, b, 0)
	at := time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC)
	ctx, cancel := context.WithCancel(context.Background())
	st := openStream(t, ctx, ts.URL+"/api/v1/events")
	seen := b.Publish(flip("web", at, 1))
	var tr events.Transition
	dataOf(t, st.until(t, "event: transition"), &tr)
	cancel()
	st.resp.Body.Close()

	var missed []events.Transition
	for i := 2; i <= 5; i++ {
		missed = append(missed, b.Publish(flip("web", at, i)))
	}
	req, _ := http.NewRequest("GET", ts.URL+"/api/v1/events", nil)
	req.Header.Set("Last-Event-ID", seen.ID)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	st = &stream{resp: resp, rd: bufio.NewReader(resp.Body)}
	for _, want := range missed {
		ev := st.until(t, "event: transition")
		dataOf(t, ev, &tr)
		if tr.ID != want.ID || !strings.Contains(ev, "id: "+want.ID+"\n") {
			t.Fatalf("after reconnect got %s, want %s (exactly the missed ones, in order)", tr.ID, want.ID)
		}
	}
	live := b.Publish(flip("web", at, 6))
	dataOf(t, st.until(t, "event: transition"), &tr)
	if tr.ID != live.ID {
		t.Fatalf("then got %s, want the live %s (no duplicate of a missed one)", tr.ID, live.ID)
	}
}

func TestEventsFilterAndServerClose(t *testing.T) {
	b := apitest.New()
	s, ts, running := sseServer(t, b, 0)
	st := openStream(t, context.Background(), ts.URL+"/api/v1/events?target=db")
	defer st.resp.Body.Close()
	b.Publish(events.Transition{TargetID: "web", To: health.Down})
	b.Publish(events.Transition{TargetID: "db", To: health.Down, Cause: "refused"})
	b.Publish(events.Transition{TargetID: "web", To: health.Up})
	var tr events.Transition
	dataOf(t, st.until(t, "event: transition"), &tr)
	if tr.TargetID != "db" {
		t.Fatalf("filter let through %+v", tr)
	}
	s.Close()
	// The stream ends: reading reaches EOF.
	done := make(chan error, 1)
	go func() {
		for {
			if _, err := st.rd.ReadString('\n'); err != nil {
				done <- err
				return
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("stream did not end on Server.Close")
	}
	waitFor(t, "handler end", func() bool { return running.Load() == 0 })
}

func TestEventsLogClosed(t *testing.T) {
	b := apitest.New()
	_, ts, running := sseServer(t, b, 0)
	st := openStream(t, context.Background(), ts.URL+"/api/v1/events")
	defer st.resp.Body.Close()
	b.Log.Close()
	waitFor(t, "handler end after the log closed", func() bool { return running.Load() == 0 })
}

// Events other than transitions travel on the same stream, named by their
// type, with their id.
func TestEventsTyped(t *testing.T) {
	b := apitest.New()
	_, ts, _ := sseServer(t, b, time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := openStream(t, ctx, ts.URL+"/api/v1/events")
	at := time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC)
	e := b.Publish(events.Transition{ID: events.EventID(events.TypeEjection, "web/w2", at), Type: events.TypeEjection,
		TargetID: "w2", Subject: "pool/web", At: at, Cause: "latency"})
	ev := st.until(t, "event: ejection")
	var got events.Transition
	dataOf(t, ev, &got)
	if got.Type != events.TypeEjection || got.Subject != "pool/web" || !strings.Contains(ev, "id: "+e.ID+"\n") {
		t.Fatalf("ejection event %q: %+v", ev, got)
	}
}
