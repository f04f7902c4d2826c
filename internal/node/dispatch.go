package node

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/heckhq/heck/internal/api"
	"github.com/heckhq/heck/internal/dispatch"
	"github.com/heckhq/heck/internal/events"
	"github.com/heckhq/heck/internal/flap"
	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/notify"
	"github.com/heckhq/heck/internal/store"
	"github.com/heckhq/heck/internal/target"
)

// The node serves its delivery log.
var _ api.DeliveryBackend = (*Node)(nil)

// Dispatch tuning.
const (
	// dispatchWindow is how far back a node looks for transitions it owns
	// that nobody notified (a fail-over, a restart): older ones are not
	// news any more.
	dispatchWindow = time.Hour
	// dispatchSweepEvery is how often it looks.
	dispatchSweepEvery = 5 * time.Second
	// sendTimeout bounds one attempt of one message.
	sendTimeout = 30 * time.Second
	// deliveryRetention is how long delivery records are kept;
	// deliveryPruneEvery how often older ones are deleted.
	deliveryRetention  = 7 * 24 * time.Hour
	deliveryPruneEvery = 10 * time.Minute
	// flapWindow is the window flap detection judges a target over.
	flapWindow = 30 * time.Minute
)

// dispatcher is the node's notification state: the replicated delivery
// records, and one queue and worker per notifier, so a channel that fails
// or hangs holds up only its own messages.
type dispatcher struct {
	deliveries *dispatch.Collection
	routes     []dispatch.Route

	mu      sync.Mutex
	queues  map[string]chan delivery // notifier id -> its queue
	pending map[string]bool          // notification ids queued or sending here
	// open holds the transitions of the last dispatchWindow that are not
	// settled, by id: what sweeps look at.
	open map[string]events.Transition
	// pruned is when old delivery records were last deleted (dispatchLoop
	// only).
	pruned time.Time
	flaps  map[string]*flap.Detector
	wg     sync.WaitGroup
}

// flapping updates the target's flap detector at now from its recent
// transitions and reports whether it is flapping, and whether that just
// changed.
func (n *Node) flapping(ctx context.Context, spec *target.Spec, now time.Time) (flapping, changed bool, percent float64) {
	ts, err := n.tlog.Query(ctx, store.TransitionQuery{TargetID: spec.ID, From: now.Add(-flapWindow), Limit: 100})
	if err != nil {
		return false, false, 0
	}
	var at []time.Time
	for i := range ts {
		if ts[i].At.After(now) {
			continue // a later change, handled in its turn
		}
		at = append(at, ts[i].At)
	}
	d := n.disp
	d.mu.Lock()
	defer d.mu.Unlock()
	det, ok := d.flaps[spec.ID]
	if !ok {
		det = flap.New(flap.Options{})
		d.flaps[spec.ID] = det
	}
	changed, percent = det.Update(at, now, flapWindow, n.effective(*spec).Interval.D())
	return det.Flapping(), changed, percent
}

type delivery struct {
	rec dispatch.Delivery
	msg notify.Message
}

// Deliveries lists the delivery records, newest first (api.DeliveryBackend).
func (n *Node) Deliveries(_ context.Context, targetID string, limit int) []dispatch.Delivery {
	var out []dispatch.Delivery
	for _, e := range n.disp.deliveries.List() {
		if targetID == "" || e.Value.Target == targetID {
			out = append(out, e.Value)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].At.After(out[j].At) })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out
}

// primaryOwner reports whether this node notifies for the target: it is
// the first of the target's effective owners (the one probing it now, a
// fallback when the ring owner is silent).
func (n *Node) primaryOwner(spec *target.Spec, now time.Time) bool {
	if n.cl == nil {
		return true
	}
	eff := n.own.Effective(spec, n.effective(*spec).Interval.D(), now)
	return len(eff) > 0 && eff[0] == n.name
}

