package node

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/dispatch"
	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/notify"
	"github.com/heckhq/heck/internal/silence"
	"github.com/heckhq/heck/internal/target"
)

// hookRecorder is a loopback webhook recording the messages it takes; it
// answers 500 to the first fail requests, and while hang is set it holds
// requests (taking nothing from a sender that gives up meanwhile).
type hookRecorder struct {
	srv     *httptest.Server
	mu      sync.Mutex
	msgs    []notify.Message
	fail    atomic.Int32
	hang    atomic.Bool
	held    atomic.Int32 // requests being held
	gaveUp  atomic.Int32 // requests whose sender went away while held
	release chan struct{}
}

func newHook(t *testing.T) *hookRecorder {
	h := &hookRecorder{release: make(chan struct{})}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body) // first: the server sees a sender go away only once the body is read
		if h.hang.Load() {
			h.held.Add(1)
			select {
			case <-r.Context().Done():
				h.held.Add(-1)
				h.gaveUp.Add(1)
				return // the sender went away: nothing was taken
			case <-h.release:
				h.held.Add(-1)
			}
		}
		if h.fail.Add(-1) >= 0 {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		var m notify.Message
		_ = json.Unmarshal(b, &m)
		h.mu.Lock()
		h.msgs = append(h.msgs, m)
		h.mu.Unlock()
	}))
	t.Cleanup(h.srv.Close)
	t.Cleanup(h.unhang)
	return h
}

// unhang stops holding requests and lets the held ones through.
func (h *hookRecorder) unhang() {
	if h.hang.CompareAndSwap(true, false) {
		close(h.release)
	}
}

func (h *hookRecorder) got() []notify.Message {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]notify.Message(nil), h.msgs...)
}

func msgKinds(ms []notify.Message) string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Target.ID+":"+string(m.Kind))
	}
	return strings.Join(out, ",")
}

