package web

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/heckhq/heck/internal/events"
	"github.com/heckhq/heck/internal/flap"
	"github.com/heckhq/heck/internal/history"
	"github.com/heckhq/heck/internal/listing"
	"github.com/heckhq/heck/internal/store"
	"github.com/heckhq/heck/internal/target"
	"github.com/heckhq/heck/internal/wire"
)

// The states the dashboard filters and counts, in the order it shows them.
var dashStates = []string{"down", "impacted", "degraded", "late", "flapping", "stale", "unknown", "up"}

// row is one target on the dashboard.
type row struct {
	ID, Name, Kind, State, Cause string
	Since                        time.Time
	Latency                      time.Duration
	Labels                       []string
	Spark                        sparkSVG
	Uptime                       history.Uptime
	HasStats                     bool
	Silenced, Maintenance        bool
}

type stateCount struct {
	State string
	N     int
}

type dashboard struct {
	Rows     []row
	Counts   []stateCount
	Total    int
	Matched  int
	Query    dashQuery
	Pools    []string
	Prev     string
	Next     string
	PageFrom int
	PageTo   int
}

// dashQuery is the dashboard's search and filters.
type dashQuery struct {
	Q, State, Label, Pool string
	Page                  int
}

func (q dashQuery) values() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"q": q.Q, "state": q.State, "label": q.Label, "pool": q.Pool} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if q.Page > 0 {
		v.Set("page", strconv.Itoa(q.Page))
	}
	return v
}

func parseDashQuery(v url.Values) dashQuery {
	q := dashQuery{Q: strings.TrimSpace(v.Get("q")), State: v.Get("state"), Label: strings.TrimSpace(v.Get("label")), Pool: v.Get("pool")}
	if !slices.Contains(dashStates, q.State) {
		q.State = ""
	}
	if n, err := strconv.Atoi(v.Get("page")); err == nil && n > 0 {
		q.Page = n
	}
	return q
}

func (h *Handler) dashboard(w http.ResponseWriter, r *http.Request, v visitor) {
	d, probs := h.buildDashboard(r.Context(), parseDashQuery(r.URL.Query()))
	p := h.newPage(r, v, "Dashboard", "dashboard", d)
	p.Problems = probs
	h.render(w, r, http.StatusOK, "dashboard", p)
}

// rowsFragment serves the rows of ids (?id=a&id=b), for the live updates
// to refresh sparklines without a reload.
func (h *Handler) rowsFragment(w http.ResponseWriter, r *http.Request, v visitor) {
	ids := r.URL.Query()["id"]
	if len(ids) > h.o.PageSize {
		ids = ids[:h.o.PageSize]
	}
	flapping := h.flappingSet(r.Context(), time.Now())
	var rows []row
	for _, id := range ids {
		h.stats.drop(id) // asked for after a change: read it again
		if ts, ok := h.d.Targets.Target(r.Context(), id); ok {
			rows = append(rows, makeRow(&ts, flapping[ts.ID]))
		}
	}
	h.fillStats(r.Context(), rows)
	h.render(w, r, http.StatusOK, "rows", h.newPage(r, v, "", "", dashboard{Rows: rows}))
}

// buildDashboard lists, filters and pages the targets and fills the
// page's rows with their sparklines and uptime. The rows are ordered
// worst state first, then by id, so that what needs looking at is on the
// first page of a wall screen.
func (h *Handler) buildDashboard(ctx context.Context, q dashQuery) (dashboard, []problemLine) {
	now := time.Now()
	lq, probs := h.listingQuery(ctx, q)
	all := h.d.Targets.Targets(ctx)
	flapping := h.flappingSet(ctx, now)
	d := dashboard{Total: len(all), Query: q, Pools: h.poolNames(ctx)}
	counts := map[string]int{}
	kept := make([]int, 0, len(all))
	states := make([]string, len(all))
	for i := range all {
		t := &all[i]
		st := stateName(t.State, t.Stale, flapping[t.ID])
		states[i] = st
		counts[st]++
		if len(probs) > 0 || (q.State == "flapping" && st != "flapping") {
			continue
		}
		if spec := specOf(t); lq.Match(&spec, t.State) {
			kept = append(kept, i)
		}
	}
	// Every state has its box (the live updates count into it); the
	// empty ones are dimmed.
	for _, s := range dashStates {
		d.Counts = append(d.Counts, stateCount{State: s, N: counts[s]})
	}
	rank := map[string]int{}
	for i, s := range dashStates {
		rank[s] = i
	}
	sort.Slice(kept, func(a, b int) bool {
		ia, ib := kept[a], kept[b]
		if ra, rb := rank[states[ia]], rank[states[ib]]; ra != rb {
			return ra < rb
		}
		return all[ia].ID < all[ib].ID
	})
	d.Matched = len(kept)
	size := h.o.PageSize
	pages := max((len(kept)+size-1)/size, 1)
	q.Page = min(max(q.Page, 1), pages)
	from := (q.Page - 1) * size
	to := min(from+size, len(kept))
	d.PageFrom, d.PageTo = from+1, to
	if q.Page > 1 {
		p := q
		p.Page--
		d.Prev = "/?" + p.values().Encode()
	}
	if q.Page < pages {
		p := q
		p.Page++
		d.Next = "/?" + p.values().Encode()
	}
	d.Rows = make([]row, 0, to-from)
	for _, i := range kept[from:to] {
		rw := makeRow(&all[i], flapping[all[i].ID])
		rw.State = states[i]
		d.Rows = append(d.Rows, rw)
	}
	h.fillStats(ctx, d.Rows)
	return d, probs
}

