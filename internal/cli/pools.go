package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/heckhq/heck/internal/client"
	"github.com/heckhq/heck/internal/pool"
	"github.com/heckhq/heck/internal/target"
	"github.com/heckhq/heck/internal/wire"
)

// --- pools add ---

type poolsAddOpts struct {
	clientOpts
	targets, selector, failOpen string
	threshold                   int
	replace                     bool
}

func poolsAddCmd() *command {
	return &command{
		name:     "pools add",
		synopsis: "add a pool: a named set of targets for load balancers",
		usage:    "heck pools add NAME (--targets ID,ID... | --selector k=v[,k=v]) [--panic-threshold PCT] [--fail-open all|not_down] [--replace] [--server URL]",
		help: `
Adds a pool on the node at --server, replicated to every node: its members
are the targets named by --targets and every target whose labels match all
pairs of --selector. Consumers read it at /api/v1/pools/NAME (healthy, pick),
over DNS (NAME.heck.) and through the HAProxy agent. When fewer than
--panic-threshold percent of the members are healthy (default 50; 0 turns
it off) the pool is in panic and consumers get every member (--fail-open
all, the default) or every member not down (not_down). --replace replaces
a pool of that name instead of refusing.`,
		minArgs: 1, maxArgs: 1,
		flags: func(fs *flag.FlagSet) any {
			o := &poolsAddOpts{}
			o.register(fs)
			fs.StringVar(&o.targets, "targets", "", "member target `ID,ID...`")
			fs.StringVar(&o.selector, "selector", "", "members by labels `k=v[,k=v]` (all must match)")
			fs.IntVar(&o.threshold, "panic-threshold", -1, "healthy share in `PCT` below which the pool fails open (default 50, 0: off)")
			fs.StringVar(&o.failOpen, "fail-open", "", "whom consumers get during panic: `all` (default) or not_down")
			fs.BoolVar(&o.replace, "replace", false, "replace a pool of the same name")
			return o
		},
		run: runPoolsAdd,
	}
}

// poolFlag names the flag of a pool field.
func poolFlag(field string) string {
	switch {
	case field == "name":
		return "NAME"
	case field == "targets" || strings.HasPrefix(field, "targets["):
		return "--targets"
	case field == "selector":
		return "--selector"
	case field == "panic_threshold":
		return "--panic-threshold"
	case field == "fail_open":
		return "--fail-open"
	}
	return ""
}

func runPoolsAdd(ctx context.Context, e *env, opts any, args []string) int {
	o := opts.(*poolsAddOpts)
	if o.targets == "" && o.selector == "" {
		return e.errorf("give the members: --targets ID,ID... or --selector k=v")
	}
	spec := pool.Spec{Name: args[0], FailOpen: o.failOpen}
	for _, id := range strings.Split(o.targets, ",") {
		if id = strings.TrimSpace(id); id != "" {
			spec.Targets = append(spec.Targets, id)
		}
	}
	sel, err := pool.ParseSelector(o.selector)
	if err != nil {
		return e.errorf("flag --selector: %v", err)
	}
	spec.Selector = sel
	if o.threshold >= 0 {
		t := o.threshold
		spec.PanicThreshold = &t
	}
	if err := spec.Validate(); err != nil {
		return e.fieldErrors(err, poolFlag)
	}
	c, err := o.client()
	if err != nil {
		return e.errorf("%v", err)
	}
	var v wire.Pool
	if o.replace {
		v, err = c.PutPool(ctx, spec)
	} else {
		v, err = c.AddPool(ctx, spec)
	}
	if err != nil {
		var ae *client.Error
		if errors.As(err, &ae) && ae.StatusCode == 409 {
			return e.errorf("a pool named %q exists; pass --replace to replace it, or 'heck pools rm %s' first", spec.Name, spec.Name)
		}
		return e.apiError(c, err, poolFlag)
	}
	if o.out.json() {
		if err := writeJSON(e.stdout, v); err != nil {
			return e.errorf("%v", err)
		}
		return ExitOK
	}
	fmt.Fprintf(e.stdout, "added pool %s: %d members, %d healthy\n", v.Name, len(v.Members), v.Healthy)
	return ExitOK
}

// --- pools ls ---

type poolsLsOpts struct{ clientOpts }

func poolsLsCmd() *command {
	return &command{
		name:     "pools ls",
		synopsis: "list pools with their members' states",
		usage:    "heck pools ls [NAME] [-o json] [--server URL]",
		help: `
Lists the pools the node at --server knows (every node knows them all), or
the one named, with each member's state. -o json prints a JSON array of
pool objects: name, members (each with id, state, address, port, weight,
healthy, ejected, serving), healthy, serving, panic and the spec.`,
		maxArgs: 1,
		flags: func(fs *flag.FlagSet) any {
			o := &poolsLsOpts{}
			o.register(fs)
			return o
		},
		run: runPoolsLs,
	}
}

