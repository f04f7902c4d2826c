// Package haproxy owns heck's HAProxy agent-check listener: a TCP server
// speaking HAProxy's agent protocol, so that HAProxy follows heck's
// verdicts of each backend server, its pools' panic mode and outlier
// ejections, without a health check of its own hammering the servers.
//
// HAProxy connects to the agent every agent-inter, sends the server's
// agent-send string and reads one line back. heck reads "POOL/MEMBER"
// (a target in a pool: the pool's panic and ejections apply) or "TARGET"
// (a target on its own) and answers:
//
//	up ready 100%          healthy (up), or served while the pool is in panic
//	                       and fails open over it (any state)
//	up ready 50%           degraded: it still answers, give it half its weight
//	up drain # ...         ejected as an outlier: no new traffic, sessions
//	                       finish ("down drain" when it is also down)
//	down # heck: STATE     down or impacted, and not served
//	# heck: ...            a comment only, so HAProxy keeps the server's state
//	                       as it is: unknown pool or member, nothing sent or
//	                       garbage (rather than draining a backend over a
//	                       typo), or a member heck has no verdict on yet
//	                       (unknown, late, stale: a restarted or overloaded
//	                       heck never takes backends down)
//
// HAProxy reads the reply up to the first '\r' or '\n' as words (up, down,
// ready, drain, N%); the text after '#' is the check's description in its
// stats and logs. The percentage is of the weight on the server line, so
// put the member's heck weight there. Requests are bounded to MaxRequest
// bytes and answered within ReadTimeout; HAProxy uses agent-inter as the
// agent's timeout unless "timeout check" is set, so keep ReadTimeout
// below it (HAProxy sends agent-send at once, so only a silent client
// waits that long).
//
// "ready" in every "up" answer but a drain undoes an earlier drain.
//
// A server line for a pool "web" of members w1, w2... (and "agent-send
// \"w1\\n\"" for a target w1 on its own):
//
//	server w1 127.0.0.1:8081 weight 100 check agent-check agent-addr 127.0.0.1 agent-port 5555 agent-inter 1s agent-send "web/w1\n"
//
// With `check`, HAProxy's own check still decides that the server answers
// at all; without it, heck's agent alone decides (and a dead agent leaves
// the servers as they were).
package haproxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/pool"
)

// Source is what the agent reads: evaluated pools and lone targets.
type Source interface {
	// PoolView returns a pool's current view; false when there is none.
	PoolView(name string) (pool.View, bool)
	// TargetMember returns a target on its own; false when there is none.
	TargetMember(id string) (pool.Member, bool)
}

// Options tune a Server. Zero values take the defaults.
type Options struct {
	// ReadTimeout bounds the wait for the agent-send line (default 1s);
	// a connection that sends nothing by then is answered as empty.
	ReadTimeout time.Duration
	// WriteTimeout bounds writing the reply (default 1s).
	WriteTimeout time.Duration
	// MaxConns bounds the connections served at once (default 1024);
	// more are closed at once, and HAProxy retries at its next interval.
	MaxConns int
	Logger   *slog.Logger
}

// MaxRequest is the longest agent-send line read; longer ones are
// answered as unknown.
const MaxRequest = 512

// Reply words, for Stats.
const (
	ReplyUp       = "up"
	ReplyDegraded = "degraded"
	ReplyPanic    = "panic"
	ReplyDrain    = "drain"
	ReplyDown     = "down"
	ReplyUnknown  = "unknown"
	// ReplyNoVerdict: the member's state is unknown, late or stale.
	ReplyNoVerdict = "no_verdict"
	// ReplyRefused counts connections closed unanswered, over MaxConns.
	ReplyRefused = "refused"
)

// Server answers HAProxy agent checks. Safe for concurrent use.
type Server struct {
	src  Source
	opts Options
	log  *slog.Logger
	sem  chan struct{}
	// replies counts the replies by kind; the map is fixed at New.
	replies map[string]*atomic.Uint64
}

// New returns a server answering from src.
func New(src Source, opts Options) *Server {
	if opts.ReadTimeout <= 0 {
		opts.ReadTimeout = time.Second
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = time.Second
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = 1024
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{src: src, opts: opts, log: log, sem: make(chan struct{}, opts.MaxConns), replies: map[string]*atomic.Uint64{}}
	for _, r := range []string{ReplyUp, ReplyDegraded, ReplyPanic, ReplyDrain, ReplyDown, ReplyUnknown, ReplyNoVerdict, ReplyRefused} {
		s.replies[r] = new(atomic.Uint64)
	}
	return s
}

// Stats returns how many requests got each kind of reply.
func (s *Server) Stats() map[string]uint64 {
	out := make(map[string]uint64, len(s.replies))
	for k, v := range s.replies {
		out[k] = v.Load()
	}
	return out
}

// Serve answers connections on ln until ctx ends, then closes ln and the
// connections in flight and waits for them. It returns nil after ctx
// ends, or an error when ln is closed under it. Other accept errors
// (out of file descriptors) are logged and retried after a short wait.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	var wg sync.WaitGroup
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	defer wg.Wait()
	var backoff time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("haproxy agent: accept on %s: %w", ln.Addr(), err)
			}
			// Anything else (out of file descriptors, a connection reset
			// before it was accepted) passes: wait a little, growing, and
			// accept again rather than stop answering HAProxy for good.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.log.Warn("haproxy agent: accept failed, retrying", "addr", ln.Addr().String(), "err", err, "backoff", backoff)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(backoff):
			}
			continue
		}
		backoff = 0
		select {
		case s.sem <- struct{}{}:
		default:
			c.Close() // over MaxConns: HAProxy retries at its next check
			s.replies[ReplyRefused].Add(1)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-s.sem }()
			s.serveConn(ctx, c)
		}()
	}
}