// specOf is the spec the listing's filters read: the status's, with the
// id, name, kind and labels the status shows.
func specOf(t *wire.TargetStatus) target.Spec {
	s := t.Spec
	if s.ID == "" {
		s.ID = t.ID
	}
	if s.Name == "" {
		s.Name = t.Name
	}
	if s.Kind == "" {
		s.Kind = t.Kind
	}
	if s.Labels == nil {
		s.Labels = t.Labels
	}
	return s
}

func makeRow(t *wire.TargetStatus, flapping bool) row {
	rw := row{ID: t.ID, Name: t.Name, Kind: string(t.Kind), State: stateName(t.State, t.Stale, flapping), Cause: t.Cause,
		Since: t.Since, Silenced: t.Silenced, Maintenance: t.Maintenance}
	if t.Last != nil {
		rw.Latency = t.Last.Latency
	}
	for k, v := range t.Labels {
		rw.Labels = append(rw.Labels, k+"="+v)
	}
	sort.Strings(rw.Labels)
	return rw
}

// dashQuery parses q into the listing's query (the API's filters: the
// same parsing, problems and matching); "flapping", which is not a health
// state, is left to the caller.
func (h *Handler) listingQuery(ctx context.Context, q dashQuery) (listing.Query, []problemLine) {
	v := url.Values{}
	if q.State != "" && q.State != "flapping" {
		v.Set("state", q.State)
	}
	if q.Label != "" {
		v.Set("label", q.Label)
	}
	if q.Q != "" {
		v.Set("q", q.Q)
	}
	lq, fes := listing.Parse(v)
	probs := linesOf(fes)
	if q.Pool != "" {
		found := false
		if h.d.Pools != nil {
			for _, pv := range h.d.Pools.PoolViews(ctx) {
				if pv.Name == q.Pool {
					spec := pv.Spec
					lq.Pool, lq.InPool, found = q.Pool, spec.Includes, true
				}
			}
		}
		if !found {
			probs = append(probs, problemLine{Field: "pool", Value: q.Pool, Problem: "is not a pool", Fix: "pick one of the pools listed"})
		}
	}
	return lq, probs
}

// poolNames are the pools the filter offers.
func (h *Handler) poolNames(ctx context.Context) []string {
	if h.d.Pools == nil {
		return nil
	}
	var out []string
	for _, v := range h.d.Pools.PoolViews(ctx) {
		out = append(out, v.Name)
	}
	sort.Strings(out)
	return out
}

// flapWindow is the window flapping is judged over, as the notifier's.
const flapWindow = 30 * time.Minute

// flappingSet names the targets flapping at now: their transitions of the
// last flapWindow weigh more than flap's high threshold (Nagios's percent
// state change, as notifications judge it).
func (h *Handler) flappingSet(ctx context.Context, now time.Time) map[string]bool {
	if h.d.Transitions == nil {
		return nil
	}
	ts, err := h.d.Transitions.QueryTransitions(ctx, store.TransitionQuery{From: now.Add(-flapWindow), Limit: 1000})
	if err != nil {
		h.log.Warn("web: recent transitions for flapping", "err", err)
		return nil
	}
	by := map[string][]time.Time{}
	for i := range ts {
		if ts[i].Type == "" {
			by[ts[i].TargetID] = append(by[ts[i].TargetID], ts[i].At)
		}
	}
	out := map[string]bool{}
	for id, at := range by {
		if len(at) < 3 {
			continue
		}
		// Without the target's interval at hand, judge as if it were
		// probed often enough to fill the window's 20 slots.
		if flap.Percent(at, now, flapWindow, 0, flap.DefaultSlots) > flap.DefaultHigh {
			out[id] = true
		}
	}
	return out
}

