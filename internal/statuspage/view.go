package statuspage

import (
	"context"
	"fmt"
	"html/template"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/heckhq/heck/internal/incident"
)

// Public states, as a page shows them, best to worst.
const (
	Operational = "operational"
	Maintenance = "maintenance"
	Unknown     = "unknown"
	Degraded    = "degraded"
	Outage      = "outage"
)

var stateRank = map[string]int{Operational: 0, Maintenance: 1, Unknown: 2, Degraded: 3, Outage: 4}

// Worse returns the worse of two public states.
func Worse(a, b string) string {
	if stateRank[b] > stateRank[a] {
		return b
	}
	return a
}

// Current is what the public may know of a target now.
type Current struct {
	// State is one of the public states (Operational...).
	State string
	// Error is the text of the latest failure; shown only with ShowErrors.
	Error string
	// Latency of the latest result; shown only with ShowLatency.
	Latency time.Duration
}

// Summary sums a target's results over a span: Count results, Failures of
// them failed, LatencySum their latencies (microseconds).
type Summary struct {
	Count, Failures uint64
	LatencySum      uint64
}

// Uptime is the share of results that succeeded (0..1), and false with no
// results.
func (s Summary) Uptime() (float64, bool) {
	if s.Count == 0 {
		return 0, false
	}
	return float64(s.Count-s.Failures) / float64(s.Count), true
}

// MeanLatency is the mean latency, and false with no results.
func (s Summary) MeanLatency() (time.Duration, bool) {
	if s.Count == 0 {
		return 0, false
	}
	return time.Duration(s.LatencySum/s.Count) * time.Microsecond, true
}

// Scheduled is a planned maintenance of some targets, as the node knows it
// from its maintenance windows.
type Scheduled struct {
	Title      string
	Start, End time.Time
	Targets    []string
}

// Source is what the public pages and badges read. internal/node
// implements it; every method must be safe for concurrent use.
type Source interface {
	// Pages lists every status page.
	Pages(ctx context.Context) []Page
	// Current is the target's current state; false when there is none.
	Current(ctx context.Context, target string) (Current, bool)
	// Days sums the target's results into n UTC days, the last one today,
	// oldest first (cluster-wide).
	Days(ctx context.Context, target string, n int, now time.Time) ([]Summary, error)
	// Window sums the target's results over the last d.
	Window(ctx context.Context, target string, d time.Duration, now time.Time) (Summary, error)
	// Incidents lists every incident.
	Incidents(ctx context.Context) ([]incident.Incident, error)
	// Maintenance lists the planned maintenance of any of the targets
	// that is in force or starts within horizon of now.
	Maintenance(ctx context.Context, targets []string, now time.Time, horizon time.Duration) []Scheduled
}

// How far the page looks.
const (
	HistoryDays     = 90
	PastIncidents   = 14 * 24 * time.Hour
	UpcomingHorizon = 14 * 24 * time.Hour
)

// View is a page as the public sees it, for the HTML and the JSON form.
// It holds display names only: no target ids, URLs, addresses or node
// names, and error texts only when the page shows errors.
type View struct {
	Title       string         `json:"title"`
	Description string         `json:"description,omitempty"`
	State       string         `json:"state"`
	Summary     string         `json:"summary"`
	Updated     time.Time      `json:"updated"`
	Groups      []GroupView    `json:"groups"`
	Active      []IncidentView `json:"active_incidents"`
	Scheduled   []IncidentView `json:"scheduled_maintenance"`
	Past        []IncidentView `json:"past_incidents"`
	ShowLatency bool           `json:"-"`
	Days        []time.Time    `json:"-"`
}

// GroupView is a group of entries.
type GroupView struct {
	Name    string      `json:"name"`
	State   string      `json:"state"`
	Entries []EntryView `json:"entries"`
}

// EntryView is one target under its display name.
type EntryView struct {
	Name  string `json:"name"`
	State string `json:"state"`
	// Uptime over the days with data, percent; nil with none.
	Uptime *float64  `json:"uptime_90d,omitempty"`
	Days   []DayView `json:"days"`
	// LatencyMS when the page shows latency.
	LatencyMS *int64 `json:"latency_ms,omitempty"`
	// Error when the page shows errors and the target is failing.
	Error string `json:"error,omitempty"`
	// Bar is the uptime bar's HTML, built once (dates, fixed class
	// names and numbers only): 90 template actions per entry cost more
	// than the rest of the page.
	Bar template.HTML `json:"-"`
}

