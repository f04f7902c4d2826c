package cluster

// Joining: the first join at Start and joins asked for at runtime, and how their failures are reported.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Join contacts the given addresses (host:port or DNS names, every address
// of a name) and merges state with each. It returns how many answered, and
// an error only when none did.
func (c *Cluster) Join(ctx context.Context, addrs ...string) (int, error) {
	if len(addrs) == 0 {
		return 0, errors.New("cluster: join: no address given")
	}
	return c.join(ctx, addrs)
}

// JoinError says why no address of a join answered.
type JoinError struct {
	Addrs       []string // what was tried
	KeyMismatch bool     // some peer refused us over the encryption keys
	Errs        []error  // one per failed address
}

func (e *JoinError) Error() string {
	what := strings.Join(e.Addrs, ", ")
	var first string
	if len(e.Errs) > 0 {
		first = e.Errs[0].Error()
	}
	if e.KeyMismatch {
		return fmt.Sprintf("join %s: no peer accepted us: %v (%s)", what, ErrKeyMismatch, first)
	}
	msgs := make([]string, len(e.Errs))
	for i, err := range e.Errs {
		msgs[i] = err.Error()
	}
	return fmt.Sprintf("join %s: no peer answered: %s", what, strings.Join(msgs, "; "))
}

// joinFailure unwraps memberlist's one-element multierror ("1 error
// occurred: ...") into its single, readable error.
func joinFailure(addr string, err error) error {
	var me interface{ WrappedErrors() []error }
	if errors.As(err, &me) {
		if ws := me.WrappedErrors(); len(ws) == 1 {
			return ws[0]
		}
	}
	return fmt.Errorf("failed to join %s: %w", addr, err)
}

// Unwrap lets errors.Is find ErrKeyMismatch.
func (e *JoinError) Unwrap() []error {
	if e.KeyMismatch {
		return append([]error{ErrKeyMismatch}, e.Errs...)
	}
	return e.Errs
}

// isKeyError recognises memberlist's errors for a peer that encrypts with
// other keys, or does not encrypt while we do (or the reverse).
func isKeyError(err error) bool {
	s := err.Error()
	return strings.Contains(s, "decrypt") || strings.Contains(s, "encrypt")
}

func (c *Cluster) join(ctx context.Context, entries []string) (int, error) {
	ml := c.ml.Load()
	if ml == nil {
		return 0, fmt.Errorf("cluster: join: %w", ErrNotRunning)
	}
	self := c.Addr()
	je := &JoinError{}
	var targets []string
	for _, e := range entries {
		addrs, err := resolveJoin(ctx, c.cfg.Resolve, e)
		if err != nil {
			je.Addrs = append(je.Addrs, e)
			je.Errs = append(je.Errs, err)
			continue
		}
		for _, a := range addrs {
			if a != self && !slices.Contains(targets, a) {
				targets = append(targets, a)
			}
		}
	}
	n := 0
	for _, a := range targets {
		if err := ctx.Err(); err != nil {
			je.Errs = append(je.Errs, err)
			break
		}
		je.Addrs = append(je.Addrs, a)
		if _, err := ml.Join([]string{a}); err != nil {
			if isKeyError(err) {
				je.KeyMismatch = true
			}
			je.Errs = append(je.Errs, joinFailure(a, err))
			continue
		}
		n++
	}
	if n > 0 || len(je.Errs) == 0 {
		return n, nil
	}
	return 0, je
}
