package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// httpTargets are counting loopback HTTP targets: GET /t/{i} counts a hit
// for target i and answers 200, or 500 while target i is set failing.
// Several listeners spread the connections (each probe is a fresh one).
type httpTargets struct {
	hits  []atomic.Int64
	fail  []atomic.Bool
	first []atomic.Int64 // first hit at or after armAt (unix ns), 0 = none yet
	armAt atomic.Int64

	addrs []string
	srvs  []*http.Server
	wg    sync.WaitGroup
}

func newHTTPTargets(n, listeners int) (*httpTargets, error) {
	t := &httpTargets{
		hits:  make([]atomic.Int64, n),
		fail:  make([]atomic.Bool, n),
		first: make([]atomic.Int64, n),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /t/{i}", t.serve)
	for range max(listeners, 1) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.close()
			return nil, fmt.Errorf("target server listen: %w", err)
		}
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		srv.SetKeepAlivesEnabled(false)
		t.addrs = append(t.addrs, ln.Addr().String())
		t.srvs = append(t.srvs, srv)
		t.wg.Add(1)
		go func() {
			defer t.wg.Done()
			_ = srv.Serve(ln)
		}()
	}
	return t, nil
}

func (t *httpTargets) serve(w http.ResponseWriter, r *http.Request) {
	i, err := strconv.Atoi(r.PathValue("i"))
	if err != nil || i < 0 || i >= len(t.hits) {
		http.NotFound(w, r)
		return
	}
	t.hits[i].Add(1)
	if a := t.armAt.Load(); a != 0 {
		if now := time.Now().UnixNano(); now >= a {
			t.first[i].CompareAndSwap(0, now)
		}
	}
	if t.fail[i].Load() {
		http.Error(w, "failing (bench)", http.StatusInternalServerError)
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}

// url of target i.
func (t *httpTargets) url(i int) string {
	return "http://" + t.addrs[i%len(t.addrs)] + "/t/" + strconv.Itoa(i)
}

// index parses the target index back from a target id "t<i>".
func index(id string) (int, bool) {
	i, err := strconv.Atoi(strings.TrimPrefix(id, "t"))
	return i, err == nil && strings.HasPrefix(id, "t")
}

// snapshot returns every target's hit count.
func (t *httpTargets) snapshot() []int64 {
	s := make([]int64, len(t.hits))
	for i := range t.hits {
		s[i] = t.hits[i].Load()
	}
	return s
}

// arm starts recording, per target, the first hit at or after at.
func (t *httpTargets) arm(at time.Time) {
	t.armAt.Store(0)
	for i := range t.first {
		t.first[i].Store(0)
	}
	t.armAt.Store(at.UnixNano())
}

func (t *httpTargets) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, s := range t.srvs {
		if err := s.Shutdown(ctx); err != nil {
			_ = s.Close()
		}
	}
	t.wg.Wait()
}

// tcpTargets are loopback TCP listeners that accept and close at once:
// the cheapest real target, for the gossip figure with many targets.
type tcpTargets struct {
	accepts atomic.Int64
	lns     []net.Listener
	wg      sync.WaitGroup
}

func newTCPTargets(listeners int) (*tcpTargets, error) {
	t := &tcpTargets{}
	for range max(listeners, 1) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.close()
			return nil, fmt.Errorf("tcp target listen: %w", err)
		}
		t.lns = append(t.lns, ln)
		t.wg.Add(1)
		go func() {
			defer t.wg.Done()
			for {
				c, err := ln.Accept()
				if err != nil {
					if errors.Is(err, net.ErrClosed) {
						return
					}
					time.Sleep(10 * time.Millisecond) // EMFILE and the like
					continue
				}
				t.accepts.Add(1)
				_ = c.Close()
			}
		}()
	}
	return t, nil
}

func (t *tcpTargets) addr(i int) string { return t.lns[i%len(t.lns)].Addr().String() }

func (t *tcpTargets) close() {
	for _, ln := range t.lns {
		_ = ln.Close()
	}
	t.wg.Wait()
}
