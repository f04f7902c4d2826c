package statuspage

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/incident"
	"github.com/heckhq/heck/internal/target"
)

var now = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)

// fake is a Source with fixed answers.
type fake struct {
	pages     []Page
	current   map[string]Current
	days      map[string][]Summary
	window    map[string]Summary
	incidents []incident.Incident
	maint     []Scheduled
}

func (f *fake) Pages(context.Context) []Page { return f.pages }
func (f *fake) Current(_ context.Context, id string) (Current, bool) {
	c, ok := f.current[id]
	return c, ok
}
func (f *fake) Days(_ context.Context, id string, n int, _ time.Time) ([]Summary, error) {
	out := make([]Summary, n)
	copy(out[n-min(n, len(f.days[id])):], f.days[id])
	return out, nil
}
func (f *fake) Window(_ context.Context, id string, _ time.Duration, _ time.Time) (Summary, error) {
	return f.window[id], nil
}
func (f *fake) Incidents(context.Context) ([]incident.Incident, error) { return f.incidents, nil }
func (f *fake) Maintenance(context.Context, []string, time.Time, time.Duration) []Scheduled {
	return f.maint
}

func validPage() Page {
	return Page{ID: "public", Title: "Example status", Groups: []Group{{Name: "Website", Entries: []Entry{{Target: "web-1", DisplayName: "Website"}}}}}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Page)
		want []string // substrings of the error; none: valid
	}{
		{"valid", func(*Page) {}, nil},
		{"valid host", func(p *Page) { p.Host = "status.example.com" }, nil},
		{"upper-case slug", func(p *Page) { p.ID = "Public" }, []string{`id: "Public" is not a valid page slug`, "write it in lower case (public)"}},
		{"slug with a dot", func(p *Page) { p.ID = "a.json" }, []string{`id: "a.json" is not a valid page slug`}},
		{"no title", func(p *Page) { p.Title = " " }, []string{"title: is missing"}},
		{"host with scheme", func(p *Page) { p.Host = "https://status.example.com" }, []string{"host:", "not a bare host name"}},
		{"host with port", func(p *Page) { p.Host = "status.example.com:80" }, []string{"not a bare host name"}},
		{"host upper", func(p *Page) { p.Host = "Status.example.com" }, []string{"upper-case", "status.example.com"}},
		{"host bad label", func(p *Page) { p.Host = "-x.example.com" }, []string{`has the label "-x"`}},
		{"no groups", func(p *Page) { p.Groups = nil }, []string{"groups: is empty"}},
		{"group without name", func(p *Page) { p.Groups[0].Name = "" }, []string{"groups[0].name: is missing"}},
		{"duplicate group", func(p *Page) { p.Groups = append(p.Groups, p.Groups[0]) }, []string{`groups[1].name: "Website" is the name of groups[0] too`}},
		{"empty group", func(p *Page) { p.Groups[0].Entries = nil }, []string{"groups[0].entries: is empty"}},
		{"bad target", func(p *Page) { p.Groups[0].Entries[0].Target = "no spaces" }, []string{`groups[0].entries[0].target: "no spaces" is not a valid target id`}},
		{"no display name", func(p *Page) { p.Groups[0].Entries[0].DisplayName = "" }, []string{"groups[0].entries[0].display_name: is missing"}},
		{"duplicate entry", func(p *Page) {
			p.Groups[0].Entries = append(p.Groups[0].Entries, Entry{Target: "web-1", DisplayName: "Again"})
		}, []string{`groups[0].entries[1].target: "web-1" is entries[0] of the group too`}},
		{"every problem at once", func(p *Page) { p.ID, p.Title, p.Groups[0].Entries[0].DisplayName = "", "", "" }, []string{"id:", "title:", "display_name:"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := validPage()
			tc.edit(&p)
			err := Kind.Validate(p.ID, p)
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
	if err := Kind.Validate("other", validPage()); err == nil || !strings.Contains(err.Error(), "does not match the key") {
		t.Fatalf("Validate under another key: %v", err)
	}
}

// leaky is a source whose targets have internal URLs, addresses, error
// texts and node names everywhere they could slip through.
func leaky(showErrors bool) *fake {
	p := Page{ID: "public", Title: "Example status", ShowErrors: showErrors, ShowLatency: true, Groups: []Group{
		{Name: "Website", Entries: []Entry{{Target: "web-internal-7", DisplayName: "Website"}}},
		{Name: "API", Entries: []Entry{{Target: "db-primary-127", DisplayName: "Database"}}},
	}}
	return &fake{
		pages: []Page{p},
		current: map[string]Current{
			"web-internal-7": {State: Operational, Latency: 12 * time.Millisecond},
			"db-primary-127": {State: Outage, Error: "dial tcp 127.0.0.1:5432: connect: connection refused (node-a)"},
		},
		days: map[string][]Summary{
			"web-internal-7": {{Count: 1440, Failures: 0}, {Count: 1440, Failures: 30}},
			"db-primary-127": {{Count: 1440, Failures: 1440}},
		},
		incidents: []incident.Incident{
			{ID: "i-1", Title: "Database outage", Status: incident.Identified, Impact: incident.ImpactMajor, Targets: []string{"db-primary-127"},
				Created: now.Add(-time.Hour), Updates: []incident.Update{{At: now.Add(-time.Hour), Status: incident.Investigating, Message: "Looking", By: "ann@node-a"},
					{At: now.Add(-30 * time.Minute), Status: incident.Identified, Message: "Found it"}}},
			{ID: "i-2", Title: "Old one", Status: incident.Resolved, Targets: []string{"web-internal-7"}, Created: now.Add(-72 * time.Hour),
				Resolved: now.Add(-70 * time.Hour), Updates: []incident.Update{{At: now.Add(-70 * time.Hour), Status: incident.Resolved, Message: "Fixed"}}},
			{ID: "i-3", Title: "Elsewhere", Status: incident.Investigating, Targets: []string{"other-target"}, Created: now},
			{ID: "i-4", Title: "Too old", Status: incident.Resolved, Created: now.Add(-30 * 24 * time.Hour), Resolved: now.Add(-20 * 24 * time.Hour)},
		},
		maint: []Scheduled{{Title: "Database upgrade", Start: now.Add(24 * time.Hour), End: now.Add(26 * time.Hour), Targets: []string{"db-primary-127"}}},
	}
}

func get(t testing.TB, h http.Handler, host, path string) (*http.Response, string) {
	t.Helper()
	r := httptest.NewRequest("GET", path, nil)
	if host != "" {
		r.Host = host
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	b, _ := io.ReadAll(w.Result().Body)
	return w.Result(), string(b)
}

func newHandler(src Source) *Handler {
	h := NewHandler(src, nil)
	h.now = func() time.Time { return now }
	return h
}

// Nothing internal leaks: not the target ids, not addresses, error texts
// or node names, in the HTML nor the JSON; error texts show only when
// the page chooses.
func TestNoLeak(t *testing.T) {
	secrets := []string{"127.0.0.1", "web-internal-7", "db-primary-127", "connection refused", "node-a", "5432", "Elsewhere", "Too old"}
	for _, path := range []string{"/status/public", "/status/public.json"} {
		res, body := get(t, newHandler(leaky(false)), "", path)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s = %d %s", path, res.StatusCode, body)
		}
		for _, s := range secrets {
			if strings.Contains(body, s) {
				t.Errorf("GET %s shows %q:\n%s", path, s, body)
			}
		}
		for _, want := range []string{"Example status", "Website", "Database", "Database outage", "Found it", "Old one", "Database upgrade"} {
			if !strings.Contains(body, want) {
				t.Errorf("GET %s does not show %q", path, want)
			}
		}
	}
	// ShowErrors shows the error text, by choice.
	_, body := get(t, newHandler(leaky(true)), "", "/status/public")
	if !strings.Contains(body, "connection refused") {
		t.Errorf("a page with show_errors does not show the error")
	}
}

func TestView(t *testing.T) {
	v, err := Build(context.Background(), leaky(false), &leaky(false).pages[0], now)
	if err != nil {
		t.Fatal(err)
	}
	if v.State != Outage || v.Summary != "Some systems are down" {
		t.Errorf("state = %s %q", v.State, v.Summary)
	}
	if len(v.Active) != 1 || len(v.Past) != 1 || len(v.Scheduled) != 1 {
		t.Fatalf("active %d past %d scheduled %d", len(v.Active), len(v.Past), len(v.Scheduled))
	}
	if got := v.Active[0]; got.Updates[0].Message != "Found it" || strings.Join(got.Affected, ",") != "Database" {
		t.Errorf("active incident = %+v (want newest update first, affected by display name)", got)
	}
	web := v.Groups[0].Entries[0]
	if len(web.Days) != HistoryDays || web.Days[HistoryDays-1].Level != "major" || web.Days[HistoryDays-2].Level != "ok" || web.Days[0].Level != "none" {
		t.Errorf("web days: last %+v, before %+v, first %+v", web.Days[HistoryDays-1], web.Days[HistoryDays-2], web.Days[0])
	}
	if web.Uptime == nil || *web.Uptime != 98.95 {
		t.Errorf("web uptime = %v, want 98.95", web.Uptime)
	}
	if web.LatencyMS == nil || *web.LatencyMS != 12 {
		t.Errorf("latency = %v", web.LatencyMS)
	}
}

func TestDayLevel(t *testing.T) {
	for _, tc := range []struct {
		pct  float64
		ok   bool
		want string
	}{{100, true, "ok"}, {99.9, true, "ok"}, {99.5, true, "minor"}, {97, true, "major"}, {50, true, "outage"}, {0, false, "none"}} {
		if got := DayLevel(tc.pct, tc.ok); got != tc.want {
			t.Errorf("DayLevel(%v, %v) = %s, want %s", tc.pct, tc.ok, got, tc.want)
		}
	}
}

func TestHosts(t *testing.T) {
	src := leaky(false)
	src.pages[0].Host = "status.example.com"
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "the UI") })
	h := newHandler(src).Hosts(next)
	tests := []struct {
		host, path, want string
	}{
		{"status.example.com", "/", "Example status"},
		{"STATUS.example.com:8443", "/", "Example status"},
		{"status.example.com.", "/", "Example status"},
		{"status.example.com", "/index.json", `"title": "Example status"`},
		{"status.example.com", "/targets", "the UI"},
		{"127.0.0.1:7800", "/", "the UI"},
		{"other.example.com", "/", "the UI"},
	}
	for _, tc := range tests {
		_, body := get(t, h, tc.host, tc.path)
		if !strings.Contains(body, tc.want) {
			t.Errorf("GET %s%s = %q, want %q", tc.host, tc.path, body[:min(len(body), 80)], tc.want)
		}
	}
}

