package heartbeat

import (
	"strings"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/target"
)

var t0 = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)

func TestVerdict(t *testing.T) {
	h := target.HeartbeatOptions{Period: target.Duration(10 * time.Second), Grace: target.Duration(5 * time.Second), FailAfter: target.Duration(30 * time.Second)}
	ok := &Ping{Target: "job", At: t0, Kind: Success, ExitCode: -1}
	cases := []struct {
		name  string
		last  *Ping
		since time.Time
		at    time.Duration // after t0
		want  health.State
		msg   string
	}{
		{"no ping yet, within period and grace of the start", nil, t0, 14 * time.Second, health.Unknown, "no ping yet"},
		{"no ping ever: late", nil, t0, 16 * time.Second, health.Late, "late by 1s"},
		{"no ping ever: down", nil, t0, 46 * time.Second, health.Down, "no ping for 46s"},
		{"on time", ok, t0, 9 * time.Second, health.Up, "on time"},
		{"within grace", ok, t0, 15 * time.Second, health.Up, "on time"},
		{"late", ok, t0, 16 * time.Second, health.Late, "late by 1s"},
		{"still late just before fail_after", ok, t0, 45 * time.Second, health.Late, "late by 30s"},
		{"down after fail_after", ok, t0, 46 * time.Second, health.Down, "fail after 30s"},
		{"failure ping", &Ping{At: t0, Kind: Fail, ExitCode: -1, Body: "step 1\nboom\n"}, t0, time.Second, health.Down, "failure ping: boom"},
		{"exit code", &Ping{At: t0, Kind: Fail, ExitCode: 3}, t0, time.Second, health.Down, "exit code 3"},
		{"started, within grace", &Ping{At: t0, Kind: Start}, t0, 5 * time.Second, health.Up, "started"},
		{"started, not finished within grace", &Ping{At: t0, Kind: Start}, t0, 6 * time.Second, health.Late, "late by 1s"},
		{"unknown start", nil, time.Time{}, time.Hour, health.Unknown, "no ping yet"},
	}
	for _, c := range cases {
		st, msg := Verdict(&h, c.last, c.since, t0.Add(c.at))
		if st != c.want || !strings.Contains(msg, c.msg) {
			t.Errorf("%s: %s %q, want %s with %q", c.name, st, msg, c.want, c.msg)
		}
	}
}

func TestParseAction(t *testing.T) {
	cases := []struct {
		in   string
		kind string
		code int
		bad  bool
	}{
		{"", Success, -1, false}, {"start", Start, -1, false}, {"fail", Fail, -1, false},
		{"0", Success, 0, false}, {"1", Fail, 1, false}, {"255", Fail, 255, false},
		{"256", "", 0, true}, {"-1", "", 0, true}, {"done", "", 0, true},
	}
	for _, c := range cases {
		kind, code, err := ParseAction(c.in)
		if (err != nil) != c.bad || kind != c.kind || code != c.code {
			t.Errorf("ParseAction(%q) = %q %d %v", c.in, kind, code, err)
		}
	}
}

func TestTailAndToken(t *testing.T) {
	big := strings.Repeat("é", MaxBody) // 2 bytes each
	got := Tail([]byte(big + "end"))
	if len(got) > MaxBody || !strings.HasSuffix(got, "end") || !strings.HasPrefix(got, "é") {
		t.Fatalf("Tail: %d bytes, starts %q", len(got), got[:4])
	}
	a, b := NewToken(), NewToken()
	if a == b || len(a) != 32 {
		t.Fatalf("tokens %q %q", a, b)
	}
	spec := target.Spec{ID: "job", Kind: target.KindHeartbeat, Heartbeat: &target.HeartbeatOptions{Period: target.Duration(time.Minute), Token: a}}
	if errs := spec.Validate(); len(errs) != 0 {
		t.Fatalf("a new token does not validate: %v", errs)
	}
}

type pings map[string]Ping

func (p pings) Get(id string) (Ping, bool) { x, ok := p[id]; return x, ok }

func TestProber(t *testing.T) {
	now := t0.Add(20 * time.Second)
	p := &Prober{ID: "job", Opts: target.HeartbeatOptions{Period: target.Duration(10 * time.Second)}, Since: t0,
		Pings: pings{"job": {Target: "job", At: t0.Add(15 * time.Second), Kind: Success}}, Now: func() time.Time { return now }}
	if r := p.Probe(t.Context()); !r.OK || r.State != health.Up {
		t.Fatalf("on time: %+v", r)
	}
	now = t0.Add(31 * time.Second)
	if r := p.Probe(t.Context()); r.OK || r.State != health.Late {
		t.Fatalf("late: %+v", r)
	}
}

func TestKindValidates(t *testing.T) {
	good := Ping{Target: "job", At: t0, Kind: Success}
	if err := Kind.Validate("job", good); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []Ping{{Target: "other", Kind: Success}, {Target: "job", Kind: "maybe"}, {Target: "job", Kind: Success, Body: strings.Repeat("x", MaxBody+1)}} {
		if Kind.Validate("job", bad) == nil {
			t.Errorf("accepted %+v", bad)
		}
	}
}

// A cron schedule: due at each scheduled time, in its time zone, late
// after the grace, down after fail_after.
func TestVerdictCron(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	h := target.HeartbeatOptions{Schedule: "0 3 * * *", TimeZone: "Europe/Paris", Grace: target.Duration(10 * time.Minute),
		FailAfter: target.Duration(time.Hour)}
	// Pinged at 03:01 on the 10th; next due 03:00 on the 11th, Paris time.
	last := &Ping{At: time.Date(2026, 12, 10, 3, 1, 0, 0, paris), Kind: Success}
	cases := []struct {
		at   time.Time
		want health.State
	}{
		{time.Date(2026, 12, 11, 2, 0, 0, 0, paris), health.Up},
		{time.Date(2026, 12, 11, 3, 9, 0, 0, paris), health.Up},
		{time.Date(2026, 12, 11, 3, 11, 0, 0, paris), health.Late},
		{time.Date(2026, 12, 11, 4, 11, 0, 0, paris), health.Down},
	}
	for _, c := range cases {
		if st, msg := Verdict(&h, last, t0, c.at); st != c.want {
			t.Errorf("at %v: %s (%s), want %s", c.at, st, msg, c.want)
		}
	}
	spec := target.Spec{ID: "job", Kind: target.KindHeartbeat, Heartbeat: &h}
	h.Token = "0123456789abcdef"
	if errs := spec.Validate(); len(errs) != 0 {
		t.Fatalf("a cron heartbeat does not validate: %v", errs)
	}
	for _, bad := range []target.HeartbeatOptions{
		{Schedule: "every day", Token: "0123456789abcdef"},
		{Schedule: "0 3 * * *", TimeZone: "Mars/Base", Token: "0123456789abcdef"},
		{Schedule: "0 3 * * *", Period: target.Duration(time.Hour), Token: "0123456789abcdef"},
		{Period: target.Duration(time.Hour), TimeZone: "UTC", Token: "0123456789abcdef"},
	} {
		spec.Heartbeat = &bad
		if errs := spec.Validate(); len(errs) == 0 {
			t.Errorf("%+v accepted", bad)
		}
	}
}
