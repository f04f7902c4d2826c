package cli

import (
	"context"
	"flag"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/heckhq/heck/internal/wire"

	"github.com/heckhq/heck/internal/client"
	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/history"
)

type statusOpts struct {
	clientOpts
	check bool
}

func statusCmd() *command {
	return &command{
		name:     "status",
		synopsis: "show one target in detail, or a summary of all",
		usage:    "heck status [ID] [--check] [-o json] [--server URL]",
		help: `
With an ID, shows that target: its state and why, its spec, uptime and recent
results. Without, counts the targets per state and lists them. -o json prints
the target object, or {"counts": {...}, "total": N, "targets": [...]} (the
target objects of GET /api/v1/targets and heck targets ls -o json).

Exit codes: 0 the status was shown (whatever the targets' states); with
--check, 1 when any target shown is down; 2 a usage error or the node could
not be reached. Scripts that want a failing exit use --check, or 'heck check'
for one probe.`,
		maxArgs: 1,
		flags: func(fs *flag.FlagSet) any {
			o := &statusOpts{}
			o.register(fs)
			fs.BoolVar(&o.check, "check", false, "exit 1 when any target shown is down")
			return o
		},
		run: runStatus,
	}
}

// Summary is the JSON of heck status without an ID: the target list of
// GET /api/v1/targets and heck targets ls -o json ({"targets": [...]}),
// with the counts beside it.
type Summary struct {
	Counts map[string]int `json:"counts"`
	Total  int            `json:"total"`
	wire.TargetList
}

func runStatus(ctx context.Context, e *env, opts any, args []string) int {
	o := opts.(*statusOpts)
	c, err := o.client()
	if err != nil {
		return e.errorf("%v", err)
	}
	if len(args) == 1 {
		return statusOne(ctx, e, o, c, args[0])
	}
	ts, err := c.Targets(ctx, client.ListOptions{})
	if err != nil {
		return e.apiError(c, err, nil)
	}
	sum := Summary{Counts: map[string]int{}, Total: len(ts), TargetList: wire.TargetList{Targets: ts}}
	if sum.Targets == nil {
		sum.Targets = []wire.TargetStatus{}
	}
	down := false
	for _, t := range ts {
		sum.Counts[t.State.String()]++
		down = down || t.State == health.Down
	}
	if o.out.json() {
		if err := writeJSON(e.stdout, sum); err != nil {
			return e.errorf("%v", err)
		}
	} else {
		fmt.Fprintf(e.stdout, "%d targets%s\n", sum.Total, countsLine(sum.Counts))
		if len(ts) > 0 {
			fmt.Fprintln(e.stdout)
			printTargetTable(e.stdout, ts, time.Now())
		}
	}
	if down && o.check {
		return ExitFail
	}
	return ExitOK
}

// countsLine is ": 2 up, 1 down" in the order of the states.
func countsLine(counts map[string]int) string {
	var parts []string
	for s := health.Unknown; s <= health.Stale; s++ {
		if n := counts[s.String()]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, s))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return ": " + strings.Join(parts, ", ")
}

// Detail is the JSON of heck status ID: the target and its uptime.
type Detail struct {
	wire.TargetStatus
	Uptime *history.Uptime `json:"uptime,omitempty"`
	// UptimeMissing names the members whose records the uptime lacks
	// (they hold some but did not answer).
	UptimeMissing []string `json:"uptime_missing,omitempty"`
}

func statusOne(ctx context.Context, e *env, o *statusOpts, c *client.Client, id string) int {
	t, err := c.Target(ctx, id)
	if err != nil {
		if client.IsNotFound(err) {
			return e.errorf("no target has id %q; list them with 'heck targets ls'", id)
		}
		return e.apiError(c, err, nil)
	}
	d := Detail{TargetStatus: t}
	if u, err := c.Uptime(ctx, id, client.UptimeQuery{}); err == nil {
		d.Uptime, d.UptimeMissing = &u.Uptime, u.Missing
	}
	if o.out.json() {
		if err := writeJSON(e.stdout, d); err != nil {
			return e.errorf("%v", err)
		}
	} else {
		printDetail(e, d, time.Now())
	}
	if t.State == health.Down && o.check {
		return ExitFail
	}
	return ExitOK
}

func printDetail(e *env, d Detail, now time.Time) {
	t := d.TargetStatus
	tw := newTable(e.stdout)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s:\t%s\n", k, v)
		}
	}
	row("ID", t.ID)
	row("Name", t.Name)
	row("Kind", string(t.Kind))
	row("Target", where(t.Spec))
	state := t.State.String()
	if t.Stale {
		state += " (stale)"
	}
	if !t.Since.IsZero() {
		state += fmt.Sprintf(" since %s (%s)", t.Since.Local().Format(time.DateTime), ago(t.Since, now))
	}
	row("State", state)
	if t.Silenced {
		row("Silenced", "yes (see heck silence ls)")
	}
	row("Cause", t.Cause)
	if len(t.Labels) > 0 {
		keys := make([]string, 0, len(t.Labels))
		for k := range t.Labels {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var ls []string
		for _, k := range keys {
			ls = append(ls, k+"="+t.Labels[k])
		}
		row("Labels", strings.Join(ls, ", "))
	}
	sc := t.Spec.WithDefaults().Schedule
	row("Schedule", fmt.Sprintf("every %s, timeout %s, rise %d, fall %d", sc.Interval, sc.Timeout, sc.Rise, sc.Fall))
	row("Observer", t.Observer)
	row("Owners", strings.Join(t.Owners, ", "))
	if d.Uptime != nil {
		u := fmt.Sprintf("%s (24h), %s (7d), %s (30d)", pct(d.Uptime.Day), pct(d.Uptime.Week), pct(d.Uptime.Month))
		if len(d.UptimeMissing) > 0 {
			u += fmt.Sprintf("; partial: %s did not answer", strings.Join(d.UptimeMissing, ", "))
		}
		row("Uptime", u)
	}
	_ = tw.Flush()
	recent := t.Recent
	if len(recent) == 0 && t.Last != nil {
		recent = []wire.Result{*t.Last}
	}
	if len(recent) == 0 {
		fmt.Fprintln(e.stdout, "\nNo results yet.")
		return
	}
	fmt.Fprintln(e.stdout, "\nRecent results:")
	tw = newTable(e.stdout)
	fmt.Fprintln(tw, "AT\tRESULT\tLATENCY\tMESSAGE")
	for _, r := range recent {
		res := "ok"
		if !r.OK {
			res = "FAIL"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.At.Local().Format(time.TimeOnly), res, fmtLatency(r.Latency), oneLine(r.Message, 80))
	}
	_ = tw.Flush()
}

func pct(v float64) string {
	if v < 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f%%", v*100)
}
