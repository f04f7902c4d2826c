package web

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/user"
)

// BenchmarkDashboard10k is the dashboard's first render at 10,000 targets
// (a page of 100, sparklines and uptime read cold every time):
//
//	go test -run '^$' -bench Dashboard10k -benchtime 50x ./internal/web/
func BenchmarkDashboard10k(b *testing.B) {
	n := newFakeNode()
	states := []health.State{health.Up, health.Up, health.Up, health.Down, health.Degraded, health.Late}
	for i := range 10_000 {
		n.add(fmt.Sprintf("svc-%05d", i), states[i%len(states)], map[string]string{"env": "prod", "team": fmt.Sprint("t", i%20)})
	}
	a := newFakeAuth()
	a.addUser("ada", user.Admin, "x")
	h, err := New(Deps{Targets: n, History: n, Transitions: n, Log: n, Members: n, Pools: n, Graph: n, Auth: a, Users: a}, Options{})
	if err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest("GET", "/", nil)
	req.AddCookie(&http.Cookie{Name: "sess", Value: "ada"})
	b.ReportAllocs()
	size := 0
	for b.Loop() {
		h.stats = newStatsCache(h.o.StatsTTL) // cold: every row's stats read again
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("status %d", rec.Code)
		}
		size = rec.Body.Len()
	}
	b.ReportMetric(float64(size), "bytes/page")
}
