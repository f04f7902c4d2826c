package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/heckhq/heck/internal/events"
	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/history"
	"github.com/heckhq/heck/internal/incident"
	"github.com/heckhq/heck/internal/pool"
	"github.com/heckhq/heck/internal/statuspage"
	"github.com/heckhq/heck/internal/store"
	"github.com/heckhq/heck/internal/target"
	"github.com/heckhq/heck/internal/user"
	"github.com/heckhq/heck/internal/wire"
)

// fakeNode stands in for the node: targets, history, a transition log,
// members, pools and a graph, all in memory.
type fakeNode struct {
	mu      sync.Mutex
	targets map[string]wire.TargetStatus
	log     []events.Transition
	notify  chan struct{}
	puts    int
}

func newFakeNode() *fakeNode {
	return &fakeNode{targets: map[string]wire.TargetStatus{}, notify: make(chan struct{})}
}

func (f *fakeNode) add(id string, st health.State, labels map[string]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	spec := target.Spec{ID: id, Kind: target.KindHTTP, URL: "http://127.0.0.1:9/" + id, Labels: labels}
	ts := wire.StatusOf(spec)
	ts.State = st
	ts.Since = time.Now().Add(-time.Hour)
	r := wire.Result{At: time.Now(), OK: st == health.Up, Latency: 3 * time.Millisecond, Message: "200 OK"}
	ts.Last = &r
	if st == health.Down {
		ts.Cause = "connection refused"
	}
	f.targets[id] = ts
}

func (f *fakeNode) Targets(context.Context) []wire.TargetStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]wire.TargetStatus, 0, len(f.targets))
	for _, t := range f.targets {
		out = append(out, t)
	}
	return out
}

func (f *fakeNode) Target(_ context.Context, id string) (wire.TargetStatus, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.targets[id]
	return t, ok
}

func (f *fakeNode) PutTarget(_ context.Context, spec target.Spec) (bool, error) {
	if errs := spec.Validate(); len(errs) > 0 {
		return false, errs
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	_, had := f.targets[spec.ID]
	f.targets[spec.ID] = wire.StatusOf(spec)
	f.puts++
	return !had, nil
}

func (f *fakeNode) DeleteTarget(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.targets[id]; !ok {
		return store.ErrNotFound
	}
	delete(f.targets, id)
	return nil
}

func (f *fakeNode) History(_ context.Context, id string, from, to time.Time, step time.Duration, _ wire.Scope) ([]history.Point, wire.Coverage, error) {
	var pts []history.Point
	for t := from; t.Before(to); t = t.Add(step) {
		pts = append(pts, history.Point{Start: t, Count: 6, Failures: 0, Avg: 3 * time.Millisecond,
			P50: 3 * time.Millisecond, P95: 5 * time.Millisecond, P99: 9 * time.Millisecond})
		if len(pts) > 2000 {
			break
		}
	}
	return pts, wire.Coverage{Scope: wire.ScopeCluster}, nil
}

func (f *fakeNode) Uptime(context.Context, string, wire.Scope) (history.Uptime, wire.Coverage, error) {
	return history.Uptime{Day: 1, Week: 0.9995, Month: 0.98}, wire.Coverage{Scope: wire.ScopeCluster}, nil
}

func (f *fakeNode) QueryTransitions(_ context.Context, q store.TransitionQuery) ([]events.Transition, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []events.Transition
	for i := len(f.log) - 1; i >= 0; i-- {
		t := f.log[i]
		if (q.TargetID == "" || t.TargetID == q.TargetID) && (q.From.IsZero() || !t.At.Before(q.From)) {
			out = append(out, t)
		}
	}
	return out, nil
}

// transition appends a change of id's state to the log and the target.
func (f *fakeNode) transition(id string, to health.State, cause string) {
	f.mu.Lock()
	ts := f.targets[id]
	tr := events.Transition{ID: fmt.Sprintf("tr-%d", len(f.log)+1), Seq: int64(len(f.log) + 1), TargetID: id,
		From: ts.State, To: to, At: time.Now(), Cause: cause, Observer: "node-a"}
	ts.State, ts.Cause, ts.Since = to, cause, tr.At
	f.targets[id] = ts
	f.log = append(f.log, tr)
	close(f.notify)
	f.notify = make(chan struct{})
	f.mu.Unlock()
}

func (f *fakeNode) Last() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return int64(len(f.log))
}

