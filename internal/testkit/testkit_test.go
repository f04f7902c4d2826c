package testkit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/api"
	"github.com/heckhq/heck/internal/api/apitest"
	"github.com/heckhq/heck/internal/target"
)

func TestWaitPoll(t *testing.T) {
	tests := []struct {
		name    string
		w       Wait
		results []error // what cond returns call by call; the last repeats
		wantErr string  // empty: Poll succeeds
	}{
		{"holds at once", Wait{Timeout: time.Second, Every: time.Millisecond}, []error{nil}, ""},
		{"holds after two misses", Wait{Timeout: time.Second, Every: time.Millisecond},
			[]error{errors.New("a"), errors.New("b"), nil}, ""},
		{"never holds: the last error", Wait{Timeout: 30 * time.Millisecond, Every: time.Millisecond},
			[]error{errors.New("first"), errors.New("last")}, "thing: not within 30ms: last"},
		{"abort ends at once", Wait{Timeout: time.Hour, Every: time.Millisecond},
			[]error{errors.New("a"), Abort(errors.New("process exited"))}, "thing: process exited"},
		{"must hold for a while", Wait{Timeout: time.Second, Hold: 20 * time.Millisecond, Every: time.Millisecond},
			[]error{errors.New("a"), nil}, ""},
		{"flapping never holds long enough", Wait{Timeout: 50 * time.Millisecond, Hold: 40 * time.Millisecond, Every: 5 * time.Millisecond},
			[]error{nil, errors.New("flap"), nil, errors.New("flap"), nil, errors.New("flap"), nil, errors.New("flap"),
				nil, errors.New("flap"), nil, errors.New("flap"), nil, errors.New("flap"), nil, errors.New("flap"), errors.New("flap")}, "flap"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			start := time.Now()
			var heldFrom time.Time
			took, err := tc.w.Poll("thing", func() error {
				r := tc.results[min(calls, len(tc.results)-1)]
				calls++
				if r == nil && heldFrom.IsZero() {
					heldFrom = time.Now()
				} else if r != nil {
					heldFrom = time.Time{}
				}
				return r
			})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Poll = %v, want an error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Poll = %v", err)
			}
			if elapsed := time.Since(heldFrom); elapsed < tc.w.Hold {
				t.Errorf("returned after holding %v, want %v", elapsed, tc.w.Hold)
			}
			if took > time.Since(start) || took < heldFrom.Sub(start)-time.Millisecond {
				t.Errorf("took %v, but cond began to hold %v after the start", took, heldFrom.Sub(start))
			}
		})
	}
}

func TestOneOwner(t *testing.T) {
	set := func(ids ...string) map[string]bool {
		m := map[string]bool{}
		for _, id := range ids {
			m[id] = true
		}
		return m
	}
	tests := []struct {
		name    string
		nodes   []NodeSchedule
		want    []string
		owner   map[string]string
		wantErr string
	}{
		{"split", []NodeSchedule{{"a", set("t1")}, {"b", set("t2", "t3")}}, []string{"t1", "t2", "t3"},
			map[string]string{"t1": "a", "t2": "b", "t3": "b"}, ""},
		{"probed twice", []NodeSchedule{{"a", set("t1")}, {"b", set("t1")}}, []string{"t1"}, nil, "t1 is probed by both a and b"},
		{"missing", []NodeSchedule{{"a", set("t1")}}, []string{"t1", "t2"}, nil, "t2 is probed by no node"},
		{"extra", []NodeSchedule{{"a", set("t1", "x")}}, []string{"t1"}, nil, "should not be: [x]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			owner, err := OneOwner(tc.nodes, tc.want)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("OneOwner = %v, %v; want an error containing %q", owner, err, tc.wantErr)
				}
				return
			}
			if err != nil || fmt.Sprint(owner) != fmt.Sprint(tc.owner) {
				t.Fatalf("OneOwner = %v, %v; want %v", owner, err, tc.owner)
			}
		})
	}
	var dup *DoubleProbeError
	if _, err := OneOwner([]NodeSchedule{{"a", set("t1")}, {"b", set("t1")}}, []string{"t1"}); !errors.As(err, &dup) || dup.ID != "t1" {
		t.Errorf("a target probed twice: %v, want a *DoubleProbeError for t1", err)
	}
	if got := Owned(map[string]string{"t2": "a", "t1": "a", "t3": "b"}, "a"); fmt.Sprint(got) != "[t1 t2]" {
		t.Errorf("Owned = %v, want [t1 t2]", got)
	}
}

