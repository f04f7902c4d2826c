package node

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/dispatch"
	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/notify"
	"github.com/heckhq/heck/internal/target"
)

// notifyingCluster starts three nodes with a webhook notifier and a target
// "web" up on every node, and returns them with web's owner.
func notifyingCluster(t *testing.T) (*clCluster, *hookRecorder, ntServer, string) {
	t.Helper()
	hook := newHook(t)
	c := startCL(t, 3, clIDs("n", 2, 0), clFastTuning)
	web := ntNewServer(t)
	n0 := c.nodes[0]
	if _, err := c.client(n0).AddNotifier(t.Context(), notify.Spec{ID: "ops", Kind: notify.ChannelWebhook,
		Webhook: &notify.WebhookSpec{URL: hook.srv.URL}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.client(n0).AddTarget(t.Context(), target.Spec{ID: "web", Kind: target.KindHTTP, URL: web.url(),
		Schedule: target.Schedule{Interval: target.Duration(clInterval), Rise: 1, Fall: 1}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "web up on every node", 15*time.Second, 0, func() error { return statesAre(c, "web", health.Up) })
	ts, err := listTargets(n0)
	if err != nil {
		t.Fatal(err)
	}
	owner := ts["web"].Owners[0]
	return c, hook, web, owner
}

// TestClusterNotifications: with three nodes, a target going down is
// notified once (by its owner only); the owner then crashes mid-outage, a
// fallback takes the target over, and its recovery is notified once, by
// the new owner, closing the same incident: one firing and one resolved
// in all, never a duplicate.
func TestClusterNotifications(t *testing.T) {
	c, hook, web, owner := notifyingCluster(t)
	web.SetStatus(503)
	waitFor(t, "one firing message", 15*time.Second, 0, func() error {
		if got := msgKinds(hook.got()); got != "web:firing" {
			return fmt.Errorf("received %q", got)
		}
		return nil
	})
	if m := hook.got()[0]; m.Node != owner {
		t.Fatalf("the firing message came from %s, want the owner %s", m.Node, owner)
	}
	var live []*clNode
	for _, cn := range c.nodes {
		if cn.name != owner {
			live = append(live, cn)
		}
	}
	// Mid-outage: once the others know the outage and its notification
	// (gossip takes a moment; an owner that dies within it takes that
	// knowledge along, see docs/notifications.md).
	waitFor(t, "the outage and its delivery known to the others", 10*time.Second, 0, func() error {
		for _, cn := range live {
			ts, err := listTargets(cn)
			if err != nil {
				return err
			}
			if ts["web"].State != health.Down || len(cn.n.Deliveries(t.Context(), "web", 0)) != 1 {
				return fmt.Errorf("%s: web %s, %d deliveries", cn.name, ts["web"].State, len(cn.n.Deliveries(t.Context(), "web", 0)))
			}
		}
		return nil
	})
	c.crash(owner)
	web.SetStatus(200)
	waitFor(t, "one resolved message from the new owner", 30*time.Second, 0, func() error {
		if got := msgKinds(hook.got()); got != "web:firing,web:resolved" {
			var info string
			for _, cn := range live {
				ts, _ := listTargets(cn)
				tr, _ := cn.n.Transitions(t.Context(), "web", 5)
				info += fmt.Sprintf(" [%s: %s owners %v; %d transitions; deliveries %+v]", cn.name, ts["web"].State, ts["web"].Owners, len(tr), cn.n.Deliveries(t.Context(), "web", 0))
			}
			return fmt.Errorf("received %q;%s", got, info)
		}
		return nil
	})
	ms := hook.got()
	if ms[1].Node == owner || ms[1].Incident != ms[0].ID {
		t.Fatalf("resolved %+v after firing %+v", ms[1], ms[0])
	}
	// Nothing more comes: every node sees both delivered.
	waitFor(t, "both deliveries known to the live nodes", 10*time.Second, 0, func() error {
		for _, cn := range live {
			if n := len(cn.n.Deliveries(t.Context(), "web", 0)); n != 2 {
				return fmt.Errorf("%s knows %d deliveries", cn.name, n)
			}
		}
		return nil
	})
	// A sweep on every live node finds nothing left to send.
	for _, cn := range live {
		cn.n.sweepNotifications(t.Context())
		cn.n.disp.mu.Lock()
		pending := len(cn.n.disp.pending)
		cn.n.disp.mu.Unlock()
		if pending != 0 {
			t.Fatalf("%s queued %d notifications again after a sweep", cn.name, pending)
		}
	}
	if got := msgKinds(hook.got()); got != "web:firing,web:resolved" {
		t.Fatalf("after the sweeps: received %q", got)
	}
}

// TestClusterNotificationOwnerDiesMidDelivery: the owner takes a
// notification and dies while the channel holds it; a survivor that takes
// the target over sees the delivery still "sending" by a dead node and
// delivers it, once.
func TestClusterNotificationOwnerDiesMidDelivery(t *testing.T) {
	c, hook, web, owner := notifyingCluster(t)
	var live []*clNode
	for _, cn := range c.nodes {
		if cn.name != owner {
			live = append(live, cn)
		}
	}
	hook.hang.Store(true)
	web.SetStatus(503)
	waitFor(t, "the owner's delivery in hand, known to the others as sending", 15*time.Second, 0, func() error {
		if hook.held.Load() == 0 {
			return fmt.Errorf("the channel holds no request yet")
		}
		for _, cn := range live {
			ds := cn.n.Deliveries(t.Context(), "web", 0)
			if len(ds) != 1 || ds[0].State != dispatch.Sending || ds[0].Node != owner {
				return fmt.Errorf("%s: deliveries %+v", cn.name, ds)
			}
		}
		return nil
	})
	c.crash(owner)
	waitFor(t, "the owner's request abandoned", 10*time.Second, 0, func() error {
		if hook.gaveUp.Load() == 0 {
			return fmt.Errorf("%d requests held, none abandoned", hook.held.Load())
		}
		return nil
	})
	hook.unhang()
	waitFor(t, "the firing delivered once, by a survivor", 30*time.Second, 0, func() error {
		ms := hook.got()
		if got := msgKinds(ms); got != "web:firing" {
			return fmt.Errorf("received %q", got)
		}
		if ms[0].Node == owner {
			return fmt.Errorf("delivered by the dead owner %s", owner)
		}
		return nil
	})
	waitFor(t, "the delivery recorded on every survivor", 10*time.Second, time.Second, func() error {
		for _, cn := range live {
			ds := cn.n.Deliveries(t.Context(), "web", 0)
			if len(ds) != 1 || ds[0].State != dispatch.Delivered {
				return fmt.Errorf("%s: deliveries %+v", cn.name, ds)
			}
		}
		if got := msgKinds(hook.got()); got != "web:firing" {
			return fmt.Errorf("received %q", got)
		}
		return nil
	})
}

// TestClusterNotificationsAcrossPartition: an outage notified before a
// partition is not notified again by the side that takes the target over,
// nor after the partition heals; its end, after healing, is notified once.
func TestClusterNotificationsAcrossPartition(t *testing.T) {
	c, hook, web, owner := notifyingCluster(t)
	var others []string
	for _, cn := range c.nodes {
		if cn.name != owner {
			others = append(others, cn.name)
		}
	}
	web.SetStatus(503)
	waitFor(t, "one firing, its delivery known everywhere", 15*time.Second, 0, func() error {
		if got := msgKinds(hook.got()); got != "web:firing" {
			return fmt.Errorf("received %q", got)
		}
		for _, cn := range c.nodes {
			ds := cn.n.Deliveries(t.Context(), "web", 0)
			if len(ds) != 1 || ds[0].State != dispatch.Delivered {
				return fmt.Errorf("%s: deliveries %+v", cn.name, ds)
			}
		}
		return nil
	})
	c.part.Partition([]string{owner}, others)
	waitFor(t, "the other side probes web too", 15*time.Second, 2*clInterval, func() error {
		for _, name := range others {
			set, err := scheduled(c.node(name))
			if err != nil {
				return err
			}
			if set["web"] {
				return nil
			}
		}
		return fmt.Errorf("nobody of %v probes web", others)
	})
	// Several sweeps on each side (every 5s): nothing is sent again.
	for _, cn := range c.nodes {
		cn.n.sweepNotifications(t.Context())
	}
	if got := msgKinds(hook.got()); got != "web:firing" {
		t.Fatalf("during the partition: received %q", got)
	}
	c.part.Heal()
	waitFor(t, "one owner again", 20*time.Second, 2*clInterval, func() error {
		_, err := partitioned(c.nodes, slices.Sorted(slices.Values(append(clIDs("n", 2, 0), "web"))))
		return err
	})
	web.SetStatus(200)
	waitFor(t, "one resolved message", 20*time.Second, time.Second, func() error {
		if got := msgKinds(hook.got()); got != "web:firing,web:resolved" {
			return fmt.Errorf("received %q", got)
		}
		return nil
	})
}
