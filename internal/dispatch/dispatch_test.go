package dispatch

import (
	"strings"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/events"
	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/notify"
	"github.com/heckhq/heck/internal/target"
)

func TestTargets(t *testing.T) {
	db := &target.Spec{ID: "db", Labels: map[string]string{"team": "db"}}
	web := &target.Spec{ID: "web", Labels: map[string]string{"team": "web"}}
	routes := []Route{
		{Notifiers: []string{"db-pager"}, Match: map[string]string{"team": "db"}, Severity: notify.SeverityCritical},
		{Notifiers: []string{"chat", "db-pager"}},
	}
	all := []string{"chat", "db-pager", "mail"}
	cases := []struct {
		spec *target.Spec
		sev  notify.Severity
		want string
	}{
		{db, notify.SeverityCritical, "db-pager,chat"},
		{db, notify.SeverityWarning, "chat,db-pager"},
		{web, notify.SeverityCritical, "chat,db-pager"},
	}
	for _, c := range cases {
		if got := strings.Join(Targets(routes, all, c.spec, c.sev), ","); got != c.want {
			t.Errorf("%s %s: %s, want %s", c.spec.ID, c.sev, got, c.want)
		}
	}
	if got := strings.Join(Targets(nil, all, web, notify.SeverityInfo), ","); got != "chat,db-pager,mail" {
		t.Errorf("no routes: %s, want every notifier", got)
	}
}

func TestNotifies(t *testing.T) {
	cases := []struct {
		from, to health.State
		typ      string
		want     bool
	}{
		{health.Up, health.Down, "", true},
		{health.Down, health.Up, "", true},
		{health.Unknown, health.Up, "", false},
		{health.Unknown, health.Down, "", true},
		{health.Up, health.Late, "", true},
		{health.Up, health.Stale, "", false},
		{health.Stale, health.Up, "", false},
		{health.Up, health.Down, events.TypeEjection, false},
	}
	for _, c := range cases {
		tr := events.Transition{From: c.from, To: c.to, Type: c.typ}
		if got := Notifies(&tr); got != c.want {
			t.Errorf("%s -> %s (%q): %v, want %v", c.from, c.to, c.typ, got, c.want)
		}
	}
}

func TestMessage(t *testing.T) {
	spec := &target.Spec{ID: "web", Kind: target.KindHTTP, URL: "http://u:pw@127.0.0.1/health", Labels: map[string]string{"team": "web"}}
	at := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	down := events.Transition{ID: "t1", TargetID: "web", From: health.Up, To: health.Down, At: at, Cause: "HTTP 503"}
	m := Message(&down, spec, "ops", "", "n1")
	if m.ID != "t1/ops" || m.Kind != notify.KindFiring || m.Severity != notify.SeverityCritical || m.Incident != "" ||
		strings.Contains(m.Target.URLOrAddress, "pw") || m.Cause != "HTTP 503" {
		t.Fatalf("firing message %+v", m)
	}
	up := events.Transition{ID: "t2", TargetID: "web", From: health.Down, To: health.Up, At: at.Add(time.Minute)}
	r := Message(&up, spec, "ops", m.ID, "n1")
	if r.Kind != notify.KindResolved || r.Incident != "t1/ops" || r.IncidentID() != m.IncidentID() {
		t.Fatalf("resolved message %+v", r)
	}
}

func TestRouteValidate(t *testing.T) {
	known := func(id string) bool { return id == "ops" }
	if errs := (&Route{Notifiers: []string{"ops"}}).Validate(known); len(errs) != 0 {
		t.Fatal(errs)
	}
	errs := (&Route{Notifiers: []string{"nope"}, Severity: "loud", Reminder: target.Duration(time.Second)}).Validate(known)
	var fields []string
	for _, e := range errs {
		fields = append(fields, e.Field)
	}
	if strings.Join(fields, ",") != "notifiers[0],severity,reminder" {
		t.Fatalf("errors on %v", fields)
	}
}

func TestBackoff(t *testing.T) {
	for n, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 4: 8 * time.Second, 20: 5 * time.Minute} {
		if got := Backoff(n); got != want {
			t.Errorf("Backoff(%d) = %v, want %v", n, got, want)
		}
	}
}