// DayView is one day of an entry's uptime bar.
type DayView struct {
	Date string `json:"date"`
	// Uptime percent; nil with no data.
	Uptime *float64 `json:"uptime,omitempty"`
	// Level is the bar's colour class: none, ok, minor, major, outage.
	Level string `json:"level"`
}

// IncidentView is an incident or a maintenance as the public sees it.
type IncidentView struct {
	Title    string       `json:"title"`
	Status   string       `json:"status"`
	Impact   string       `json:"impact,omitempty"`
	Affected []string     `json:"affected,omitempty"`
	Created  time.Time    `json:"created,omitzero"`
	Resolved time.Time    `json:"resolved,omitzero"`
	Start    time.Time    `json:"scheduled_start,omitzero"`
	End      time.Time    `json:"scheduled_end,omitzero"`
	Updates  []UpdateView `json:"updates,omitempty"`
}

// UpdateView is one update of an incident.
type UpdateView struct {
	At      time.Time `json:"at"`
	Status  string    `json:"status"`
	Message string    `json:"message"`
}

// DayLevel is the colour class of a day's uptime (percent).
func DayLevel(pct float64, ok bool) string {
	switch {
	case !ok:
		return "none"
	case pct >= 99.9:
		return "ok"
	case pct >= 99:
		return "minor"
	case pct >= 95:
		return "major"
	default:
		return "outage"
	}
}

var summaries = map[string]string{
	Operational: "All systems operational",
	Maintenance: "Maintenance in progress",
	Unknown:     "Status not yet known",
	Degraded:    "Some systems degraded",
	Outage:      "Some systems are down",
}

// Build builds the public view of p at now from src.
func Build(ctx context.Context, src Source, p *Page, now time.Time) (*View, error) {
	v := &View{Title: p.Title, Description: p.Description, Updated: now.UTC().Truncate(time.Second), ShowLatency: p.ShowLatency,
		Groups: []GroupView{}, Active: []IncidentView{}, Scheduled: []IncidentView{}, Past: []IncidentView{}}
	today := now.UTC().Truncate(24 * time.Hour)
	for i := HistoryDays - 1; i >= 0; i-- {
		v.Days = append(v.Days, today.AddDate(0, 0, -i))
	}
	names := map[string]string{} // target id → display name, first one on the page
	overall := Operational
	for _, g := range p.Groups {
		gv := GroupView{Name: g.Name, State: Operational, Entries: []EntryView{}}
		for _, e := range g.Entries {
			if _, ok := names[e.Target]; !ok {
				names[e.Target] = e.DisplayName
			}
			ev := EntryView{Name: e.DisplayName, State: Unknown}
			if cur, ok := src.Current(ctx, e.Target); ok {
				ev.State = cur.State
				if p.ShowErrors && (cur.State == Outage || cur.State == Degraded) {
					ev.Error = cur.Error
				}
				if p.ShowLatency && cur.Latency > 0 {
					ms := cur.Latency.Milliseconds()
					ev.LatencyMS = &ms
				}
			}
			days, err := src.Days(ctx, e.Target, HistoryDays, now)
			if err != nil {
				return nil, fmt.Errorf("status page %s: history of %q: %w", p.ID, e.DisplayName, err)
			}
			var total Summary
			for j, d := range v.Days {
				dv := DayView{Date: d.Format(time.DateOnly), Level: "none"}
				if j < len(days) {
					total.Count += days[j].Count
					total.Failures += days[j].Failures
					if u, ok := days[j].Uptime(); ok {
						pct := round2(u * 100)
						dv.Uptime, dv.Level = &pct, DayLevel(pct, true)
					}
				}
				ev.Days = append(ev.Days, dv)
			}
			if u, ok := total.Uptime(); ok {
				pct := round2(u * 100)
				ev.Uptime = &pct
			}
			ev.Bar = bar(ev.Days)
			gv.State = Worse(gv.State, ev.State)
			gv.Entries = append(gv.Entries, ev)
		}
		overall = Worse(overall, gv.State)
		v.Groups = append(v.Groups, gv)
	}
	ins, err := src.Incidents(ctx)
	if err != nil {
		return nil, fmt.Errorf("status page %s: incidents: %w", p.ID, err)
	}
	sort.Slice(ins, func(i, j int) bool { return ins[i].Created.After(ins[j].Created) })
	for i := range ins {
		in := &ins[i]
		affected, shown := affects(in, names)
		if !shown {
			continue
		}
		iv := incidentView(in, affected)
		switch {
		case in.Scheduled() && in.Open() && now.Before(in.ScheduledEnd):
			// A maintenance is scheduled or in progress, whatever the
			// status of its updates.
			iv.Status = "scheduled"
			if in.ActiveAt(now) {
				iv.Status = "in progress"
			}
			v.Scheduled = append(v.Scheduled, iv)
			if in.ActiveAt(now) {
				overall = Worse(overall, Maintenance)
			}
		case in.Open() && !in.Scheduled():
			v.Active = append(v.Active, iv)
			overall = Worse(overall, impactState(in.Impact))
		case !in.Open() && now.Sub(in.Resolved) <= PastIncidents:
			v.Past = append(v.Past, iv)
		}
	}
	for _, m := range src.Maintenance(ctx, p.Targets(), now, UpcomingHorizon) {
		var aff []string
		for _, id := range m.Targets {
			if n, ok := names[id]; ok && !slices.Contains(aff, n) {
				aff = append(aff, n)
			}
		}
		title := m.Title
		if title == "" {
			title = "Scheduled maintenance"
		}
		st := "scheduled"
		if !now.Before(m.Start) && now.Before(m.End) {
			st = "in progress"
		}
		v.Scheduled = append(v.Scheduled, IncidentView{Title: title, Status: st, Affected: aff, Start: m.Start, End: m.End})
	}
	sort.SliceStable(v.Scheduled, func(i, j int) bool { return v.Scheduled[i].Start.Before(v.Scheduled[j].Start) })
	v.State = overall
	v.Summary = summaries[overall]
	return v, nil
}

