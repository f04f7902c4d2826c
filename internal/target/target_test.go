package target

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func httpSpec() Spec {
	return Spec{ID: "web", Kind: KindHTTP, URL: "http://127.0.0.1:8080/healthz"}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*Spec)
		field string // "" means valid
		fix   string
	}{
		{"valid", func(*Spec) {}, "", ""},
		{"missing id", func(s *Spec) { s.ID = "" }, "id", "unique id"},
		{"bad id", func(s *Spec) { s.ID = "a b" }, "id", "letters, digits"},
		{"unknown kind", func(s *Spec) { s.Kind = "smtp" }, "kind", "http, tcp, dns, tls, grpc, icmp, heartbeat"},
		{"heartbeat", func(s *Spec) { heartbeat(s, time.Minute, "0123456789abcdefXYZ_-") }, "", ""},
		{"heartbeat token from env", func(s *Spec) { heartbeat(s, time.Minute, "${HB_TOKEN}") }, "", ""},
		{"heartbeat without options", func(s *Spec) { s.Kind, s.URL = KindHeartbeat, "" }, "heartbeat.period", "--period"},
		{"heartbeat period too short", func(s *Spec) { heartbeat(s, time.Millisecond, "0123456789abcdef") }, "heartbeat.period", "1s to 744h"},
		{"heartbeat no token", func(s *Spec) { heartbeat(s, time.Minute, "") }, "heartbeat.token", "random token"},
		{"heartbeat short token", func(s *Spec) { heartbeat(s, time.Minute, "abc") }, "heartbeat.token", "16 to 128"},
		{"heartbeat token with a slash", func(s *Spec) { heartbeat(s, time.Minute, "0123456789abcdef/x") }, "heartbeat.token", "16 to 128"},
		{"heartbeat negative grace", func(s *Spec) { heartbeat(s, time.Minute, "0123456789abcdef"); s.Heartbeat.Grace = -1 }, "heartbeat.grace", "0s to 744h"},
		{"heartbeat with an address", func(s *Spec) { heartbeat(s, time.Minute, "0123456789abcdef"); s.Address = "127.0.0.1:1" }, "address", "/ping/TOKEN"},
		{"heartbeat block on http", func(s *Spec) { s.Heartbeat = &HeartbeatOptions{} }, "heartbeat", "remove the heartbeat block"},
		{"missing kind", func(s *Spec) { s.Kind = "" }, "kind", "set kind"},
		{"interval too short", func(s *Spec) { s.Interval = Duration(time.Millisecond) }, "interval", "100ms to 24h"},
		{"timeout above interval", func(s *Spec) { s.Interval = Duration(time.Second); s.Timeout = Duration(2 * time.Second) }, "timeout", "shorter than the interval"},
		{"timeout equal interval", func(s *Spec) { s.Interval = Duration(time.Second); s.Timeout = Duration(time.Second) }, "timeout", "shorter than the interval"},
		{"default timeout above short interval is fine", func(s *Spec) { s.Interval = Duration(time.Second) }, "", ""},
		{"rise negative", func(s *Spec) { s.Rise = -1 }, "rise", "1 to 100"},
		{"fall too big", func(s *Spec) { s.Fall = 101 }, "fall", "1 to 100"},
		{"jitter above interval", func(s *Spec) { s.Jitter = Duration(time.Minute) }, "jitter", "between 0 and the interval"},
		{"fast interval below timeout", func(s *Spec) { s.Timeout = Duration(time.Second); s.FastInterval = Duration(500 * time.Millisecond) }, "fast_interval", "longer than the timeout"},
		{"malformed url", func(s *Spec) { s.URL = "127.0.0.1:80" }, "url", "http://host"},
		{"ftp url", func(s *Spec) { s.URL = "ftp://127.0.0.1/" }, "url", "http://host"},
		{"missing url", func(s *Spec) { s.URL = "" }, "url", "set the URL"},
		{"bad port in url", func(s *Spec) { s.URL = "http://127.0.0.1:99999/" }, "url", "1 to 65535"},
		{"address on http", func(s *Spec) { s.Address = "127.0.0.1:80" }, "address", "use url"},
		{"bad status", func(s *Spec) { s.HTTP = &HTTPOptions{ExpectStatus: []string{"200", "abc"}} }, "http.expect_status[1]", "2xx"},
		{"bad regex", func(s *Spec) { s.HTTP = &HTTPOptions{BodyRegex: "("} }, "http.body_regex", "RE2"},
		{"bad method", func(s *Spec) { s.HTTP = &HTTPOptions{Method: "FETCH"} }, "http.method", "GET"},
		{"json two conditions", func(s *Spec) { s.HTTP = &HTTPOptions{JSON: []JSONCondition{{Path: "a", Equals: "x", Matches: "y"}}} }, "http.json[0]", "one condition"},
		{"tcp block on http", func(s *Spec) { s.TCP = &TCPOptions{} }, "tcp", "remove the tcp block"},
		{"tcp missing address", func(s *Spec) { s.Kind = KindTCP; s.URL = "" }, "address", "host:port"},
		{"tcp bad port", func(s *Spec) { s.Kind = KindTCP; s.URL = ""; s.Address = "127.0.0.1:0" }, "address", "1 to 65535"},
		{"dns missing name", func(s *Spec) { s.Kind = KindDNS; s.URL = ""; s.Address = "127.0.0.1:53" }, "dns.name", "name to query"},
		{"dns bad type", func(s *Spec) {
			s.Kind, s.URL, s.Address = KindDNS, "", "127.0.0.1:53"
			s.DNS = &DNSOptions{Name: "x.test", Type: "BOGUS"}
		}, "dns.type", "AAAA"},
		{"icmp with port", func(s *Spec) { s.Kind, s.URL, s.Address = KindICMP, "", "127.0.0.1/8" }, "address", "without a port"},
		{"replicas negative", func(s *Spec) { s.Replicas = -1 }, "replicas", "1 to 16"},
		{"replicas too many", func(s *Spec) { s.Replicas = 17 }, "replicas", "1 to 16"},
		{"bad spread", func(s *Spec) { s.Spread = "region" }, "spread", "spread: zone"},
		{"env ref in url accepted", func(s *Spec) { s.URL = "${TARGET_URL}" }, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := httpSpec()
			tc.edit(&s)
			errs := s.Validate()
			if tc.field == "" {
				if len(errs) != 0 {
					t.Fatalf("want valid, got %v", errs)
				}
				return
			}
			for _, e := range errs {
				if e.Field == tc.field {
					if !strings.Contains(e.Fix, tc.fix) && !strings.Contains(e.Problem, tc.fix) {
						t.Fatalf("error %q does not say %q", e.Error(), tc.fix)
					}
					return
				}
			}
			t.Fatalf("want an error on %s, got %v", tc.field, errs)
		})
	}
}