func runPoolsLs(ctx context.Context, e *env, opts any, args []string) int {
	o := opts.(*poolsLsOpts)
	c, err := o.client()
	if err != nil {
		return e.errorf("%v", err)
	}
	var ps []wire.Pool
	if len(args) == 1 {
		p, err := c.Pool(ctx, args[0])
		if err != nil {
			if client.IsNotFound(err) {
				return e.errorf("no pool named %q; list them with 'heck pools ls'", args[0])
			}
			return e.apiError(c, err, nil)
		}
		ps = []wire.Pool{p}
	} else if ps, err = c.Pools(ctx); err != nil {
		return e.apiError(c, err, nil)
	}
	if o.out.json() {
		if ps == nil {
			ps = []wire.Pool{}
		}
		if err := writeJSON(e.stdout, ps); err != nil {
			return e.errorf("%v", err)
		}
		return ExitOK
	}
	if len(ps) == 0 {
		fmt.Fprintln(e.stdout, "no pools; add one with 'heck pools add NAME --targets ID,ID'")
		return ExitOK
	}
	tw := newTable(e.stdout)
	fmt.Fprintln(tw, "POOL\tHEALTHY\tSERVING\tPANIC\tEJECTED\tMEMBERS")
	for i := range ps {
		p := &ps[i]
		var ms []string
		for _, m := range p.Members {
			s := m.ID + "=" + m.State.String()
			if m.Ejected != nil {
				s += "(ejected)"
			}
			ms = append(ms, s)
		}
		panic := "no"
		if p.Panic {
			panic = "YES"
		}
		fmt.Fprintf(tw, "%s\t%d/%d\t%d\t%s\t%d\t%s\n", p.Name, p.Healthy, len(p.Members), p.Serving, panic, p.Ejected,
			oneLine(strings.Join(ms, " "), 100))
	}
	_ = tw.Flush()
	return ExitOK
}

// --- pools rm ---

func poolsRmCmd() *command {
	return rmCmd(rmSpec{name: "pools rm", synopsis: "remove pools", usage: "heck pools rm NAME [NAME...] [--server URL]",
		help: "Removes each pool named (see 'heck pools ls'), on every node; its targets stay. Exits 2 if any does not exist.",
		del:  (*client.Client).DeletePool, removed: "removed pool %s", missing: "no pool named %q; list them with 'heck pools ls'"})
}

// --- pick ---

type pickOpts struct {
	clientOpts
	strategy, zone string
}

func pickCmd() *command {
	return &command{
		name:     "pick",
		synopsis: "pick one healthy member of a pool",
		usage:    "heck pick POOL [--strategy round_robin|weighted|least_latency|random] [--zone Z] [-o json] [--server URL]",
		help: `
Asks the node at --server for one member of POOL, as a load balancer would:
a healthy one (during panic, one of the fail-open set), by --strategy,
preferring --zone when it has enough healthy members. Prints the member's
id and address (host:port); -o json prints the pick (pool, strategy, panic,
member). Exits 1 when nothing can be picked (an empty pool, or nothing
healthy with panic off), 2 on other errors.`,
		minArgs: 1, maxArgs: 1,
		flags: func(fs *flag.FlagSet) any {
			o := &pickOpts{}
			o.register(fs)
			fs.StringVar(&o.strategy, "strategy", "", "`S`: round_robin (default), weighted, least_latency or random")
			fs.StringVar(&o.zone, "zone", "", "prefer members of `ZONE` (the zone label of targets)")
			return o
		},
		run: runPick,
	}
}

func runPick(ctx context.Context, e *env, opts any, args []string) int {
	o := opts.(*pickOpts)
	if _, err := pool.ParseStrategy(o.strategy); err != nil {
		return e.errorf("flag --strategy: %q is not a strategy; use round_robin, weighted, least_latency or random", o.strategy)
	}
	c, err := o.client()
	if err != nil {
		return e.errorf("%v", err)
	}
	p, err := c.Pick(ctx, args[0], o.strategy, o.zone)
	if err != nil {
		var ae *client.Error
		switch {
		case client.IsNotFound(err):
			return e.errorf("no pool named %q; list them with 'heck pools ls'", args[0])
		case errors.As(err, &ae) && ae.Problem.Type == wire.TypeNothingToPick:
			fmt.Fprintf(e.stderr, "heck %s: %s\n", e.name, ae.Problem.Detail)
			if o.out.json() {
				_ = writeJSON(e.stdout, map[string]any{"pool": args[0], "picked": false, "reason": ae.Problem.Detail})
			}
			return ExitFail
		}
		return e.apiError(c, err, nil)
	}
	if o.out.json() {
		if err := writeJSON(e.stdout, p); err != nil {
			return e.errorf("%v", err)
		}
		return ExitOK
	}
	addr := p.Member.Address
	if p.Member.Port > 0 {
		addr = net.JoinHostPort(addr, strconv.Itoa(p.Member.Port))
	}
	suffix := ""
	if p.Panic {
		suffix = " (pool in panic: failing open)"
	}
	fmt.Fprintf(e.stdout, "%s %s%s\n", p.Member.ID, addr, suffix)
	return ExitOK
}

// fieldErrors prints every field error of err, each under the flag that
// sets its field, and returns ExitError.
func (e *env) fieldErrors(err error, flagOf func(field string) string) int {
	fes, ok := target.AsFieldErrors(err)
	if !ok {
		return e.errorf("%v", err)
	}
	fmt.Fprintf(e.stderr, "heck %s: %d problem(s)\n", e.name, len(fes))
	for _, fe := range fes {
		if f := flagOf(fe.Field); f != "" {
			fe.Field = f + " (" + fe.Field + ")"
		}
		fmt.Fprintf(e.stderr, "  %s\n", fe.Error())
	}
	return ExitError
}
