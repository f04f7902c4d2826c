package node

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/heckhq/heck/internal/api"
	"github.com/heckhq/heck/internal/crdt"
	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/incident"
	"github.com/heckhq/heck/internal/statuspage"
	"github.com/heckhq/heck/internal/store"
	"github.com/heckhq/heck/internal/target"
)

// The node keeps status pages: a replicated collection (kind
// "statuspage"), from the config file (status_pages:) and the API, and
// serves them publicly (statuspage.Handler over publicSource).
var _ api.StatusPageBackend = (*Node)(nil)

// StatusPages lists every status page, by id.
func (n *Node) StatusPages(context.Context) ([]statuspage.Page, error) {
	es := n.pages.List()
	out := make([]statuspage.Page, len(es))
	for i, e := range es {
		out[i] = e.Value
	}
	return out, nil
}

// StatusPage returns one page; an error wrapping store.ErrNotFound when
// there is none.
func (n *Node) StatusPage(_ context.Context, id string) (statuspage.Page, error) {
	p, ok := n.pages.Get(id)
	if !ok {
		return statuspage.Page{}, fmt.Errorf("status page %q: %w", id, store.ErrNotFound)
	}
	return p, nil
}

// PutStatusPage creates or replaces a page. Every target must exist and
// the host name must not be another page's. Problems come back as
// target.FieldErrors. A page written here is the API's (origin ""), also
// when it replaces a config file's page; the file's version comes back at
// the next start, as for targets.
func (n *Node) PutStatusPage(ctx context.Context, p statuspage.Page, by string) error {
	p.Origin = ""
	var errs target.FieldErrors
	if fes, ok := target.AsFieldErrors(p.Validate()); ok {
		errs = append(errs, fes...)
	}
	for gi, g := range p.Groups {
		for ei, e := range g.Entries {
			if fe, bad := n.unknownTarget(fmt.Sprintf("groups[%d].entries[%d].target", gi, ei), e.Target); bad {
				errs = append(errs, fe)
			}
		}
	}
	if p.Host != "" {
		for _, e := range n.pages.List() {
			if e.Key != p.ID && strings.EqualFold(strings.TrimSuffix(e.Value.Host, "."), strings.TrimSuffix(p.Host, ".")) {
				errs = append(errs, target.FieldError{Field: "host", Value: p.Host, Problem: "is the host name of page " + e.Key + " too",
					Fix: "give each page its own host name, or leave host out and use /status/" + p.ID})
			}
		}
	}
	if len(errs) > 0 {
		return errs
	}
	if err := n.pages.Put(ctx, p.ID, p); err != nil {
		return fmt.Errorf("store status page %s (asked by %s): %w", p.ID, byName(by), err)
	}
	return nil
}

// DeleteStatusPage deletes a page everywhere; an error wrapping
// store.ErrNotFound when there is none.
func (n *Node) DeleteStatusPage(ctx context.Context, id, by string) error {
	if err := n.pages.Delete(ctx, id); err != nil {
		return fmt.Errorf("delete status page %q (asked by %s): %w", id, byName(by), err)
	}
	return nil
}

// publicSource is what the public pages and badges read of the node.
type publicSource struct{ n *Node }

var _ statuspage.Source = publicSource{}

func (s publicSource) Pages(ctx context.Context) []statuspage.Page {
	ps, _ := s.n.StatusPages(ctx)
	return ps
}

func (s publicSource) Current(ctx context.Context, id string) (statuspage.Current, bool) {
	ts, ok := s.n.Target(ctx, id)
	if !ok {
		return statuspage.Current{}, false
	}
	c := statuspage.Current{State: publicState(ts.State)}
	if ts.Maintenance {
		c.State = statuspage.Maintenance
	}
	if ts.Last != nil {
		c.Latency = ts.Last.Latency
		if !ts.Last.OK {
			c.Error = ts.Last.Message
		}
	}
	if c.Error == "" && ts.State != health.Up {
		c.Error = ts.Cause
	}
	return c, true
}

