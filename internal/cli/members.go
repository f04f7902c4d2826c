package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/heckhq/heck/internal/wire"
)

// --- members ---

type membersOpts struct{ clientOpts }

func membersCmd() *command {
	return &command{
		name:     "members",
		synopsis: "list the cluster's members",
		usage:    "heck members [-o json] [--server URL]",
		help: `
Lists the members of the cluster as the node at --server sees them: name,
gossip address, zone, state (alive, dead or left), how many targets each
owns, and * under SELF for the node that answered (the one at --server). A
node running without clustering lists itself alone. -o json prints a
JSON array of member objects (name, addr, api_addr, zone, weight, state,
version, targets, self).`,
		maxArgs: 0,
		flags: func(fs *flag.FlagSet) any {
			o := &membersOpts{}
			o.register(fs)
			return o
		},
		run: runMembers,
	}
}

func runMembers(ctx context.Context, e *env, opts any, _ []string) int {
	o := opts.(*membersOpts)
	c, err := o.client()
	if err != nil {
		return e.errorf("%v", err)
	}
	ms, err := c.Members(ctx)
	if err != nil {
		return e.apiError(c, err, nil)
	}
	if o.out.json() {
		if ms == nil {
			ms = []wire.Member{}
		}
		if err := writeJSON(e.stdout, ms); err != nil {
			return e.errorf("%v", err)
		}
		return ExitOK
	}
	printMemberTable(e.stdout, ms)
	return ExitOK
}

func printMemberTable(w io.Writer, ms []wire.Member) {
	tw := newTable(w)
	fmt.Fprintln(tw, "NAME\tADDRESS\tZONE\tSTATE\tTARGETS\tSELF")
	for _, m := range ms {
		self := ""
		if m.Self {
			self = "*"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", m.Name, dash(m.Addr), dash(m.Zone), dash(m.State), m.Targets, self)
	}
	_ = tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// --- join ---

type joinOpts struct{ clientOpts }

func joinCmd() *command {
	return &command{
		name:     "join",
		synopsis: "make a node join a cluster",
		usage:    "heck join ADDR [ADDR...] [--server URL]",
		help: `
Asks the node at --server to join the cluster through each ADDR: a member's
gossip address (host:port of its cluster.bind, port 7946 when left out, not
the API port) or a DNS name whose every address is joined. Succeeds when at
least one answers, then lists the members. -o json prints
{"contacted": N, "members": [...]}.`,
		minArgs: 1, maxArgs: -1,
		flags: func(fs *flag.FlagSet) any {
			o := &joinOpts{}
			o.register(fs)
			return o
		},
		run: runJoin,
	}
}

func runJoin(ctx context.Context, e *env, opts any, args []string) int {
	o := opts.(*joinOpts)
	c, err := o.client()
	if err != nil {
		return e.errorf("%v", err)
	}
	jr, err := c.Join(ctx, args...)
	if err != nil {
		return e.apiError(c, err, joinArg)
	}
	if o.out.json() {
		if jr.Members == nil {
			jr.Members = []wire.Member{}
		}
		if err := writeJSON(e.stdout, jr); err != nil {
			return e.errorf("%v", err)
		}
		return ExitOK
	}
	fmt.Fprintf(e.stdout, "joined: %d of %d address(es) answered\n\n", jr.Contacted, len(args))
	printMemberTable(e.stdout, jr.Members)
	return ExitOK
}

// joinArg names the argument of a join problem's field ("addrs[1]" is
// the second ADDR).
func joinArg(field string) string {
	if rest, ok := strings.CutPrefix(field, "addrs["); ok {
		if i, err := strconv.Atoi(strings.TrimSuffix(rest, "]")); err == nil {
			return "ADDR " + strconv.Itoa(i+1)
		}
	}
	return ""
}

// --- leave ---

type leaveOpts struct{ clientOpts }

func leaveCmd() *command {
	return &command{
		name:     "leave",
		synopsis: "make a node leave its cluster gracefully",
		usage:    "heck leave [--server URL]",
		help: `
Asks the node at --server to leave its cluster gracefully: it stops probing,
hands its targets to the other members (who list it as left, not dead) and
stops gossiping. The node keeps serving its API until it is stopped; restart
it to rejoin. -o json prints {"name": ..., "state": "left"}.`,
		maxArgs: 0,
		flags: func(fs *flag.FlagSet) any {
			o := &leaveOpts{}
			o.register(fs)
			return o
		},
		run: runLeave,
	}
}

func runLeave(ctx context.Context, e *env, opts any, _ []string) int {
	o := opts.(*leaveOpts)
	c, err := o.client()
	if err != nil {
		return e.errorf("%v", err)
	}
	lr, err := c.Leave(ctx)
	if err != nil {
		return e.apiError(c, err, nil)
	}
	if o.out.json() {
		if err := writeJSON(e.stdout, lr); err != nil {
			return e.errorf("%v", err)
		}
		return ExitOK
	}
	name := lr.Name
	if name == "" {
		name = "the node"
	}
	fmt.Fprintf(e.stdout, "%s left the cluster (state %s); it keeps serving its API until stopped\n", name, lr.State)
	return ExitOK
}
