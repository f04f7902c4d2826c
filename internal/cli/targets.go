package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/heckhq/heck/internal/wire"

	"github.com/heckhq/heck/internal/client"
	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/target"
)

// --- targets ls ---

type lsOpts struct {
	clientOpts
	state, kind string
	labels      []string
	pool, query string
}

func targetsLsCmd() *command {
	return &command{
		name:     "targets ls",
		synopsis: "list targets and their state",
		usage:    "heck targets ls [--state S] [--label k=v] [--kind K] [--pool P] [-q TEXT] [-o json] [--server URL]",
		help: `
Lists the targets of the node at --server, with their state, last latency
and last message. -o json prints {"targets": [...]}, the body of GET
/api/v1/targets: one object per target (id, kind, state, spec, last
result...), the same as in heck status -o json.`,
		maxArgs: 0,
		flags: func(fs *flag.FlagSet) any {
			o := &lsOpts{}
			o.register(fs)
			fs.StringVar(&o.state, "state", "", "only targets in `STATE` (unknown, up, down, ...)")
			fs.StringVar(&o.kind, "kind", "", "only targets of `KIND` (http, tcp, dns, tls, grpc, icmp, heartbeat, postgres, redis)")
			fs.Var(listFlag{&o.labels, false}, "label", "only targets with label `k=v` (repeatable; all must match)")
			fs.StringVar(&o.pool, "pool", "", "only the members of pool `NAME`")
			fs.StringVar(&o.query, "q", "", "only targets whose id, name, URL, address or labels contain `TEXT` (any case)")
			return o
		},
		run: runTargetsLs,
	}
}

func runTargetsLs(ctx context.Context, e *env, opts any, _ []string) int {
	o := opts.(*lsOpts)
	for _, l := range o.labels {
		if k, _, ok := strings.Cut(l, "="); !ok || k == "" {
			return e.errorf("flag --label: %q is not k=v; write --label env=prod", l)
		}
	}
	if o.state != "" {
		if _, err := health.ParseState(o.state); err != nil {
			return e.errorf("flag --state: %v", err)
		}
	}
	c, err := o.client()
	if err != nil {
		return e.errorf("%v", err)
	}
	ts, err := c.Targets(ctx, client.ListOptions{State: o.state, Kind: o.kind, Labels: o.labels,
		Pool: o.pool, Query: o.query})
	if err != nil {
		return e.apiError(c, err, queryFlag)
	}
	if o.out.json() {
		if ts == nil {
			ts = []wire.TargetStatus{}
		}
		if err := writeJSON(e.stdout, wire.TargetList{Targets: ts}); err != nil {
			return e.errorf("%v", err)
		}
		return ExitOK
	}
	if len(ts) == 0 {
		fmt.Fprintln(e.stdout, "no targets")
		return ExitOK
	}
	printTargetTable(e.stdout, ts, time.Now())
	return ExitOK
}

func queryFlag(field string) string {
	switch field {
	case "state", "kind", "label", "pool":
		return "--" + field
	case "q":
		return "-q"
	}
	return ""
}

func printTargetTable(w io.Writer, ts []wire.TargetStatus, now time.Time) {
	tw := newTable(w)
	fmt.Fprintln(tw, "ID\tKIND\tSTATE\tSINCE\tLATENCY\tTARGET\tMESSAGE")
	for _, t := range ts {
		state := t.State.String()
		if t.Stale && t.State != health.Stale {
			state += " (stale)"
		}
		if t.Silenced {
			state += " (silenced)"
		}
		msg := t.Cause
		if t.Last != nil {
			msg = t.Last.Message
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Kind, state, ago(t.Since, now), latency(t.Last),
			oneLine(where(t.Spec), 48), oneLine(msg, 60))
	}
	_ = tw.Flush()
}

// --- targets add ---

type addOpts struct {
	clientOpts
	replace bool
	spec    target.Spec
	labels  []string
	// dependsOn is --depends-on: ID or ID:optional, comma-separated.
	dependsOn []string
	headers   []string
	expect    []string
	answers   []string
	// per-kind values, put in the kind's block
	method, body, bodyContains, bodyRegex string
	noRedirects, insecure, keepAlive      bool
	certMinDays, maxBody, payloadSize     int
	maxLatency                            time.Duration
	send, expectText                      string
	dnsName, dnsType, dnsRcode, dnsTrans  string
	serverName, service                   string
	grpcTLS                               bool
	period, grace, failAfter              time.Duration
	token, cronSched, timeZone            string
	agentCheck                            string
	interval, timeout, initialDelay       time.Duration
	jitter, fastInterval, downInterval    time.Duration
	data                                  dataOpts // postgres and redis
	// fs tells which flags were given, so a zero given is not a default.
	fs *flag.FlagSet
}

