package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The target servers run in their own process (this binary re-exec'd with
// -serve) so that the CPU the harness reads for heck is heck's alone. They
// are deliberately minimal HTTP/1.1 responders: read the request head,
// answer 200 with "Connection: close", close. The server closing first puts
// TIME_WAIT on the server side, and spreading the listeners over many
// 127.0.x.y addresses and ports multiplies the 4-tuples available, so tens of
// thousands of fresh connections per second do not run out of ports.

// serverReady is the line a -serve process prints on stdout once every
// listener is accepting.
type serverReady struct {
	Ctl   string   `json:"ctl"`   // control address: GET /count
	Addrs []string `json:"addrs"` // target listeners, host:port
}

// serverAddr returns the k-th loopback address used for targets:
// 127.0.1.1, 127.0.1.2, ... 127.0.1.250, 127.0.2.1, ... (never 127.0.0.1,
// which heck's API uses). Always inside 127.0.0.0/8.
func serverAddr(k int) string {
	return fmt.Sprintf("127.0.%d.%d", 1+k/250, 1+k%250)
}

var response = []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")

var headEnd = []byte("\r\n\r\n")

var bufPool = sync.Pool{New: func() any { b := make([]byte, 4096); return &b }}

// targetServer is the in-process state of a -serve process.
type targetServer struct {
	hits   atomic.Int64 // complete requests answered
	errors atomic.Int64 // connections dropped before a complete request
	wg     sync.WaitGroup
}

// handle answers one connection: one request, one response, close.
func (s *targetServer) handle(c net.Conn) {
	defer s.wg.Done()
	defer func() { _ = c.Close() }()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	b := *bp
	n := 0
	for {
		m, err := c.Read(b[n:])
		from := max(0, n-3)
		n += m
		if bytes.Contains(b[from:n], headEnd) {
			break
		}
		if err != nil || n == len(b) {
			s.errors.Add(1)
			return
		}
	}
	if _, err := c.Write(response); err != nil {
		s.errors.Add(1)
		return
	}
	s.hits.Add(1)
}

func (s *targetServer) accept(ctx context.Context, ln net.Listener) {
	defer s.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors or similar: back off briefly
			// instead of spinning.
			s.errors.Add(1)
			select {
			case <-ctx.Done():
				return
			case <-time.After(5 * time.Millisecond):
			}
			continue
		}
		s.wg.Add(1)
		go s.handle(c)
	}
}

// serveMain is the -serve mode: listen on ips x ports target listeners and
// a control endpoint, print serverReady on stdout, and serve until stdin
// closes (the harness exits or drops the pipe) or a signal arrives.
func serveMain(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	ips := fs.Int("ips", 64, "number of 127.0.x.y addresses to listen on")
	ports := fs.Int("ports", 4, "listeners per address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *ips < 1 || *ips > 250*250 || *ports < 1 {
		return fmt.Errorf("serve: -ips %d -ports %d out of range (1..62500, >=1)", *ips, *ports)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { // stdin EOF means the harness is gone or done with us
		_, _ = io.Copy(io.Discard, os.Stdin)
		cancel()
	}()

	s := &targetServer{}
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			_ = ln.Close()
		}
	}()
	ready := serverReady{}
	for i := 0; i < *ips; i++ {
		for j := 0; j < *ports; j++ {
			ln, err := net.Listen("tcp4", serverAddr(i)+":0")
			if err != nil {
				return fmt.Errorf("serve: listen on %s: %w", serverAddr(i), err)
			}
			lns = append(lns, ln)
			ready.Addrs = append(ready.Addrs, ln.Addr().String())
		}
	}
	ctl, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("serve: control listener: %w", err)
	}
	lns = append(lns, ctl)
	ready.Ctl = ctl.Addr().String()

	for _, ln := range lns[:len(lns)-1] {
		s.wg.Add(1)
		go s.accept(ctx, ln)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /count", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "%d %d\n", s.hits.Load(), s.errors.Load())
	})
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = hs.Serve(ctl) }()

	line, _ := json.Marshal(ready)
	if _, err := fmt.Fprintf(os.Stdout, "%s\n", line); err != nil {
		return fmt.Errorf("serve: announce: %w", err)
	}
	<-ctx.Done()
	shut, cancelShut := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancelShut()
	_ = hs.Shutdown(shut)
	for _, ln := range lns {
		_ = ln.Close()
	}
	lns = nil
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
	}
	fmt.Fprintf(os.Stderr, "serve: %d hits, %d errors\n", s.hits.Load(), s.errors.Load())
	return nil
}

// serverClient reads a -serve process's counters.
type serverClient struct {
	pid    int // of the -serve process, to read its CPU
	ctl    string
	client *http.Client
}

func newServerClient(ctl string) *serverClient {
	return &serverClient{ctl: ctl, client: &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 1},
	}}
}

// count returns the number of requests answered and connections dropped.
func (c *serverClient) count(ctx context.Context) (hits, errs int64, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+c.ctl+"/count", nil)
	if err != nil {
		return 0, 0, err
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return 0, 0, fmt.Errorf("read target server count: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 256))
	if err != nil {
		return 0, 0, fmt.Errorf("read target server count: %w", err)
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 0, 0, fmt.Errorf("target server count: unexpected answer %q", b)
	}
	hits, err1 := strconv.ParseInt(f[0], 10, 64)
	errs, err2 := strconv.ParseInt(f[1], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, 0, fmt.Errorf("target server count %q: %w", b, err)
	}
	return hits, errs, nil
}

// targetURLs spreads n targets over the server's listeners, each with its
// own path so a target's requests are tellable apart in a capture.
func targetURLs(addrs []string, n int) []string {
	urls := make([]string, n)
	for i := range urls {
		urls[i] = fmt.Sprintf("http://%s/t/%d", addrs[i%len(addrs)], i)
	}
	return urls
}