// impactState is the state an open incident of impact sets the page to.
func impactState(im incident.Impact) string {
	switch im {
	case incident.ImpactMajor, incident.ImpactCritical:
		return Outage
	case incident.ImpactNone:
		return Operational
	default:
		return Degraded
	}
}

// affects returns the display names of the page's targets the incident
// names, and whether the page shows it: an incident naming no target is
// shown on every page, one naming targets only on the pages showing one.
func affects(in *incident.Incident, names map[string]string) ([]string, bool) {
	if len(in.Targets) == 0 {
		return nil, true
	}
	var out []string
	for _, id := range in.Targets {
		if n, ok := names[id]; ok && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out, len(out) > 0
}

func incidentView(in *incident.Incident, affected []string) IncidentView {
	iv := IncidentView{Title: in.Title, Status: string(in.Status), Impact: string(in.Impact), Affected: affected,
		Created: in.Created, Resolved: in.Resolved, Start: in.ScheduledStart, End: in.ScheduledEnd}
	for i := len(in.Updates) - 1; i >= 0; i-- { // newest first
		u := in.Updates[i]
		iv.Updates = append(iv.Updates, UpdateView{At: u.At, Status: string(u.Status), Message: u.Message})
	}
	return iv
}

// bar renders the days of an uptime bar as spans, each with its level as
// its class and its date and uptime as its title.
func bar(days []DayView) template.HTML {
	var b strings.Builder
	b.Grow(len(days) * 56)
	for _, d := range days {
		b.WriteString(`<span class="`)
		b.WriteString(d.Level)
		b.WriteString(`" title="`)
		b.WriteString(template.HTMLEscapeString(d.Date))
		if d.Uptime != nil {
			b.WriteString(": ")
			b.WriteString(strconv.FormatFloat(*d.Uptime, 'f', 2, 64))
			b.WriteString("% up")
		} else {
			b.WriteString(": no data")
		}
		b.WriteString(`"></span>`)
	}
	return template.HTML(b.String())
}

func round2(f float64) float64 { return float64(int64(f*100)) / 100 }
