// Package storecopy owns copying one heck store into another (heck store
// copy): every replicated object of every kind, the transition log with
// its events of every type (the audit trail among them), rollups and raw
// results, in batches, with progress, and idempotently, so a copy that
// stopped half way is finished by running it again, never duplicated.
//
// It works over the store interface plus what it needs to list a store
// whole and write rollups as they are (Source, Destination), which the
// SQLite and Postgres drivers provide; it does not know either.
//
// What a copy does with each kind of record, so that a rerun writes
// nothing twice:
//   - objects: put as they are; the destination keeps the newer of two
//     writes of a key (last writer wins by HLC stamp), so the copy never
//     replaces a newer entry;
//   - transitions: added in the source's order, each once by its
//     cluster-wide id (a transition without one gets an id derived from
//     its content); the destination numbers them (Seq) after its own;
//   - rollups: stored as they are, replacing the destination's rollup of
//     the same target and minute (of the destination's observer) rather
//     than adding to it;
//   - results: stored, replacing one of the same target and time.
//
// The destination writes as its observer: a PostgreSQL database shared by
// several nodes keys rollups and results by the node that measured them,
// so open it with the name of the node whose store is being copied.
package storecopy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/heckhq/heck/internal/store"
)

// Tables are the tables of a store a copy fills, in order.
var Tables = []string{"objects", "transitions", "rollups", "results"}

// Lister lists a store whole.
type Lister interface {
	// ObjectKinds returns the kinds of replicated objects stored.
	ObjectKinds(ctx context.Context) ([]string, error)
	// DataTargets returns the ids of the targets with transitions,
	// rollups or results.
	DataTargets(ctx context.Context) ([]string, error)
	// TableCounts returns the rows of each of Tables.
	TableCounts(ctx context.Context) (map[string]int64, error)
}

// Source is a store copied from.
type Source interface {
	store.Store
	Lister
}

// Destination is a store copied into.
type Destination interface {
	store.Store
	// TableCounts returns the rows of each of Tables.
	TableCounts(ctx context.Context) (map[string]int64, error)
	// PutRollups stores rollups as they are, replacing (not adding to) a
	// stored rollup of the same target and minute.
	PutRollups(ctx context.Context, rs []store.Rollup) error
}

// ResultPutter is a destination that can write raw results synchronously
// (internal/store/postgres: its AddResults only queues them, and a full
// queue drops the oldest); a copy uses PutResults when the destination
// has it, so it never outruns the destination.
type ResultPutter interface {
	PutResults(ctx context.Context, rs []store.Result) error
}

// DefaultBatch is how many records one write carries by default.
const DefaultBatch = 5000

// Options tune a copy.
type Options struct {
	// Batch is how many records one read and one write carry. Default
	// DefaultBatch.
	Batch int
	// Append copies into a destination that holds records already
	// (another node's, or an earlier run of the same copy): see the
	// package comment for how each kind merges. Without it a non-empty
	// destination is refused (*NotEmptyError) and nothing is written.
	Append bool
	// Progress, when set, is called after every batch written.
	Progress func(Progress)
}

// Progress is how far a copy is.
type Progress struct {
	// Table is the table being copied (one of Tables).
	Table string
	// Done is how many of its records were copied so far, of Total in
	// the source (as counted when the copy began).
	Done, Total int64
}

// Report is what a copy did.
type Report struct {
	// Copied counts the records read from the source and written, per
	// table.
	Copied map[string]int64
	// Source and Destination are the rows of each table after the copy.
	Source, Destination map[string]int64
	// Elapsed is how long the copy took.
	Elapsed time.Duration
}

// NotEmptyError says the destination holds records already and Append
// was not set; nothing was written.
type NotEmptyError struct {
	Counts map[string]int64
}

