package listing

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/target"
	"github.com/heckhq/heck/internal/wire"
)

// fleet is a Source that counts the statuses it builds.
type fleet struct {
	ts     []wire.TargetStatus
	gone   map[string]bool // listed ids whose targets went away
	built  int
	states int
	specs  int
}

func (f *fleet) Len() int        { return len(f.ts) }
func (f *fleet) ID(i int) string { return f.ts[i].ID }
func (f *fleet) Spec(i int) *target.Spec {
	f.specs++
	if f.gone[f.ts[i].ID] {
		return nil
	}
	return &f.ts[i].Spec
}
func (f *fleet) State(i int) health.State { f.states++; return f.ts[i].State }
func (f *fleet) Status(i int) (wire.TargetStatus, bool) {
	f.built++
	return f.ts[i], !f.gone[f.ts[i].ID]
}

func status(id string, kind target.Kind, st health.State, labels map[string]string, url string) wire.TargetStatus {
	spec := target.Spec{ID: id, Name: strings.ToUpper(id), Kind: kind, Labels: labels, URL: url}
	if kind != target.KindHTTP {
		spec.URL, spec.Address = "", url
	}
	ts := wire.StatusOf(spec)
	ts.State = st
	return ts
}

func sample() *fleet {
	return &fleet{ts: []wire.TargetStatus{
		status("api", target.KindHTTP, health.Up, map[string]string{"env": "prod", "team": "core"}, "http://127.0.0.1:8080/healthz"),
		status("cache", target.KindTCP, health.Down, map[string]string{"env": "prod"}, "127.0.0.1:6379"),
		status("db", target.KindTCP, health.Up, map[string]string{"env": "staging"}, "127.0.0.1:5432"),
		status("secret", target.KindHTTP, health.Late, nil, "http://admin:hunter2@127.0.0.1:9000/"),
		status("web", target.KindHTTP, health.Down, map[string]string{"env": "prod", "team": "Front"}, "http://127.0.0.1:8081/"),
	}}
}

func ids(p Page) []string {
	out := make([]string, len(p.Targets))
	for i, t := range p.Targets {
		out[i] = t.ID
	}
	return out
}

func mustParse(t *testing.T, raw string) Query {
	t.Helper()
	v, err := url.ParseQuery(raw)
	if err != nil {
		t.Fatal(err)
	}
	q, errs := Parse(v)
	if len(errs) > 0 {
		t.Fatalf("Parse(%q): %v", raw, errs)
	}
	return q
}

func TestFilters(t *testing.T) {
	inPool := func(s *target.Spec) bool { return s.ID == "api" || s.ID == "web" }
	for _, tc := range []struct {
		query string
		pool  func(*target.Spec) bool
		want  []string
	}{
		{"", nil, []string{"api", "cache", "db", "secret", "web"}},
		{"state=up", nil, []string{"api", "db"}},
		{"state=down,late", nil, []string{"cache", "secret", "web"}},
		{"state=down&state=up", nil, []string{"api", "cache", "db", "web"}},
		{"state=degraded", nil, []string{}},
		{"kind=tcp", nil, []string{"cache", "db"}},
		{"label=env=prod", nil, []string{"api", "cache", "web"}},
		{"label=env=prod&label=team=core", nil, []string{"api"}},
		{"label=team=", nil, []string{}},
		{"label=env=PROD", nil, []string{}},
		{"pool=edge", inPool, []string{"api", "web"}},
		{"pool=edge", nil, []string{}},
		{"q=WEB", nil, []string{"web"}},         // id, any case
		{"q=front", nil, []string{"web"}},       // label value, folded
		{"q=team", nil, []string{"api", "web"}}, // label name
		{"q=6379", nil, []string{"cache"}},      // address
		{"q=8081/", nil, []string{"web"}},       // url
		{"q=hunter2", nil, []string{}},          // password in the URL is not searched
		{"q=admin", nil, []string{}},            // nor the user
		{"q=127.0.0.1:9000", nil, []string{"secret"}},
		{"q=ÄPI", nil, []string{}},
		{"state=down&kind=http&label=env=prod&q=web", nil, []string{"web"}},
		{"state=up&kind=tcp", nil, []string{"db"}},
		{"pool=edge&state=down", inPool, []string{"web"}},
	} {
		t.Run(tc.query, func(t *testing.T) {
			q := mustParse(t, tc.query)
			q.InPool = tc.pool
			f := sample()
			got := ids(List(f, &q))
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			if f.built != len(tc.want) {
				t.Errorf("built %d statuses for %d shown", f.built, len(tc.want))
			}
			if len(q.States) == 0 && f.states != 0 {
				t.Errorf("asked for %d states without a state filter", f.states)
			}
			if tc.query == "" || strings.HasPrefix(tc.query, "state=") && !strings.Contains(tc.query, "&") {
				if f.specs != 0 {
					t.Errorf("read %d specs without a spec filter", f.specs)
				}
			}
		})
	}
}

