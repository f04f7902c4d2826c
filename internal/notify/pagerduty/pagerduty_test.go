package pagerduty_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/heckhq/heck/internal/notify"
	"github.com/heckhq/heck/internal/notify/notifytest"
	"github.com/heckhq/heck/internal/notify/pagerduty"
)

const key = "R0123456789abcdef0123456789abcde"

func TestTriggerThenResolve(t *testing.T) {
	srv := notifytest.NewServer(t)
	srv.Answer(202, `{"status":"success","message":"Event processed","dedup_key":"x"}`)
	spec := notify.Spec{ID: "pd", Kind: notify.ChannelPagerDuty, PagerDuty: &notify.PagerDutySpec{RoutingKey: "${PD}", URL: srv.URL + "/v2/enqueue"}}
	ch, err := notify.New(spec, func(string) (string, bool) { return key, true }, srv.Options())
	if err != nil {
		t.Fatal(err)
	}
	reminder := notifytest.Firing()
	reminder.ID, reminder.Kind, reminder.Incident = "tr-1:r1", notify.KindReminder, "tr-1"
	for _, m := range []notify.Message{notifytest.Firing(), reminder, notifytest.Resolved()} {
		if err := ch.Send(context.Background(), m); err != nil {
			t.Fatalf("%s: %v", m.Kind, err)
		}
	}
	rs := srv.Requests()
	if len(rs) != 3 {
		t.Fatalf("%d requests", len(rs))
	}
	var ev [3]map[string]any
	for i, r := range rs {
		if r.Path != "/v2/enqueue" {
			t.Fatalf("path %s", r.Path)
		}
		if err := json.Unmarshal(r.Body, &ev[i]); err != nil {
			t.Fatal(err)
		}
		if ev[i]["routing_key"] != key {
			t.Errorf("event %d routing_key %v", i, ev[i]["routing_key"])
		}
	}
	if ev[0]["event_action"] != "trigger" || ev[1]["event_action"] != "trigger" || ev[2]["event_action"] != "resolve" {
		t.Fatalf("actions: %v %v %v", ev[0]["event_action"], ev[1]["event_action"], ev[2]["event_action"])
	}
	dk := ev[0]["dedup_key"]
	if dk != "heck/web/tr-1" || ev[1]["dedup_key"] != dk || ev[2]["dedup_key"] != dk {
		t.Fatalf("dedup keys differ: %v %v %v", dk, ev[1]["dedup_key"], ev[2]["dedup_key"])
	}
	p := ev[0]["payload"].(map[string]any)
	if p["severity"] != "critical" || p["source"] != "http://127.0.0.1:8080/" || p["component"] != "web" || p["timestamp"] != "2026-12-07T05:59:00Z" ||
		!strings.HasPrefix(p["summary"].(string), "web <front> & co down") {
		t.Errorf("payload: %v", p)
	}
	if _, has := ev[2]["payload"]; has {
		t.Errorf("resolve carries a payload: %v", ev[2])
	}
}

func TestNewIncidentPerTransition(t *testing.T) {
	a := notifytest.Firing()
	b := a
	b.ID = "tr-7"
	if pagerduty.DedupKey(a) == pagerduty.DedupKey(b) {
		t.Fatal("two firing transitions share an incident")
	}
	long := a
	long.ID = strings.Repeat("x", 300)
	if k := pagerduty.DedupKey(long); len(k) > pagerduty.MaxDedupKey || !strings.HasPrefix(k, "heck/") {
		t.Fatalf("long key %q", k)
	}
}

func TestErrors(t *testing.T) {
	srv := notifytest.NewServer(t)
	ch := pagerduty.New(notify.PagerDutySpec{RoutingKey: key, URL: srv.URL}, srv.Options())
	srv.Answer(400, `{"status":"invalid event","message":"Event object is invalid"}`)
	if err := ch.Send(context.Background(), notifytest.Firing()); !notify.Permanent(err) || strings.Contains(err.Error(), key) {
		t.Fatalf("400: %v", err)
	}
	srv.Answer(429, "")
	if err := ch.Send(context.Background(), notifytest.Firing()); err == nil || notify.Permanent(err) {
		t.Fatalf("429: %v", err)
	}
	if u := pagerduty.New(notify.PagerDutySpec{RoutingKey: key}, notify.Options{}); u == nil {
		t.Fatal("nil channel")
	}
}