// A target going down and back is notified once each, the resolve naming
// the incident its firing opened; a channel that fails is retried; a
// silenced target's change is held; every delivery is in the log.
func TestNotifications(t *testing.T) {
	hook := newHook(t)
	web, db := ntNewServer(t), ntNewServer(t)
	cfg := ntConfig(t.TempDir(), ntHTTP("web", web.url()), ntHTTP("db", db.url()))
	cfg.Notifiers = []notify.Spec{{ID: "ops", Kind: notify.ChannelWebhook, Webhook: &notify.WebhookSpec{URL: hook.srv.URL}}}
	nn := ntStart(t, cfg)
	nn.waitState(t, "web", health.Up)
	nn.waitState(t, "db", health.Up)
	if len(hook.got()) != 0 {
		t.Fatalf("a first up was notified: %s", msgKinds(hook.got()))
	}
	hook.fail.Store(1) // the first attempt fails: retried
	web.SetStatus(503)
	nn.waitState(t, "web", health.Down)
	ntWait(t, "the firing message", func() error {
		if got := msgKinds(hook.got()); got != "web:firing" {
			return fmt.Errorf("received %q", got)
		}
		return nil
	})
	web.SetStatus(200)
	nn.waitState(t, "web", health.Up)
	ntWait(t, "the resolved message", func() error {
		if got := msgKinds(hook.got()); got != "web:firing,web:resolved" {
			return fmt.Errorf("received %q", got)
		}
		return nil
	})
	ms := hook.got()
	if ms[1].Incident != ms[0].ID || ms[0].Severity != notify.SeverityCritical || ms[0].Cause == "" {
		t.Fatalf("firing %+v, resolved %+v", ms[0], ms[1])
	}
	// A silenced target's change is recorded as held, not sent.
	now := time.Now()
	if err := nn.n.AddSilence(t.Context(), silence.Silence{ID: "s1", Target: "db", Starts: now.Add(-time.Minute), Ends: now.Add(time.Hour), Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	db.SetStatus(503)
	nn.waitState(t, "db", health.Down)
	ntWait(t, "the held delivery", func() error {
		for _, d := range nn.n.Deliveries(t.Context(), "db", 0) {
			if d.State == dispatch.Held && strings.Contains(d.Reason, "silence") {
				return nil
			}
		}
		return fmt.Errorf("deliveries of db: %+v", nn.n.Deliveries(t.Context(), "db", 0))
	})
	ds := nn.n.Deliveries(t.Context(), "web", 0)
	if len(ds) != 2 || ds[1].State != dispatch.Delivered || ds[1].Attempts != 2 || ds[0].State != dispatch.Delivered {
		t.Fatalf("deliveries of web: %+v", ds)
	}
	if got := msgKinds(hook.got()); got != "web:firing,web:resolved" {
		t.Fatalf("after the silenced change: received %q", got)
	}
	_, body := ntGet(t, nn.base+"/api/v1/notifications?target=web")
	if !strings.Contains(body, `"state":"delivered"`) {
		t.Fatalf("GET /api/v1/notifications: %s", body)
	}
}

// A target that keeps changing state is notified once as flapping, its
// changes are held, and one message says so when it settles; a target
// that stays down is reminded of.
func TestNotificationsFlappingAndReminders(t *testing.T) {
	hook := newHook(t)
	web := ntNewServer(t)
	cfg := ntConfig(t.TempDir(), ntHTTP("web", web.url()))
	cfg.Notifiers = []notify.Spec{{ID: "ops", Kind: notify.ChannelWebhook, Webhook: &notify.WebhookSpec{URL: hook.srv.URL}}}
	nn := ntStart(t, cfg)
	nn.waitState(t, "web", health.Up)
	// 30 min window at 200 ms intervals: 20 possible changes; 12 changes
	// in a row are well above 50%.
	for i := range 12 {
		if i%2 == 0 {
			web.SetStatus(503)
			nn.waitState(t, "web", health.Down)
		} else {
			web.SetStatus(200)
			nn.waitState(t, "web", health.Up)
		}
	}
	ntWait(t, "a flapping message", func() error {
		if !strings.Contains(msgKinds(hook.got()), "web:flapping") {
			return fmt.Errorf("received %q", msgKinds(hook.got()))
		}
		return nil
	})
	got := msgKinds(hook.got())
	if strings.Count(got, "flapping") != 1 || strings.Count(got, "firing") > 6 {
		t.Fatalf("received %q: want one flapping message, and the changes after it held", got)
	}
	held := 0
	for _, d := range nn.n.Deliveries(t.Context(), "web", 0) {
		if d.State == dispatch.Held && strings.Contains(d.Reason, "flapping") {
			held++
		}
	}
	if held == 0 {
		t.Fatalf("no change held while flapping: %+v", nn.n.Deliveries(t.Context(), "web", 0))
	}
}

// While a target stays down, its route's reminder repeats the firing
// message, naming the same incident.
func TestNotificationReminders(t *testing.T) {
	hook := newHook(t)
	web := ntNewServer(t)
	cfg := ntConfig(t.TempDir(), ntHTTP("web", web.url()))
	cfg.Notifiers = []notify.Spec{{ID: "ops", Kind: notify.ChannelWebhook, Webhook: &notify.WebhookSpec{URL: hook.srv.URL}}}
	cfg.Routes = []dispatch.Route{{Notifiers: []string{"ops"}, Reminder: target.Duration(time.Second)}} // below the 1m a config may set
	nn := ntStart(t, cfg)
	nn.waitState(t, "web", health.Up)
	web.SetStatus(503)
	nn.waitState(t, "web", health.Down)
	ntWait(t, "a reminder", func() error {
		ms := hook.got()
		if len(ms) < 2 || ms[0].Kind != notify.KindFiring || ms[1].Kind != notify.KindReminder {
			return fmt.Errorf("received %q", msgKinds(ms))
		}
		if ms[1].Incident != ms[0].ID {
			return fmt.Errorf("reminder of incident %q, want %q", ms[1].Incident, ms[0].ID)
		}
		return nil
	})
}

// Targets failing behind a critical dependency that is down are folded
// into its one notification, which names them; their recoveries are
// folded too.
func TestNotificationsFoldedIntoRootCause(t *testing.T) {
	hook := newHook(t)
	db, apps := ntNewServer(t), ntNewServer(t)
	specs := []target.Spec{ntHTTP("db", db.url())}
	const dependents = 20
	for i := range dependents {
		specs = append(specs, ntDepends(ntHTTP(fmt.Sprintf("app%02d", i), apps.url()), "db"))
	}
	cfg := ntConfig(t.TempDir(), specs...)
	cfg.Notifiers = []notify.Spec{{ID: "ops", Kind: notify.ChannelWebhook, Webhook: &notify.WebhookSpec{URL: hook.srv.URL}}}
	nn := ntStart(t, cfg)
	for _, s := range specs {
		nn.waitState(t, s.ID, health.Up)
	}
	// Everything fails at once, as when a database dies under its apps.
	db.SetStatus(503)
	apps.SetStatus(503)
	ntWait(t, "every dependent's notifications held as folded", func() error {
		for _, s := range specs[1:] {
			ds := nn.n.Deliveries(t.Context(), s.ID, 0)
			if len(ds) == 0 {
				return fmt.Errorf("%s has no delivery record yet", s.ID)
			}
			for _, d := range ds {
				if d.State != dispatch.Held || !strings.Contains(d.Reason, dispatch.Folded) {
					return fmt.Errorf("%s: delivery %s %s (%s)", s.ID, d.ID, d.State, d.Reason)
				}
			}
		}
		return nil
	})
	ms := hook.got()
	if got := msgKinds(ms); got != "db:firing" {
		t.Fatalf("received %q, want db's firing only", got)
	}
	if len(ms[0].Impacted) != dependents || !strings.Contains(ms[0].Cause, "20 dependents impacted") {
		t.Errorf("db's message impacted %v cause %q, want the %d dependents named", ms[0].Impacted, ms[0].Cause, dependents)
	}
	db.SetStatus(200)
	apps.SetStatus(200)
	for _, s := range specs {
		nn.waitState(t, s.ID, health.Up)
	}
	ntWait(t, "db's resolved message", func() error {
		if got := msgKinds(hook.got()); got != "db:firing,db:resolved" {
			return fmt.Errorf("received %q", got)
		}
		return nil
	})
	ntWait(t, "the dependents' recoveries held as folded", func() error {
		for _, s := range specs[1:] {
			for _, d := range nn.n.Deliveries(t.Context(), s.ID, 0) {
				if d.State != dispatch.Held {
					return fmt.Errorf("%s: delivery %s %s", s.ID, d.ID, d.State)
				}
			}
			if len(nn.n.Deliveries(t.Context(), s.ID, 0)) < 2 {
				return fmt.Errorf("%s: recovery not judged yet", s.ID)
			}
		}
		return nil
	})
	if got := msgKinds(hook.got()); got != "db:firing,db:resolved" {
		t.Fatalf("received %q after recovery, want db's two messages only", got)
	}
}