func TestTextNonASCII(t *testing.T) {
	f := &fleet{ts: []wire.TargetStatus{
		status("a", target.KindHTTP, health.Up, map[string]string{"city": "Zürich"}, ""),
		status("b", target.KindHTTP, health.Up, nil, ""),
	}}
	q := mustParse(t, "q=ZÜRICH")
	if got := ids(List(f, &q)); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("got %v", got)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		query  string
		fields []string
	}{
		{"state=sideways", []string{"state"}},
		{"state=up,nope", []string{"state"}},
		{"kind=carrier-pigeon", []string{"kind"}},
		{"label=env", []string{"label"}},
		{"label==prod", []string{"label"}},
		{"limit=abc", []string{"limit"}},
		{"limit=0", []string{"limit"}},
		{"limit=-5", []string{"limit"}},
		{"limit=1001", []string{"limit"}},
		{"limit=", []string{"limit"}},
		{"cursor=!!!", []string{"cursor"}},
		{"cursor=", []string{"cursor"}},
		{"cursor=" + EncodeCursor(string([]byte{0xff, 0xfe})), []string{"cursor"}},
		{"q=" + strings.Repeat("x", MaxText+1), []string{"q"}},
		{"limit=x&state=no&kind=no", []string{"kind", "limit", "state"}},
	} {
		t.Run(tc.query, func(t *testing.T) {
			v, _ := url.ParseQuery(tc.query)
			_, errs := Parse(v)
			var fields []string
			for _, e := range errs {
				fields = append(fields, e.Field)
				if e.Problem == "" || e.Fix == "" {
					t.Errorf("%s: problem %q fix %q: both must be said", e.Field, e.Problem, e.Fix)
				}
			}
			if !slices.Equal(fields, tc.fields) {
				t.Fatalf("fields %v, want %v (%v)", fields, tc.fields, errs)
			}
		})
	}
}

func TestParseLimits(t *testing.T) {
	for _, tc := range []struct {
		query string
		limit int
		after string
	}{
		{"", 0, ""},
		{"limit=1", 1, ""},
		{"limit=1000", 1000, ""},
		{"cursor=" + EncodeCursor("api"), DefaultLimit, "api"},
		{"cursor=" + EncodeCursor("api") + "&limit=7", 7, "api"},
		{"cursor=" + EncodeCursor("a/b c") + "=", DefaultLimit, "a/b c"}, // padded too
	} {
		q := mustParse(t, tc.query)
		if q.Limit != tc.limit || q.After != tc.after || q.Paged() != (tc.limit > 0) {
			t.Errorf("%q: limit %d after %q, want %d %q", tc.query, q.Limit, q.After, tc.limit, tc.after)
		}
	}
}

// walkPages follows cursors from the first page, returning every page.
func walkPages(t *testing.T, src Source, raw string, between func(page int)) [][]string {
	t.Helper()
	var pages [][]string
	cursor := ""
	for range 100 {
		r := raw
		if cursor != "" {
			r += "&cursor=" + cursor
		}
		q := mustParse(t, r)
		p := List(src, &q)
		pages = append(pages, ids(p))
		if p.Next == "" {
			return pages
		}
		if between != nil {
			between(len(pages))
		}
		cursor = p.Next
	}
	t.Fatal("no last page after 100")
	return nil
}

func TestPages(t *testing.T) {
	for _, tc := range []struct {
		query string
		want  [][]string
	}{
		{"limit=2", [][]string{{"api", "cache"}, {"db", "secret"}, {"web"}}},
		{"limit=5", [][]string{{"api", "cache", "db", "secret", "web"}}}, // exact fit: no empty next page
		{"limit=4", [][]string{{"api", "cache", "db", "secret"}, {"web"}}},
		{"limit=1000", [][]string{{"api", "cache", "db", "secret", "web"}}},
		{"limit=1&state=down", [][]string{{"cache"}, {"web"}}},
		{"limit=2&label=env=prod", [][]string{{"api", "cache"}, {"web"}}},
		{"limit=2&state=degraded", [][]string{{}}},
	} {
		t.Run(tc.query, func(t *testing.T) {
			got := walkPages(t, sample(), tc.query, nil)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("pages %v, want %v", got, tc.want)
			}
		})
	}
}

func TestPageBuildsOnlyItsTargets(t *testing.T) {
	f := &fleet{}
	for i := range 1000 {
		f.ts = append(f.ts, status(fmt.Sprintf("t%04d", i), target.KindHTTP, health.Up, nil, ""))
	}
	q := mustParse(t, "limit=10&cursor="+EncodeCursor("t0500"))
	p := List(f, &q)
	if got := ids(p); got[0] != "t0501" || got[9] != "t0510" || len(got) != 10 {
		t.Fatalf("page %v", got)
	}
	if f.built != 10 {
		t.Errorf("built %d statuses for a page of 10", f.built)
	}
	if after, _ := DecodeCursor(p.Next); after != "t0510" {
		t.Errorf("next cursor names %q, want t0510", after)
	}
}

