package web

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/heckhq/heck/internal/history"
	"github.com/heckhq/heck/internal/wire"
)

// The charts are inline SVG drawn here, so pages need no script to show
// them. Colours come from CSS classes (light and dark themes).

type sparkSVG = template.HTML

// sparkline draws vals (ms, -1 for no checks) as a small line, with the
// slots that had failures marked.
func sparkline(vals []float64, fail []bool) sparkSVG {
	const w, h = 120.0, 28.0
	peak := 0.0
	any := false
	for _, v := range vals {
		if v >= 0 {
			any = true
			peak = max(peak, v)
		}
	}
	var b strings.Builder
	b.Grow(1024)
	fmt.Fprintf(&b, `<svg class="spark" viewBox="0 0 %g %g" width="%g" height="%g" role="img" aria-label="latency, last hour`, w, h, w, h)
	if any {
		fmt.Fprintf(&b, `, peak %s`, ms(time.Duration(peak*float64(time.Millisecond))))
	} else {
		b.WriteString(", no checks")
	}
	b.WriteString(`" preserveAspectRatio="none">`)
	if !any {
		b.WriteString(`</svg>`)
		return sparkSVG(b.String())
	}
	peak = max(peak, 1)
	step := w / float64(max(len(vals)-1, 1))
	b.WriteString(`<path class="spark-line" d="`)
	pen := false
	for i, v := range vals {
		if v < 0 {
			pen = false
			continue
		}
		x, y := float64(i)*step, h-1-(v/peak)*(h-3)
		if pen {
			fmt.Fprintf(&b, "L%.1f %.1f", x, y)
		} else {
			fmt.Fprintf(&b, "M%.1f %.1f", x, y)
			pen = true
		}
	}
	b.WriteString(`"/>`)
	for i, v := range vals {
		// A point with no neighbour draws no line: mark it.
		if v >= 0 && (i == 0 || vals[i-1] < 0) && (i == len(vals)-1 || vals[i+1] < 0) {
			fmt.Fprintf(&b, `<circle class="spark-dot" cx="%.1f" cy="%.1f" r="1.8"/>`, float64(i)*step, h-1-(v/peak)*(h-3))
		}
	}
	for i, f := range fail {
		if f {
			fmt.Fprintf(&b, `<rect class="spark-fail" x="%.1f" y="0" width="%.1f" height="%g"/>`, float64(i)*step-step/2, step, h)
		}
	}
	b.WriteString(`</svg>`)
	return sparkSVG(b.String())
}

