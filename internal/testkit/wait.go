package testkit

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// Wait says how to poll a condition: every Every (50 ms when zero) until
// it holds, and then until it has held for Hold (zero: holding once is
// enough), giving up after Timeout (15 s when zero).
type Wait struct {
	Timeout time.Duration
	Hold    time.Duration
	Every   time.Duration
}

// Poll calls cond until it returns nil and goes on returning nil for
// w.Hold, and returns how long after the start it began to hold. At the
// deadline, or at once when cond returns an error made by Abort, it
// returns an error naming what, with cond's last error.
func (w Wait) Poll(what string, cond func() error) (time.Duration, error) {
	timeout, every := w.Timeout, w.Every
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	if every <= 0 {
		every = 50 * time.Millisecond
	}
	start := time.Now()
	var since time.Time // when cond began to hold; zero while it does not
	var last error      // cond's last error
	for {
		err := cond()
		now := time.Now()
		switch {
		case errors.As(err, new(*abortError)):
			return 0, fmt.Errorf("%s: %w", what, err)
		case err != nil:
			last, since = err, time.Time{}
		case since.IsZero():
			since = now
		}
		if err == nil && now.Sub(since) >= w.Hold {
			return since.Sub(start), nil
		}
		if now.Sub(start) >= timeout {
			if err == nil {
				return 0, fmt.Errorf("%s: held for %v only, want %v within %v; before that: %v",
					what, now.Sub(since).Round(time.Millisecond), w.Hold, timeout, last)
			}
			return 0, fmt.Errorf("%s: not within %v: %w", what, timeout, err)
		}
		time.Sleep(min(every, timeout-now.Sub(start)))
	}
}

// Until is Poll failing t at the deadline.
func (w Wait) Until(t testing.TB, what string, cond func() error) time.Duration {
	t.Helper()
	took, err := w.Poll(what, cond)
	if err != nil {
		t.Fatal(err)
	}
	return took
}

// abortError is an error that ends a Poll at once.
type abortError struct{ err error }

func (e *abortError) Error() string { return e.err.Error() }
func (e *abortError) Unwrap() error { return e.err }

// Abort marks err, returned by a condition, as final: the condition can
// no longer come to hold (a process it waits on exited), so Poll gives up
// at once instead of at the deadline.
func Abort(err error) error { return &abortError{err} }

// errNotYet is what a condition made by True says while it is false.
var errNotYet = errors.New("not yet")

// True adapts a boolean condition for Poll and Until.
func True(cond func() bool) func() error {
	return func() error {
		if cond() {
			return nil
		}
		return errNotYet
	}
}
