package incident

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/heckhq/heck/internal/objects"
	"github.com/heckhq/heck/internal/target"
)

// Limits on what an incident may hold.
const (
	MaxTitle    = 200
	MaxMessage  = 4096
	MaxBy       = 128
	MaxTargets  = 64
	MaxUpdates  = 200
	MaxSchedule = 31 * 24 * time.Hour
)

// Kind is the incident kind's registration: its name and validator.
var Kind = objects.Kind[Incident]{
	Name: "incident",
	Validate: func(key string, in Incident) error {
		if in.ID != key {
			return target.FieldError{Field: "id", Value: in.ID, Problem: fmt.Sprintf("does not match the key %q it is stored under", key),
				Fix: "store an incident under its own id"}
		}
		return in.Validate()
	},
}

// Collection is the replicated set of incidents.
type Collection = objects.Collection[Incident]

// Impacts lists every impact, least to worst.
var Impacts = []Impact{ImpactNone, ImpactMinor, ImpactMajor, ImpactCritical}

// rank is a status's place in Statuses (-1: not a status).
func rank(s Status) int { return slices.Index(Statuses, s) }

// ValidStatus reports whether s is one of Statuses.
func ValidStatus(s Status) bool { return rank(s) >= 0 }

func statusNames() string {
	n := make([]string, len(Statuses))
	for i, s := range Statuses {
		n[i] = string(s)
	}
	return strings.Join(n, ", ")
}

// Open reports whether the incident is not resolved.
func (in *Incident) Open() bool { return in.Status != Resolved }

// Scheduled reports whether the incident is a scheduled maintenance.
func (in *Incident) Scheduled() bool { return !in.ScheduledStart.IsZero() }