// latencyChart draws p50, p95 and p99 of pts over [from, to).
func latencyChart(pts []history.Point, from, to time.Time) template.HTML {
	const w, h, left, bottom, top, right = 720.0, 240.0, 56.0, 24.0, 10.0, 10.0
	peak := time.Duration(0)
	for _, p := range pts {
		peak = max(peak, p.P99, p.P95, p.P50)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %g %g" role="img" aria-labelledby="chart-title"><title id="chart-title">Response time p50, p95 and p99 from %s to %s</title>`,
		w, h, stamp(from), stamp(to))
	if peak <= 0 || !to.After(from) {
		fmt.Fprintf(&b, `<text class="chart-empty" x="%g" y="%g" text-anchor="middle">no checks in this range</text></svg>`, w/2, h/2)
		return template.HTML(b.String())
	}
	top2 := niceCeil(peak)
	pw, ph := w-left-right, h-top-bottom
	x := func(t time.Time) float64 { return left + pw*float64(t.Sub(from))/float64(to.Sub(from)) }
	y := func(d time.Duration) float64 { return top + ph - ph*float64(d)/float64(top2) }
	for i := 0; i <= 4; i++ {
		d := top2 * time.Duration(i) / 4
		fmt.Fprintf(&b, `<line class="grid" x1="%g" x2="%g" y1="%.1f" y2="%.1f"/><text class="axis" x="%g" y="%.1f" text-anchor="end">%s</text>`,
			left, w-right, y(d), y(d), left-6, y(d)+4, tick(d))
	}
	for i := 0; i <= 4; i++ {
		t := from.Add(to.Sub(from) * time.Duration(i) / 4)
		layout := "15:04"
		if to.Sub(from) > 48*time.Hour {
			layout = "Jan 2"
		}
		anchor := "middle"
		if i == 0 {
			anchor = "start"
		} else if i == 4 {
			anchor = "end"
		}
		fmt.Fprintf(&b, `<text class="axis" x="%.1f" y="%g" text-anchor="%s">%s</text>`, x(t), h-6, anchor, t.UTC().Format(layout))
	}
	series := []struct {
		class string
		get   func(p *history.Point) time.Duration
	}{
		{"p99", func(p *history.Point) time.Duration { return p.P99 }},
		{"p95", func(p *history.Point) time.Duration { return p.P95 }},
		{"p50", func(p *history.Point) time.Duration { return p.P50 }},
	}
	for _, s := range series {
		fmt.Fprintf(&b, `<path class="line %s" d="`, s.class)
		for i := range pts {
			if pts[i].Count == 0 {
				continue
			}
			cmd := "L"
			if i == 0 || pts[i-1].Count == 0 {
				cmd = "M"
			}
			fmt.Fprintf(&b, "%s%.1f %.1f", cmd, x(pts[i].Start), y(s.get(&pts[i])))
		}
		b.WriteString(`"/>`)
		for i := range pts {
			// A point with no neighbour draws no line: mark it.
			if pts[i].Count > 0 && (i == 0 || pts[i-1].Count == 0) && (i == len(pts)-1 || pts[i+1].Count == 0) {
				fmt.Fprintf(&b, `<circle class="dot %s" cx="%.1f" cy="%.1f" r="3"/>`, s.class, x(pts[i].Start), y(s.get(&pts[i])))
			}
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// tick labels an axis value: 0, or a few significant digits of ms.
func tick(d time.Duration) string {
	if d <= 0 {
		return "0"
	}
	f := float64(d) / float64(time.Millisecond)
	if f < 10 {
		return strconv.FormatFloat(f, 'g', 3, 64) + " ms"
	}
	return ms(d)
}

// niceCeil rounds d up to 1, 2 or 5 times a power of ten milliseconds.
func niceCeil(d time.Duration) time.Duration {
	f := float64(d) / float64(time.Millisecond)
	if f <= 1 {
		return time.Millisecond
	}
	p := math.Pow(10, math.Floor(math.Log10(f)))
	for _, m := range []float64{1, 2, 5, 10} {
		if f <= m*p {
			return time.Duration(m * p * float64(time.Millisecond))
		}
	}
	return d
}

// day is one day of the 90-day bar.
type day struct {
	Start  time.Time
	Uptime float64 // -1: no checks
}

// uptimeBar draws one bar per day, coloured by the day's uptime.
func uptimeBar(days []day) template.HTML {
	const bw, gap, h = 6.0, 2.0, 32.0
	w := float64(len(days))*(bw+gap) - gap
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="bar90" viewBox="0 0 %g %g" role="img" aria-label="uptime per day, last %d days" preserveAspectRatio="none">`, w, h, len(days))
	for i, d := range days {
		class := "none"
		label := "no checks"
		switch {
		case d.Uptime < 0:
		case d.Uptime >= 0.999:
			class, label = "good", pct(d.Uptime)
		case d.Uptime >= 0.99:
			class, label = "fair", pct(d.Uptime)
		case d.Uptime >= 0.95:
			class, label = "poor", pct(d.Uptime)
		default:
			class, label = "bad", pct(d.Uptime)
		}
		fmt.Fprintf(&b, `<rect class="day %s" x="%g" y="0" width="%g" height="%g" rx="1"><title>%s: %s</title></rect>`,
			class, float64(i)*(bw+gap), bw, h, d.Start.UTC().Format("Jan 2"), label)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// daysOf turns daily history points into n days ending today.
func daysOf(pts []history.Point, from time.Time, n int) []day {
	days := make([]day, n)
	for i := range days {
		days[i] = day{Start: from.Add(time.Duration(i) * 24 * time.Hour), Uptime: -1}
	}
	for _, p := range pts {
		i := int(p.Start.Sub(from) / (24 * time.Hour))
		if i >= 0 && i < n && p.Count > 0 {
			days[i].Uptime = 1 - float64(p.Failures)/float64(p.Count)
		}
	}
	return days
}

// graphSVG draws the dependency graph in layers: targets that depend on
// nothing in the first column, each other one column right of the
// deepest thing it depends on. Root causes are drawn with a heavy outline.
func graphSVG(g wire.Graph, maxNodes int) (template.HTML, bool) {
	if len(g.Nodes) == 0 {
		return "", false
	}
	truncated := false
	if len(g.Nodes) > maxNodes {
		// Keep the failing ones first, then by id.
		sort.SliceStable(g.Nodes, func(i, j int) bool {
			fi, fj := g.Nodes[i].State.String() != "up", g.Nodes[j].State.String() != "up"
			if fi != fj {
				return fi
			}
			return g.Nodes[i].ID < g.Nodes[j].ID
		})
		g.Nodes = g.Nodes[:maxNodes]
		truncated = true
	}
	idx := map[string]int{}
	for i, n := range g.Nodes {
		idx[n.ID] = i
	}
	deps := make([][]int, len(g.Nodes))
	var edges []wire.GraphEdge
	for _, e := range g.Edges {
		f, ok1 := idx[e.From]
		t, ok2 := idx[e.To]
		if ok1 && ok2 {
			deps[f] = append(deps[f], t)
			edges = append(edges, e)
		}
	}
	layer := make([]int, len(g.Nodes))
	state := make([]int, len(g.Nodes)) // 0 new, 1 visiting, 2 done
	var visit func(i int) int
	visit = func(i int) int {
		if state[i] == 2 {
			return layer[i]
		}
		if state[i] == 1 {
			return 0 // a cycle (refused on write): break it
		}
		state[i] = 1
		l := 0
		for _, d := range deps[i] {
			l = max(l, visit(d)+1)
		}
		layer[i], state[i] = l, 2
		return l
	}
	cols := 0
	for i := range g.Nodes {
		cols = max(cols, visit(i)+1)
	}
	byCol := make([][]int, cols)
	for i := range g.Nodes {
		byCol[layer[i]] = append(byCol[layer[i]], i)
	}
	rows := 0
	for c := range byCol {
		sort.Slice(byCol[c], func(a, b int) bool { return g.Nodes[byCol[c][a]].ID < g.Nodes[byCol[c][b]].ID })
		rows = max(rows, len(byCol[c]))
	}
	const bw, bh, cgap, rgap, pad = 170.0, 40.0, 70.0, 14.0, 10.0
	pos := make([][2]float64, len(g.Nodes))
	for c, ids := range byCol {
		for r, i := range ids {
			pos[i] = [2]float64{pad + float64(c)*(bw+cgap), pad + float64(r)*(bh+rgap)}
		}
	}
	w := pad*2 + float64(cols)*(bw+cgap) - cgap
	h := pad*2 + float64(rows)*(bh+rgap) - rgap
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="graph" viewBox="0 0 %g %g" width="%g" role="img" aria-label="dependency graph: %d targets, %d dependencies">`, w, h, w, len(g.Nodes), len(edges))
	b.WriteString(`<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" class="arrowhead"/></marker></defs>`)
	for _, e := range edges {
		f, t := pos[idx[e.From]], pos[idx[e.To]]
		x1, y1 := f[0], f[1]+bh/2
		x2, y2 := t[0]+bw, t[1]+bh/2
		class := "edge"
		if !e.Critical {
			class += " soft"
		}
		fmt.Fprintf(&b, `<path class="%s" d="M%.1f %.1fC%.1f %.1f %.1f %.1f %.1f %.1f" marker-end="url(#arrow)"><title>%s depends on %s</title></path>`,
			class, x1, y1, x1-cgap/2, y1, x2+cgap/2, y2, x2, y2, html.EscapeString(e.From), html.EscapeString(e.To))
	}
	for i, n := range g.Nodes {
		p := pos[i]
		class := "gnode st-" + n.State.String()
		if n.RootCause {
			class += " root"
		}
		label := n.ID
		if len(label) > 22 {
			label = label[:21] + "…"
		}
		sub := n.State.String()
		if n.RootCause {
			sub += " · root cause"
		}
		fmt.Fprintf(&b, `<a href="/targets/%s"><g class="%s"><rect x="%.1f" y="%.1f" width="%g" height="%g" rx="6"/><text x="%.1f" y="%.1f" class="gname">%s</text><text x="%.1f" y="%.1f" class="gstate">%s</text><title>%s: %s%s</title></g></a>`,
			html.EscapeString(url.PathEscape(n.ID)), class, p[0], p[1], bw, bh, p[0]+10, p[1]+17, html.EscapeString(label), p[0]+10, p[1]+32, html.EscapeString(sub),
			html.EscapeString(n.ID), n.State, html.EscapeString(causeSuffix(n.Cause)))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()), truncated
}

func causeSuffix(c string) string {
	if c == "" {
		return ""
	}
	return " (" + c + ")"
}
