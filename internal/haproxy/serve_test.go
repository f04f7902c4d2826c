package haproxy

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// waitUntil polls cond until it holds or the limit passes.
func waitUntil(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, limit)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Over MaxConns, a connection is closed unanswered and counted; the slot
// frees when the connection holding it is answered.
func TestMaxConns(t *testing.T) {
	s := New(newFake("a"), Options{MaxConns: 1, ReadTimeout: 5 * time.Second})
	addr := serve(t, s)
	hold, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	// The held connection takes the only slot once accepted; until then a
	// second one might take it, so retry until one is refused.
	waitUntil(t, 5*time.Second, "a connection refused over MaxConns", func() bool {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		_, _ = c.Write([]byte("web/a\n"))
		b, _ := io.ReadAll(c)
		return len(b) == 0 && s.Stats()[ReplyRefused] > 0
	})
	_ = hold.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := hold.Write([]byte("web/a\n")); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(hold)
	if err != nil || string(b) != "up ready 100%\n" {
		t.Fatalf("held connection: %q, %v", b, err)
	}
	waitUntil(t, 5*time.Second, "the slot freed", func() bool {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		_, _ = c.Write([]byte("web/a\n"))
		b, _ := io.ReadAll(c)
		return string(b) == "up ready 100%\n"
	})
}

// When ctx ends, Serve closes connections still waiting for a request and
// returns nil.
func TestServeStopsOnCancel(t *testing.T) {
	s := New(newFake("a"), Options{ReadTimeout: time.Minute})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	nl := &notifyListener{Listener: ln, accepted: make(chan struct{}, 1)}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, nl) }()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	select {
	case <-nl.accepted:
	case <-time.After(5 * time.Second):
		t.Fatal("connection not accepted within 5s")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve after cancel: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return within 5s of cancel with a connection open")
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var ne net.Error
	if _, err := io.ReadAll(c); errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("connection still open after Serve returned")
	}
	if _, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		t.Fatal("listener still accepting after Serve returned")
	}
}

// notifyListener signals each connection it accepts.
type notifyListener struct {
	net.Listener
	accepted chan struct{}
}

func (l *notifyListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.accepted <- struct{}{}
	}
	return c, err
}

// flakyListener fails its first accepts with a transient error.
type flakyListener struct {
	net.Listener
	fails atomic.Int32
}

func (l *flakyListener) Accept() (net.Conn, error) {
	if l.fails.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: syscall.EMFILE}
	}
	return l.Listener.Accept()
}

// A transient accept error (EMFILE) does not stop the server; a listener
// closed under it does, with an error naming it.
func TestAcceptErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fl := &flakyListener{Listener: ln}
	fl.fails.Store(3)
	s := New(newFake("a"), Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, fl) }()
	if got := ask(t, ln.Addr().String(), "web/a\n"); got != "up ready 100%" {
		t.Fatalf("reply after transient accept errors: %q", got)
	}
	ln.Close()
	select {
	case err := <-done:
		if err == nil || !errors.Is(err, net.ErrClosed) || !strings.Contains(err.Error(), ln.Addr().String()) {
			t.Fatalf("Serve on a closed listener: %v, want net.ErrClosed naming %s", err, ln.Addr())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after its listener closed")
	}
}

func TestListenAndServe(t *testing.T) {
	s := New(newFake("a"), Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := s.ListenAndServe(ctx, "127.0.0.1:bad"); err == nil || !strings.Contains(err.Error(), `"127.0.0.1:bad"`) {
		t.Fatalf("ListenAndServe on a bad address: %v, want an error naming it", err)
	}
	addr := "127.0.0.1:" + func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		_, p, _ := net.SplitHostPort(l.Addr().String())
		return p
	}()
	done := make(chan error, 1)
	go func() { done <- s.ListenAndServe(ctx, addr) }()
	waitUntil(t, 5*time.Second, "ListenAndServe answering", func() bool {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return false
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		_, _ = c.Write([]byte("web/a\n"))
		b, _ := io.ReadAll(c)
		return string(b) == "up ready 100%\n"
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("ListenAndServe after cancel: %v", err)
	}
}

// A client trickling its request, never ending it, is answered for what
// it sent by ReadTimeout, on time.
func TestTrickle(t *testing.T) {
	s := New(newFake("a"), Options{ReadTimeout: 300 * time.Millisecond})
	addr := serve(t, s)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	_ = c.SetDeadline(start.Add(5 * time.Second))
	got := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(c)
		got <- string(b)
	}()
	for _, p := range []string{"w", "e", "b", "/"} {
		if _, err := c.Write([]byte(p)); err != nil {
			break // answered and closed: fine
		}
		time.Sleep(50 * time.Millisecond) // the trickle itself, not a wait for a condition
	}
	reply := <-got
	if want := "# heck: \"\" is not a member of pool \"web\"; the state is left as it is\n"; reply != want {
		t.Fatalf("trickled reply %q, want %q", reply, want)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("answered after %v, ReadTimeout 300ms", took)
	}
}
