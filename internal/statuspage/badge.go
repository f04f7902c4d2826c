package statuspage

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"strings"
	"time"
)

// Badges, in the manner of Gatus: /badge/{target}/status.svg,
// /badge/{target}/uptime/{24h|7d|30d}.svg and
// /badge/{target}/response-time/{24h|7d|30d}.svg. A badge is public only
// for a target some status page shows, and is labelled with its display
// name there (the first page's, by page id); any other target answers 404,
// so badges do not tell which targets exist.

// Badge colours, best to worst (Gatus's scale).
const (
	ColourAwesome  = "#40cc11"
	ColourGreat    = "#94cc11"
	ColourGood     = "#ccd311"
	ColourPassable = "#ccb311"
	ColourBad      = "#cc8111"
	ColourVeryBad  = "#c7130a"
	ColourUnknown  = "#9f9f9f"
	ColourMaint    = "#3b72d9"
)

// Windows are the spans the uptime and response-time badges cover.
var Windows = map[string]time.Duration{"24h": 24 * time.Hour, "7d": 7 * 24 * time.Hour, "30d": 30 * 24 * time.Hour}

// UptimeColour is the colour of an uptime (percent).
func UptimeColour(pct float64) string {
	switch {
	case pct >= 97.5:
		return ColourAwesome
	case pct >= 95:
		return ColourGreat
	case pct >= 90:
		return ColourGood
	case pct >= 80:
		return ColourPassable
	case pct >= 65:
		return ColourBad
	default:
		return ColourVeryBad
	}
}

// ResponseTimeColour is the colour of a mean response time, by Gatus's
// default thresholds (50, 200, 300, 500, 750 ms).
func ResponseTimeColour(d time.Duration) string {
	switch ms := d.Milliseconds(); {
	case ms < 50:
		return ColourAwesome
	case ms < 200:
		return ColourGreat
	case ms < 300:
		return ColourGood
	case ms < 500:
		return ColourPassable
	case ms < 750:
		return ColourBad
	default:
		return ColourVeryBad
	}
}

// StateColour is the colour of a public state.
func StateColour(s string) string {
	switch s {
	case Operational:
		return ColourAwesome
	case Degraded:
		return ColourPassable
	case Outage:
		return ColourVeryBad
	case Maintenance:
		return ColourMaint
	default:
		return ColourUnknown
	}
}

// glyph widths of Verdana 11px (as shields.io measures), tenths of a
// pixel, for the printable ASCII range; other runes count as wide.
var glyphs = [95]int{
	// ' ' to '/'
	38, 39, 46, 82, 70, 121, 80, 27, 50, 50, 70, 82, 36, 46, 36, 50,
	// '0' to '?'
	70, 70, 70, 70, 70, 70, 70, 70, 70, 70, 50, 50, 82, 82, 82, 60,
	// '@' to 'O'
	110, 75, 76, 77, 85, 70, 63, 85, 84, 46, 50, 76, 61, 94, 82, 87,
	// 'P' to '_'
	66, 87, 77, 75, 68, 81, 75, 110, 75, 68, 75, 50, 50, 50, 82, 70,
	// '`' to 'o'
	70, 67, 69, 58, 69, 66, 39, 69, 70, 30, 38, 65, 30, 107, 70, 67,
	// 'p' to '~'
	69, 69, 47, 57, 43, 70, 65, 90, 65, 65, 58, 70, 50, 70, 82,
}

// TextWidth is the width in pixels of s set in Verdana 11px, rounded up.
func TextWidth(s string) int {
	w := 0
	for _, r := range s {
		if r >= ' ' && r <= '~' {
			w += glyphs[r-' ']
		} else {
			w += 110
		}
	}
	return (w + 9) / 10
}

// Badge renders a flat two-part badge: label on grey, value on colour.
func Badge(label, value, colour string) []byte {
	lw, vw := TextWidth(label)+10, TextWidth(value)+10
	total := lw + vw
	l, v := html.EscapeString(label), html.EscapeString(value)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="20" role="img" aria-label="%s: %s">`, total, l, v)
	fmt.Fprintf(&b, `<title>%s: %s</title>`, l, v)
	b.WriteString(`<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>`)
	fmt.Fprintf(&b, `<clipPath id="r"><rect width="%d" height="20" rx="3" fill="#fff"/></clipPath>`, total)
	fmt.Fprintf(&b, `<g clip-path="url(#r)"><rect width="%d" height="20" fill="#555"/><rect x="%d" width="%d" height="20" fill="%s"/><rect width="%d" height="20" fill="url(#s)"/></g>`,
		lw, lw, vw, colour, total)
	b.WriteString(`<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11">`)
	fmt.Fprintf(&b, `<text x="%.1f" y="15" fill="#010101" fill-opacity=".3">%s</text><text x="%.1f" y="14">%s</text>`, float64(lw)/2, l, float64(lw)/2, l)
	fmt.Fprintf(&b, `<text x="%.1f" y="15" fill="#010101" fill-opacity=".3">%s</text><text x="%.1f" y="14">%s</text>`, float64(lw)+float64(vw)/2, v, float64(lw)+float64(vw)/2, v)
	b.WriteString(`</g></svg>`)
	return []byte(b.String())
}