func (e *NotEmptyError) Error() string {
	var parts []string
	for _, t := range Tables {
		if n := e.Counts[t]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, t))
		}
	}
	return "the destination is not empty (" + strings.Join(parts, ", ") + "); nothing was copied. " +
		"To finish or repeat an earlier copy, or to add this store to a database other nodes write, copy again with --append " +
		"(objects keep the newer write, transitions are stored once by id, rollups and results are replaced, never added twice); " +
		"otherwise point the destination at an empty database"
}

// Copy copies every record of src into dst. It stops at the first error
// (ctx's included), leaving what was written so far: running it again
// with Append completes it.
func Copy(ctx context.Context, src Source, dst Destination, o Options) (Report, error) {
	start := time.Now()
	if o.Batch <= 0 {
		o.Batch = DefaultBatch
	}
	rep := Report{Copied: map[string]int64{}}
	total, err := src.TableCounts(ctx)
	if err != nil {
		return rep, fmt.Errorf("copy: count the source: %w", err)
	}
	have, err := dst.TableCounts(ctx)
	if err != nil {
		return rep, fmt.Errorf("copy: count the destination: %w", err)
	}
	if !o.Append {
		for _, t := range Tables {
			if have[t] > 0 {
				return rep, &NotEmptyError{Counts: have}
			}
		}
	}
	c := &copier{src: src, dst: dst, o: o, total: total, rep: &rep}
	for _, step := range []func(context.Context) error{c.objects, c.transitions, c.rollups, c.results} {
		if err := step(ctx); err != nil {
			return rep, err
		}
	}
	if rep.Source, err = src.TableCounts(ctx); err != nil {
		return rep, fmt.Errorf("copy: count the source: %w", err)
	}
	if rep.Destination, err = dst.TableCounts(ctx); err != nil {
		return rep, fmt.Errorf("copy: count the destination: %w", err)
	}
	rep.Elapsed = time.Since(start)
	return rep, nil
}

type copier struct {
	src   Source
	dst   Destination
	o     Options
	total map[string]int64
	rep   *Report
}

func (c *copier) done(table string, n int) {
	c.rep.Copied[table] += int64(n)
	if c.o.Progress != nil {
		c.o.Progress(Progress{Table: table, Done: c.rep.Copied[table], Total: c.total[table]})
	}
}

func (c *copier) objects(ctx context.Context) error {
	kinds, err := c.src.ObjectKinds(ctx)
	if err != nil {
		return fmt.Errorf("copy objects: %w", err)
	}
	for _, kind := range kinds {
		recs, err := c.src.Objects(ctx, kind)
		if err != nil {
			return fmt.Errorf("copy %s objects: read: %w", kind, err)
		}
		for len(recs) > 0 {
			n := min(len(recs), c.o.Batch)
			if err := c.dst.PutObjects(ctx, kind, recs[:n]); err != nil {
				return fmt.Errorf("copy %s objects: write: %w", kind, err)
			}
			c.done("objects", n)
			recs = recs[n:]
		}
	}
	return nil
}

func (c *copier) transitions(ctx context.Context) error {
	var after int64
	for {
		ts, err := c.src.TransitionsAfter(ctx, after, c.o.Batch)
		if err != nil {
			return fmt.Errorf("copy transitions after seq %d: read: %w", after, err)
		}
		if len(ts) == 0 {
			return nil
		}
		after = ts[len(ts)-1].Seq
		for i := range ts {
			if ts[i].ID == "" {
				ts[i].ID = DerivedID(ts[i])
			}
			ts[i].Seq = 0 // the destination numbers them after its own
		}
		if err := c.dst.AddTransitions(ctx, ts); err != nil {
			return fmt.Errorf("copy transitions up to seq %d: write: %w", after, err)
		}
		c.done("transitions", len(ts))
		if len(ts) < c.o.Batch {
			return nil
		}
	}
}