// TestValidateWritten: a key of ZeroMeansDefault written as zero is an
// error naming the field, the value and the fix; left out, zero still means
// the default; initial_delay and jitter may be written as 0.
func TestValidateWritten(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*Spec)
		written []string
		want    []string // full messages of the errors, in order; none means valid
	}{
		{"zeros left out take the defaults", func(*Spec) {}, nil, nil},
		{"interval 0", func(*Spec) {}, []string{"interval"},
			[]string{`interval: "0s" is too short; set an interval from 100ms to 24h`}},
		{"interval 0 with a timeout above the default interval", func(s *Spec) { s.Timeout = Duration(20 * time.Second) },
			[]string{"interval", "timeout"}, []string{`interval: "0s" is too short; set an interval from 100ms to 24h`}},
		{"timeout 0", func(*Spec) {}, []string{"timeout"},
			[]string{`timeout: "0s" is too short; set a timeout from 1ms to 24h, below the interval`}},
		{"rise 0", func(*Spec) {}, []string{"rise"},
			[]string{`rise: "0" is out of range; set 1 to 100 consecutive successes`}},
		{"fall 0", func(*Spec) {}, []string{"fall"},
			[]string{`fall: "0" is out of range; set 1 to 100 consecutive failures`}},
		{"fast_interval 0", func(*Spec) {}, []string{"fast_interval"},
			[]string{`fast_interval: "0s" is too short; set 100ms to 24h, or leave it out to use the interval`}},
		{"down_interval 0", func(*Spec) {}, []string{"down_interval"},
			[]string{`down_interval: "0s" is too short; set 100ms to 24h, or leave it out to use the interval`}},
		{"replicas 0", func(*Spec) {}, []string{"replicas"},
			[]string{`replicas: "0" is out of range; set 1 to 16 nodes, or leave it out for the cluster's default`}},
		{"initial_delay and jitter 0 are meaningful", func(*Spec) {}, []string{"initial_delay", "jitter"}, nil},
		{"every zero at once", func(*Spec) {}, ZeroMeansDefault, []string{
			`interval: "0s" is too short; set an interval from 100ms to 24h`,
			`timeout: "0s" is too short; set a timeout from 1ms to 24h, below the interval`,
			`rise: "0" is out of range; set 1 to 100 consecutive successes`,
			`fall: "0" is out of range; set 1 to 100 consecutive failures`,
			`fast_interval: "0s" is too short; set 100ms to 24h, or leave it out to use the interval`,
			`down_interval: "0s" is too short; set 100ms to 24h, or leave it out to use the interval`,
			`replicas: "0" is out of range; set 1 to 16 nodes, or leave it out for the cluster's default`,
		}},
		{"written non-zero values are fine", func(s *Spec) {
			s.Interval, s.Timeout, s.Rise, s.Fall, s.Replicas = Duration(time.Second), Duration(500*time.Millisecond), 1, 1, 1
			s.FastInterval, s.DownInterval = Duration(time.Second), Duration(time.Minute)
		}, ZeroMeansDefault, nil},
		{"negative interval is one error, not a timeout too", func(s *Spec) { s.Interval = Duration(-time.Second) },
			[]string{"interval"}, []string{`interval: "-1s" is too short; set an interval from 100ms to 24h`}},
		{"negative interval with a timeout", func(s *Spec) { s.Interval, s.Timeout = Duration(-time.Second), Duration(time.Second) },
			[]string{"interval", "timeout"}, []string{`interval: "-1s" is too short; set an interval from 100ms to 24h`}},
		{"negative timeout", func(s *Spec) { s.Timeout = Duration(-time.Second) }, []string{"timeout"},
			[]string{`timeout: "-1s" is too short; set a timeout from 1ms to 24h, below the interval`}},
		{"negative fall", func(s *Spec) { s.Fall = -2 }, []string{"fall"},
			[]string{`fall: "-2" is out of range; set 1 to 100 consecutive failures`}},
		{"negative down_interval", func(s *Spec) { s.DownInterval = Duration(-time.Second) }, []string{"down_interval"},
			[]string{`down_interval: "-1s" is too short; set 100ms to 24h, or leave it out to use the interval`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := httpSpec()
			tc.edit(&s)
			written := map[string]bool{}
			for _, k := range tc.written {
				written[k] = true
			}
			var got []string
			for _, e := range s.ValidateWritten(func(k string) bool { return written[k] }) {
				got = append(got, e.Error())
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Fatalf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestValidateAllWritten(t *testing.T) {
	specs := []Spec{httpSpec(), httpSpec()}
	specs[1].ID = "web-2"
	written := func(i int, key string) bool { return i == 1 && key == "rise" }
	errs := ValidateAllWritten(specs, written)
	if len(errs) != 1 || errs[0].Error() != `targets[1].rise: "0" is out of range; set 1 to 100 consecutive successes` {
		t.Fatalf("errors %v, want targets[1].rise alone", errs)
	}
	if errs := ValidateAll(specs); len(errs) != 0 {
		t.Fatalf("ValidateAll takes zeros as defaults, got %v", errs)
	}
}

func TestValidateAllReportsEverythingAndDuplicates(t *testing.T) {
	a := httpSpec()
	b := httpSpec()
	b.Rise = -5
	c := Spec{ID: "c", Kind: "nope"}
	errs := ValidateAll([]Spec{a, b, c})
	want := map[string]bool{"targets[1].id": false, "targets[1].rise": false, "targets[2].kind": false}
	for _, e := range errs {
		if _, ok := want[e.Field]; ok {
			want[e.Field] = true
		}
	}
	for f, seen := range want {
		if !seen {
			t.Errorf("missing error on %s in %v", f, errs)
		}
	}
}

func TestParseStatusRange(t *testing.T) {
	tests := []struct {
		in     string
		lo, hi int
		bad    bool
	}{
		{"200", 200, 200, false}, {"200-299", 200, 299, false}, {"2xx", 200, 299, false},
		{"5XX", 500, 599, false}, {"299-200", 0, 0, true}, {"99", 0, 0, true}, {"6xx", 0, 0, true}, {"x", 0, 0, true},
	}
	for _, tc := range tests {
		lo, hi, err := ParseStatusRange(tc.in)
		if (err != nil) != tc.bad || lo != tc.lo || hi != tc.hi {
			t.Errorf("%q: got %d-%d err=%v", tc.in, lo, hi, err)
		}
	}
}

func TestWithDefaults(t *testing.T) {
	s := Spec{Schedule: Schedule{Interval: Duration(time.Second)}}.WithDefaults()
	if s.Timeout.D() != 800*time.Millisecond {
		t.Errorf("timeout for 1s interval = %v, want 800ms", s.Timeout)
	}
	if s.Rise != DefaultRise || s.Fall != DefaultFall || s.FastInterval != s.Interval || s.DownInterval != s.Interval {
		t.Errorf("defaults not applied: %+v", s.Schedule)
	}
	s = Spec{}.WithDefaults()
	if s.Interval.D() != DefaultInterval || s.Timeout.D() != DefaultTimeout {
		t.Errorf("zero spec defaults: %+v", s.Schedule)
	}
}

func TestExpandAndRedact(t *testing.T) {
	s := httpSpec()
	s.URL = "http://user:${PW}@127.0.0.1:8080/"
	s.HTTP = &HTTPOptions{Headers: map[string]string{"Authorization": "Bearer ${TOKEN}", "X-Api-Key": "literal-secret", "Accept": "text/plain"}}
	env := map[string]string{"PW": "hunter2", "TOKEN": "abc"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }

	x, err := s.Expand(lookup)
	if err != nil {
		t.Fatal(err)
	}
	if x.URL != "http://user:hunter2@127.0.0.1:8080/" || x.HTTP.Headers["Authorization"] != "Bearer abc" {
		t.Fatalf("not expanded: %s %v", x.URL, x.HTTP.Headers)
	}
	if s.HTTP.Headers["Authorization"] != "Bearer ${TOKEN}" {
		t.Fatal("Expand modified the original spec")
	}
	r := s.Redact()
	if r.HTTP.Headers["X-Api-Key"] != Redacted || r.HTTP.Headers["Accept"] != "text/plain" {
		t.Fatalf("redaction wrong: %v", r.HTTP.Headers)
	}
	if r.HTTP.Headers["Authorization"] != "Bearer ${TOKEN}" {
		t.Fatalf("a reference should be shown as written: %q", r.HTTP.Headers["Authorization"])
	}
	lit := httpSpec()
	lit.URL = "http://user:hunter2@127.0.0.1:8080/x"
	if got := lit.Redact().URL; strings.Contains(got, "hunter2") {
		t.Fatalf("password in URL not redacted: %s", got)
	}

	delete(env, "TOKEN")
	_, err = s.Expand(lookup)
	fes, ok := AsFieldErrors(err)
	if !ok || len(fes) != 1 || fes[0].Field != "http.headers.Authorization" || !strings.Contains(fes[0].Fix, "export TOKEN") {
		t.Fatalf("unset variable error: %v", err)
	}
	if refs := s.EnvRefs(); len(refs) != 2 {
		t.Fatalf("EnvRefs = %v", refs)
	}
}

func TestDurationEncoding(t *testing.T) {
	var v struct {
		D Duration `json:"d" yaml:"d"`
	}
	for _, in := range []string{`{"d":"1.5s"}`, `{"d":1.5}`} {
		if err := json.Unmarshal([]byte(in), &v); err != nil || v.D.D() != 1500*time.Millisecond {
			t.Errorf("%s: %v %v", in, v.D, err)
		}
	}
	v.D = Duration(time.Second)
	if err := json.Unmarshal([]byte(`{"d":null}`), &v); err != nil || v.D.D() != time.Second {
		t.Errorf("null should leave the duration as it was: %v %v", v.D, err)
	}
	if err := json.Unmarshal([]byte(`{"d":"soon"}`), &v); err == nil || !strings.Contains(err.Error(), "500ms") {
		t.Errorf("bad duration error: %v", err)
	}
	if err := yaml.Unmarshal([]byte("d: 30d\n"), &v); err != nil || v.D.D() != 30*24*time.Hour {
		t.Errorf("30d: %v %v", v.D, err)
	}
	b, _ := json.Marshal(v)
	if string(b) != `{"d":"720h0m0s"}` {
		t.Errorf("marshal: %s", b)
	}
}

func TestCloneIsDeep(t *testing.T) {
	s := httpSpec()
	s.Labels = map[string]string{"a": "1"}
	s.HTTP = &HTTPOptions{Headers: map[string]string{"h": "v"}, ExpectStatus: []string{"200"}}
	c := s.Clone()
	c.Labels["a"] = "2"
	c.HTTP.Headers["h"] = "w"
	c.HTTP.ExpectStatus[0] = "500"
	if s.Labels["a"] != "1" || s.HTTP.Headers["h"] != "v" || s.HTTP.ExpectStatus[0] != "200" {
		t.Fatal("Clone shares state with the original")
	}
}

func heartbeat(s *Spec, period time.Duration, token string) {
	s.Kind, s.URL = KindHeartbeat, ""
	s.Heartbeat = &HeartbeatOptions{Period: Duration(period), Token: token}
}

// A token that does not validate is never echoed: it is a secret.
func TestHeartbeatTokenNotEchoed(t *testing.T) {
	s := httpSpec()
	heartbeat(&s, time.Minute, "secret/secret/secret")
	for _, e := range s.Validate() {
		if strings.Contains(e.Error(), "secret/secret") {
			t.Fatalf("error echoes the token: %s", e.Error())
		}
	}
}

func TestHeartbeatDefaults(t *testing.T) {
	h := HeartbeatOptions{Period: Duration(time.Minute)}
	if h.GraceOrDefault() != 30*time.Second || h.FailAfterOrDefault() != time.Minute {
		t.Fatalf("defaults grace %v fail_after %v", h.GraceOrDefault(), h.FailAfterOrDefault())
	}
	h = HeartbeatOptions{Period: Duration(time.Second), Grace: Duration(5 * time.Second), FailAfter: Duration(time.Hour)}
	if h.GraceOrDefault() != 5*time.Second || h.FailAfterOrDefault() != time.Hour {
		t.Fatalf("set grace %v fail_after %v", h.GraceOrDefault(), h.FailAfterOrDefault())
	}
	if (&HeartbeatOptions{Period: Duration(time.Second)}).GraceOrDefault() != time.Second {
		t.Fatal("grace below 1s")
	}
}