// flagFields maps spec fields to the flags that set them, for messages.
var flagFields = map[string]string{
	"id": "--id", "name": "--name", "kind": "--kind", "labels": "--label", "depends_on": "--depends-on", "url": "--url", "address": "--address",
	"interval": "--interval", "timeout": "--timeout", "rise": "--rise", "fall": "--fall",
	"initial_delay": "--initial-delay", "jitter": "--jitter", "fast_interval": "--fast-interval", "down_interval": "--down-interval",
	"http.method": "--method", "http.headers": "--header", "http.body": "--body", "http.expect_status": "--expect-status",
	"http.body_contains": "--body-contains", "http.body_regex": "--body-regex", "http.max_latency": "--max-latency",
	"http.cert_min_days": "--cert-min-days", "http.max_body_bytes": "--max-body-bytes",
	"tcp.send": "--send", "tcp.expect": "--expect",
	"dns.name": "--dns-name", "dns.type": "--dns-type", "dns.rcode": "--dns-rcode", "dns.transport": "--dns-transport",
	"dns.expect_answers": "--expect-answer", "tls.cert_min_days": "--cert-min-days", "tls.server_name": "--server-name",
	"grpc.service": "--service", "grpc.server_name": "--server-name", "icmp.payload_size": "--payload-size",
	"heartbeat.period": "--period", "heartbeat.grace": "--grace", "heartbeat.fail_after": "--fail-after",
	"heartbeat.token": "--ping-token", "heartbeat.schedule": "--schedule", "heartbeat.time_zone": "--time-zone",
	"agent.check": "--agent-check",
}

func specFlag(field string) string {
	if f, ok := flagFields[field]; ok {
		return f
	}
	// http.expect_status[1], http.headers.X-Token
	for _, sep := range []string{"[", "."} {
		if i := strings.LastIndex(field, sep); i > 0 {
			if f, ok := flagFields[field[:i]]; ok {
				return f
			}
		}
	}
	return ""
}

// kindFlags says which kinds each kind-specific flag applies to.
var kindFlags = map[string][]target.Kind{
	"method": {target.KindHTTP}, "header": {target.KindHTTP}, "body": {target.KindHTTP},
	"expect-status": {target.KindHTTP}, "body-contains": {target.KindHTTP}, "body-regex": {target.KindHTTP},
	"no-follow-redirects": {target.KindHTTP}, "keep-alive": {target.KindHTTP}, "max-latency": {target.KindHTTP},
	"max-body-bytes": {target.KindHTTP}, "url": {target.KindHTTP, target.KindAgent},
	"agent-check":   {target.KindAgent},
	"insecure":      {target.KindHTTP, target.KindTLS, target.KindGRPC, target.KindRedis},
	"cert-min-days": {target.KindHTTP, target.KindTLS},
	"server-name":   {target.KindTLS, target.KindGRPC, target.KindRedis},
	"send":          {target.KindTCP}, "expect": {target.KindTCP, target.KindPostgres},
	"dns-name": {target.KindDNS}, "dns-type": {target.KindDNS}, "dns-rcode": {target.KindDNS},
	"dns-transport": {target.KindDNS}, "expect-answer": {target.KindDNS},
	"service": {target.KindGRPC}, "grpc-tls": {target.KindGRPC},
	"payload-size": {target.KindICMP},
	"period":       {target.KindHeartbeat}, "grace": {target.KindHeartbeat}, "fail-after": {target.KindHeartbeat},
	"token":   {target.KindHeartbeat},
	"address": {target.KindTCP, target.KindTLS, target.KindGRPC, target.KindDNS, target.KindICMP, target.KindPostgres, target.KindRedis},
}

