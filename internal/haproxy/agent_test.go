package haproxy

import (
	"bufio"
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/pool"
	"github.com/heckhq/heck/internal/target"
)

// fakeSource is a pool "web" of members whose states the test sets.
type fakeSource struct {
	mu     sync.Mutex
	states map[string]health.State
	ejects map[string]bool
	spec   pool.Spec
}

func newFake(ids ...string) *fakeSource {
	f := &fakeSource{states: map[string]health.State{}, ejects: map[string]bool{}, spec: pool.Spec{Name: "web", Targets: ids}}
	for _, id := range ids {
		f.states[id] = health.Up
	}
	return f
}

func (f *fakeSource) set(id string, st health.State, ejected bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.states[id], f.ejects[id] = st, ejected
}

func (f *fakeSource) PoolView(name string) (pool.View, bool) {
	if name != "web" {
		return pool.View{}, false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var in []pool.Input
	for _, id := range f.spec.Targets {
		i := pool.Input{Spec: &target.Spec{ID: id, Address: "127.0.0.1:1"}, State: f.states[id], ErrorRate: -1}
		if f.ejects[id] {
			i.Ejection = &pool.Ejection{Pool: "web", Member: id, Until: time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC), Count: 1, Reason: "latency: slow"}
		}
		in = append(in, i)
	}
	return pool.Evaluate(&f.spec, in), true
}

func (f *fakeSource) TargetMember(id string) (pool.Member, bool) {
	f.mu.Lock()
	st, ok := f.states[id]
	f.mu.Unlock()
	if !ok {
		return pool.Member{}, false
	}
	return pool.Member{ID: id, State: st, Healthy: pool.Healthy(st), Serving: pool.Healthy(st)}, true
}

func TestReply(t *testing.T) {
	// A member in each state; no panic threshold, so none is served but
	// the healthy ones.
	f := newFake("a", "b", "c", "d", "e", "f", "g", "h", "i")
	noPanic := 0
	f.spec.PanicThreshold = &noPanic
	f.set("b", health.Degraded, false)
	f.set("c", health.Down, false)
	f.set("d", health.Up, true)
	f.set("e", health.Down, true)
	f.set("f", health.Unknown, false)
	f.set("g", health.Stale, false)
	f.set("h", health.Late, false)
	f.set("i", health.Impacted, false)
	s := New(f, Options{})
	if v, _ := f.PoolView("web"); v.Panic {
		t.Fatalf("fixture pool in panic: %+v", v)
	}
	cases := []struct{ req, want, kind string }{
		{"web/a", "up ready 100%", ReplyUp},
		{"web/b", "up ready 50% # heck: degraded", ReplyDegraded},
		{"web/c", "down # heck: down", ReplyDown},
		{"web/d", "up drain # heck: up, ejected until 2026-12-07T12:00:00Z: latency: slow", ReplyDrain},
		{"web/e", "down drain # heck: down, ejected until 2026-12-07T12:00:00Z: latency: slow", ReplyDrain},
		{"web/f", "# heck: no verdict to follow (unknown); the state is left as it is", ReplyNoVerdict},
		{"web/g", "# heck: no verdict to follow (stale); the state is left as it is", ReplyNoVerdict},
		{"web/h", "# heck: no verdict to follow (late); the state is left as it is", ReplyNoVerdict},
		{"web/i", "down # heck: impacted", ReplyDown},
		{"f", "# heck: no verdict to follow (unknown); the state is left as it is", ReplyNoVerdict},
		{"b", "up ready 50% # heck: degraded", ReplyDegraded},
		{"a", "up ready 100%", ReplyUp},
		{"c", "down # heck: down", ReplyDown},
		{"web/zz", `# heck: "zz" is not a member of pool "web"; the state is left as it is`, ReplyUnknown},
		{"api/a", `# heck: no pool "api"; the state is left as it is`, ReplyUnknown},
		{"nobody", `# heck: no target "nobody"; the state is left as it is`, ReplyUnknown},
		{"", `# heck: nothing sent; set agent-send "POOL/MEMBER\n" on the server line`, ReplyUnknown},
		{"web/\x01", "# heck: unreadable agent-send; send POOL/MEMBER or TARGET and a newline", ReplyUnknown},
	}
	for _, c := range cases {
		got, kind := s.Reply(c.req)
		if got != c.want || kind != c.kind {
			t.Errorf("Reply(%q) = %q (%s), want %q (%s)", c.req, got, kind, c.want, c.kind)
		}
	}
	// Panic (the default threshold, 50%: 2 of 9 healthy) fails open over
	// all; the down, ejected and unknown ones are served and say why.
	f.spec.PanicThreshold = nil
	for req, want := range map[string]string{
		"web/c": "up ready 100% # heck: down, served: pool in panic, failing open",
		"web/e": "up ready 100% # heck: down, served: pool in panic, failing open",
		"web/f": "up ready 100% # heck: unknown, served: pool in panic, failing open",
	} {
		if got, kind := s.Reply(req); kind != ReplyPanic || got != want {
			t.Errorf("in panic: Reply(%s) = %q (%s), want %q", req, got, kind, want)
		}
	}
}

// serve starts s on a loopback port and returns its address.
func serve(t *testing.T, s *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String()
}

func ask(t *testing.T, addr, send string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if send != "" {
		if _, err := c.Write([]byte(send)); err != nil {
			t.Fatal(err)
		}
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("read reply to %q: %v", send, err)
	}
	return strings.TrimSuffix(line, "\n")
}

func TestProtocol(t *testing.T) {
	f := newFake("a", "b")
	f.set("b", health.Down, false)
	s := New(f, Options{ReadTimeout: 200 * time.Millisecond})
	addr := serve(t, s)
	cases := []struct{ send, want string }{
		{"web/a\n", "up ready 100%"},
		{"web/b\r\n", "down # heck: down"},
		{"  web/a  \n", "up ready 100%"},
		{"", `# heck: nothing sent; set agent-send "POOL/MEMBER\n" on the server line`},
		{"web/a", "up ready 100%"}, // no newline: answered at the read deadline
		{strings.Repeat("x", 2000) + "\n", "# heck: unreadable agent-send; send POOL/MEMBER or TARGET and a newline"},
		{"\xff\xfe\n", "# heck: unreadable agent-send; send POOL/MEMBER or TARGET and a newline"},
	}
	for _, c := range cases {
		if got := ask(t, addr, c.send); got != c.want {
			t.Errorf("send %.20q: reply %q, want %q", c.send, got, c.want)
		}
	}
	st := s.Stats()
	if st[ReplyUp] != 3 || st[ReplyDown] != 1 || st[ReplyUnknown] != 3 {
		t.Errorf("stats %v", st)
	}
}

// A client that connects and never sends is answered at the read deadline
// and does not hold up others.
func TestSlowClient(t *testing.T) {
	s := New(newFake("a"), Options{ReadTimeout: 300 * time.Millisecond})
	addr := serve(t, s)
	slow, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	if got := ask(t, addr, "web/a\n"); got != "up ready 100%" {
		t.Fatalf("reply beside a slow client: %q", got)
	}
}
