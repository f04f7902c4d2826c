package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"sort"
	"time"

	"github.com/heckhq/heck/internal/wire"

	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/probe"
	"github.com/heckhq/heck/internal/target"
)

type checkOpts struct {
	timeout time.Duration
	out     output
}

func checkCmd() *command {
	return &command{
		name:     "check",
		synopsis: "probe a URL or address once and print the result",
		usage:    "heck check <url|host:port> [--timeout 5s] [-o json]",
		help: `
Probes the target once, as a node would, and prints the result: an http(s)
URL is an http probe; host:port a tcp probe; other schemes (tcp://, tls://,
grpc://, dns://, icmp://, postgres://, redis://, rediss://) name their kind.
A password in a postgres:// or redis:// URL can be a '${VAR}' reference.
Link-local and cloud metadata addresses are refused, as on a node.

Exit codes: 0 the check passed; 1 it failed; 2 the argument is not a target,
a usage error, or the check was interrupted.`,
		minArgs: 1, maxArgs: 1,
		flags: func(fs *flag.FlagSet) any {
			o := &checkOpts{timeout: 5 * time.Second}
			fs.Var(durationFlag{&o.timeout}, "timeout", "give up after `DURATION`")
			outputFlag(fs, &o.out)
			return o
		},
		run: runCheck,
	}
}

type checkJSON struct {
	ID     string       `json:"id"`
	Kind   target.Kind  `json:"kind"`
	Target string       `json:"target"`
	State  health.State `json:"state"`
	wire.Result
}

func (c checkJSON) MarshalJSON() ([]byte, error) {
	r, err := json.Marshal(c.Result)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(r, &m); err != nil {
		return nil, err
	}
	m["id"], m["kind"], m["target"], m["state"] = c.ID, c.Kind, c.Target, c.State.String()
	return json.Marshal(m)
}

func runCheck(ctx context.Context, e *env, opts any, args []string) int {
	o := opts.(*checkOpts)
	if o.timeout <= 0 {
		return e.errorf("flag --timeout: %s is not positive; set a timeout such as 5s", o.timeout)
	}
	if ParseCheckArg == nil || NewProber == nil {
		return e.errorf("this build cannot probe (cli.ParseCheckArg or cli.NewProber is not set)")
	}
	spec, err := ParseCheckArg(args[0])
	if err != nil {
		return e.errorf("%v", err)
	}
	if spec.ID == "" {
		spec.ID = "check"
	}
	spec.Timeout = target.Duration(o.timeout)
	if spec.Interval.D() <= o.timeout {
		spec.Interval = target.Duration(o.timeout + time.Second)
	}
	shown := spec.Redact()
	if fes := spec.Validate(); len(fes) > 0 {
		return e.errorf("%q is not a target:\n  %v", args[0], fes)
	}
	expanded, err := spec.Expand(nil)
	if err != nil {
		return e.errorf("%v", err)
	}
	guard, err := probe.NewGuard(probe.DefaultDenyNetworks)
	if err != nil {
		return e.errorf("%v", err)
	}
	p, err := NewProber(expanded, probe.Options{Guard: guard})
	if err != nil {
		return e.errorf("%v", err)
	}
	if c, ok := p.(probe.Closer); ok {
		defer c.Close()
	}
	pctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	at := time.Now()
	res := p.Probe(pctx)
	state := health.Up
	if !res.OK {
		state = health.Down
	}
	if o.out.json() {
		if err := writeJSON(e.stdout, checkJSON{ID: spec.ID, Kind: spec.Kind, Target: where(shown), State: state,
			Result: wire.ResultFrom(at, res)}); err != nil {
			return e.errorf("%v", err)
		}
	} else {
		word := "ok"
		if !res.OK {
			word = "FAIL"
		}
		fmt.Fprintf(e.stdout, "%s  %s %s  %s (%s)\n", word, spec.Kind, where(shown), res.Message, fmtLatency(res.Latency))
		printDetails(e, res.Details)
	}
	if ctx.Err() != nil {
		return ExitError // interrupted: the result says nothing of the target
	}
	if !res.OK {
		return ExitFail
	}
	return ExitOK
}

func printDetails(e *env, d probe.Details) {
	b, err := json.Marshal(d)
	if err != nil {
		return
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(e.stdout, "    %s: %v\n", k, m[k])
	}
}