func targetsAddCmd() *command {
	return &command{
		name:     "targets add",
		synopsis: "add a target (or replace one with --replace)",
		usage:    "heck targets add --id ID --kind KIND (--url URL | --address HOST:PORT | --period D) [flags]",
		help: `
Adds a target to the node at --server. The node validates it and answers
with every problem, named here by its flag. Kinds and their flags:

  http   --url, --method, --header K:V, --body, --expect-status, --body-contains,
         --body-regex, --no-follow-redirects, --insecure, --cert-min-days,
         --max-latency, --keep-alive, --max-body-bytes
  tcp    --address HOST:PORT, --send, --expect
  tls    --address HOST:PORT, --server-name, --insecure, --cert-min-days
  grpc   --address HOST:PORT, --service, --grpc-tls, --server-name, --insecure
  dns    --address RESOLVER:PORT, --dns-name, --dns-type, --dns-rcode,
         --expect-answer, --dns-transport
  icmp   --address HOST, --payload-size
  postgres --address HOST:PORT, --database, --user, --password '${VAR}',
         --sslmode, --query, --expect (the first value the query returns)
  redis  --address HOST:PORT, --user, --password '${VAR}', --db, --key,
         --key-ttl, --redis-tls, --server-name, --insecure
  heartbeat --period or --schedule CRON [--time-zone], --grace, --fail-after,
         --ping-token (the host pings the
         printed URL: POST or GET, /start, /fail or /EXIT_CODE after it)
  agent  --url http://HOST:7900/healthz of a heck agent, --agent-check NAME
         (one of its checks only); down when the agent says down, degraded
         when only non-critical checks fail

--kind may be left out with --url (http). Secrets in --url, --header,
--body or --password can be ${VAR} references, expanded on the node.

Example:
  heck targets add --id web --kind http --url http://127.0.0.1:8080/healthz --interval 1s --timeout 500ms`,
		maxArgs: 0,
		flags: func(fs *flag.FlagSet) any {
			o := &addOpts{fs: fs}
			o.register(fs)
			s := &o.spec
			fs.BoolVar(&o.replace, "replace", false, "replace the target if its id exists (PUT) instead of failing")
			fs.StringVar(&s.ID, "id", "", "target `ID` (letters, digits, '.', '_', ':', '-')")
			fs.StringVar(&s.Name, "name", "", "display `NAME`")
			fs.Func("kind", "probe `KIND`: http, tcp, dns, tls, grpc, icmp, heartbeat, postgres, redis or agent", func(v string) error { s.Kind = target.Kind(v); return nil })
			fs.Var(listFlag{&o.labels, false}, "label", "label `k=v` (repeatable)")
			fs.Var(listFlag{&o.dependsOn, true}, "depends-on", "targets this one depends on, `ID[,ID:optional]` (critical unless :optional; repeatable)")
			fs.StringVar(&s.URL, "url", "", "`URL` of an http target")
			fs.StringVar(&s.Address, "address", "", "`HOST:PORT` of a tcp, tls, grpc target; resolver of a dns target; host of icmp")
			fs.Var(durationFlag{&o.interval}, "interval", "`DURATION` between probes (default 10s)")
			fs.Var(durationFlag{&o.timeout}, "timeout", "`DURATION` of one probe, below the interval (default 2s)")
			fs.Var(durationFlag{&o.initialDelay}, "initial-delay", "`DURATION` before the first probe")
			fs.Var(durationFlag{&o.jitter}, "jitter", "largest random `DURATION` added to each run")
			fs.Var(durationFlag{&o.fastInterval}, "fast-interval", "interval `DURATION` while a change is pending")
			fs.Var(durationFlag{&o.downInterval}, "down-interval", "interval `DURATION` while down")
			fs.IntVar(&s.Rise, "rise", 0, "consecutive successes `N` to go up (default 2)")
			fs.IntVar(&s.Fall, "fall", 0, "consecutive failures `N` to go down (default 3)")

			fs.StringVar(&o.method, "method", "", "http `METHOD` (default GET)")
			fs.Var(listFlag{&o.headers, false}, "header", "http header `K:V` (repeatable)")
			fs.StringVar(&o.body, "body", "", "http request `BODY`")
			fs.Var(listFlag{&o.expect, true}, "expect-status", "accepted http `CODES`: 200, 200-299 or 2xx (repeatable or comma-separated; default 200-399)")
			fs.StringVar(&o.bodyContains, "body-contains", "", "`TEXT` the http body must contain")
			fs.StringVar(&o.bodyRegex, "body-regex", "", "`REGEX` the http body must match")
			fs.BoolVar(&o.noRedirects, "no-follow-redirects", false, "take a 3xx as the final http answer")
			fs.BoolVar(&o.keepAlive, "keep-alive", false, "reuse http connections between probes")
			fs.BoolVar(&o.insecure, "insecure", false, "skip TLS certificate verification (http, tls, grpc, redis)")
			fs.IntVar(&o.certMinDays, "cert-min-days", 0, "fail when the certificate expires in fewer than `N` days (http, tls)")
			fs.Var(durationFlag{&o.maxLatency}, "max-latency", "fail an http probe slower than `DURATION`")
			fs.IntVar(&o.maxBody, "max-body-bytes", 0, "`BYTES` of http body read for body conditions (default 65536)")
			fs.StringVar(&o.send, "send", "", "`TEXT` a tcp probe writes after connecting")
			fs.StringVar(&o.expectText, "expect", "", "`TEXT` a tcp probe expects back; for postgres, the first value the query must return")
			fs.StringVar(&o.dnsName, "dns-name", "", "`NAME` a dns probe queries")
			fs.StringVar(&o.dnsType, "dns-type", "", "dns record `TYPE` (A, AAAA, CNAME, MX, NS, TXT, SRV, PTR, SOA; default A)")
			fs.StringVar(&o.dnsRcode, "dns-rcode", "", "expected dns `RCODE` (default NOERROR)")
			fs.StringVar(&o.dnsTrans, "dns-transport", "", "dns `TRANSPORT`: udp (default) or tcp")
			fs.Var(listFlag{&o.answers, true}, "expect-answer", "`VALUE` that must be among the dns answers (repeatable)")
			fs.StringVar(&o.serverName, "server-name", "", "TLS server `NAME` for SNI and verification (tls, grpc, redis)")
			fs.StringVar(&o.service, "service", "", "grpc health `SERVICE` (default: the whole server)")
			fs.BoolVar(&o.grpcTLS, "grpc-tls", false, "use TLS for a grpc probe")
			fs.IntVar(&o.payloadSize, "payload-size", 0, "icmp payload `BYTES` (default 56)")
			fs.DurationVar(&o.period, "period", 0, "how often a heartbeat target's host pings (`DURATION`, heartbeat)")
			fs.DurationVar(&o.grace, "grace", 0, "how late a ping may be before the heartbeat is late (`DURATION`; default half the period)")
			fs.DurationVar(&o.failAfter, "fail-after", 0, "how long after late a heartbeat goes down (`DURATION`; default one period)")
			fs.StringVar(&o.cronSched, "schedule", "", "when a heartbeat's host pings, as a cron `EXPR` (\"0 3 * * *\", @daily) instead of --period")
			fs.StringVar(&o.timeZone, "time-zone", "", "the IANA time `ZONE` of --schedule (default UTC)")
			fs.StringVar(&o.token, "ping-token", "", "the heartbeat's ping `TOKEN` (default: the node makes an unguessable one)")
			fs.StringVar(&o.agentCheck, "agent-check", "", "ask a heck agent about its check `NAME` only (agent)")
			o.data.register(fs)
			return o
		},
		run: runTargetsAdd,
	}
}

