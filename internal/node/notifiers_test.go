package node

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/client"
	"github.com/heckhq/heck/internal/events"
	"github.com/heckhq/heck/internal/notify"
	"github.com/heckhq/heck/internal/target"
)

// A notifier added through the API is stored, listed with its secrets
// redacted, refused when it names a secret the node does not have, and
// sends a test message that a loopback webhook receives, signed.
func TestNotifiers(t *testing.T) {
	var mu sync.Mutex
	var got []notify.Message
	var sigs []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m notify.Message
		_ = json.Unmarshal(b, &m)
		mu.Lock()
		got, sigs = append(got, m), append(sigs, r.Header.Get("X-Heck-Signature"))
		mu.Unlock()
	}))
	t.Cleanup(hook.Close)
	t.Setenv("HECK_TEST_HOOK_SECRET", "s3cret")
	nn := ntStart(t, ntConfig(t.TempDir()))
	ctx := t.Context()
	spec := notify.Spec{ID: "ops", Kind: notify.ChannelWebhook, Webhook: &notify.WebhookSpec{URL: hook.URL, Secret: "${HECK_TEST_HOOK_SECRET}"}}
	if _, err := nn.c.AddNotifier(ctx, spec); err != nil {
		t.Fatal(err)
	}
	bad := notify.Spec{ID: "bad", Kind: notify.ChannelWebhook, Webhook: &notify.WebhookSpec{URL: hook.URL, Secret: "${HECK_TEST_UNSET_SECRET}"}}
	_, err := nn.c.AddNotifier(ctx, bad)
	var ae *client.Error
	if !asClientError(err, &ae) || ae.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(ae.Error(), "HECK_TEST_UNSET_SECRET") {
		t.Fatalf("a notifier with an unset secret: %v", err)
	}
	literal := notify.Spec{ID: "lit", Kind: notify.ChannelSlack, Slack: &notify.ChatSpec{WebhookURL: hook.URL + "/T000/B000/XXXX"}}
	if _, err := nn.c.AddNotifier(ctx, literal); err != nil {
		t.Fatal(err)
	}
	ns, err := nn.c.Notifiers(ctx)
	if err != nil || len(ns) != 2 {
		t.Fatalf("Notifiers = %+v, %v", ns, err)
	}
	for _, n := range ns {
		b, _ := json.Marshal(n)
		if strings.Contains(string(b), "XXXX") || n.ID == "ops" && n.Webhook.Secret != "${HECK_TEST_HOOK_SECRET}" {
			t.Errorf("listed notifier leaks or loses its secret reference: %s", b)
		}
	}
	if err := nn.c.TestNotifier(ctx, "ops"); err != nil {
		t.Fatalf("test: %v", err)
	}
	mu.Lock()
	if len(got) != 1 || got[0].Kind != notify.KindTest || !strings.HasPrefix(sigs[0], "sha256=") {
		t.Fatalf("webhook received %+v (signature %v)", got, sigs)
	}
	mu.Unlock()
	hook.Close()
	if err := nn.c.TestNotifier(ctx, "ops"); !asClientError(err, &ae) || ae.StatusCode != http.StatusBadGateway {
		t.Fatalf("test through a dead webhook: %v", err)
	}
	if err := nn.c.TestNotifier(ctx, "nope"); !client.IsNotFound(err) {
		t.Fatalf("test of an unknown notifier: %v", err)
	}
	if err := nn.c.DeleteNotifier(ctx, "lit"); err != nil {
		t.Fatal(err)
	}
}

func asClientError(err error, ae **client.Error) bool {
	e, ok := err.(*client.Error)
	if ok {
		*ae = e
	}
	return ok
}

// Changes of replicated objects are audit events, with who wrote them.
func TestAuditConfigChanges(t *testing.T) {
	nn := ntStart(t, ntConfig(t.TempDir()))
	ctx := t.Context()
	if _, err := nn.c.AddNotifier(ctx, notify.Spec{ID: "chat", Kind: notify.ChannelSlack, Slack: &notify.ChatSpec{WebhookURL: "http://127.0.0.1:9/T/B/SECRETPART"}}); err != nil {
		t.Fatal(err)
	}
	if err := nn.c.DeleteNotifier(ctx, "chat"); err != nil {
		t.Fatal(err)
	}
	es, err := nn.c.Audit(ctx, client.TransitionQuery{Type: "config"})
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 2 || es[0].After != "deleted" || es[1].Subject != "notifier/chat" || es[1].Observer != "nt" ||
		strings.Contains(es[1].After, "SECRETPART") || !strings.Contains(es[1].Cause, "through the API") {
		t.Fatalf("config events %+v", es)
	}
	if es[1].Before != "" || es[0].Before != es[1].After {
		t.Fatalf("before: the add's %q (want none), the delete's %q (want the add's after %q)", es[1].Before, es[0].Before, es[1].After)
	}
}