func (f *fakeNode) Wait(ctx context.Context, after int64) error {
	for {
		f.mu.Lock()
		n, ch := int64(len(f.log)), f.notify
		f.mu.Unlock()
		if n > after {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}

func (f *fakeNode) Read(_ context.Context, after int64, limit int) ([]events.Transition, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if after >= int64(len(f.log)) {
		return nil, nil
	}
	out := append([]events.Transition(nil), f.log[after:]...)
	return out[:min(len(out), limit)], nil
}

func (f *fakeNode) Members(context.Context) []wire.Member {
	return []wire.Member{{Name: "node-a", Zone: "eu-1", State: wire.MemberAlive, Targets: len(f.Targets(context.Background())), Self: true},
		{Name: "node-b", Zone: "eu-2", State: wire.MemberDead}}
}

func (f *fakeNode) PoolViews(context.Context) []pool.View {
	return []pool.View{{Name: "web", Members: []pool.Member{{ID: "web-1", State: health.Up, Healthy: true}, {ID: "web-2", State: health.Down}},
		Healthy: 1, Threshold: 50, Spec: pool.Spec{Name: "web", Targets: []string{"web-1", "web-2"}}}}
}

func (f *fakeNode) Graph(context.Context) wire.Graph {
	return wire.Graph{
		Nodes: []wire.GraphNode{{ID: "web-1", State: health.Impacted}, {ID: "db", State: health.Down, RootCause: true}, {ID: "cache", State: health.Up}},
		Edges: []wire.GraphEdge{{From: "web-1", To: "db", Critical: true}, {From: "web-1", To: "cache"}},
	}
}

func (f *fakeNode) Observations(_ context.Context, id string) []health.Observation {
	return []health.Observation{{TargetID: id, Observer: "node-a", State: health.Up, At: time.Now(), Latency: 2 * time.Millisecond, Message: "200 OK"}}
}

// fakeAuth signs a request in by its "sess" cookie (the user's name);
// each session's CSRF token is "csrf-" + name.
type fakeAuth struct {
	mu    sync.Mutex
	users map[string]user.User
	pw    map[string]string
	invs  map[string]user.User
}

func newFakeAuth() *fakeAuth {
	return &fakeAuth{users: map[string]user.User{}, pw: map[string]string{}, invs: map[string]user.User{}}
}

func (a *fakeAuth) addUser(name string, role user.Role, pw string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.users[name] = user.User{Name: name, Role: role}
	a.pw[name] = pw
}

func (a *fakeAuth) Principal(r *http.Request) (user.Principal, bool) {
	c, err := r.Cookie("sess")
	if err != nil {
		return user.Principal{}, false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	u, ok := a.users[c.Value]
	return user.Principal{Name: u.Name, Role: u.Role, Via: "session"}, ok
}

func (a *fakeAuth) Login(_ context.Context, name, password, _ string) (*http.Cookie, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if pw, ok := a.pw[name]; !ok || pw != password {
		return nil, errors.New("wrong user name or password")
	}
	return &http.Cookie{Name: "sess", Value: name, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode}, nil
}

func (a *fakeAuth) Logout(*http.Request) *http.Cookie {
	return &http.Cookie{Name: "sess", Value: "", Path: "/", MaxAge: -1}
}

func (a *fakeAuth) CSRFToken(r *http.Request) string {
	p, _ := a.Principal(r)
	return "csrf-" + p.Name
}

func (a *fakeAuth) CheckCSRF(r *http.Request) error {
	p, ok := a.Principal(r)
	if !ok || r.PostFormValue("csrf") != "csrf-"+p.Name {
		return errors.New("csrf token mismatch")
	}
	return nil
}

func (a *fakeAuth) ListUsers(context.Context) ([]user.User, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []user.User
	for _, u := range a.users {
		out = append(out, u)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (a *fakeAuth) Invite(_ context.Context, name string, role user.Role, _ string) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	tok := "inv-" + name
	a.invs[tok] = user.User{Name: name, Role: role}
	return tok, nil
}

func (a *fakeAuth) AcceptInvite(_ context.Context, tok, pw string) error {
	a.mu.Lock()
	u, ok := a.invs[tok]
	delete(a.invs, tok)
	a.mu.Unlock()
	if !ok {
		return errors.New("the invitation is unknown or used")
	}
	a.addUser(u.Name, u.Role, pw)
	return nil
}

func (a *fakeAuth) SetRole(_ context.Context, name string, role user.Role, _ string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	u, ok := a.users[name]
	if !ok {
		return errors.New("no user " + name)
	}
	u.Role = role
	a.users[name] = u
	return nil
}

func (a *fakeAuth) DeleteUser(_ context.Context, name, _ string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.users, name)
	return nil
}

// fakeIncidents keeps incidents and status pages in memory.
type fakeIncidents struct {
	mu    sync.Mutex
	ins   map[string]incident.Incident
	pages map[string]statuspage.Page
	node  *fakeNode
}

func newFakeIncidents(n *fakeNode) *fakeIncidents {
	return &fakeIncidents{ins: map[string]incident.Incident{}, pages: map[string]statuspage.Page{}, node: n}
}

func (f *fakeIncidents) Incidents(context.Context) ([]incident.Incident, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []incident.Incident
	for _, in := range f.ins {
		out = append(out, in)
	}
	return out, nil
}

func (f *fakeIncidents) Incident(_ context.Context, id string) (incident.Incident, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	in, ok := f.ins[id]
	if !ok {
		return in, errors.New("no incident " + id)
	}
	return in, nil
}

func (f *fakeIncidents) PutIncident(_ context.Context, in incident.Incident, _ string) (incident.Incident, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if in.ID == "" {
		in.ID = fmt.Sprintf("inc-%d", len(f.ins)+1)
	}
	f.ins[in.ID] = in
	return in, nil
}

func (f *fakeIncidents) PostUpdate(_ context.Context, id string, u incident.Update) (incident.Incident, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	in, ok := f.ins[id]
	if !ok {
		return in, errors.New("no incident " + id)
	}
	in.Updates = append(in.Updates, u)
	in.Status = u.Status
	f.ins[id] = in
	return in, nil
}

func (f *fakeIncidents) DeleteIncident(_ context.Context, id, _ string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.ins, id)
	return nil
}

func (f *fakeIncidents) IncidentFromTransition(ctx context.Context, tid, by string) (incident.Incident, error) {
	ts, _ := f.node.QueryTransitions(ctx, store.TransitionQuery{})
	for _, t := range ts {
		if t.ID == tid {
			return f.PutIncident(ctx, incident.Incident{Title: t.TargetID + " is " + t.To.String(), Status: incident.Investigating,
				Targets: []string{t.TargetID}, Transition: tid, Created: time.Now()}, by)
		}
	}
	return incident.Incident{}, errors.New("no transition " + tid)
}

func (f *fakeIncidents) StatusPages(context.Context) ([]statuspage.Page, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []statuspage.Page
	for _, p := range f.pages {
		out = append(out, p)
	}
	return out, nil
}

func (f *fakeIncidents) StatusPage(_ context.Context, id string) (statuspage.Page, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.pages[id]
	if !ok {
		return p, errors.New("no status page " + id)
	}
	return p, nil
}

func (f *fakeIncidents) PutStatusPage(_ context.Context, p statuspage.Page, _ string) error {
	if strings.TrimSpace(p.Title) == "" {
		return target.FieldErrors{{Field: "title", Problem: "is empty", Fix: "give the page a title"}}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pages[p.ID] = p
	return nil
}

func (f *fakeIncidents) DeleteStatusPage(_ context.Context, id, _ string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.pages, id)
	return nil
}