// publicState is how a page shows a state.
func publicState(st health.State) string {
	switch st {
	case health.Up:
		return statuspage.Operational
	case health.Down:
		return statuspage.Outage
	case health.Degraded, health.Impacted, health.Late:
		return statuspage.Degraded
	default:
		return statuspage.Unknown
	}
}

func (s publicSource) Days(ctx context.Context, id string, days int, now time.Time) ([]statuspage.Summary, error) {
	out := make([]statuspage.Summary, days)
	if _, ok := s.n.reg.Get(id); !ok {
		return out, nil
	}
	from := now.UTC().Truncate(24*time.Hour).AddDate(0, 0, -(days - 1))
	rs, _, err := s.n.gather(ctx, id, from, now, 24*time.Hour, api.ScopeCluster)
	if err != nil {
		return nil, err
	}
	for _, r := range rs {
		i := int(r.Minute.Sub(from) / (24 * time.Hour))
		if i >= 0 && i < days {
			out[i].Count += uint64(r.Count)
			out[i].Failures += uint64(r.Failures)
			out[i].LatencySum += r.LatencySum
		}
	}
	return out, nil
}

func (s publicSource) Window(ctx context.Context, id string, d time.Duration, now time.Time) (statuspage.Summary, error) {
	var sum statuspage.Summary
	if _, ok := s.n.reg.Get(id); !ok {
		return sum, nil
	}
	rs, _, err := s.n.gather(ctx, id, now.Add(-d), now, d, api.ScopeCluster)
	if err != nil {
		return sum, err
	}
	for _, r := range rs {
		sum.Count += uint64(r.Count)
		sum.Failures += uint64(r.Failures)
		sum.LatencySum += r.LatencySum
	}
	return sum, nil
}

func (s publicSource) Incidents(ctx context.Context) ([]incident.Incident, error) {
	return s.n.Incidents(ctx)
}

// Maintenance lists the maintenance windows covering any of ids that are
// in force or start within horizon: the title only (a window's reason is
// for operators).
func (s publicSource) Maintenance(_ context.Context, ids []string, now time.Time, horizon time.Duration) []statuspage.Scheduled {
	var out []statuspage.Scheduled
	for _, e := range s.n.windows.List() {
		w := e.Value
		var covered []string
		for _, id := range ids {
			if spec, ok := s.n.reg.Get(id); ok && w.Matches(&spec) {
				covered = append(covered, id)
			}
		}
		if len(covered) == 0 {
			continue
		}
		start, end, ok := w.Current(now)
		if !ok {
			next, ok := w.Next(now)
			if !ok || next.Sub(now) > horizon {
				continue
			}
			start, end = next, next.Add(w.Duration.D())
		}
		out = append(out, statuspage.Scheduled{Title: w.Title, Start: start, End: end, Targets: slices.Clip(covered)})
	}
	return out
}

// warnUnknownPageTargets logs the page entries naming no target (a config
// page may name a target the API adds later; until then it shows as
// unknown).
func (n *Node) warnUnknownPageTargets() {
	for _, e := range n.pages.List() {
		for _, id := range e.Value.Targets() {
			if _, ok := n.reg.Get(id); !ok {
				n.log.Warn("a status page shows a target that does not exist; it shows as unknown until the target is added",
					"page", e.Key, "target", id)
			}
		}
	}
}

// collectPublicTombstones forgets the tombstones of deleted incidents and
// pages older than the horizon.
func (n *Node) collectPublicTombstones(now time.Time) {
	h := crdt.MakeTimestamp(now.Add(-tombstoneHorizon(n.cfg)), 0)
	if keys := n.incidents.Collect(h); len(keys) > 0 {
		n.log.Info("collected tombstones of deleted incidents", "count", len(keys))
	}
	if keys := n.pages.Collect(h); len(keys) > 0 {
		n.log.Info("collected tombstones of deleted status pages", "count", len(keys))
	}
}
