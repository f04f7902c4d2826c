package silence

import (
	"strings"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/target"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestBuild(t *testing.T) {
	tests := []struct {
		name string
		req  Request
		want []string // substrings of the error; none: valid
	}{
		{"target for 2h", Request{Target: "web", For: "2h", Reason: "deploy"}, nil},
		{"selector", Request{Selector: "env=prod, team=db", For: "30m", Reason: "db upgrade"}, nil},
		{"explicit window", Request{Target: "web", Starts: now.Add(time.Hour), Ends: now.Add(2 * time.Hour), Reason: "later"}, nil},
		{"nothing chosen", Request{For: "2h", Reason: "x"}, []string{"target: is missing, and so is selector", "--target ID"}},
		{"both chosen", Request{Target: "web", Selector: "a=b", For: "2h", Reason: "x"}, []string{`selector: "a=b" is set together with target`}},
		{"bad target", Request{Target: "no spaces", For: "2h", Reason: "x"}, []string{`target: "no spaces" is not a valid target id`}},
		{"bad selector", Request{Selector: "env", For: "2h", Reason: "x"}, []string{`selector: "env" has "env", which is not a label pair`, "key=value"}},
		{"bad duration", Request{Target: "web", For: "two hours", Reason: "x"}, []string{`for: "two hours" is not a positive duration`, "2h"}},
		{"negative duration", Request{Target: "web", For: "-1h", Reason: "x"}, []string{"for:"}},
		{"for and ends", Request{Target: "web", For: "1h", Ends: now.Add(time.Hour), Reason: "x"}, []string{"for: \"1h\" is set together with ends"}},
		{"no end", Request{Target: "web", Reason: "x"}, []string{"ends: is missing", "--for 2h"}},
		{"ends before starts", Request{Target: "web", Ends: now.Add(-time.Hour), Reason: "x"}, []string{"ends:", "is not after starts"}},
		{"too long", Request{Target: "web", For: "9000h", Reason: "x"}, []string{"more than a year"}},
		{"no reason", Request{Target: "web", For: "1h"}, []string{"reason: is missing", "--reason TEXT"}},
		{"long reason", Request{Target: "web", For: "1h", Reason: strings.Repeat("x", 2000)}, []string{"reason:", "2000 bytes"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Build(tc.req, now)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Build: %v", err)
				}
				if !strings.HasPrefix(s.ID, "s-") || !s.Ends.After(s.Starts) {
					t.Fatalf("built %+v", s)
				}
				if err := Kind.Validate(s.ID, s); err != nil {
					t.Fatalf("kind validator refuses a built silence: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Build = %+v, want an error", s)
			}
			if _, ok := target.AsFieldErrors(err); !ok {
				t.Errorf("error %v is not field errors", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestCovers(t *testing.T) {
	web := target.Spec{ID: "web", Labels: map[string]string{"env": "prod", "team": "web"}}
	db := target.Spec{ID: "db", Labels: map[string]string{"env": "prod", "team": "db"}}
	win := func(s Silence) Silence { s.Starts, s.Ends = now, now.Add(time.Hour); return s }
	tests := []struct {
		name string
		s    Silence
		spec target.Spec
		at   time.Time
		want bool
	}{
		{"by id", win(Silence{Target: "web"}), web, now, true},
		{"other id", win(Silence{Target: "web"}), db, now, false},
		{"selector all pairs", win(Silence{Selector: map[string]string{"env": "prod", "team": "db"}}), db, now, true},
		{"selector one pair off", win(Silence{Selector: map[string]string{"env": "prod", "team": "db"}}), web, now, false},
		{"selector missing label", win(Silence{Selector: map[string]string{"zone": "a"}}), web, now, false},
		{"before start", win(Silence{Target: "web"}), web, now.Add(-time.Second), false},
		{"at end", win(Silence{Target: "web"}), web, now.Add(time.Hour), false},
		{"just before end", win(Silence{Target: "web"}), web, now.Add(time.Hour - time.Nanosecond), true},
		{"empty silence covers nothing", win(Silence{}), web, now, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.s.Covers(&tc.spec, tc.at); got != tc.want {
				t.Errorf("Covers = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestKindRefusesMismatchedKey(t *testing.T) {
	s, err := Build(Request{Target: "web", For: "1h", Reason: "x"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := Kind.Validate("other", s); err == nil || !strings.Contains(err.Error(), "does not match the key") {
		t.Fatalf("Validate under another key: %v", err)
	}
}

func TestExpired(t *testing.T) {
	mk := func(id string, ends time.Time) Silence { return Silence{ID: id, Ends: ends} }
	ss := []Silence{
		mk("active", now.Add(time.Hour)),
		mk("just-ended", now.Add(-time.Minute)),
		mk("at-retention", now.Add(-Retention)),
		mk("long-gone", now.Add(-Retention-time.Hour)),
	}
	got := Expired(ss, now, Retention)
	want := []string{"at-retention", "long-gone"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("Expired = %v, want %v", got, want)
	}
}
