package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/heckhq/heck/internal/listing"
)

// Lister is optionally implemented by a Backend that can list its targets
// without building the status of every one (internal/node does): GET
// /api/v1/targets then builds only the statuses it returns. Without it the
// API lists over Targets.
type Lister interface {
	// Listing returns a source over the targets, in id order.
	Listing(ctx context.Context) listing.Source
}

// NextCursorHeader carries the cursor of the next page of a paged listing
// (also in the body's next_cursor, and in a Link header with rel="next").
const NextCursorHeader = "X-Next-Cursor"

// flushAt is how much of an unpaged listing is buffered before it is sent.
const flushAt = 32 << 10

// listTargets serves GET /api/v1/targets: every target (or those the
// filters keep) in id order, streamed target by target; with limit or
// cursor, one page and the cursor of the next (docs/listing.md).
func (s *Server) listTargets(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	q, p := s.parseListing(v)
	if p != nil {
		writeProblem(w, p)
		return
	}
	var src listing.Source
	if l, ok := s.b.(Lister); ok {
		src = l.Listing(r.Context())
	} else {
		src = listing.FromStatuses(s.b.Targets(r.Context()))
	}
	s.writeTargets(w, r, src, &q, v)
}

// parseListing reads the listing's query; unknown parameters and unknown
// pools are problems too.
func (s *Server) parseListing(v url.Values) (listing.Query, *Problem) {
	q, fes := listing.Parse(v)
	errs := fieldProblems(fes)
	for k := range v {
		if !slices.Contains(listing.Params, k) {
			errs = append(errs, FieldProblem{Field: k, Problem: "is not a filter or paging parameter of targets",
				Fix: "filter with state=, kind=, label=name=value, pool= or q=, page with limit= and cursor="})
		}
	}
	if q.Pool != "" {
		found := false
		if pb, ok := s.b.(PoolBackend); ok {
			if pv, ok := pb.PoolView(q.Pool); ok {
				found = true
				spec := pv.Spec
				q.InPool = spec.Includes
			}
		}
		if !found {
			errs = append(errs, FieldProblem{Field: "pool", Value: q.Pool, Problem: "is not a pool",
				Fix: "name a pool that GET /api/v1/pools (heck pools ls) lists"})
		}
	}
	if len(errs) > 0 {
		sort.SliceStable(errs, func(i, j int) bool { return errs[i].Field < errs[j].Field })
		return q, queryProblem(errs...)
	}
	return q, nil
}

// writeTargets writes the targets src and q select as a TargetList, one
// target at a time: an unpaged listing goes out in chunks of about
// flushAt bytes, never as one buffer of the whole fleet; a page (at most
// listing.MaxLimit targets) is sent whole, after its next-page headers.
func (s *Server) writeTargets(w http.ResponseWriter, r *http.Request, src listing.Source, q *listing.Query, v url.Values) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	started := false
	start := func() {
		if !started {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			started = true
		}
	}
	buf.WriteString(`{"targets":[`)
	n := 0
	next, err := listing.Walk(src, q, func(ts *TargetStatus) error {
		t := showListed(r, ts)
		if n > 0 {
			buf.WriteByte(',')
		}
		n++
		if err := enc.Encode(&t); err != nil {
			return fmt.Errorf("encoding target %s: %w", t.ID, err)
		}
		buf.Truncate(buf.Len() - 1) // the newline Encode ends with
		if !q.Paged() && buf.Len() >= flushAt {
			start()
			if _, err := w.Write(buf.Bytes()); err != nil {
				return fmt.Errorf("writing the target listing: %w", err)
			}
			buf.Reset()
		}
		return nil
	})
	if err != nil {
		s.log.Warn("listing targets", "err", err, "sent", n)
		if !started {
			writeProblem(w, problem(http.StatusInternalServerError, TypeInternal, "Listing failed", err.Error()))
		}
		// Else the body stops short: the client sees invalid JSON, not a
		// shorter list.
		return
	}
	buf.WriteByte(']')
	if next != "" {
		buf.WriteString(`,"next_cursor":` + strconv.Quote(next))
		h := w.Header()
		h.Set(NextCursorHeader, next)
		nv := url.Values{}
		for k, vs := range v {
			nv[k] = vs
		}
		nv.Set("cursor", next)
		if q.Limit != listing.DefaultLimit || v.Has("limit") {
			nv.Set("limit", strconv.Itoa(q.Limit))
		}
		h.Set("Link", "<"+r.URL.Path+"?"+nv.Encode()+`>; rel="next"`)
	}
	buf.WriteString("}\n")
	if !started {
		w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	}
	start()
	if _, err := w.Write(buf.Bytes()); err != nil {
		s.log.Debug("listing targets: writing", "err", err)
	}
}

// showListed is show for a listing, which only encodes the status: a spec
// that cannot hold a secret Redact would hide (no headers, no user info in
// the URL, no datastore password) is shown as it is, without the deep copy
// Redact makes; any other goes through Redact.
func showListed(r *http.Request, ts *TargetStatus) TargetStatus {
	t := *ts
	t.Recent = nil
	if sp := &t.Spec; (sp.HTTP != nil && len(sp.HTTP.Headers) > 0) || strings.Contains(sp.URL, "@") ||
		(sp.Postgres != nil && sp.Postgres.Password != "") || (sp.Redis != nil && sp.Redis.Password != "") {
		t.Spec = t.Spec.Redact()
	}
	t.PingURL = pingURL(r, &t)
	return t
}