// alive reports whether a node is a live member.
func (n *Node) alive(name string) bool {
	if n.cl == nil || name == n.name {
		return true
	}
	return slices.Contains(n.own.Ring().Members(), name)
}

// dispatchLoop notifies the transitions this node owns: each as it is
// logged, and every dispatchSweepEvery those of the last dispatchWindow
// that nobody notified (this node took the targets over, or restarted),
// until ctx ends. It then waits for the notifier workers.
func (n *Node) dispatchLoop(ctx context.Context) {
	d := n.disp
	defer d.wg.Wait()
	cursor := n.tlog.Last()
	// What the log holds from before this start: read once, then the
	// sweeps look only at what is not settled.
	ts, err := n.tlog.Query(ctx, store.TransitionQuery{From: time.Now().Add(-dispatchWindow)})
	if err != nil {
		n.log.Warn("notifications: read recent transitions", "err", err)
	}
	for i := range ts {
		if ts[i].Seq <= cursor && dispatch.Notifies(&ts[i]) {
			n.track(&ts[i])
		}
	}
	n.sweepNotifications(ctx)
	lastSweep := time.Now()
	for ctx.Err() == nil {
		wctx, cancel := context.WithTimeout(ctx, dispatchSweepEvery)
		err := n.tlog.Wait(wctx, cursor)
		cancel()
		if errors.Is(err, events.ErrClosed) || ctx.Err() != nil {
			return
		}
		ts, err := n.tlog.Read(ctx, cursor, 256)
		if err != nil {
			n.log.Warn("notifications: read the transition log", "err", err)
			continue
		}
		for i := range ts {
			cursor = max(cursor, ts[i].Seq)
			if !n.notifyTransition(ctx, &ts[i], time.Now()) {
				n.track(&ts[i])
			}
		}
		if time.Since(lastSweep) >= dispatchSweepEvery {
			n.sweepNotifications(ctx)
			lastSweep = time.Now()
		}
	}
}

// sweepNotifications notifies the recent transitions nobody did (those
// not settled yet, kept in memory), and forgets old delivery records.
func (n *Node) sweepNotifications(ctx context.Context) {
	now := time.Now()
	d := n.disp
	d.mu.Lock()
	ts := make([]events.Transition, 0, len(d.open))
	for _, t := range d.open {
		ts = append(ts, t)
	}
	d.mu.Unlock()
	sort.Slice(ts, func(i, j int) bool { return ts[i].Seq < ts[j].Seq }) // oldest first
	for i := range ts {
		if n.notifyTransition(ctx, &ts[i], now) {
			d.mu.Lock()
			delete(d.open, ts[i].ID)
			d.mu.Unlock()
		}
	}
	if now.Sub(d.pruned) >= deliveryPruneEvery {
		d.pruned = now
		for _, e := range d.deliveries.List() {
			if now.Sub(e.Value.At) > deliveryRetention {
				_ = d.deliveries.Delete(ctx, e.Key)
			}
		}
	}
	n.remind(ctx, now)
}

