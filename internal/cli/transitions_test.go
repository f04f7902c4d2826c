package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/api"
	"github.com/heckhq/heck/internal/cli"
	"github.com/heckhq/heck/internal/events"
	"github.com/heckhq/heck/internal/health"
)

func TestTransitions(t *testing.T) {
	b := server(t, api.Options{LoopbackOnly: true})
	now := time.Now()
	b.Publish(events.Transition{ID: "a1", TargetID: "web", From: health.Unknown, To: health.Up, At: now.Add(-2 * time.Hour), Cause: "HTTP 200", Observer: "n1"})
	b.Publish(events.Transition{ID: "b1", TargetID: "db", From: health.Unknown, To: health.Down, At: now.Add(-time.Minute), Cause: "connection refused", Observer: "n2"})

	r := heck(t, "transitions")
	if r.code != 0 || !strings.Contains(r.stdout, "CHANGE") || !strings.Contains(r.stdout, "unknown -> down") || !strings.Contains(r.stdout, "a1") {
		t.Fatalf("transitions: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if strings.Index(r.stdout, "b1") > strings.Index(r.stdout, "a1") {
		t.Errorf("transitions not newest first:\n%s", r.stdout)
	}
	r = heck(t, "transitions", "--since", "1h", "-o", "json")
	var ts []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &ts); err != nil || len(ts) != 1 || ts[0]["id"] != "b1" || ts[0]["to"] != "down" {
		t.Fatalf("transitions --since 1h -o json: %v %s", err, r.stdout)
	}
	r = heck(t, "transitions", "--target", "web", "-o", "json")
	if err := json.Unmarshal([]byte(r.stdout), &ts); err != nil || len(ts) != 1 || ts[0]["target_id"] != "web" {
		t.Fatalf("transitions --target web: %v %s", err, r.stdout)
	}
	r = heck(t, "transitions", "--target", "nope", "-o", "json")
	if r.code != 0 || strings.TrimSpace(r.stdout) != "[]" {
		t.Fatalf("transitions of a target with none: %d %q", r.code, r.stdout)
	}
	usageError(t, heck(t, "transitions", "--since", "yesterday"), `--since "yesterday"`, "1h")
	usageError(t, heck(t, "transitions", "--limit", "-1"), "--limit -1")
}

// syncBuffer is a bytes.Buffer safe to read while a command writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestEventsFollows(t *testing.T) {
	b := server(t, api.Options{LoopbackOnly: true})
	b.Publish(events.Transition{ID: "old", TargetID: "web", To: health.Up, At: time.Now().Add(-time.Hour)})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() { done <- cli.Main(ctx, []string{"events", "--after", "old", "-o", "json"}, &out, &errb) }()

	// The stream connects, then each change arrives as one JSON line.
	deadline := time.Now().Add(5 * time.Second)
	i := 0
	for !strings.Contains(out.String(), `"id":"live0"`) {
		if time.Now().After(deadline) {
			t.Fatalf("no event printed; stdout %q stderr %q", out.String(), errb.String())
		}
		to := health.Down
		if i%2 == 1 {
			to = health.Up
		}
		b.Publish(events.Transition{ID: "live" + string(rune('0'+i%10)), TargetID: "db", To: to, At: time.Now()})
		i++
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("events exit %d, stderr %s", code, errb.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("events did not stop when interrupted")
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var first events.Transition
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil || first.ID != "live0" || first.TargetID != "db" {
		t.Fatalf("first line %q: %v (the transition before --after must not be printed)", lines[0], err)
	}
	if strings.Contains(out.String(), `"id":"old"`) {
		t.Fatalf("printed the transition --after named:\n%s", out.String())
	}
}

func TestAudit(t *testing.T) {
	b := server(t, api.Options{LoopbackOnly: true})
	at := time.Now().Add(-time.Minute).UTC()
	b.Publish(events.Transition{TargetID: "w1", From: health.Up, To: health.Down, At: at, Cause: "HTTP 503"})
	b.Publish(events.Transition{Type: events.TypeEjection, TargetID: "w2", Subject: "pool/web", At: at.Add(time.Second), Cause: "latency 200ms"})
	r := heck(t, "audit")
	if r.code != 0 || !strings.Contains(r.stdout, "ejection") || !strings.Contains(r.stdout, "up -> down") {
		t.Fatalf("audit: %d %s %s", r.code, r.stdout, r.stderr)
	}
	r = heck(t, "audit", "--type", "ejection", "-o", "json")
	var es []events.Transition
	if err := json.Unmarshal([]byte(r.stdout), &es); err != nil || len(es) != 1 || es[0].Subject != "pool/web" {
		t.Fatalf("audit --type ejection: %v %s", err, r.stdout)
	}
	if r := heck(t, "transitions"); strings.Contains(r.stdout, "ejection") {
		t.Fatalf("transitions list an ejection:\n%s", r.stdout)
	}
	usageError(t, heck(t, "audit", "--type", "bogus"), "--type", "pool_panic")
}
