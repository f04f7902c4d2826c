package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/api"
	"github.com/heckhq/heck/internal/events"
	"github.com/heckhq/heck/internal/health"
)

// The log carries events besides transitions: /api/v1/transitions lists
// only the transitions, /api/v1/audit every event (or one type), and the
// event stream names each event by its type.
func TestAudit(t *testing.T) {
	b, s := fixture(t, api.Options{LoopbackOnly: true})
	now := time.Now().UTC().Truncate(time.Second)
	b.Publish(events.Transition{TargetID: "w1", From: health.Up, To: health.Down, At: now.Add(-2 * time.Second), Cause: "HTTP 503"})
	b.Publish(events.Transition{ID: events.EventID(events.TypeEjection, "web/w2", now), Type: events.TypeEjection, TargetID: "w2",
		Subject: "pool/web", At: now.Add(-time.Second), Cause: "latency: 200ms, pool median 10ms", After: "ejected until ..."})
	b.Publish(events.Transition{Type: events.TypePoolPanic, TargetID: "pool/web", Subject: "pool/web", At: now, Cause: "1 of 4 members healthy"})

	ts := okJSON[api.TransitionList](t, do(t, s, "GET", "/api/v1/transitions", "", ""), "transitions")
	if len(ts.Transitions) != 1 || ts.Transitions[0].TargetID != "w1" {
		t.Fatalf("transitions = %+v", ts.Transitions)
	}
	all := okJSON[api.TransitionList](t, do(t, s, "GET", "/api/v1/audit", "", ""), "audit")
	if len(all.Transitions) != 3 || all.Transitions[0].Type != events.TypePoolPanic || all.Transitions[2].Type != "" {
		t.Fatalf("audit = %+v", all.Transitions)
	}
	ej := okJSON[api.TransitionList](t, do(t, s, "GET", "/api/v1/audit?type=ejection", "", ""), "audit ejections")
	if len(ej.Transitions) != 1 || ej.Transitions[0].Subject != "pool/web" || ej.Transitions[0].TargetID != "w2" {
		t.Fatalf("audit?type=ejection = %+v", ej.Transitions)
	}
	tr := okJSON[api.TransitionList](t, do(t, s, "GET", "/api/v1/audit?type=transition&target=w1", "", ""), "audit transitions")
	if len(tr.Transitions) != 1 {
		t.Fatalf("audit?type=transition = %+v", tr.Transitions)
	}
	r := do(t, s, "GET", "/api/v1/audit?type=bogus", "", "")
	if r.code != http.StatusBadRequest || !strings.Contains(r.body, "pool_panic") {
		t.Fatalf("bad type = %d %s", r.code, r.body)
	}
}