// DerivedID is the id a copy gives a transition stored without one: a
// digest of what it says, so every copy of it gets the same id.
func DerivedID(t store.Transition) string {
	h := sha256.New()
	for _, f := range []string{t.TargetID, strconv.FormatInt(t.At.UnixNano(), 10), strconv.Itoa(int(t.From)), strconv.Itoa(int(t.To)),
		t.Cause, t.Observer, t.Type, t.Subject, t.Before, t.After} {
		h.Write([]byte(f))
		h.Write([]byte{0})
	}
	return "copy-" + hex.EncodeToString(h.Sum(nil)[:12])
}

func (c *copier) rollups(ctx context.Context) error {
	ids, err := c.src.DataTargets(ctx)
	if err != nil {
		return fmt.Errorf("copy rollups: %w", err)
	}
	for _, id := range ids {
		// A target's rollups fit in memory (a year of minutes is 525,600
		// of about 100 bytes); they are written in batches.
		rs, err := c.src.Rollups(ctx, id, time.Time{}, time.Time{})
		if err != nil {
			return fmt.Errorf("copy rollups of %q: read: %w", id, err)
		}
		for len(rs) > 0 {
			n := min(len(rs), c.o.Batch)
			if err := c.dst.PutRollups(ctx, rs[:n]); err != nil {
				return fmt.Errorf("copy rollups of %q: write: %w", id, err)
			}
			c.done("rollups", n)
			rs = rs[n:]
		}
	}
	return nil
}

func (c *copier) results(ctx context.Context) error {
	ids, err := c.src.DataTargets(ctx)
	if err != nil {
		return fmt.Errorf("copy results: %w", err)
	}
	for _, id := range ids {
		// Newest first, a batch at a time: the next page ends where this
		// one's oldest result is (inclusive, so results sharing that
		// nanosecond are not lost; rewriting it is harmless).
		var to time.Time
		var seen []store.Result // the results at to already written
		for {
			rs, err := c.src.Results(ctx, id, time.Time{}, to, c.o.Batch)
			if err != nil {
				return fmt.Errorf("copy results of %q: read: %w", id, err)
			}
			full := len(rs) == c.o.Batch
			rs = dropSeen(rs, seen)
			if len(rs) == 0 {
				if full && !to.IsZero() {
					// A whole page at one nanosecond already written:
					// step below it.
					to = to.Add(-time.Nanosecond)
					seen = nil
					continue
				}
				break
			}
			write := c.dst.AddResults
			if p, ok := c.dst.(ResultPutter); ok {
				write = p.PutResults
			}
			if err := write(ctx, rs); err != nil {
				return fmt.Errorf("copy results of %q: write: %w", id, err)
			}
			c.done("results", len(rs))
			if !full {
				break
			}
			oldest := rs[len(rs)-1].At
			seen = seen[:0]
			for _, r := range rs {
				if r.At.Equal(oldest) {
					seen = append(seen, r)
				}
			}
			to = oldest.Add(time.Nanosecond)
		}
	}
	return nil
}

// dropSeen removes from rs the results of seen (at the page boundary,
// already written).
func dropSeen(rs, seen []store.Result) []store.Result {
	if len(seen) == 0 {
		return rs
	}
	out := rs[:0]
	for _, r := range rs {
		dup := false
		for _, s := range seen {
			if r.At.Equal(s.At) && r.OK == s.OK && r.Latency == s.Latency && r.Message == s.Message {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, r)
		}
	}
	return out
}

// ErrNoRollupWriter is returned by AsDestination for a store that cannot
// write rollups as they are.
var ErrNoRollupWriter = errors.New("this store cannot be copied into (it has no way to store rollups as they are)")

// AsSource returns st as a Source, or an error saying what it lacks.
func AsSource(st store.Store) (Source, error) {
	s, ok := st.(Source)
	if !ok {
		return nil, fmt.Errorf("copy from a %T: this store cannot be listed whole", st)
	}
	return s, nil
}

// AsDestination returns st as a Destination, or ErrNoRollupWriter.
func AsDestination(st store.Store) (Destination, error) {
	d, ok := st.(Destination)
	if !ok {
		return nil, fmt.Errorf("copy into a %T: %w", st, ErrNoRollupWriter)
	}
	return d, nil
}