// Targets added or removed between pages neither repeat nor skip a target
// that stayed: the cursor is the last id shown, not an offset.
func TestPagesStableUnderChange(t *testing.T) {
	mk := func(names ...string) []wire.TargetStatus {
		var out []wire.TargetStatus
		for _, n := range names {
			out = append(out, status(n, target.KindHTTP, health.Up, nil, ""))
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		change func(f *fleet)
		want   [][]string
	}{
		{"remove the last shown", func(f *fleet) { f.ts = slices.Delete(f.ts, 1, 2) }, // b
			[][]string{{"a", "b"}, {"c", "d"}, {"e"}}},
		{"remove the next", func(f *fleet) { f.ts = slices.Delete(f.ts, 2, 3) }, // c
			[][]string{{"a", "b"}, {"d", "e"}}},
		{"add before the cursor", func(f *fleet) { f.ts = slices.Insert(f.ts, 0, mk("0")...) },
			[][]string{{"a", "b"}, {"c", "d"}, {"e"}}},
		{"add after the cursor", func(f *fleet) { f.ts = slices.Insert(f.ts, 2, mk("bb")...) },
			[][]string{{"a", "b"}, {"bb", "c"}, {"d", "e"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fleet{ts: mk("a", "b", "c", "d", "e")}
			changed := false
			got := walkPages(t, f, "limit=2", func(int) {
				if !changed {
					tc.change(f)
					changed = true
				}
			})
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("pages %v, want %v", got, tc.want)
			}
		})
	}
}

// A snapshot's target that is gone by the time it is read is skipped,
// filtered or not.
func TestGoneTargetsSkipped(t *testing.T) {
	for _, raw := range []string{"", "limit=2", "label=env=prod", "state=down"} {
		f := sample()
		f.gone = map[string]bool{"cache": true, "db": true}
		var got []string
		for _, p := range walkPages(t, f, raw, nil) {
			got = append(got, p...)
		}
		want := []string{"api", "secret", "web"}
		switch raw {
		case "label=env=prod":
			want = []string{"api", "web"}
		case "state=down":
			want = []string{"web"}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%q: got %v, want %v", raw, got, want)
		}
	}
}

func TestWalkStopsOnError(t *testing.T) {
	f := sample()
	boom := errors.New("client went away")
	q := Query{}
	n := 0
	_, err := Walk(f, &q, func(*wire.TargetStatus) error {
		n++
		if n == 2 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || n != 2 {
		t.Fatalf("err %v after %d, want %v after 2", err, n, boom)
	}
}

func TestFromStatuses(t *testing.T) {
	// Unsorted, and statuses without a spec: the filters read the status.
	ts := []wire.TargetStatus{
		{ID: "z", Kind: target.KindTCP, Labels: map[string]string{"env": "prod"}, State: health.Down},
		{ID: "m", Kind: target.KindHTTP, State: health.Up},
		{ID: "a", Kind: target.KindTCP, State: health.Up, Name: "Alpha"},
	}
	src := FromStatuses(ts)
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"", []string{"a", "m", "z"}},
		{"kind=tcp", []string{"a", "z"}},
		{"label=env=prod", []string{"z"}},
		{"q=alp", []string{"a"}},
		{"state=up&limit=1", []string{"a"}},
	} {
		q := mustParse(t, tc.query)
		if got := ids(List(src, &q)); !slices.Equal(got, tc.want) {
			t.Errorf("%q: got %v, want %v", tc.query, got, tc.want)
		}
	}
}

func TestCursorRoundTrip(t *testing.T) {
	for _, id := range []string{"a", "web-1", "with space/and?query", "ünï"} {
		c := EncodeCursor(id)
		if strings.ContainsAny(c, "+/=&?") {
			t.Errorf("cursor %q of %q is not URL-safe", c, id)
		}
		got, err := DecodeCursor(c)
		if err != nil || got != id {
			t.Errorf("DecodeCursor(EncodeCursor(%q)) = %q, %v", id, got, err)
		}
	}
}

func TestCount(t *testing.T) {
	for _, tc := range []struct {
		query string
		total int
		by    map[health.State]int
	}{
		{"", 5, map[health.State]int{health.Up: 2, health.Down: 2, health.Late: 1}},
		{"limit=1&cursor=" + EncodeCursor("web"), 5, map[health.State]int{health.Up: 2, health.Down: 2, health.Late: 1}}, // paging ignored
		{"label=env=prod", 3, map[health.State]int{health.Up: 1, health.Down: 2}},
		{"state=down&kind=http", 1, map[health.State]int{health.Down: 1}},
		{"q=nothing-matches", 0, map[health.State]int{}},
	} {
		q := mustParse(t, tc.query)
		f := sample()
		total, by := Count(f, &q)
		if total != tc.total || fmt.Sprint(by) != fmt.Sprint(tc.by) {
			t.Errorf("%q: %d %v, want %d %v", tc.query, total, by, tc.total, tc.by)
		}
		if f.built != 0 {
			t.Errorf("%q: built %d statuses to count", tc.query, f.built)
		}
	}
}