// --- sparklines and uptime, cached per target ---

type stats struct {
	at     time.Time
	spark  []float64 // average latency (ms) per minute over the last hour; -1: no checks
	fail   []bool
	uptime history.Uptime
	ok     bool
}

type statsCache struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[string]stats
}

func newStatsCache(ttl time.Duration) *statsCache {
	return &statsCache{ttl: ttl, m: map[string]stats{}}
}

func (c *statsCache) get(id string, now time.Time) (stats, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.m[id]
	if ok && now.Sub(s.at) > c.ttl {
		return s, false
	}
	return s, ok
}

func (c *statsCache) drop(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, id)
}

func (c *statsCache) put(id string, s stats) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) > 50_000 {
		clear(c.m)
	}
	c.m[id] = s
}

// Spark settings: the last hour in minutes.
const (
	sparkSpan  = time.Hour
	sparkStep  = time.Minute
	statsBatch = 8 // reads at once
	// statsWait bounds the reads of one page; rows not filled by then
	// show without their sparkline.
	statsWait = 2 * time.Second
)

// fillStats sets each row's sparkline and uptime, from the cache or read
// statsBatch at a time within statsWait.
func (h *Handler) fillStats(ctx context.Context, rows []row) {
	if h.d.History == nil || len(rows) == 0 {
		return
	}
	now := time.Now()
	var missing []int
	for i := range rows {
		if s, ok := h.stats.get(rows[i].ID, now); ok {
			rows[i].apply(s)
		} else {
			missing = append(missing, i)
		}
	}
	if len(missing) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, statsWait)
	defer cancel()
	var wg sync.WaitGroup
	work := make(chan int)
	for range min(statsBatch, len(missing)) {
		wg.Go(func() {
			for i := range work {
				s := h.readStats(ctx, rows[i].ID, now)
				if s.ok {
					h.stats.put(rows[i].ID, s)
				}
				rows[i].apply(s)
			}
		})
	}
	for _, i := range missing {
		if ctx.Err() != nil {
			break
		}
		work <- i
	}
	close(work)
	wg.Wait()
}

func (h *Handler) readStats(ctx context.Context, id string, now time.Time) stats {
	s := stats{at: now, uptime: history.Uptime{Day: -1, Week: -1, Month: -1}}
	from := now.Truncate(sparkStep).Add(-sparkSpan + sparkStep)
	pts, _, err := h.d.History.History(ctx, id, from, now, sparkStep, wire.ScopeCluster)
	if err != nil {
		return s
	}
	s.spark, s.fail = sparkSeries(pts, from, int(sparkSpan/sparkStep))
	u, _, err := h.d.History.Uptime(ctx, id, wire.ScopeCluster)
	if err != nil {
		return s
	}
	s.uptime, s.ok = u, true
	return s
}

// sparkSeries lays points out on n slots of sparkStep from from: the
// average latency in ms (-1 where there were no checks) and whether any
// check of the slot failed.
func sparkSeries(pts []history.Point, from time.Time, n int) ([]float64, []bool) {
	vals := make([]float64, n)
	fail := make([]bool, n)
	for i := range vals {
		vals[i] = -1
	}
	for _, p := range pts {
		i := int(p.Start.Sub(from) / sparkStep)
		if i < 0 || i >= n || p.Count == 0 {
			continue
		}
		vals[i] = float64(p.Avg) / float64(time.Millisecond)
		fail[i] = p.Failures > 0
	}
	return vals, fail
}

func (rw *row) apply(s stats) {
	rw.Uptime = s.uptime
	rw.HasStats = s.ok
	if s.spark != nil {
		rw.Spark = sparkline(s.spark, s.fail)
	}
}

// liveEvent is what the live stream sends of a transition.
type liveEvent struct {
	ID     string `json:"id"`
	Target string `json:"target"`
	From   string `json:"from"`
	To     string `json:"to"`
	At     string `json:"at"`
	Cause  string `json:"cause,omitempty"`
}

func liveOf(t *events.Transition) liveEvent {
	return liveEvent{ID: t.ID, Target: t.TargetID, From: t.From.String(), To: t.To.String(),
		At: t.At.UTC().Format(time.RFC3339), Cause: t.Cause}
}