func runTargetsAdd(ctx context.Context, e *env, opts any, _ []string) int {
	o := opts.(*addOpts)
	spec, err := o.buildSpec()
	if err != nil {
		return e.errorf("%v", err)
	}
	if err := o.zeroFlags(spec); err != nil {
		return e.errorf("%v", err)
	}
	c, err := o.client()
	if err != nil {
		return e.errorf("%v", err)
	}
	var st wire.TargetStatus
	verb := "added"
	if o.replace {
		var created bool
		st, created, err = c.PutTarget(ctx, spec)
		if !created {
			verb = "replaced"
		}
	} else {
		st, err = c.AddTarget(ctx, spec)
	}
	if err != nil {
		if client.IsConflict(err) {
			return e.errorf("target %q exists; pass --replace to replace it, or remove it with 'heck targets rm %s'", spec.ID, spec.ID)
		}
		return e.apiError(c, err, specFlag)
	}
	if o.out.json() {
		if err := writeJSON(e.stdout, st); err != nil {
			return e.errorf("%v", err)
		}
		return ExitOK
	}
	if st.PingURL != "" {
		when := "every " + st.Spec.Heartbeat.Period.String()
		if st.Spec.Heartbeat.Schedule != "" {
			when = "on " + st.Spec.Heartbeat.Schedule
		}
		fmt.Fprintf(e.stdout, "%s %s (heartbeat %s); ping it at:\n%s\n", verb, st.ID, when, st.PingURL)
		return ExitOK
	}
	fmt.Fprintf(e.stdout, "%s %s (%s %s)\n", verb, st.ID, st.Kind, where(st.Spec))
	return ExitOK
}