func TestPageNotFound(t *testing.T) {
	h := newHandler(leaky(false))
	for _, p := range []string{"/status/nope", "/status/nope.json", "/status/"} {
		if res, _ := get(t, h, "", p); res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", p, res.StatusCode)
		}
	}
}

func TestBadges(t *testing.T) {
	src := leaky(false)
	src.window = map[string]Summary{
		"web-internal-7": {Count: 1000, Failures: 1, LatencySum: 1000 * 120_000},
		"db-primary-127": {Count: 100, Failures: 40, LatencySum: 100 * 900_000},
	}
	h := newHandler(src)
	tests := []struct {
		path, text, colour string
	}{
		{"/badge/web-internal-7/status.svg", "operational", ColourAwesome},
		{"/badge/db-primary-127/status.svg", "outage", ColourVeryBad},
		{"/badge/web-internal-7/uptime/24h.svg", "99.9%", ColourAwesome},
		{"/badge/db-primary-127/uptime/7d.svg", "60%", ColourVeryBad},
		{"/badge/web-internal-7/response-time/30d.svg", "120ms", ColourGreat},
		{"/badge/db-primary-127/response-time/24h.svg", "900ms", ColourVeryBad},
	}
	for _, tc := range tests {
		res, body := get(t, h, "", tc.path)
		if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "image/svg+xml" || !strings.Contains(res.Header.Get("Cache-Control"), "max-age=") {
			t.Fatalf("GET %s = %d %v", tc.path, res.StatusCode, res.Header)
		}
		var svg struct {
			XMLName xml.Name `xml:"svg"`
			Width   int      `xml:"width,attr"`
			Rects   []struct {
				Fill  string `xml:"fill,attr"`
				Width int    `xml:"width,attr"`
			} `xml:"g>rect"`
			Texts []string `xml:"g>text"`
		}
		if err := xml.Unmarshal([]byte(body), &svg); err != nil {
			t.Fatalf("GET %s: not XML: %v\n%s", tc.path, err, body)
		}
		if len(svg.Rects) < 2 || svg.Rects[1].Fill != tc.colour {
			t.Errorf("GET %s: rects %+v, want value colour %s", tc.path, svg.Rects, tc.colour)
		}
		if svg.Width != svg.Rects[0].Width+svg.Rects[1].Width {
			t.Errorf("GET %s: width %d is not label %d + value %d", tc.path, svg.Width, svg.Rects[0].Width, svg.Rects[1].Width)
		}
		if !strings.Contains(strings.Join(svg.Texts, "|"), tc.text) {
			t.Errorf("GET %s: texts %q, want %q", tc.path, svg.Texts, tc.text)
		}
		if strings.Contains(body, "internal") || strings.Contains(body, "127") {
			t.Errorf("GET %s leaks the target id: %s", tc.path, body)
		}
	}
	for _, p := range []string{"/badge/hidden/status.svg", "/badge/web-internal-7/uptime/1y.svg", "/badge/web-internal-7/uptime/24h", "/badge/web-internal-7/colour.svg", "/badge/web-internal-7"} {
		if res, _ := get(t, h, "", p); res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", p, res.StatusCode)
		}
	}
}

