package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The baseline is the yardstick heck's CPU per check is measured against: a
// bare Go loop doing the same HTTP GETs with net/http, keep-alives off (a
// fresh connection per check, as heck does by default), at the same rate
// against the same servers, in its own process (this binary re-exec'd with
// -baseline) so its CPU is read the same way as heck's. It has no store, no
// state machine, no metrics: the floor of what checking costs in Go.

// baselineMain is the -baseline mode. It reads one URL a line from -urls,
// spreads their first runs evenly over one interval, and GETs each once per
// interval until stdin closes, a signal arrives or -max elapses. Every line
// read from stdin is answered on stdout with the checks that succeeded and
// failed so far.
func baselineMain(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("baseline", flag.ContinueOnError)
	urlsPath := fs.String("urls", "", "file with one target URL a line")
	interval := fs.Duration("interval", time.Second, "interval between checks of one target")
	timeout := fs.Duration("timeout", 500*time.Millisecond, "timeout of one check")
	conc := fs.Int("concurrency", 2048, "checks in flight at most")
	maxRun := fs.Duration("max", 30*time.Minute, "stop after this long whatever happens")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *interval <= 0 || *timeout <= 0 || *conc < 1 {
		return fmt.Errorf("baseline: -interval %v, -timeout %v and -concurrency %d must be positive", *interval, *timeout, *conc)
	}
	urls, err := readLines(*urlsPath)
	if err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	if len(urls) == 0 {
		return fmt.Errorf("baseline: no URLs in %s", *urlsPath)
	}

	ctx, cancel := context.WithTimeout(ctx, *maxRun)
	defer cancel()
	var ok, failed atomic.Int64
	go func() {
		// Each line on stdin asks for the counters ("ok failed" on
		// stdout); EOF means the harness is done with us.
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			fmt.Fprintf(os.Stdout, "%d %d\n", ok.Load(), failed.Load())
		}
		cancel()
	}()

	client := &http.Client{
		Transport: &http.Transport{
			Proxy:             nil,
			DisableKeepAlives: true,
			DialContext:       (&net.Dialer{Timeout: *timeout}).DialContext,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	var kindsMu sync.Mutex
	kinds := map[string]int{} // failure kind -> count, for the exit summary
	fail := func(err error) {
		failed.Add(1)
		k := failureKind(err)
		kindsMu.Lock()
		kinds[k]++
		kindsMu.Unlock()
	}
	check := func(url string) {
		cctx, ccancel := context.WithTimeout(ctx, *timeout)
		defer ccancel()
		req, err := http.NewRequestWithContext(cctx, http.MethodGet, url, nil)
		if err != nil {
			fail(err)
			return
		}
		resp, err := client.Do(req)
		if err != nil {
			fail(err)
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode >= 200 && resp.StatusCode < 400 {
			ok.Add(1)
		} else {
			fail(fmt.Errorf("HTTP %d", resp.StatusCode))
		}
	}

	// Target i runs at start + i*interval/n + k*interval. The loop wakes at
	// most every tick and starts everything due; a semaphore bounds the
	// checks in flight, as heck's worker pool does.
	n := int64(len(urls))
	const tick = time.Millisecond
	sem := make(chan struct{}, *conc)
	var wg sync.WaitGroup
	start := time.Now()
	due := func(seq int64) time.Time {
		round, i := seq/n, seq%n
		return start.Add(time.Duration(round)*(*interval) + time.Duration(i)*(*interval)/time.Duration(n))
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	var seq int64
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-timer.C:
		}
		now := time.Now()
		for !due(seq).After(now) {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				break loop
			}
			wg.Add(1)
			go func(url string) {
				defer wg.Done()
				defer func() { <-sem }()
				check(url)
			}(urls[seq%n])
			seq++
		}
		timer.Reset(max(time.Until(due(seq)), tick))
	}
	wg.Wait()
	fmt.Fprintf(os.Stderr, "baseline: %d ok, %d failed in %v\n", ok.Load(), failed.Load(), time.Since(start).Round(time.Millisecond))
	for k, n := range kinds {
		fmt.Fprintf(os.Stderr, "baseline: %d failed: %s\n", n, k)
	}
	return nil
}

// failureKind reduces an error to a short class for counting: timeouts,
// refusals, resets, and otherwise the innermost message.
func failureKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return "no free local port (EADDRNOTAVAIL)"
	case errors.Is(err, syscall.EMFILE):
		return "too many open files (EMFILE)"
	}
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err.Error()
		}
		err = u
	}
}

func readLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open URL list: %w", err)
	}
	defer func() { _ = f.Close() }()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := sc.Text(); line != "" {
			out = append(out, line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read URL list %s: %w", path, err)
	}
	return out, nil
}
