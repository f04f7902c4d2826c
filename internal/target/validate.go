package target

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// MaxReplicas bounds Spec.Replicas.
const MaxReplicas = 16

// SpreadZone spreads a target's replicas over distinct zones.
const SpreadZone = "zone"

// FieldError is one problem with one field: which field, the value found,
// what is wrong and how to fix it.
type FieldError struct {
	// Field is a dotted path from the spec's root ("http.expect_status[1]").
	Field string `json:"field"`
	// Value is the offending value as the user wrote it ("" when missing).
	Value string `json:"value"`
	// Problem says what is wrong.
	Problem string `json:"problem"`
	// Fix says what to do about it.
	Fix string `json:"fix"`
}

func (e FieldError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("%s: %s; %s", e.Field, e.Problem, e.Fix)
	}
	return fmt.Sprintf("%s: %q %s; %s", e.Field, e.Value, e.Problem, e.Fix)
}

// Prefixed returns a copy of e with its field under prefix ("targets[3]").
func (e FieldError) Prefixed(prefix string) FieldError {
	if prefix != "" {
		e.Field = prefix + "." + e.Field
	}
	return e
}

// FieldErrors is a list of problems, reported together.
type FieldErrors []FieldError

func (es FieldErrors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// AsFieldErrors extracts the FieldErrors in err, if any.
func AsFieldErrors(err error) (FieldErrors, bool) {
	var fes FieldErrors
	if errors.As(err, &fes) {
		return fes, true
	}
	var fe FieldError
	if errors.As(err, &fe) {
		return FieldErrors{fe}, true
	}
	return nil, false
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)

// ValidID reports whether id can name a target: 1 to 128 letters, digits,
// '.', '_', ':' or '-', starting with a letter or digit.
func ValidID(id string) bool { return idPattern.MatchString(id) }

// Validate checks s as written by a user (defaults not yet applied) and
// returns every problem found. The Value of a field holding a secret is
// never echoed. A zero schedule field or replicas means "use the default";
// when the source knows which fields were written out, ValidateWritten
// rejects written zeros instead.
func (s *Spec) Validate() FieldErrors {
	return s.ValidateWritten(nil)
}

// ZeroMeansDefault lists the keys of a spec whose zero value stands for
// "use the default", so that a zero written out is an error rather than a
// default: interval, timeout, rise, fall, fast_interval, down_interval and
// replicas. (initial_delay and jitter are not among them: 0 is a
// meaningful value there.)
var ZeroMeansDefault = []string{"interval", "timeout", "rise", "fall", "fast_interval", "down_interval", "replicas"}

// ValidateWritten is Validate for a spec whose source (a config file, a
// JSON body) knows which keys it wrote out: written("interval") reports
// whether the key was given a value. A key of ZeroMeansDefault written as
// zero is reported like any other out-of-range value, naming the field,
// the value and the fix, instead of silently taking the default. A nil
// written is Validate.
func (s *Spec) ValidateWritten(written func(key string) bool) FieldErrors {
	v := &validator{written: written}
	if s.ID == "" {
		v.add("id", "", "is missing", "give the target a unique id such as \"web-1\"")
	} else if !ValidID(s.ID) {
		v.add("id", s.ID, "is not a valid id", "use 1 to 128 letters, digits, '.', '_', ':' or '-', starting with a letter or digit")
	}
	for k := range s.Labels {
		if k == "" || len(k) > 63 || strings.ContainsAny(k, " ,=\"") {
			v.add("labels", k, "is not a valid label name", "use up to 63 characters without spaces, commas, quotes or '='")
		}
	}
	v.schedule(&s.Schedule)
	if s.Replicas < 0 || s.Replicas > MaxReplicas || v.writtenZero("replicas", s.Replicas == 0) {
		v.add("replicas", strconv.Itoa(s.Replicas), "is out of range", fmt.Sprintf("set 1 to %d nodes, or leave it out for the cluster's default", MaxReplicas))
	}
	if s.Spread != "" && s.Spread != SpreadZone {
		v.add("spread", s.Spread, "is not a known spread", "set spread: zone, or leave it out")
	}
	for i, d := range s.DependsOn {
		field := fmt.Sprintf("depends_on[%d]", i)
		switch {
		case !ValidID(d.Target):
			v.add(field+".target", d.Target, "is not a valid target id", "name a target by its id (heck targets ls)")
		case d.Target == s.ID:
			v.add(field+".target", d.Target, "is the target itself", "a target cannot depend on itself; remove it")
		}
		for j := range i {
			if s.DependsOn[j].Target == d.Target {
				v.add(field+".target", d.Target, "is listed twice", "list each dependency once")
			}
		}
	}
	switch s.Kind {
	case KindHTTP:
		v.http(s)
	case KindTCP:
		v.hostPort("address", s.Address, "127.0.0.1:5432")
		v.only(s, "tcp")
	case KindTLS:
		v.hostPort("address", s.Address, "127.0.0.1:443")
		if s.TLS != nil && s.TLS.CertMinDays < 0 {
			v.add("tls.cert_min_days", strconv.Itoa(s.TLS.CertMinDays), "is negative", "set a number of days, 0 or more")
		}
		v.only(s, "tls")
	case KindGRPC:
		v.hostPort("address", s.Address, "127.0.0.1:50051")
		v.only(s, "grpc")
	case KindDNS:
		v.dns(s)
	case KindICMP:
		if s.Address == "" {
			v.add("address", "", "is missing", "set the host to ping, such as \"127.0.0.1\"")
		} else if strings.Contains(s.Address, "/") {
			v.add("address", s.Address, "is not a host", "set a host name or IP address without a port or path")
		}
		if s.ICMP != nil && (s.ICMP.PayloadSize < 0 || s.ICMP.PayloadSize > 65000) {
			v.add("icmp.payload_size", strconv.Itoa(s.ICMP.PayloadSize), "is out of range", "set 0 to 65000 bytes")
		}
		v.only(s, "icmp")
	case KindHeartbeat:
		v.heartbeat(s)
		v.only(s, "heartbeat")
	case KindAgent:
		v.agent(s)
	case KindPostgres:
		v.postgres(s)
	case KindRedis:
		v.redis(s)
	case "":
		v.add("kind", "", "is missing", "set kind to one of "+kindList())
	default:
		v.add("kind", string(s.Kind), "is not a known kind", "set kind to one of "+kindList())
	}
	return v.errs
}

func kindList() string {
	names := make([]string, len(Kinds))
	for i, k := range Kinds {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}

type validator struct {
	errs FieldErrors
	// written reports whether a key was written out (nil: unknown).
	written func(key string) bool
}

// writtenZero reports whether key holds zero (isZero) because the user
// wrote a zero, not because they left it out.
func (v *validator) writtenZero(key string, isZero bool) bool {
	return isZero && v.written != nil && v.written(key)
}

func (v *validator) add(field, value, problem, fix string) {
	v.errs = append(v.errs, FieldError{Field: field, Value: value, Problem: problem, Fix: fix})
}

// schedule checks each field of sc against its bound in Bounds, then the
// relations between fields (timeout and jitter below the interval, fast
// and down interval above the timeout), with the defaults of unset fields.
func (v *validator) schedule(sc *Schedule) {
	d := sc.Resolve(Schedule{}, nil)
	bad := map[string]bool{}
	for _, b := range Bounds {
		val := b.Value(sc)
		if fe := b.Check(val, v.writtenZero(b.Key, val == 0)); fe != nil {
			v.errs = append(v.errs, *fe)
			bad[b.Key] = true
		}
	}
	// Relations. A field out of its own range is reported once; comparing
	// an interval it will not have would only confuse.
	if !bad["timeout"] && !(bad["interval"] && sc.Interval <= 0) && d.Timeout >= d.Interval {
		v.add("timeout", d.Timeout.String(), "is not below the interval ("+d.Interval.String()+")", "set a timeout shorter than the interval, or a longer interval")
	}
	if !bad["jitter"] && sc.Jitter > 0 && sc.Jitter >= d.Interval {
		v.add("jitter", sc.Jitter.String(), "is not below the interval ("+d.Interval.String()+")", "set a jitter between 0 and the interval")
	}
	for _, f := range []struct {
		name string
		val  Duration
	}{{"fast_interval", sc.FastInterval}, {"down_interval", sc.DownInterval}} {
		if !bad[f.name] && f.val != 0 && f.val <= d.Timeout {
			v.add(f.name, f.val.String(), "is not above the timeout ("+d.Timeout.String()+")", "set it longer than the timeout")
		}
	}
}

// only reports option blocks that do not belong to the target's kind.
func (v *validator) only(s *Spec, want string) {
	blocks := []struct {
		name string
		set  bool
	}{
		{"http", s.HTTP != nil}, {"tcp", s.TCP != nil}, {"dns", s.DNS != nil},
		{"tls", s.TLS != nil}, {"grpc", s.GRPC != nil}, {"icmp", s.ICMP != nil},
		{"heartbeat", s.Heartbeat != nil}, {"agent", s.Agent != nil},
		{"postgres", s.Postgres != nil}, {"redis", s.Redis != nil},
	}
	for _, b := range blocks {
		if b.set && b.name != want {
			v.add(b.name, "", "options do not apply to a "+string(s.Kind)+" target", "remove the "+b.name+" block or set kind: "+b.name)
		}
	}
	if want != "http" && want != "agent" && s.URL != "" {
		v.add("url", s.URL, "does not apply to a "+string(s.Kind)+" target", "use address (host:port) instead")
	}
	if want == "heartbeat" && s.Address != "" {
		v.add("address", s.Address, "does not apply to a heartbeat target", "remove it: the host pings heck at /ping/TOKEN")
	}
	if (want == "http" || want == "agent") && s.Address != "" {
		v.add("address", s.Address, "does not apply to an "+want+" target", "use url instead")
	}
}

var tokenPattern = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

func (v *validator) heartbeat(s *Spec) {
	h := s.Heartbeat
	if h == nil {
		v.add("heartbeat.period", "", "is missing", "set how often the host pings, such as heartbeat: {period: 1m} (--period 1m)")
		return
	}
	switch {
	case h.Schedule != "" && h.Period != 0:
		v.add("heartbeat.schedule", h.Schedule, "is set with a period", "give either period (every so long) or schedule (a cron expression), not both")
	case h.Schedule != "":
		if _, _, err := h.Cron(); err != nil {
			v.add("heartbeat.schedule", h.Schedule, "is not a cron schedule or time zone ("+err.Error()+")",
				"write five fields (minute hour day month weekday) such as \"0 3 * * *\", or @hourly, @daily, @weekly; and an IANA time_zone such as Europe/Paris")
		}
	default:
		if p := h.Period.D(); p < MinHeartbeatPeriod || p > MaxHeartbeatPeriod {
			v.add("heartbeat.period", h.Period.String(), "is out of range", "set a period from 1s to 744h (31 days), or a cron schedule")
		}
	}
	if h.TimeZone != "" && h.Schedule == "" {
		v.add("heartbeat.time_zone", h.TimeZone, "only applies to a schedule", "remove it, or give a cron schedule")
	}
	if h.Grace < 0 || h.Grace.D() > MaxHeartbeatPeriod {
		v.add("heartbeat.grace", h.Grace.String(), "is out of range", "set a grace from 0s to 744h, or leave it out for half the period")
	}
	if h.FailAfter < 0 || h.FailAfter.D() > MaxHeartbeatPeriod {
		v.add("heartbeat.fail_after", h.FailAfter.String(), "is out of range", "set 0s to 744h, or leave it out for one period")
	}
	switch t := h.Token; {
	case t == "":
		v.add("heartbeat.token", "", "is missing", "set a long random token, such as the output of \"head -c 20 /dev/urandom | base32\", or a ${VAR} holding one")
	case hasEnvRef(t):
	case len(t) < MinTokenLen || len(t) > MaxTokenLen || !tokenPattern.MatchString(t):
		v.add("heartbeat.token", "", "is not a valid token (the value is not shown: it is a secret)",
			fmt.Sprintf("use %d to %d letters, digits, '_' or '-'", MinTokenLen, MaxTokenLen))
	}
}

func (v *validator) hostPort(field, addr, example string) {
	if addr == "" {
		v.add(field, "", "is missing", "set host:port, such as \""+example+"\"")
		return
	}
	if hasEnvRef(addr) {
		return
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		v.add(field, addr, "is not host:port", "set host:port, such as \""+example+"\"")
		return
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		v.add(field, addr, "has no valid port", "set a port from 1 to 65535, such as \""+example+"\"")
	}
}

func (v *validator) http(s *Spec) {
	v.only(s, "http")
	v.url(s.URL, "http://127.0.0.1:8080/healthz")
	h := s.HTTP
	if h == nil {
		return
	}
	if h.Method != "" && !validMethod(h.Method) {
		v.add("http.method", h.Method, "is not an HTTP method", "use GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS")
	}
	for name := range h.Headers {
		if name == "" || strings.ContainsAny(name, " :\r\n") {
			v.add("http.headers", name, "is not a valid header name", "use a token such as \"Authorization\"")
		}
	}
	for i, e := range h.ExpectStatus {
		if _, _, err := ParseStatusRange(e); err != nil {
			v.add(fmt.Sprintf("http.expect_status[%d]", i), e, "is not a status code, range or class", "write \"200\", \"200-299\" or \"2xx\"")
		}
	}
	if h.BodyRegex != "" {
		if _, err := regexp.Compile(h.BodyRegex); err != nil {
			v.add("http.body_regex", h.BodyRegex, "is not a valid regular expression ("+err.Error()+")", "fix the RE2 syntax")
		}
	}
	for i, c := range h.JSON {
		f := fmt.Sprintf("http.json[%d]", i)
		if c.Path == "" {
			v.add(f+".path", "", "is missing", "set a GJSON path such as \"status\"")
		}
		n := 0
		if c.Equals != "" {
			n++
		}
		if c.Matches != "" {
			n++
			if _, err := regexp.Compile(c.Matches); err != nil {
				v.add(f+".matches", c.Matches, "is not a valid regular expression ("+err.Error()+")", "fix the RE2 syntax")
			}
		}
		if c.Exists != nil {
			n++
		}
		if n != 1 {
			v.add(f, c.Path, "needs exactly one of equals, matches or exists", "keep one condition per entry")
		}
	}
	if h.MaxLatency < 0 {
		v.add("http.max_latency", h.MaxLatency.String(), "is negative", "set a positive duration or leave it out")
	}
	if h.CertMinDays < 0 {
		v.add("http.cert_min_days", strconv.Itoa(h.CertMinDays), "is negative", "set a number of days, 0 or more")
	}
	if h.MaxBodyBytes < 0 || h.MaxBodyBytes > 16<<20 {
		v.add("http.max_body_bytes", strconv.Itoa(h.MaxBodyBytes), "is out of range", "set 0 to 16777216 bytes")
	}
}

// url checks the URL of an http or agent target.
func (v *validator) url(u, example string) {
	switch {
	case u == "":
		v.add("url", "", "is missing", "set the URL to probe, such as \""+example+"\"")
	case hasEnvRef(u):
	default:
		pu, err := url.Parse(u)
		if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			v.add("url", u, "is not an http or https URL", "write it as http://host[:port]/path")
		} else if p := pu.Port(); p != "" {
			if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
				v.add("url", u, "has no valid port", "set a port from 1 to 65535")
			}
		}
	}
}