// notifyTransition queues the messages of one transition, when this node
// is the target's primary owner and nobody has delivered them. It reports
// whether the transition is settled: nothing more will come of it (every
// message of it delivered, failed or held; not news; too old; its target
// gone), so sweeps need not look at it again.
func (n *Node) notifyTransition(ctx context.Context, t *events.Transition, now time.Time) (settled bool) {
	if !dispatch.Notifies(t) || now.Sub(t.At) > dispatchWindow || t.ID == "" {
		return true
	}
	spec, ok := n.reg.Get(t.TargetID)
	if !ok {
		return true
	}
	if !n.primaryOwner(&spec, now) {
		return false // another node's; this one may own it later
	}
	sev := dispatch.Severity(t.To)
	var prev *events.Transition
	unsent := ""
	if t.To == health.Up {
		// A resolved message follows the severity of what it resolves,
		// and names the incident it closes.
		p, bad, folded := n.previousBad(ctx, t)
		if p != nil {
			prev, sev = p, dispatch.Severity(p.To)
		}
		switch {
		case p != nil || !bad:
		case folded:
			// The outage this ends was folded into its root cause's: so
			// is its end.
			unsent = dispatch.Folded
		default:
			// Nothing of it was sent (held by a silence, a window, or
			// flapping): no news that it ended.
			unsent = "the outage it ends was not notified"
		}
	}
	ids := dispatch.Targets(n.disp.routes, n.notifierIDs(), &spec, sev)
	open := false
	for _, nid := range ids {
		open = open || !n.taken(dispatch.NotificationID(t.ID, nid))
	}
	if !open {
		return n.settled(t.ID, ids) // every message of it done or in hand
	}
	held, wait := n.folding(ctx, t, now)
	if wait {
		return false // not yet: a sweep comes back to it
	}
	if held == "" {
		held = unsent
	}
	flapping, started, pct := n.flapping(ctx, &spec, t.At)
	if flapping && held == "" {
		if started {
			// One message says so; the changes are held until it settles.
			for _, nid := range ids {
				m := dispatch.Message(t, &spec, nid, "", n.name)
				m.ID, m.Kind = dispatch.NotificationID(t.ID+":flapping", nid), notify.KindFlapping
				m.Cause = fmt.Sprintf("%d%% state change over the last %s; changes are held until it settles", int(pct), flapWindow)
				n.send(ctx, t, nid, m)
			}
		}
	}
	switch {
	case held != "":
	case flapping:
		held = fmt.Sprintf("the target is flapping (%.0f%% state change over %s)", pct, flapWindow)
	case n.silencedAt(t.At)(&spec):
		held = "a silence covered the target"
	case n.inMaintenanceAt(t.At)(&spec):
		held = "a maintenance window covered the target"
	}
	impacted := n.impactOf(t.TargetID)
	for _, nid := range ids {
		incident := ""
		if prev != nil {
			incident = dispatch.NotificationID(prev.ID, nid)
		}
		msg := dispatch.Message(t, &spec, nid, incident, n.name)
		if len(impacted) > 0 {
			msg.Impacted = impacted
			if t.To != health.Up {
				msg.Cause += fmt.Sprintf("; %d %s impacted", len(impacted), plural(len(impacted), "dependent", "dependents"))
			}
		}
		if held != "" {
			n.hold(ctx, t, nid, msg, held, now)
			continue
		}
		n.send(ctx, t, nid, msg)
	}
	return n.settled(t.ID, ids)
}

// settled reports whether every message of a transition to the notifiers
// ids is delivered, failed or held.
func (n *Node) settled(transition string, ids []string) bool {
	for _, nid := range ids {
		rec, ok := n.disp.deliveries.Get(dispatch.NotificationID(transition, nid))
		if !ok || rec.State == dispatch.Sending {
			return false
		}
	}
	return true
}

// track keeps a transition for the sweeps until it is settled.
func (n *Node) track(t *events.Transition) {
	d := n.disp
	d.mu.Lock()
	d.open[t.ID] = *t
	d.mu.Unlock()
}

// taken reports whether a notification is done, or in the hands of a live
// node (this one included, while it is queued here).
func (n *Node) taken(key string) bool {
	if rec, ok := n.disp.deliveries.Get(key); ok && (rec.State != dispatch.Sending || n.alive(rec.Node) && rec.Node != n.name) {
		return true
	}
	n.disp.mu.Lock()
	defer n.disp.mu.Unlock()
	return n.disp.pending[key]
}

