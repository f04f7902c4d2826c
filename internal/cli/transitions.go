package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/heckhq/heck/internal/client"
	"github.com/heckhq/heck/internal/events"
)

// --- transitions ---

type transitionsOpts struct {
	clientOpts
	target, since, typ string
	limit              int
	audit              bool
}

func auditCmd() *command {
	return &command{
		name:     "audit",
		synopsis: "list the events of the log: transitions, ejections, pool panics",
		usage:    "heck audit [--type T] [--target ID] [--since 1h|TIME] [--limit N] [-o json] [--server URL]",
		help: `
Lists every event the node has, newest first: state transitions and the
other events of the log (ejection, pool_panic, pool_recovered, config: a
change of a target, pool, notifier, silence or maintenance window, and who
wrote it; member: a join, leave or failure this node saw), each with
the same id on every node. --type keeps one type ("transition" for state
changes). -o json prints a JSON array of event objects (id, type, target_id,
subject, at, cause, before, after, observer; from and to for transitions).`,
		maxArgs: 0,
		flags: func(fs *flag.FlagSet) any {
			o := &transitionsOpts{audit: true}
			o.register(fs)
			fs.StringVar(&o.typ, "type", "", "list only events of this `TYPE` (transition, ejection, pool_panic, pool_recovered, config, member)")
			fs.StringVar(&o.target, "target", "", "list only events of the target (or subject, pool/NAME) with this `ID`")
			fs.StringVar(&o.since, "since", "", "list events since this `TIME` or duration back from now (1h, 2026-01-02T15:04:05Z)")
			fs.IntVar(&o.limit, "limit", 0, "list at most `N` events (default the server's, 50)")
			return o
		},
		run: runTransitions,
	}
}

func transitionsCmd() *command {
	return &command{
		name:     "transitions",
		synopsis: "list state changes of every target, newest first",
		usage:    "heck transitions [--target ID] [--since 1h|TIME] [--limit N] [-o json] [--server URL]",
		help: `
Lists the state changes the cluster decided (up -> down and back), newest
first, for every target or one. Every node keeps every target's changes, each
with the same id on every node, so any --server answers the same list. --since
takes a duration back from now (1h, 30m) or an RFC 3339 time. -o json prints a
JSON array of transition objects (id, target_id, from, to, at, cause,
observer).`,
		maxArgs: 0,
		flags: func(fs *flag.FlagSet) any {
			o := &transitionsOpts{}
			o.register(fs)
			fs.StringVar(&o.target, "target", "", "list only the target with this `ID`")
			fs.StringVar(&o.since, "since", "", "list changes since this `TIME` or duration back from now (1h, 2026-01-02T15:04:05Z)")
			fs.IntVar(&o.limit, "limit", 0, "list at most `N` changes (default the server's, 50)")
			return o
		},
		run: runTransitions,
	}
}

// parseSince reads a duration back from now or an RFC 3339 time.
func parseSince(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("--since %q is neither a duration nor a time; write a duration back from now such as 1h or 30m, or a time such as 2026-01-02T15:04:05Z", s)
}

func runTransitions(ctx context.Context, e *env, opts any, _ []string) int {
	o := opts.(*transitionsOpts)
	since, err := parseSince(o.since, time.Now())
	if err != nil {
		return e.errorf("%v", err)
	}
	if o.limit < 0 {
		return e.errorf("--limit %d is negative; give a count of 1 or more, or leave it out for the server's default", o.limit)
	}
	c, err := o.client()
	if err != nil {
		return e.errorf("%v", err)
	}
	list := c.AllTransitions
	if o.audit {
		list = c.Audit
	}
	ts, err := list(ctx, client.TransitionQuery{Target: o.target, Since: since, Limit: o.limit, Type: o.typ})
	if err != nil {
		return e.apiError(c, err, func(field string) string {
			switch field {
			case "since", "limit", "target", "type":
				return "--" + field
			}
			return ""
		})
	}
	if o.out.json() {
		if ts == nil {
			ts = []events.Transition{}
		}
		if err := writeJSON(e.stdout, ts); err != nil {
			return e.errorf("%v", err)
		}
		return ExitOK
	}
	printTransitionTable(e.stdout, ts, time.Now())
	return ExitOK
}

func printTransitionTable(w io.Writer, ts []events.Transition, now time.Time) {
	tw := newTable(w)
	fmt.Fprintln(tw, "AT\tTARGET\tCHANGE\tCAUSE\tOBSERVER\tID")
	for _, t := range ts {
		change := t.From.String() + " -> " + t.To.String()
		if t.Type != "" {
			change = t.Type
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.At.Local().Format(time.DateTime), t.TargetID,
			change, oneLine(t.Cause, 60), dash(t.Observer), dash(t.ID))
	}
	_ = tw.Flush()
}

// --- events ---

type eventsOpts struct {
	clientOpts
	target, after string
}

func eventsCmd() *command {
	return &command{
		name:     "events",
		synopsis: "follow state changes as they happen",
		usage:    "heck events [--target ID] [--after ID] [-o json] [--server URL]",
		help: `
Follows the node's event stream and prints each state change as the node
learns it, until interrupted. When the connection drops or the node restarts,
it reconnects and resumes after the last change it printed, so nothing is
missed or printed twice. --after ID starts after that change (an id from
'heck transitions'), printing what came since first. -o json prints one JSON
transition object per line.`,
		maxArgs: 0,
		flags: func(fs *flag.FlagSet) any {
			o := &eventsOpts{}
			o.register(fs)
			fs.StringVar(&o.target, "target", "", "follow only the target with this `ID`")
			fs.StringVar(&o.after, "after", "", "start after the transition with this `ID`")
			return o
		},
		run: runEvents,
	}
}

func runEvents(ctx context.Context, e *env, opts any, _ []string) int {
	o := opts.(*eventsOpts)
	c, err := o.client()
	if err != nil {
		return e.errorf("%v", err)
	}
	err = c.Follow(ctx, client.FollowOptions{
		Target: o.target, After: o.after, Reconnect: true,
		OnReconnect: func(err error, wait time.Duration) {
			fmt.Fprintf(e.stderr, "heck events: lost the stream (%v); reconnecting in %s\n", err, wait)
		},
	}, func(ev client.Event) error {
		if o.out.json() {
			return writeJSONLine(e.stdout, ev.Transition)
		}
		t := ev.Transition
		if t.Type != "" {
			_, err := fmt.Fprintf(e.stdout, "%s  %s  %s  %s  (%s)\n", t.At.Local().Format(time.DateTime), t.Type, t.TargetID,
				oneLine(t.Cause, 80), dash(t.ID))
			return err
		}
		_, err := fmt.Fprintf(e.stdout, "%s  %s  %s -> %s  %s  (%s)\n", t.At.Local().Format(time.DateTime), t.TargetID,
			t.From, t.To, oneLine(t.Cause, 80), dash(t.ID))
		return err
	})
	if err == nil || errors.Is(err, context.Canceled) {
		return ExitOK
	}
	return e.apiError(c, err, nil)
}

// writeJSONLine writes v as one line of JSON.
func writeJSONLine(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