// agent checks an agent target: the URL of a heck agent's /healthz.
func (v *validator) agent(s *Spec) {
	v.only(s, "agent")
	v.url(s.URL, "http://127.0.0.1:7900/healthz")
	if a := s.Agent; a != nil && a.Check != "" && !ValidID(a.Check) {
		v.add("agent.check", a.Check, "is not a check name", "name one check of the agent's config (letters, digits, '.', '_', ':', '-')")
	}
}

func validMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return true
	}
	return false
}

// DNSTypes are the record types a dns probe can ask for.
var DNSTypes = []string{"A", "AAAA", "CNAME", "MX", "NS", "TXT", "SRV", "PTR", "SOA"}

// DNSRcodes are the response codes a dns probe can expect.
var DNSRcodes = []string{"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"}

func (v *validator) dns(s *Spec) {
	v.hostPort("address", s.Address, "127.0.0.1:53")
	v.only(s, "dns")
	d := s.DNS
	if d == nil || d.Name == "" {
		v.add("dns.name", "", "is missing", "set the name to query, such as \"example.org\"")
		return
	}
	if d.Type != "" && !contains(DNSTypes, strings.ToUpper(d.Type)) {
		v.add("dns.type", d.Type, "is not a supported record type", "use one of "+strings.Join(DNSTypes, ", "))
	}
	if d.Rcode != "" && !contains(DNSRcodes, strings.ToUpper(d.Rcode)) {
		v.add("dns.rcode", d.Rcode, "is not a response code", "use one of "+strings.Join(DNSRcodes, ", "))
	}
	if d.Transport != "" && d.Transport != "udp" && d.Transport != "tcp" {
		v.add("dns.transport", d.Transport, "is not udp or tcp", "set udp or tcp")
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// ParseStatusRange parses "200", "200-299" or "2xx" into an inclusive range.
func ParseStatusRange(s string) (lo, hi int, err error) {
	s = strings.TrimSpace(s)
	bad := fmt.Errorf("status %q: want \"200\", \"200-299\" or \"2xx\"", s)
	if len(s) == 3 && strings.HasSuffix(strings.ToLower(s), "xx") {
		d := s[0]
		if d < '1' || d > '5' {
			return 0, 0, bad
		}
		lo = int(d-'0') * 100
		return lo, lo + 99, nil
	}
	a, b, isRange := strings.Cut(s, "-")
	lo, err1 := strconv.Atoi(strings.TrimSpace(a))
	hi = lo
	var err2 error
	if isRange {
		hi, err2 = strconv.Atoi(strings.TrimSpace(b))
	}
	if err1 != nil || err2 != nil || lo < 100 || hi > 599 || lo > hi {
		return 0, 0, bad
	}
	return lo, hi, nil
}

// ValidateAll validates a set of specs together: each on its own, plus
// duplicate ids. Field paths are prefixed with "targets[i]".
func ValidateAll(specs []Spec) FieldErrors {
	return ValidateAllWritten(specs, nil)
}

// ValidateAllWritten is ValidateAll for specs whose written keys are known:
// written(i, key) reports whether specs[i] wrote key out (see
// ValidateWritten). A nil written is ValidateAll.
func ValidateAllWritten(specs []Spec, written func(i int, key string) bool) FieldErrors {
	var errs FieldErrors
	seen := map[string]int{}
	for i, s := range specs {
		prefix := fmt.Sprintf("targets[%d]", i)
		var w func(string) bool
		if written != nil {
			w = func(key string) bool { return written(i, key) }
		}
		for _, e := range s.ValidateWritten(w) {
			errs = append(errs, e.Prefixed(prefix))
		}
		if s.ID == "" {
			continue
		}
		if j, dup := seen[s.ID]; dup {
			errs = append(errs, FieldError{Field: prefix + ".id", Value: s.ID,
				Problem: fmt.Sprintf("is already used by targets[%d]", j), Fix: "give each target a unique id"})
		} else {
			seen[s.ID] = i
		}
	}
	return errs
}