// send records a notification as in hand here and queues it, unless it is
// taken already.
func (n *Node) send(ctx context.Context, t *events.Transition, nid string, msg notify.Message) {
	if n.taken(msg.ID) {
		return
	}
	rec := dispatch.Delivery{ID: msg.ID, Transition: t.ID, Target: t.TargetID, Notifier: nid, Kind: string(msg.Kind),
		State: dispatch.Sending, Node: n.name, At: time.Now()}
	// Recorded before sending: a node that takes over sees it is in hand,
	// and takes it only if this node dies with it.
	if err := n.disp.deliveries.Put(ctx, msg.ID, rec); err != nil {
		n.log.Warn("notifications: record a delivery", "id", msg.ID, "err", err)
		return
	}
	n.enqueue(ctx, delivery{rec: rec, msg: msg})
}

// hold records a notification not sent on purpose.
func (n *Node) hold(ctx context.Context, t *events.Transition, nid string, msg notify.Message, why string, now time.Time) {
	if n.taken(msg.ID) {
		return
	}
	rec := dispatch.Delivery{ID: msg.ID, Transition: t.ID, Target: t.TargetID, Notifier: nid, Kind: string(msg.Kind),
		State: dispatch.Held, Reason: why, Node: n.name, At: now}
	if err := n.disp.deliveries.Put(ctx, msg.ID, rec); err != nil {
		n.log.Warn("notifications: record a held notification", "id", msg.ID, "err", err)
	}
}

// remind sends the reminders that are due: while a target stays in the
// bad state a delivered firing message reported, every route's reminder
// interval repeats it; and a flapping target that settled gets one message
// of the state it settled in.
func (n *Node) remind(ctx context.Context, now time.Time) {
	var firing []dispatch.Delivery
	if slices.ContainsFunc(n.disp.routes, func(r dispatch.Route) bool { return r.Reminder > 0 }) {
		for _, e := range n.disp.deliveries.List() { // no route reminds: nothing to look up
			firing = append(firing, e.Value)
		}
	}
	for _, rec := range firing {
		if rec.State != dispatch.Delivered || rec.Kind != string(notify.KindFiring) {
			continue
		}
		spec, ok := n.reg.Get(rec.Target)
		if !ok || !n.primaryOwner(&spec, now) || n.reminderFor(&spec, rec.Notifier) <= 0 {
			continue
		}
		if head, ok := n.tlog.Head(rec.Target); !ok || head == health.Up {
			continue // back up (in memory): no need to read the store
		}
		last, err := n.tlog.Query(ctx, store.TransitionQuery{TargetID: rec.Target, Limit: 1})
		if err != nil || len(last) != 1 || last[0].ID != rec.Transition {
			continue // it changed since: the firing is resolved or replaced
		}
		t := last[0]
		every := n.reminderFor(&spec, rec.Notifier)
		if every <= 0 {
			continue
		}
		k := int(now.Sub(t.At) / every)
		if k < 1 {
			continue
		}
		m := dispatch.Message(&t, &spec, rec.Notifier, rec.ID, n.name)
		m.ID, m.Kind = dispatch.NotificationID(fmt.Sprintf("%s:r%d", t.ID, k), rec.Notifier), notify.KindReminder
		n.send(ctx, &t, rec.Notifier, m)
	}
	// Flapping targets that settled.
	n.disp.mu.Lock()
	var flappers []string
	for id, det := range n.disp.flaps {
		if det.Flapping() {
			flappers = append(flappers, id)
		}
	}
	n.disp.mu.Unlock()
	for _, id := range flappers {
		spec, ok := n.reg.Get(id)
		if !ok || !n.primaryOwner(&spec, now) {
			continue
		}
		flapping, changed, _ := n.flapping(ctx, &spec, now)
		if flapping || !changed {
			continue
		}
		last, err := n.tlog.Query(ctx, store.TransitionQuery{TargetID: id, Limit: 1})
		if err != nil || len(last) != 1 {
			continue
		}
		t := last[0]
		sev := dispatch.Severity(t.To)
		for _, nid := range dispatch.Targets(n.disp.routes, n.notifierIDs(), &spec, sev) {
			m := dispatch.Message(&t, &spec, nid, "", n.name)
			m.ID = dispatch.NotificationID(t.ID+":settled", nid)
			m.Cause = "stopped flapping, now " + t.To.String() + ": " + t.Cause
			n.send(ctx, &t, nid, m)
		}
	}
}