// ListenAndServe listens on TCP addr (a loopback or internal address:
// HAProxy's agent protocol has no authentication) and serves until ctx
// ends.
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("haproxy agent: listen on %q: %w (give a free host:port, e.g. 127.0.0.1:5555)", addr, err)
	}
	return s.Serve(ctx, ln)
}

func (s *Server) serveConn(ctx context.Context, c net.Conn) {
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	_ = c.SetReadDeadline(time.Now().Add(s.opts.ReadTimeout))
	req, err := readRequest(bufio.NewReaderSize(c, 64))
	if err != nil {
		req = "\x00" // too long or broken: unknown
	}
	reply, kind := s.Reply(req)
	s.replies[kind].Add(1)
	_ = c.SetWriteDeadline(time.Now().Add(s.opts.WriteTimeout))
	if _, err := c.Write([]byte(reply + "\n")); err != nil && ctx.Err() == nil {
		s.log.Debug("haproxy agent: write reply", "remote", c.RemoteAddr().String(), "err", err)
	}
}

// readRequest reads the agent-send line: up to a newline, the end of the
// stream, or the read deadline (HAProxy without agent-send sends nothing),
// at most MaxRequest bytes.
func readRequest(r *bufio.Reader) (string, error) {
	var b strings.Builder
	for b.Len() <= MaxRequest {
		c, err := r.ReadByte()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, io.EOF) {
				return strings.TrimSpace(b.String()), nil
			}
			return "", err
		}
		if c == '\n' {
			return strings.TrimSpace(b.String()), nil
		}
		b.WriteByte(c)
	}
	return "", fmt.Errorf("agent request longer than %d bytes", MaxRequest)
}

// Reply returns the agent reply to a request ("POOL/MEMBER", "TARGET" or
// "") and its kind for Stats.
func (s *Server) Reply(req string) (reply, kind string) {
	if req == "" {
		return `# heck: nothing sent; set agent-send "POOL/MEMBER\n" on the server line`, ReplyUnknown
	}
	if !printable(req) {
		return "# heck: unreadable agent-send; send POOL/MEMBER or TARGET and a newline", ReplyUnknown
	}
	poolName, member, inPool := strings.Cut(req, "/")
	if !inPool {
		m, ok := s.src.TargetMember(req)
		if !ok {
			return fmt.Sprintf("# heck: no target %q; the state is left as it is", req), ReplyUnknown
		}
		return memberReply(&m, false)
	}
	v, ok := s.src.PoolView(poolName)
	if !ok {
		return fmt.Sprintf("# heck: no pool %q; the state is left as it is", poolName), ReplyUnknown
	}
	m, ok := v.Member(member)
	if !ok {
		return fmt.Sprintf("# heck: %q is not a member of pool %q; the state is left as it is", member, poolName), ReplyUnknown
	}
	return memberReply(m, v.Panic)
}

func memberReply(m *pool.Member, panic bool) (string, string) {
	switch {
	case m.Serving && m.Healthy && m.State == health.Degraded:
		return "up ready 50% # heck: degraded", ReplyDegraded
	case m.Serving && m.Healthy:
		return "up ready 100%", ReplyUp
	case m.Serving:
		return fmt.Sprintf("up ready 100%% # heck: %s, served: pool in panic, failing open", m.State), ReplyPanic
	case m.Ejected != nil:
		// Drain only says "no new traffic"; the operating state follows
		// the verdict so that a dead ejected member gets no persistent
		// sessions either, and one heck cannot judge is left as it is.
		op := ""
		switch {
		case pool.Healthy(m.State):
			op = "up "
		case m.State == health.Down || m.State == health.Impacted:
			op = "down "
		}
		return fmt.Sprintf("%sdrain # heck: %s, ejected until %s: %s", op, m.State,
			m.Ejected.Until.UTC().Format(time.RFC3339), oneLine(m.Ejected.Reason)), ReplyDrain
	case noVerdict(m.State):
		return fmt.Sprintf("# heck: no verdict to follow (%s); the state is left as it is", m.State), ReplyNoVerdict
	}
	return fmt.Sprintf("down # heck: %s", m.State), ReplyDown
}

// noVerdict reports whether s is heck not knowing rather than the target
// failing: nothing settled yet (a start), heck's own probes late (it is
// overloaded) or no fresh observation. HAProxy then keeps what it had, so
// that restarting or overloading heck never takes backends down.
func noVerdict(s health.State) bool {
	return s == health.Unknown || s == health.Late || s == health.Stale
}

func printable(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError {
			return false
		}
	}
	return true
}

// oneLine keeps a description on one line and short.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > 120 {
		s = s[:120]
	}
	return s
}