func TestTargets(t *testing.T) {
	tg := NewTargets(t)
	before := time.Now()
	for _, id := range []string{"up1", "up1", "down-1"} {
		resp, err := http.Get(tg.URL(id))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		want := http.StatusOK
		if strings.HasPrefix(id, "down-") {
			want = http.StatusServiceUnavailable
		}
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", id, resp.StatusCode, want)
		}
	}
	after := time.Now().Add(time.Millisecond)
	if n := tg.Count("up1", before, after); n != 2 {
		t.Errorf("Count(up1) = %d, want 2", n)
	}
	if n := tg.Count("up1", after, after.Add(time.Hour)); n != 0 {
		t.Errorf("Count(up1) after the hits = %d, want 0", n)
	}
	if at := tg.FirstAfter("down-1", before); at.IsZero() || at.After(after) {
		t.Errorf("FirstAfter(down-1) = %v, want between %v and %v", at, before, after)
	}
	_, mean, hi := tg.Rates([]string{"up1", "down-1", "never"}, before, after, after.Sub(before))
	if hi != 2 || mean != 1 {
		t.Errorf("Rates: mean %v highest %v, want 1 and 2 over one interval", mean, hi)
	}
	if d := tg.Reprobed(t, Wait{Timeout: time.Second}, "hit", []string{"up1", "down-1"}, before); d < 0 || d > after.Sub(before) {
		t.Errorf("Reprobed = %v, want within %v", d, after.Sub(before))
	}
}

func TestServer(t *testing.T) {
	s, clock := NewServer(t), NewServer(t)
	get := func(url string, header string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("X-Test", header)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get(s.URL()+"/any/path", "one"); code != http.StatusOK {
		t.Errorf("first answer %d, want 200", code)
	}
	s.SetStatus(http.StatusServiceUnavailable)
	if code := get("http://"+s.Addr()+"/", "two"); code != http.StatusServiceUnavailable {
		t.Errorf("answer after SetStatus(503): %d", code)
	}
	if s.Hits() != 2 || s.LastHeader("X-Test") != "two" {
		t.Errorf("hits %d, last X-Test %q; want 2 and two", s.Hits(), s.LastHeader("X-Test"))
	}
	// The clock ticks on another goroutine until HitsWhile has seen its
	// four ticks (however many came before it started counting); s gets
	// one hit meanwhile.
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		get(s.URL(), "three")
		for {
			select {
			case <-stop:
				return
			default:
				get(clock.URL(), "")
			}
		}
	}()
	n := s.HitsWhile(t, Wait{Timeout: 5 * time.Second, Every: time.Millisecond}, clock, 4)
	close(stop)
	<-done
	if n > 1 {
		t.Errorf("HitsWhile = %d, want at most the one hit made", n)
	}
}

func TestScheduledAndListed(t *testing.T) {
	b := apitest.New()
	b.Set(api.StatusOf(target.Spec{ID: "web", Kind: target.KindHTTP, URL: "http://127.0.0.1:8080/"}))
	b.Set(api.StatusOf(target.Spec{ID: "db", Kind: target.KindTCP, Address: "127.0.0.1:5432"}))
	_, ts := apitest.Serve(t, b, api.Options{LoopbackOnly: true})
	list, err := Listed(context.Background(), ts.Client(), ts.URL)
	if err != nil || len(list) != 2 || list["web"].Kind != target.KindHTTP || list["db"].Spec.Address != "127.0.0.1:5432" {
		t.Fatalf("Listed = %+v, %v; want web and db", list, err)
	}

	metrics := http.NewServeMux()
	metrics.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "# HELP heck_target_up ...\nheck_target_up{id=\"a\",kind=\"http\"} 1\n"+
			"heck_target_up{id=\"b-1\",kind=\"tcp\"} 0\nheck_targets{state=\"up\"} 1\nheck_target_upx{id=\"c\"} 1\n")
	})
	ms := httptest.NewServer(metrics)
	t.Cleanup(ms.Close)
	set, err := Scheduled(ms.Client(), ms.URL)
	if err != nil || fmt.Sprint(set) != "map[a:true b-1:true]" {
		t.Errorf("Scheduled = %v, %v; want a and b-1", set, err)
	}
	if _, err := Scheduled(ms.Client(), ms.URL+"/nowhere"); err == nil {
		t.Error("Scheduled of a 404 did not fail")
	}
}