// reminderFor is the shortest reminder interval of the routes that send
// the target's critical messages to the notifier (0: none).
func (n *Node) reminderFor(spec *target.Spec, nid string) time.Duration {
	var every time.Duration
	for i := range n.disp.routes {
		r := &n.disp.routes[i]
		if r.Reminder > 0 && slices.Contains(r.Notifiers, nid) && r.Matches(spec, notify.SeverityCritical) {
			if every == 0 || r.Reminder.D() < every {
				every = r.Reminder.D()
			}
		}
	}
	return every
}

// previousBad returns the latest notifiable change to a bad state of the
// outage t ends (since the target was last up) that was notified (sent,
// not held); bad says the outage had one at all, folded that one was
// folded into a root cause's notification.
func (n *Node) previousBad(ctx context.Context, t *events.Transition) (prev *events.Transition, bad, folded bool) {
	ts, err := n.tlog.Query(ctx, store.TransitionQuery{TargetID: t.TargetID, To: t.At, Limit: 20})
	if err != nil {
		return nil, false, false
	}
	for i := range ts {
		switch {
		case ts[i].ID == t.ID || !dispatch.Notifies(&ts[i]):
			continue
		case ts[i].To == health.Up:
			return nil, bad, folded // the outage began after this
		}
		bad = true
		sent, fold := n.notified(&ts[i])
		if sent {
			return &ts[i], true, false
		}
		folded = folded || fold
	}
	return nil, bad, folded
}

// notified reports whether some notification of a transition was sent
// (is sending, delivered or failed), and whether one was held as folded.
func (n *Node) notified(t *events.Transition) (sent, folded bool) {
	for _, nid := range n.notifierIDs() {
		rec, ok := n.disp.deliveries.Get(dispatch.NotificationID(t.ID, nid))
		switch {
		case !ok:
		case rec.State != dispatch.Held:
			sent = true
		case strings.HasPrefix(rec.Reason, dispatch.Folded):
			folded = true
		}
	}
	return sent, folded
}

func (n *Node) notifierIDs() []string {
	es := n.notifiers.List()
	ids := make([]string, len(es))
	for i, e := range es {
		ids[i] = e.Key
	}
	return ids
}

// enqueue hands a delivery to its notifier's worker, starting it if need be.
func (n *Node) enqueue(ctx context.Context, x delivery) {
	d := n.disp
	d.mu.Lock()
	d.pending[x.rec.ID] = true
	q, ok := d.queues[x.rec.Notifier]
	if !ok {
		q = make(chan delivery, 4096)
		d.queues[x.rec.Notifier] = q
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			n.notifierWorker(ctx, x.rec.Notifier, q)
		}()
	}
	d.mu.Unlock()
	select {
	case q <- x:
	case <-ctx.Done():
	}
}

// notifierWorker delivers one notifier's messages in order, retrying each
// with a growing wait until it is taken, refused for good, or GiveUp.
func (n *Node) notifierWorker(ctx context.Context, id string, q chan delivery) {
	for {
		select {
		case <-ctx.Done():
			return
		case x := <-q:
			n.deliver(ctx, id, x)
			n.disp.mu.Lock()
			delete(n.disp.pending, x.rec.ID)
			n.disp.mu.Unlock()
		}
	}
}