func TestColours(t *testing.T) {
	for _, tc := range []struct {
		pct  float64
		want string
	}{{100, ColourAwesome}, {97.5, ColourAwesome}, {96, ColourGreat}, {92, ColourGood}, {85, ColourPassable}, {70, ColourBad}, {10, ColourVeryBad}} {
		if got := UptimeColour(tc.pct); got != tc.want {
			t.Errorf("UptimeColour(%v) = %s, want %s", tc.pct, got, tc.want)
		}
	}
	for _, tc := range []struct {
		ms   int
		want string
	}{{10, ColourAwesome}, {50, ColourGreat}, {250, ColourGood}, {400, ColourPassable}, {600, ColourBad}, {2000, ColourVeryBad}} {
		if got := ResponseTimeColour(time.Duration(tc.ms) * time.Millisecond); got != tc.want {
			t.Errorf("ResponseTimeColour(%dms) = %s, want %s", tc.ms, got, tc.want)
		}
	}
}

func TestTextWidth(t *testing.T) {
	if a, b := TextWidth("iiii"), TextWidth("WWWW"); a >= b {
		t.Errorf("narrow %d >= wide %d", a, b)
	}
	if got := TextWidth("uptime"); got < 30 || got > 45 {
		t.Errorf("TextWidth(uptime) = %d, want about 37", got)
	}
	if TextWidth("") != 0 {
		t.Error("empty text has width")
	}
}

