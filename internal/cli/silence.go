package cli

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/heckhq/heck/internal/wire"

	"github.com/heckhq/heck/internal/client"
)

// --- silence add ---

type silenceAddOpts struct {
	clientOpts
	target, selector, dur, reason, by string
}

func silenceAddCmd() *command {
	return &command{
		name:     "silence add",
		synopsis: "silence a target or a label selector for a while",
		usage:    "heck silence add (--target ID | --selector k=v[,k=v]) --for 2h --reason TEXT [--by NAME] [--server URL]",
		help: `
Adds a silence on the node at --server: for the duration given, the target
(or every target whose labels match all pairs of the selector) shows
silenced: true and notifications about it are held back. The silence is
replicated to every node of the cluster. Prints the new silence's id.`,
		maxArgs: 0,
		flags: func(fs *flag.FlagSet) any {
			o := &silenceAddOpts{}
			o.register(fs)
			fs.StringVar(&o.target, "target", "", "silence the target with `ID`")
			fs.StringVar(&o.selector, "selector", "", "silence every target with labels `k=v[,k=v]` (all must match)")
			fs.StringVar(&o.dur, "for", "", "how long the silence lasts: a `DURATION` such as 30m or 2h")
			fs.StringVar(&o.reason, "reason", "", "why the target is silenced (`TEXT`)")
			fs.StringVar(&o.by, "by", os.Getenv("USER"), "who silences it (`NAME`, default $USER)")
			return o
		},
		run: runSilenceAdd,
	}
}

// silenceFlag names the flag of a silence request field.
func silenceFlag(field string) string {
	switch field {
	case "target", "selector", "reason":
		return "--" + field
	case "for", "ends":
		return "--for"
	case "created_by":
		return "--by"
	}
	return ""
}

func runSilenceAdd(ctx context.Context, e *env, opts any, _ []string) int {
	o := opts.(*silenceAddOpts)
	switch {
	case o.target == "" && o.selector == "":
		return e.errorf("give --target ID or --selector k=v")
	case o.target != "" && o.selector != "":
		return e.errorf("give either --target or --selector, not both")
	case o.dur == "":
		return e.errorf("flag --for is missing; say how long, e.g. --for 2h")
	case o.reason == "":
		return e.errorf("flag --reason is missing; say why, e.g. --reason \"db upgrade\"")
	}
	if d, err := time.ParseDuration(o.dur); err != nil || d <= 0 {
		return e.errorf("flag --for: %q is not a positive duration; write e.g. 30m, 2h or 72h", o.dur)
	}
	c, err := o.client()
	if err != nil {
		return e.errorf("%v", err)
	}
	s, err := c.AddSilence(ctx, wire.SilenceRequest{Target: o.target, Selector: o.selector, For: o.dur, Reason: o.reason, CreatedBy: o.by})
	if err != nil {
		return e.apiError(c, err, silenceFlag)
	}
	if o.out.json() {
		if err := writeJSON(e.stdout, s); err != nil {
			return e.errorf("%v", err)
		}
		return ExitOK
	}
	fmt.Fprintf(e.stdout, "added silence %s on %s until %s\n", s.ID, silenceWhat(&s), s.Ends.Local().Format(time.RFC3339))
	return ExitOK
}

func silenceWhat(s *wire.Silence) string {
	if s.Target != "" {
		return "target " + s.Target
	}
	return "selector " + s.SelectorString()
}

// --- silence ls ---

type silenceLsOpts struct{ clientOpts }

func silenceLsCmd() *command {
	return &command{
		name:     "silence ls",
		synopsis: "list silences",
		usage:    "heck silence ls [-o json] [--server URL]",
		help: `
Lists the silences the node at --server knows (every node knows them all),
active or not yet ended or expired. -o json prints a JSON array of silence
objects (id, target or selector, starts, ends, reason, created_by, active).`,
		maxArgs: 0,
		flags: func(fs *flag.FlagSet) any {
			o := &silenceLsOpts{}
			o.register(fs)
			return o
		},
		run: func(ctx context.Context, e *env, opts any, _ []string) int {
			o := opts.(*silenceLsOpts)
			c, err := o.client()
			if err != nil {
				return e.errorf("%v", err)
			}
			ss, err := c.Silences(ctx)
			if err != nil {
				return e.apiError(c, err, nil)
			}
			if o.out.json() {
				if ss == nil {
					ss = []wire.Silence{}
				}
				if err := writeJSON(e.stdout, ss); err != nil {
					return e.errorf("%v", err)
				}
				return ExitOK
			}
			if len(ss) == 0 {
				fmt.Fprintln(e.stdout, "no silences")
				return ExitOK
			}
			now := time.Now()
			tw := newTable(e.stdout)
			fmt.Fprintln(tw, "ID\tSILENCES\tSTATE\tENDS\tBY\tREASON")
			for i := range ss {
				s := &ss[i]
				state := "active"
				switch {
				case now.Before(s.Starts):
					state = "pending"
				case !now.Before(s.Ends):
					state = "expired"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, silenceWhat(s), state,
					s.Ends.Local().Format(time.RFC3339), s.CreatedBy, oneLine(s.Reason, 60))
			}
			_ = tw.Flush()
			return ExitOK
		},
	}
}

// --- silence rm ---

func silenceRmCmd() *command {
	return rmCmd(rmSpec{name: "silence rm", synopsis: "remove silences", usage: "heck silence rm ID [ID...] [--server URL]",
		help: "Removes each silence named (see 'heck silence ls'), on every node. Exits 2 if any does not exist.",
		del:  (*client.Client).DeleteSilence, removed: "removed silence %s", missing: "no silence has id %q; list them with 'heck silence ls'"})
}
