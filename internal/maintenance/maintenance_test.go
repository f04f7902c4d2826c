package maintenance

import (
	"strings"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/target"
)

func must(t *testing.T, loc string) *time.Location {
	t.Helper()
	l, err := time.LoadLocation(loc)
	if err != nil {
		t.Skipf("no time zone data for %s: %v", loc, err)
	}
	return l
}

func TestActive(t *testing.T) {
	paris := must(t, "Europe/Paris")
	// Daily 02:00-03:00 Paris time, from 2026-03-01.
	daily := Window{ID: "nightly", Targets: []string{"db"}, Start: time.Date(2026, 3, 1, 2, 0, 0, 0, paris),
		Duration: target.Duration(time.Hour), Repeat: Daily, TimeZone: "Europe/Paris"}
	// Weekly Sat and Sun 23:00 UTC for 2h: crosses midnight.
	weekend := Window{ID: "weekend", Selector: map[string]string{"env": "prod"}, Start: time.Date(2026, 1, 3, 23, 0, 0, 0, time.UTC),
		Duration: target.Duration(2 * time.Hour), Repeat: Weekly, Days: []string{"sat", "sun"}, Until: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)}
	once := Window{ID: "upgrade", Targets: []string{"db"}, Start: time.Date(2026, 12, 13, 10, 0, 0, 0, time.UTC), Duration: target.Duration(30 * time.Minute)}
	cases := []struct {
		name string
		w    Window
		at   time.Time
		want bool
	}{
		{"daily, inside", daily, time.Date(2026, 5, 10, 2, 30, 0, 0, paris), true},
		{"daily, after", daily, time.Date(2026, 5, 10, 3, 0, 0, 0, paris), false},
		{"daily, before the first start", daily, time.Date(2026, 2, 28, 2, 30, 0, 0, paris), false},
		// 2026-03-29 is the spring change in Paris (02:00 -> 03:00): 02:30
		// does not exist, the window still opens at the wall clock's 02:00 mapping.
		{"daily, summer time keeps 02:00 local", daily, time.Date(2026, 7, 1, 0, 30, 0, 0, time.UTC), true},
		{"weekly, saturday night", weekend, time.Date(2026, 1, 10, 23, 30, 0, 0, time.UTC), true},
		{"weekly, past midnight into sunday", weekend, time.Date(2026, 1, 11, 0, 30, 0, 0, time.UTC), true},
		{"weekly, past midnight into monday", weekend, time.Date(2026, 1, 12, 0, 30, 0, 0, time.UTC), true},
		{"weekly, a monday night", weekend, time.Date(2026, 1, 12, 23, 30, 0, 0, time.UTC), false},
		{"weekly, after until", weekend, time.Date(2026, 6, 6, 23, 30, 0, 0, time.UTC), false},
		{"once, inside", once, time.Date(2026, 12, 13, 10, 10, 0, 0, time.UTC), true},
		{"once, the next day", once, time.Date(2026, 12, 14, 10, 10, 0, 0, time.UTC), false},
	}
	for _, c := range cases {
		if got := c.w.Active(c.at); got != c.want {
			t.Errorf("%s: Active(%v) = %v, want %v", c.name, c.at, got, c.want)
		}
	}
	next, ok := weekend.Next(time.Date(2026, 1, 12, 12, 0, 0, 0, time.UTC))
	if !ok || !next.Equal(time.Date(2026, 1, 17, 23, 0, 0, 0, time.UTC)) {
		t.Errorf("weekend.Next = %v %v, want saturday 17th 23:00", next, ok)
	}
	if _, ok := once.Next(time.Date(2026, 12, 14, 0, 0, 0, 0, time.UTC)); ok {
		t.Error("a one-off window in the past has a next occurrence")
	}
	db := target.Spec{ID: "db"}
	prod := target.Spec{ID: "web", Labels: map[string]string{"env": "prod"}}
	if !Covering([]Window{daily, weekend}, &db, time.Date(2026, 5, 10, 2, 30, 0, 0, paris)) ||
		Covering([]Window{daily}, &prod, time.Date(2026, 5, 10, 2, 30, 0, 0, paris)) ||
		!weekend.Matches(&prod) {
		t.Error("Covering/Matches")
	}
}

func TestValidate(t *testing.T) {
	start := time.Date(2026, 12, 13, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		w     Window
		field string
	}{
		{Window{ID: "ok", Targets: []string{"db"}, Start: start, Duration: target.Duration(time.Hour)}, ""},
		{Window{ID: "x", Start: start, Duration: target.Duration(time.Hour)}, "targets"},
		{Window{ID: "x", Targets: []string{"db"}, Duration: target.Duration(time.Hour)}, "start"},
		{Window{ID: "x", Targets: []string{"db"}, Start: start}, "duration"},
		{Window{ID: "x", Targets: []string{"db"}, Start: start, Duration: target.Duration(25 * time.Hour), Repeat: Daily}, "duration"},
		{Window{ID: "x", Targets: []string{"db"}, Start: start, Duration: target.Duration(time.Hour), Repeat: "monthly"}, "repeat"},
		{Window{ID: "x", Targets: []string{"db"}, Start: start, Duration: target.Duration(time.Hour), Repeat: Weekly, Days: []string{"funday"}}, "days[0]"},
		{Window{ID: "x", Targets: []string{"db"}, Start: start, Duration: target.Duration(time.Hour), TimeZone: "Mars/Olympus"}, "time_zone"},
		{Window{ID: "x", Targets: []string{"db"}, Start: start, Duration: target.Duration(time.Hour), Until: start.Add(-time.Hour)}, "until"},
	}
	for _, c := range cases {
		err := c.w.Validate()
		if c.field == "" {
			if err != nil {
				t.Errorf("%+v: %v", c.w, err)
			}
			continue
		}
		fes, _ := target.AsFieldErrors(err)
		if len(fes) == 0 || fes[0].Field != c.field || fes[0].Fix == "" {
			t.Errorf("want an error on %s, got %v", c.field, err)
		}
	}
	if err := Kind.Validate("other", Window{ID: "x"}); err == nil || !strings.Contains(err.Error(), "key") {
		t.Errorf("Kind.Validate with a wrong key: %v", err)
	}
}