// Validate checks every field and reports every problem, each naming the
// field, the value and the fix.
func (in *Incident) Validate() error {
	var errs target.FieldErrors
	add := func(field, value, problem, fix string) {
		errs = append(errs, target.FieldError{Field: field, Value: value, Problem: problem, Fix: fix})
	}
	if !target.ValidID(in.ID) {
		add("id", in.ID, "is not a valid id", "use 1 to 128 letters, digits, '.', '_', ':' or '-', starting with a letter or digit (or leave it out to get one)")
	}
	switch t := strings.TrimSpace(in.Title); {
	case t == "":
		add("title", "", "is missing", "say in a few words what is wrong, e.g. \"Checkout is slow\"")
	case len(in.Title) > MaxTitle:
		add("title", in.Title[:32]+"...", fmt.Sprintf("is %d bytes long", len(in.Title)), fmt.Sprintf("keep it under %d bytes", MaxTitle))
	}
	if !ValidStatus(in.Status) {
		add("status", string(in.Status), "is not an incident status", "use one of "+statusNames())
	}
	if in.Impact != "" && !slices.Contains(Impacts, in.Impact) {
		add("impact", string(in.Impact), "is not an impact", "use one of none, minor, major, critical (or leave it out)")
	}
	if len(in.Targets) > MaxTargets {
		add("targets", fmt.Sprint(len(in.Targets)), "lists too many targets", fmt.Sprintf("attach at most %d targets", MaxTargets))
	}
	seen := map[string]int{}
	for i, id := range in.Targets {
		field := fmt.Sprintf("targets[%d]", i)
		if !target.ValidID(id) {
			add(field, id, "is not a valid target id", "use the id of a target (heck targets ls)")
		} else if j, dup := seen[id]; dup {
			add(field, id, fmt.Sprintf("is targets[%d] too", j), "list each affected target once")
		}
		seen[id] = i
	}
	if len(in.Transition) > 128 {
		add("transition", in.Transition[:32]+"...", "is too long to be a transition id", "give the id of a transition (GET /api/v1/transitions)")
	}
	if in.Created.IsZero() {
		add("created", "", "is missing", "give the time the incident was opened (the API sets it when left out)")
	}
	if len(in.CreatedBy) > MaxBy {
		add("created_by", in.CreatedBy[:32]+"...", fmt.Sprintf("is %d bytes long", len(in.CreatedBy)), fmt.Sprintf("keep it under %d bytes", MaxBy))
	}
	if len(in.Updates) > MaxUpdates {
		add("updates", fmt.Sprint(len(in.Updates)), "holds too many updates", fmt.Sprintf("keep at most %d; open a new incident for a new problem", MaxUpdates))
	}
	for i := range in.Updates {
		u := &in.Updates[i]
		at := fmt.Sprintf("updates[%d]", i)
		if u.At.IsZero() {
			add(at+".at", "", "is missing", "give the time of the update (the API sets it when left out)")
		}
		if !ValidStatus(u.Status) {
			add(at+".status", string(u.Status), "is not an incident status", "use one of "+statusNames())
		}
		switch m := strings.TrimSpace(u.Message); {
		case m == "":
			add(at+".message", "", "is missing", "say what is known, what is being done, or that it is fixed")
		case len(u.Message) > MaxMessage:
			add(at+".message", u.Message[:32]+"...", fmt.Sprintf("is %d bytes long", len(u.Message)), fmt.Sprintf("keep it under %d bytes", MaxMessage))
		}
		if len(u.By) > MaxBy {
			add(at+".by", u.By[:32]+"...", fmt.Sprintf("is %d bytes long", len(u.By)), fmt.Sprintf("keep it under %d bytes", MaxBy))
		}
		if i == 0 {
			continue
		}
		prev := &in.Updates[i-1]
		if !u.At.IsZero() && u.At.Before(prev.At) {
			add(at+".at", u.At.Format(time.RFC3339), "is before updates["+fmt.Sprint(i-1)+"] at "+prev.At.Format(time.RFC3339),
				"list updates oldest first")
		}
		if ValidStatus(u.Status) && ValidStatus(prev.Status) && rank(u.Status) < rank(prev.Status) {
			add(at+".status", string(u.Status), fmt.Sprintf("goes back from %s", prev.Status),
				fmt.Sprintf("post %s or a later status (in order: %s); to reopen a resolved incident, open a new one", prev.Status, statusNames()))
		}
	}
	if n := len(in.Updates); n > 0 && ValidStatus(in.Status) && in.Updates[n-1].Status != in.Status {
		add("status", string(in.Status), fmt.Sprintf("differs from the latest update's status %s", in.Updates[n-1].Status),
			"leave status to follow the updates (post an update to change it)")
	}
	switch {
	case in.Status == Resolved && in.Resolved.IsZero():
		add("resolved", "", "is missing on a resolved incident", "give the time it was resolved (posting a resolved update sets it)")
	case in.Status != Resolved && !in.Resolved.IsZero():
		add("resolved", in.Resolved.Format(time.RFC3339), "is set on an incident that is "+string(in.Status), "leave resolved out until a resolved update is posted")
	case !in.Resolved.IsZero() && !in.Created.IsZero() && in.Resolved.Before(in.Created):
		add("resolved", in.Resolved.Format(time.RFC3339), "is before created "+in.Created.Format(time.RFC3339), "resolve an incident after it was opened")
	}
	switch s, e := in.ScheduledStart, in.ScheduledEnd; {
	case s.IsZero() && e.IsZero():
	case s.IsZero():
		add("scheduled_start", "", "is missing while scheduled_end is set", "give both scheduled_start and scheduled_end, or neither")
	case e.IsZero():
		add("scheduled_end", "", "is missing while scheduled_start is set", "give both scheduled_start and scheduled_end, or neither")
	case !e.After(s):
		add("scheduled_end", e.Format(time.RFC3339), "is not after scheduled_start "+s.Format(time.RFC3339), "end the maintenance after it starts")
	case e.Sub(s) > MaxSchedule:
		add("scheduled_end", e.Format(time.RFC3339), "is more than 31 days after scheduled_start", "schedule at most 31 days at once")
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// Post appends u to the incident's updates and moves its status: the
// first resolved update sets Resolved. A zero u.At is now; an empty u.Status
// keeps the current status.
func (in *Incident) Post(u Update, now time.Time) {
	if u.At.IsZero() {
		u.At = now.UTC().Truncate(time.Second)
	}
	if u.Status == "" {
		u.Status = in.Status
	}
	in.Updates = append(in.Updates, u)
	switch {
	case u.Status != Resolved:
		in.Resolved = time.Time{}
	case in.Status != Resolved || in.Resolved.IsZero():
		in.Resolved = u.At // a note on a resolved incident keeps its time
	}
	in.Status = u.Status
}

// Prepare fills what a new incident may leave out, as the API does: an id,
// Created, the time of updates without one (now), Status (the latest
// update's, or investigating) and, for a resolved one, Resolved.
func (in *Incident) Prepare(now time.Time) {
	now = now.UTC().Truncate(time.Second)
	if in.ID == "" {
		in.ID = NewID()
	}
	if in.Created.IsZero() {
		in.Created = now
	}
	for i := range in.Updates {
		if in.Updates[i].At.IsZero() {
			in.Updates[i].At = now
		}
	}
	if in.Status == "" {
		in.Status = Investigating
		if n := len(in.Updates); n > 0 {
			in.Status = in.Updates[n-1].Status
		}
	}
	if in.Status == Resolved && in.Resolved.IsZero() {
		in.Resolved = in.Created
		if n := len(in.Updates); n > 0 {
			in.Resolved = in.Updates[n-1].At
		}
	}
}

// ActiveAt reports whether the incident is shown as current at now: open,
// and for a scheduled maintenance not yet over.
func (in *Incident) ActiveAt(now time.Time) bool {
	if !in.Open() {
		return false
	}
	if in.Scheduled() {
		return !now.Before(in.ScheduledStart) && now.Before(in.ScheduledEnd)
	}
	return true
}

// Affects reports whether the incident names the target.
func (in *Incident) Affects(id string) bool { return slices.Contains(in.Targets, id) }

// NewID returns a fresh random incident id ("i-" and 12 hex digits).
func NewID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "i-" + hex.EncodeToString(b[:])
}