// publicName returns the display name the pages show the target under,
// and false when no page shows it.
func (h *Handler) publicName(ctx context.Context, id string) (string, bool) {
	pages := h.src.Pages(ctx)
	best, found, bestPage := "", false, ""
	for i := range pages {
		if n, ok := pages[i].Shows(id); ok && (!found || pages[i].ID < bestPage) {
			best, found, bestPage = n, true, pages[i].ID
		}
	}
	return best, found
}

// badgeTTL is how long a badge may be cached (README renderers proxy and
// cache images; a minute keeps them near live).
const badgeTTL = 60 * time.Second

func (h *Handler) serveBadge(w http.ResponseWriter, r *http.Request, parts []string) {
	notFound := func(why string) {
		w.Header().Set("Cache-Control", "no-store")
		http.Error(w, why, http.StatusNotFound)
	}
	if len(parts) < 2 || len(parts) > 3 {
		notFound("no such badge; use /badge/{target}/status.svg, /badge/{target}/uptime/{24h|7d|30d}.svg or /badge/{target}/response-time/{24h|7d|30d}.svg")
		return
	}
	id := parts[0]
	name, ok := h.publicName(r.Context(), id)
	if !ok {
		notFound("no public target " + id + "; a badge is served only for a target shown on a status page")
		return
	}
	now := h.now()
	key := name + "\x00" + strings.Join(parts, "/")
	h.mu.Lock()
	c, hit := h.badges[key]
	h.mu.Unlock()
	if hit && now.Sub(c.at) < cacheTTL {
		writeBadge(w, c.svg)
		return
	}
	var svg []byte
	switch {
	case len(parts) == 2 && parts[1] == "status.svg":
		st := Unknown
		if cur, ok := h.src.Current(r.Context(), id); ok {
			st = cur.State
		}
		svg = Badge(name, strings.ToLower(StateText(st)), StateColour(st))
	case len(parts) == 3 && (parts[1] == "uptime" || parts[1] == "response-time"):
		win, ok := strings.CutSuffix(parts[2], ".svg")
		d, known := Windows[win]
		if !ok || !known {
			notFound("no such badge window " + parts[2] + "; use 24h.svg, 7d.svg or 30d.svg")
			return
		}
		sum, err := h.src.Window(r.Context(), id, d, now)
		if err != nil {
			h.log.Error("badge", "target", id, "err", err)
			w.Header().Set("Cache-Control", "no-store")
			http.Error(w, "the badge cannot be made right now", http.StatusServiceUnavailable)
			return
		}
		if parts[1] == "uptime" {
			label := name + " uptime " + win
			if u, ok := sum.Uptime(); ok {
				pct := round2(u * 100)
				svg = Badge(label, trimPct(pct), UptimeColour(pct))
			} else {
				svg = Badge(label, "no data", ColourUnknown)
			}
		} else {
			label := name + " response time " + win
			if m, ok := sum.MeanLatency(); ok {
				svg = Badge(label, fmt.Sprintf("%dms", m.Milliseconds()), ResponseTimeColour(m))
			} else {
				svg = Badge(label, "no data", ColourUnknown)
			}
		}
	default:
		notFound("no such badge; use status.svg, uptime/{24h|7d|30d}.svg or response-time/{24h|7d|30d}.svg")
		return
	}
	h.mu.Lock()
	for k, c := range h.badges {
		if now.Sub(c.at) >= cacheTTL {
			delete(h.badges, k)
		}
	}
	h.badges[key] = cachedBadge{svg: svg, at: now}
	h.mu.Unlock()
	writeBadge(w, svg)
}

// writeBadge answers a badge; the cache (a public badge is read by many)
// holds only the badges of public targets, so it stays small.
func writeBadge(w http.ResponseWriter, svg []byte) {
	hd := w.Header()
	hd.Set("Content-Type", "image/svg+xml")
	hd.Set("Cache-Control", fmt.Sprintf("public, max-age=%d", int(badgeTTL.Seconds())))
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	_, _ = w.Write(svg)
}

// trimPct writes a percentage with at most two decimals, no trailing
// zeros ("99.95%", "100%").
func trimPct(p float64) string {
	s := strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.2f", p), "0"), ".")
	return s + "%"
}