// buildSpec turns the flags into a spec, refusing flags of another kind.
func (o *addOpts) buildSpec() (target.Spec, error) {
	s := o.spec
	if s.Kind == "" && s.URL != "" {
		s.Kind = target.KindHTTP
	}
	if s.ID == "" {
		return s, fmt.Errorf("flag --id is missing; give the target a unique id, such as --id web")
	}
	if s.Kind == "" {
		return s, fmt.Errorf("flag --kind is missing; set --kind to one of %s", kindNames())
	}
	known := false
	for _, k := range target.Kinds {
		known = known || k == s.Kind
	}
	if !known {
		return s, fmt.Errorf("flag --kind: %q is not a known kind; use one of %s", s.Kind, kindNames())
	}
	for _, d := range o.dependsOn {
		// Ids may hold ':', so only a known suffix is a mode.
		id, optional := strings.CutSuffix(d, ":optional")
		if !optional {
			id = strings.TrimSuffix(d, ":critical")
		}
		if id == "" {
			return s, fmt.Errorf("flag --depends-on: %q names no target; write --depends-on db or --depends-on db,cache:optional", d)
		}
		dep := target.Dependency{Target: id}
		if optional {
			f := false
			dep.Critical = &f
		}
		s.DependsOn = append(s.DependsOn, dep)
	}
	for _, l := range o.labels {
		k, v, ok := strings.Cut(l, "=")
		if !ok || k == "" {
			return s, fmt.Errorf("flag --label: %q is not k=v; write --label env=prod", l)
		}
		if s.Labels == nil {
			s.Labels = map[string]string{}
		}
		s.Labels[k] = v
	}
	s.Interval, s.Timeout, s.InitialDelay = target.Duration(o.interval), target.Duration(o.timeout), target.Duration(o.initialDelay)
	s.Jitter, s.FastInterval, s.DownInterval = target.Duration(o.jitter), target.Duration(o.fastInterval), target.Duration(o.downInterval)

	used := map[string]bool{
		"method": o.method != "", "header": len(o.headers) > 0, "body": o.body != "", "expect-status": len(o.expect) > 0,
		"body-contains": o.bodyContains != "", "body-regex": o.bodyRegex != "", "no-follow-redirects": o.noRedirects,
		"keep-alive": o.keepAlive, "max-latency": o.maxLatency != 0, "max-body-bytes": o.maxBody != 0, "url": s.URL != "",
		"insecure": o.insecure, "cert-min-days": o.certMinDays != 0, "server-name": o.serverName != "",
		"send": o.send != "", "expect": o.expectText != "", "dns-name": o.dnsName != "", "dns-type": o.dnsType != "",
		"dns-rcode": o.dnsRcode != "", "dns-transport": o.dnsTrans != "", "expect-answer": len(o.answers) > 0,
		"service": o.service != "", "grpc-tls": o.grpcTLS, "payload-size": o.payloadSize != 0, "address": s.Address != "",
		"period": o.period != 0, "grace": o.grace != 0, "fail-after": o.failAfter != 0, "ping-token": o.token != "",
		"schedule": o.cronSched != "", "time-zone": o.timeZone != "", "agent-check": o.agentCheck != "",
	}
	for n, u := range o.data.used() {
		used[n] = u
	}
	names := make([]string, 0, len(used))
	for n := range used {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if !used[n] {
			continue
		}
		ok := false
		for _, k := range kindFlags[n] {
			ok = ok || k == s.Kind
		}
		if !ok {
			return s, fmt.Errorf("flag --%s does not apply to a %s target; it applies to %s targets", n, s.Kind, kindList(kindFlags[n]))
		}
	}

	switch s.Kind {
	case target.KindHTTP:
		h := &target.HTTPOptions{Method: o.method, Body: o.body, ExpectStatus: o.expect, BodyContains: o.bodyContains,
			BodyRegex: o.bodyRegex, NoFollowRedirects: o.noRedirects, InsecureSkipVerify: o.insecure,
			CertMinDays: o.certMinDays, MaxLatency: target.Duration(o.maxLatency), KeepAlive: o.keepAlive, MaxBodyBytes: o.maxBody}
		for _, hv := range o.headers {
			k, v, ok := strings.Cut(hv, ":")
			if !ok || strings.TrimSpace(k) == "" {
				return s, fmt.Errorf("flag --header: %q is not K:V; write --header 'Accept: application/json'", hv)
			}
			if h.Headers == nil {
				h.Headers = map[string]string{}
			}
			h.Headers[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
		for _, n := range names {
			if used[n] && n != "url" {
				s.HTTP = h // some http option was given
				break
			}
		}
	case target.KindTCP:
		if o.send != "" || o.expectText != "" {
			s.TCP = &target.TCPOptions{Send: o.send, Expect: o.expectText}
		}
	case target.KindDNS:
		s.DNS = &target.DNSOptions{Name: o.dnsName, Type: o.dnsType, Rcode: o.dnsRcode, ExpectAnswers: o.answers, Transport: o.dnsTrans}
	case target.KindTLS:
		if o.serverName != "" || o.insecure || o.certMinDays != 0 {
			s.TLS = &target.TLSOptions{ServerName: o.serverName, InsecureSkipVerify: o.insecure, CertMinDays: o.certMinDays}
		}
	case target.KindGRPC:
		if o.service != "" || o.grpcTLS || o.insecure || o.serverName != "" {
			s.GRPC = &target.GRPCOptions{Service: o.service, TLS: o.grpcTLS, InsecureSkipVerify: o.insecure, ServerName: o.serverName}
		}
	case target.KindICMP:
		if o.payloadSize != 0 {
			s.ICMP = &target.ICMPOptions{PayloadSize: o.payloadSize}
		}
	case target.KindAgent:
		if o.agentCheck != "" {
			s.Agent = &target.AgentOptions{Check: o.agentCheck}
		}
	case target.KindPostgres, target.KindRedis:
		o.data.build(&s, o.expectText, o.insecure, o.serverName)
	case target.KindHeartbeat:
		if o.period == 0 && o.cronSched == "" {
			return s, fmt.Errorf("flag --period is missing; say how often the host pings, such as --period 1m, or when, such as --schedule '0 3 * * *'")
		}
		s.Heartbeat = &target.HeartbeatOptions{Period: target.Duration(o.period), Grace: target.Duration(o.grace),
			FailAfter: target.Duration(o.failAfter), Token: o.token, Schedule: o.cronSched, TimeZone: o.timeZone}
	}
	return s, nil
}

func kindNames() string { return kindList(target.Kinds) }

func kindList(ks []target.Kind) string {
	n := make([]string, len(ks))
	for i, k := range ks {
		n[i] = string(k)
	}
	return strings.Join(n, ", ")
}

// --- targets rm ---

type rmOpts struct{ clientOpts }

func targetsRmCmd() *command {
	return rmCmd(rmSpec{name: "targets rm", synopsis: "remove targets", usage: "heck targets rm ID [ID...] [--server URL]",
		help: "Removes each target named from the node at --server. Exits 2 if any does not exist.",
		del:  (*client.Client).DeleteTarget, removed: "removed %s", missing: "no target has id %q; list them with 'heck targets ls'"})
}

// zeroFlags refuses a schedule flag given as zero (--interval 0s, --rise
// 0): the API would read the left-out field as "use the default".
func (o *addOpts) zeroFlags(spec target.Spec) error {
	if o.fs == nil {
		return nil
	}
	given := map[string]bool{}
	o.fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	written := func(key string) bool {
		name, ok := flagFields[key]
		return ok && given[strings.TrimPrefix(name, "--")]
	}
	var msgs []string
	for _, fe := range spec.ValidateWritten(written) {
		for _, k := range target.ZeroMeansDefault {
			zero := fe.Value == "0" || fe.Value == "0s" || strings.HasPrefix(fe.Value, "-")
			if fe.Field == k && written(k) && zero {
				msgs = append(msgs, fmt.Sprintf("flag %s: %q %s; %s", flagFields[k], fe.Value, fe.Problem, fe.Fix))
			}
		}
	}
	if len(msgs) > 0 {
		return errors.New(strings.Join(msgs, "\n"))
	}
	return nil
}
