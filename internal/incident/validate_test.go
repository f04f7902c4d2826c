package incident

import (
	"strings"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/target"
)

var now = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)

func valid() Incident {
	return Incident{ID: "i-1", Title: "Checkout is slow", Status: Identified, Impact: ImpactMinor, Targets: []string{"web"}, Created: now,
		Updates: []Update{{At: now, Status: Investigating, Message: "Looking"}, {At: now.Add(time.Minute), Status: Identified, Message: "Found"}}}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Incident)
		want []string // substrings of the error; none: valid
	}{
		{"valid", func(*Incident) {}, nil},
		{"no updates", func(in *Incident) { in.Updates = nil }, nil},
		{"resolved", func(in *Incident) {
			in.Updates = append(in.Updates, Update{At: now.Add(time.Hour), Status: Resolved, Message: "Fixed"})
			in.Status, in.Resolved = Resolved, now.Add(time.Hour)
		}, nil},
		{"same status twice", func(in *Incident) {
			in.Updates = append(in.Updates, Update{At: now.Add(time.Hour), Status: Identified, Message: "Still"})
		}, nil},
		{"scheduled", func(in *Incident) { in.ScheduledStart, in.ScheduledEnd = now, now.Add(time.Hour) }, nil},
		{"bad id", func(in *Incident) { in.ID = "a b" }, []string{`id: "a b" is not a valid id`}},
		{"no title", func(in *Incident) { in.Title = "  " }, []string{"title: is missing"}},
		{"long title", func(in *Incident) { in.Title = strings.Repeat("x", 300) }, []string{"title:", "300 bytes"}},
		{"bad status", func(in *Incident) { in.Status = "panicking" }, []string{`status: "panicking" is not an incident status`, "investigating, identified, monitoring, resolved"}},
		{"status not the latest update's", func(in *Incident) { in.Status = Monitoring }, []string{"differs from the latest update's status identified"}},
		{"bad impact", func(in *Incident) { in.Impact = "huge" }, []string{`impact: "huge" is not an impact`}},
		{"bad target", func(in *Incident) { in.Targets = []string{"web", "a b"} }, []string{`targets[1]: "a b" is not a valid target id`}},
		{"duplicate target", func(in *Incident) { in.Targets = []string{"web", "web"} }, []string{`targets[1]: "web" is targets[0] too`}},
		{"no created", func(in *Incident) { in.Created = time.Time{} }, []string{"created: is missing"}},
		{"update without message", func(in *Incident) { in.Updates[1].Message = "" }, []string{"updates[1].message: is missing"}},
		{"update without time", func(in *Incident) { in.Updates[0].At = time.Time{} }, []string{"updates[0].at: is missing"}},
		{"update bad status", func(in *Incident) { in.Updates[0].Status = "x" }, []string{`updates[0].status: "x" is not an incident status`}},
		{"updates out of time order", func(in *Incident) { in.Updates[1].At = now.Add(-time.Minute) }, []string{"updates[1].at:", "oldest first"}},
		{"status goes back", func(in *Incident) {
			in.Updates = append(in.Updates, Update{At: now.Add(time.Hour), Status: Investigating, Message: "Hmm"})
			in.Status = Investigating
		}, []string{"updates[2].status: \"investigating\" goes back from identified", "open a new one"}},
		{"resolved without time", func(in *Incident) {
			in.Updates = append(in.Updates, Update{At: now.Add(time.Hour), Status: Resolved, Message: "Fixed"})
			in.Status = Resolved
		}, []string{"resolved: is missing on a resolved incident"}},
		{"resolved time on an open one", func(in *Incident) { in.Resolved = now }, []string{"resolved:", "is set on an incident that is identified"}},
		{"scheduled end only", func(in *Incident) { in.ScheduledEnd = now }, []string{"scheduled_start: is missing while scheduled_end is set"}},
		{"scheduled end first", func(in *Incident) { in.ScheduledStart, in.ScheduledEnd = now, now.Add(-time.Hour) }, []string{"scheduled_end:", "is not after scheduled_start"}},
		{"scheduled too long", func(in *Incident) { in.ScheduledStart, in.ScheduledEnd = now, now.Add(40*24*time.Hour) }, []string{"more than 31 days"}},
		{"every problem at once", func(in *Incident) { in.ID, in.Title, in.Impact = "", "", "x" }, []string{"id:", "title:", "impact:"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := valid()
			tc.edit(&in)
			err := Kind.Validate(in.ID, in)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate accepted it")
			}
			fes, ok := target.AsFieldErrors(err)
			if !ok {
				t.Fatalf("error %v is not field errors", err)
			}
			for _, fe := range fes {
				if fe.Fix == "" {
					t.Errorf("%s has no fix", fe.Field)
				}
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	if err := Kind.Validate("other", valid()); err == nil || !strings.Contains(err.Error(), "does not match the key") {
		t.Fatalf("Validate under another key: %v", err)
	}
}

func TestPrepareAndPost(t *testing.T) {
	in := Incident{Title: "Down", Updates: []Update{{Status: Investigating, Message: "Looking"}}}
	in.Prepare(now)
	if !strings.HasPrefix(in.ID, "i-") || !in.Created.Equal(now) || in.Status != Investigating || !in.Updates[0].At.Equal(now) {
		t.Fatalf("prepared %+v", in)
	}
	if err := in.Validate(); err != nil {
		t.Fatalf("a prepared incident does not validate: %v", err)
	}
	in.Post(Update{Status: Resolved, Message: "Fixed"}, now.Add(time.Hour))
	if in.Status != Resolved || !in.Resolved.Equal(now.Add(time.Hour)) || in.Open() {
		t.Fatalf("after a resolved update %+v", in)
	}
	if err := in.Validate(); err != nil {
		t.Fatalf("a resolved incident does not validate: %v", err)
	}
	in.Post(Update{Message: "A note"}, now.Add(2*time.Hour))
	if in.Status != Resolved || in.Updates[2].Status != Resolved || !in.Resolved.Equal(now.Add(time.Hour)) {
		t.Fatalf("an update without status changed it: %+v", in)
	}
	fresh := Incident{Title: "x"}
	fresh.Prepare(now)
	if fresh.Status != Investigating || len(fresh.Updates) != 0 {
		t.Fatalf("an incident without updates prepares as %+v", fresh)
	}
}

func TestActiveAt(t *testing.T) {
	open := valid()
	sched := valid()
	sched.ScheduledStart, sched.ScheduledEnd = now.Add(time.Hour), now.Add(2*time.Hour)
	resolved := valid()
	resolved.Status = Resolved
	for _, tc := range []struct {
		name string
		in   Incident
		at   time.Time
		want bool
	}{
		{"open", open, now, true},
		{"resolved", resolved, now, false},
		{"before maintenance", sched, now, false},
		{"during maintenance", sched, now.Add(90 * time.Minute), true},
		{"after maintenance", sched, now.Add(2 * time.Hour), false},
	} {
		if got := tc.in.ActiveAt(tc.at); got != tc.want {
			t.Errorf("%s: ActiveAt = %v, want %v", tc.name, got, tc.want)
		}
	}
}