// A target's config events chain their values: each one's before is the
// previous one's after (the registry hands the audit the entry a write
// replaced).
func TestAuditTargetBefore(t *testing.T) {
	nn := ntStart(t, ntConfig(t.TempDir()))
	ctx := t.Context()
	web := ntTCP("web", "127.0.0.1:1")
	if _, err := nn.c.AddTarget(ctx, web); err != nil {
		t.Fatal(err)
	}
	web.Labels = map[string]string{"team": "edge"}
	if _, _, err := nn.c.PutTarget(ctx, web); err != nil {
		t.Fatal(err)
	}
	if err := nn.c.DeleteTarget(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	es, err := nn.c.Audit(ctx, client.TransitionQuery{Type: "config"})
	if err != nil {
		t.Fatal(err)
	}
	var chain []events.Transition
	for _, e := range es {
		if e.Subject == "target/web" {
			chain = append(chain, e)
		}
	}
	if len(chain) != 3 {
		t.Fatalf("config events of target/web: %+v", chain)
	}
	del, put, add := chain[0], chain[1], chain[2]
	switch {
	case add.Before != "" || !strings.Contains(add.After, "127.0.0.1:1"):
		t.Fatalf("the add: before %q after %q", add.Before, add.After)
	case put.Before != add.After || !strings.Contains(put.After, "edge"):
		t.Fatalf("the update: before %q (want the add's after %q), after %q", put.Before, add.After, put.After)
	case del.After != "deleted" || del.Before != put.After:
		t.Fatalf("the delete: before %q (want the update's after %q), after %q", del.Before, put.After, del.After)
	}
}

// The API refuses a dependency on an unknown target and a cycle.
func TestDependsOnRefused(t *testing.T) {
	nn := ntStart(t, ntConfig(t.TempDir(), ntTCP("db", "127.0.0.1:1"), ntTCP("api", "127.0.0.1:2")))
	ctx := t.Context()
	api := ntTCP("api", "127.0.0.1:2")
	api.DependsOn = []target.Dependency{{Target: "db"}}
	if _, _, err := nn.c.PutTarget(ctx, api); err != nil {
		t.Fatal(err)
	}
	db := ntTCP("db", "127.0.0.1:1")
	db.DependsOn = []target.Dependency{{Target: "api"}}
	_, _, err := nn.c.PutTarget(ctx, db)
	if err == nil || !strings.Contains(err.Error(), "db -> api -> db") && !strings.Contains(err.Error(), "api -> db -> api") {
		t.Fatalf("a cycle: %v", err)
	}
	ghost := ntTCP("web", "127.0.0.1:3")
	ghost.DependsOn = []target.Dependency{{Target: "ghost"}}
	if _, err := nn.c.AddTarget(ctx, ghost); err == nil || !strings.Contains(err.Error(), "ghost") {
		t.Fatalf("an unknown dependency: %v", err)
	}
}

// The node knows the shortest interval of its targets (the cluster loop's
// bound for walking them when a member falls silent): measured by the full
// walk, lowered at once by a write with a shorter one.
func TestShortestInterval(t *testing.T) {
	slow := ntTCP("slow", "127.0.0.1:1")
	slow.Schedule.Interval = target.Duration(5 * time.Second)
	fast := ntTCP("fast", "127.0.0.1:2")
	fast.Schedule.Interval = target.Duration(2 * time.Second)
	nn := ntStart(t, ntConfig(t.TempDir(), slow, fast))
	ntWait(t, "the start's walk to measure 2s", func() error {
		if got := time.Duration(nn.n.shortest.Load()); got != 2*time.Second {
			return fmt.Errorf("shortest = %v", got)
		}
		return nil
	})
	faster := ntTCP("faster", "127.0.0.1:3")
	faster.Schedule.Interval = target.Duration(time.Second)
	if _, err := nn.c.AddTarget(t.Context(), faster); err != nil {
		t.Fatal(err)
	}
	if got := time.Duration(nn.n.shortest.Load()); got != time.Second {
		t.Fatalf("shortest after adding a 1s target = %v, want 1s", got)
	}
	nn.n.lowerShortest(3 * time.Second)
	if got := time.Duration(nn.n.shortest.Load()); got != time.Second {
		t.Fatalf("lowerShortest(3s) raised it to %v", got)
	}
	if err := nn.c.DeleteTarget(t.Context(), "faster"); err != nil {
		t.Fatal(err)
	}
	nn.n.reconcileAll()
	if got := time.Duration(nn.n.shortest.Load()); got != 2*time.Second {
		t.Fatalf("shortest after deleting the 1s target and a full walk = %v, want 2s", got)
	}
}