func TestJSONShape(t *testing.T) {
	_, body := get(t, newHandler(leaky(false)), "", "/status/public.json")
	var v map[string]any
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"title", "state", "groups", "active_incidents", "scheduled_maintenance", "past_incidents"} {
		if _, ok := v[k]; !ok {
			t.Errorf("JSON has no %q", k)
		}
	}
}

// counting counts the reads that cost a store read.
type counting struct {
	*fake
	days, windows int
}

func (c *counting) Days(ctx context.Context, id string, n int, now time.Time) ([]Summary, error) {
	c.days++
	return c.fake.Days(ctx, id, n, now)
}

func (c *counting) Window(ctx context.Context, id string, d time.Duration, now time.Time) (Summary, error) {
	c.windows++
	return c.fake.Window(ctx, id, d, now)
}

// A page and a badge are built once per cacheTTL however many read them;
// a changed page is built again at once.
func TestCache(t *testing.T) {
	src := &counting{fake: leaky(false)}
	h := newHandler(src)
	at := now
	h.now = func() time.Time { return at }
	for range 3 {
		get(t, h, "", "/status/public")
		get(t, h, "", "/badge/web-internal-7/uptime/24h.svg")
	}
	if src.days != 2 || src.windows != 1 { // two entries, one badge
		t.Fatalf("three reads cost %d day reads and %d window reads, want 2 and 1", src.days, src.windows)
	}
	src.pages[0].Title = "Renamed"
	if _, body := get(t, h, "", "/status/public"); !strings.Contains(body, "Renamed") || src.days != 4 {
		t.Fatalf("a changed page was not built again (%d day reads)", src.days)
	}
	at = at.Add(cacheTTL)
	get(t, h, "", "/badge/web-internal-7/uptime/24h.svg")
	if src.windows != 2 {
		t.Fatalf("a badge older than the TTL was served from the cache")
	}
}

// BenchmarkPage builds and renders a page of 50 entries with 90 days of
// history each, with the cache defeated: the cost of one rebuild.
func BenchmarkPage(b *testing.B) {
	src := leaky(false)
	var entries []Entry
	for i := range 50 {
		id := "t" + strings.Repeat("x", i%5) + string(rune('a'+i%26)) + string(rune('a'+i/26))
		entries = append(entries, Entry{Target: id, DisplayName: "Service " + id})
		days := make([]Summary, HistoryDays)
		for d := range days {
			days[d] = Summary{Count: 8640, Failures: uint64(d % 7)}
		}
		src.days[id] = days
		src.current[id] = Current{State: Operational}
	}
	src.pages[0].Groups = []Group{{Name: "All", Entries: entries}}
	h := newHandler(src)
	b.ReportAllocs()
	for b.Loop() {
		h.mu.Lock()
		clear(h.cache)
		h.mu.Unlock()
		if res, _ := get(b, h, "", "/status/public"); res.StatusCode != http.StatusOK {
			b.Fatal(res.StatusCode)
		}
	}
}
