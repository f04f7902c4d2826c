package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// opFunc runs one operation (a pick, a DNS query) for worker w and returns
// nil when it succeeded.
type opFunc func(ctx context.Context, w int, r *rand.Rand) error

// window is the outcome of one measured load window.
type window struct {
	name     string
	ops      uint64
	errs     uint64
	firstErr string
	lat      hist
	secs     float64
	heckCPU  time.Duration // heck's utime+stime over the window
	selfCPU  time.Duration // the harness's (clients and target server)
	rss      int64         // heck's VmRSS at the end
}

// Load phases: warm-up (ops not recorded), measure, stop.
const (
	phaseWarm int32 = iota
	phaseMeasure
	phaseStop
)

// runLoad runs workers goroutines calling op back to back: warmup without
// recording, then a window of dur whose operations (those started in it)
// are counted, with heck's and the harness's CPU read at both edges.
func runLoad(ctx context.Context, name string, workers int, warmup, dur time.Duration, h *heck, op opFunc) (window, error) {
	res := window{name: name}
	var phase atomic.Int32
	type acc struct {
		ops, errs uint64
		firstErr  error
		lat       hist
	}
	accs := make([]acc, workers)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := &accs[w]
			r := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
			for {
				p := phase.Load()
				if p == phaseStop || ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				err := op(ctx, w, r)
				if p != phaseMeasure {
					continue
				}
				a.lat.record(time.Since(t0))
				a.ops++
				if err != nil {
					a.errs++
					if a.firstErr == nil {
						a.firstErr = err
					}
				}
			}
		}()
	}
	// finish stops the workers and waits for them (each op has its own
	// timeout, so this is bounded; the deadline guards against a bug).
	finish := func() error {
		phase.Store(phaseStop)
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
			return nil
		case <-time.After(30 * time.Second):
			cancel()
			return fmt.Errorf("%s: workers did not stop within 30s", name)
		}
	}
	if err := sleepCtx(ctx, warmup, h.child); err != nil {
		_ = finish()
		return res, fmt.Errorf("%s warm-up: %w", name, err)
	}
	hc0, err1 := readCPU(h.pid())
	sc0, err2 := readCPU(0)
	t0 := time.Now()
	phase.Store(phaseMeasure)
	if err := errors.Join(err1, err2); err != nil {
		_ = finish()
		return res, err
	}
	if err := sleepCtx(ctx, dur, h.child); err != nil {
		_ = finish()
		return res, fmt.Errorf("%s window: %w", name, err)
	}
	phase.Store(phaseStop)
	hc1, err1 := readCPU(h.pid())
	sc1, err2 := readCPU(0)
	res.secs = time.Since(t0).Seconds()
	rss, err3 := readRSS(h.pid())
	if err := errors.Join(err1, err2, err3, finish()); err != nil {
		return res, err
	}
	res.heckCPU, res.selfCPU, res.rss = hc1-hc0, sc1-sc0, rss
	for i := range accs {
		a := &accs[i]
		res.ops += a.ops
		res.errs += a.errs
		res.lat.merge(&a.lat)
		if res.firstErr == "" && a.firstErr != nil {
			res.firstErr = a.firstErr.Error()
		}
	}
	return res, nil
}

// newPickClient is the shared keep-alive client of the pick workers: one
// idle connection kept per worker (and some spare), no proxy.
func newPickClient(clients int, timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:               nil,
			MaxIdleConns:        2 * clients,
			MaxIdleConnsPerHost: 2 * clients,
			IdleConnTimeout:     time.Minute,
			DisableCompression:  true,
		},
	}
}

// pickOp returns the operation of one pick with strategy against a random
// pool. The URLs are built once.
func pickOp(hc *http.Client, api, strategy string, o options) opFunc {
	urls := make([]string, o.pools)
	for p := range urls {
		urls[p] = fmt.Sprintf("%s/api/v1/pools/%s/pick?strategy=%s", api, poolName(p, o.pools), strategy)
	}
	return func(ctx context.Context, _ int, r *rand.Rand) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, urls[r.IntN(len(urls))], nil)
		if err != nil {
			return fmt.Errorf("pick request: %w", err)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return fmt.Errorf("pick: %w", err)
		}
		_, err = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("pick %s: %s", req.URL.Path, resp.Status)
		}
		if err != nil {
			return fmt.Errorf("pick %s: read body: %w", req.URL.Path, err)
		}
		return nil
	}
}

// dnsOp returns the operation of one A query for a random pool's name on
// the worker's own UDP socket (redialled after an error, so a late answer
// is never taken for the next query's).
func dnsOp(addr string, workers int, o options) (opFunc, func()) {
	names := make([]string, o.pools)
	for p := range names {
		names[p] = poolName(p, o.pools) + ".heck."
	}
	cl := &dns.Client{Net: "udp", Timeout: o.reqTimeout}
	conns := make([]*dns.Conn, workers)
	closeAll := func() {
		for _, c := range conns {
			if c != nil {
				_ = c.Close()
			}
		}
	}
	return func(ctx context.Context, w int, r *rand.Rand) error {
		if conns[w] == nil {
			c, err := cl.DialContext(ctx, addr)
			if err != nil {
				return fmt.Errorf("dial DNS %s: %w", addr, err)
			}
			conns[w] = c
		}
		m := new(dns.Msg)
		m.SetQuestion(names[r.IntN(len(names))], dns.TypeA)
		m.RecursionDesired = false
		in, _, err := cl.ExchangeWithConnContext(ctx, m, conns[w])
		if err != nil {
			_ = conns[w].Close()
			conns[w] = nil
			return fmt.Errorf("DNS A %s: %w", m.Question[0].Name, err)
		}
		if in.Rcode != dns.RcodeSuccess || len(in.Answer) == 0 {
			return fmt.Errorf("DNS A %s: rcode %s, %d answers", m.Question[0].Name, dns.RcodeToString[in.Rcode], len(in.Answer))
		}
		return nil
	}, closeAll
}
