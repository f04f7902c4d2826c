package testkit

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Targets is a loopback HTTP server standing for many targets: GET
// /t/{id} records a hit for id and answers 200, or 503 when id starts with
// "down-". It is closed when the test ends.
type Targets struct {
	srv  *httptest.Server
	mu   sync.Mutex
	hits map[string][]time.Time
}

// NewTargets starts a Targets server.
func NewTargets(t testing.TB) *Targets {
	t.Helper()
	tg := &Targets{hits: map[string][]time.Time{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /t/{id}", func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		tg.mu.Lock()
		tg.hits[id] = append(tg.hits[id], time.Now())
		tg.mu.Unlock()
		if strings.HasPrefix(id, "down-") {
			http.Error(w, "down on purpose", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok")
	})
	tg.srv = httptest.NewServer(mux)
	t.Cleanup(tg.srv.Close)
	return tg
}

// URL is the URL of target id.
func (tg *Targets) URL(id string) string { return tg.srv.URL + "/t/" + id }

// Count returns how many hits id had in [from, to).
func (tg *Targets) Count(id string, from, to time.Time) int {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	n := 0
	for _, at := range tg.hits[id] {
		if !at.Before(from) && at.Before(to) {
			n++
		}
	}
	return n
}

// FirstAfter returns id's first hit at or after at (zero if none).
func (tg *Targets) FirstAfter(id string, at time.Time) time.Time {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	for _, hit := range tg.hits[id] {
		if !hit.Before(at) {
			return hit
		}
	}
	return time.Time{}
}

// Rates counts the hits of ids in [from, to) as probes per target per
// interval: each id's, their mean and the highest.
func (tg *Targets) Rates(ids []string, from, to time.Time, interval time.Duration) (per map[string]float64, mean, hi float64) {
	intervals := float64(to.Sub(from)) / float64(interval)
	per = make(map[string]float64, len(ids))
	for _, id := range ids {
		r := float64(tg.Count(id, from, to)) / intervals
		per[id] = r
		mean += r
		hi = max(hi, r)
	}
	if len(ids) > 0 {
		mean /= float64(len(ids))
	}
	return per, mean, hi
}

// Reprobed waits (as w says) until every one of ids has been hit at or
// after at, and returns how long after at the last of those first hits
// came.
func (tg *Targets) Reprobed(t testing.TB, w Wait, what string, ids []string, at time.Time) time.Duration {
	t.Helper()
	w.Until(t, what, func() error {
		for _, id := range ids {
			if tg.FirstAfter(id, at).IsZero() {
				return fmt.Errorf("%s not probed since %s", id, at.Format("15:04:05.000"))
			}
		}
		return nil
	})
	var worst time.Duration
	for _, id := range ids {
		worst = max(worst, tg.FirstAfter(id, at).Sub(at))
	}
	return worst
}