func (n *Node) deliver(ctx context.Context, id string, x delivery) {
	rec := x.rec
	first := time.Now()
	for {
		spec, ok := n.notifiers.Get(id)
		var err error
		if !ok {
			err = notify.MarkPermanent(errors.New("no notifier " + id))
		} else {
			var ch notify.Channel
			if ch, err = notify.New(spec, nil, notify.Options{Logger: n.log.With("notifier", id)}); err != nil {
				err = notify.MarkPermanent(err)
			} else {
				sctx, cancel := context.WithTimeout(ctx, sendTimeout)
				err = ch.Send(sctx, x.msg)
				cancel()
			}
		}
		if ctx.Err() != nil {
			return // stopping: the record stays "sending" for the next owner
		}
		rec.Attempts++
		rec.At = time.Now()
		switch {
		case err == nil:
			rec.State, rec.Error, rec.Delivered = dispatch.Delivered, "", rec.At
		case notify.Permanent(err) || time.Since(first) > dispatch.GiveUp:
			rec.State, rec.Error = dispatch.Failed, err.Error()
			n.log.Warn("notification not delivered", "id", rec.ID, "notifier", id, "attempts", rec.Attempts, "err", err)
		default:
			rec.Error = err.Error()
		}
		if perr := n.disp.deliveries.Put(ctx, rec.ID, rec); perr != nil {
			n.log.Warn("notifications: record a delivery", "id", rec.ID, "err", perr)
		}
		if rec.State != dispatch.Sending {
			return
		}
		wait := dispatch.Backoff(rec.Attempts)
		if after, ok := notify.RetryAfter(err); ok {
			wait = max(wait, after)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// folding decides whether a transition's notification is folded into its
// root cause's: a change to impacted or degraded always is (the graph
// made it so: the dependency's own notification says it); a change to
// down of a target with critical dependencies waits dispatch.FoldWait,
// then is folded when the target turned impacted meanwhile or one of its
// critical dependencies is failing. wait says to come back later.
func (n *Node) folding(ctx context.Context, t *events.Transition, now time.Time) (held string, wait bool) {
	g, ok := n.dependsOnAny(t.TargetID)
	if !ok {
		return "", false
	}
	roots := func() string {
		rc := g.RootCauses(t.TargetID, n.headState)
		if len(rc) == 0 || len(rc) == 1 && rc[0] == t.TargetID {
			return dispatch.Folded
		}
		return dispatch.Folded + " (" + strings.Join(rc, ", ") + ")"
	}
	switch t.To {
	case health.Impacted, health.Degraded:
		if n.derivedCause(g, t.TargetID, t.To) != "" || t.To == health.Impacted {
			return roots(), false
		}
		return "", false
	case health.Down:
	default:
		return "", false
	}
	var deps []target.Schedule
	for _, e := range g.Dependencies(t.TargetID) {
		if d, ok := n.reg.Get(e.To); ok && e.Critical {
			deps = append(deps, n.effective(d).Schedule)
		}
	}
	if len(deps) == 0 {
		return "", false
	}
	if now.Before(t.At.Add(dispatch.FoldWait(deps))) {
		return "", true
	}
	// What came after, in this outage: impacted folds it; back up before
	// it was due, it was a blip nobody needs to hear of.
	later, err := n.tlog.Query(ctx, store.TransitionQuery{TargetID: t.TargetID, From: t.At, Limit: 20})
	if err == nil {
		for i := len(later) - 1; i >= 0; i-- { // oldest first
			switch x := &later[i]; {
			case x.ID == t.ID || x.Type != "" || x.At.Before(t.At):
			case x.To == health.Impacted:
				return roots(), false
			case x.To == health.Up:
				return "back up within " + dispatch.FoldWait(deps).String() + ", the wait for its dependencies", false
			}
		}
	}
	for _, e := range g.Dependencies(t.TargetID) {
		if st := n.headState(e.To); e.Critical && (st == health.Down || st == health.Impacted) {
			return roots(), false
		}
	}
	return "", false
}

// impactOf lists the targets a failure of id takes down through critical
// dependencies, for its notification ("db down; 12 dependents impacted").
func (n *Node) impactOf(id string) []string {
	g := n.graph()
	if g == nil {
		return nil
	}
	down, _ := g.Impact(id)
	return down
}

func plural(k int, one, many string) string {
	if k == 1 {
		return one
	}
	return many
}
