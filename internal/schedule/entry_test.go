package schedule

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"
	"unique"
	"unsafe"

	"github.com/heckhq/heck/internal/probe"
)

// TestLastResultRoundTrip: the compact last result gives back every field
// of the probe.Result it stored.
func TestLastResultRoundTrip(t *testing.T) {
	expiry := time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		res  probe.Result
	}{
		{"zero", probe.Result{}},
		{"http", probe.Result{OK: true, Latency: 1234567, Message: "HTTP 200",
			Details: probe.Details{StatusCode: 200, RemoteAddr: "127.0.1.1:8080"}}},
		{"failed without details", probe.Result{Latency: 2 * time.Second, Message: "timed out after 2s"}},
		{"https", probe.Result{OK: true, Latency: time.Millisecond, Message: "HTTP 204",
			Details: probe.Details{StatusCode: 204, RemoteAddr: "[::1]:443", TLSVersion: "TLS 1.3", CertExpiry: expiry, CertDaysLeft: 97}}},
		{"dns", probe.Result{OK: true, Message: "NOERROR, 2 answers",
			Details: probe.Details{RemoteAddr: "127.0.0.1:53", Answers: []string{"127.0.0.1", "127.0.0.2"}, Rcode: "NOERROR"}}},
		{"grpc", probe.Result{Message: "NOT_SERVING", Details: probe.Details{Serving: "NOT_SERVING"}}},
		{"agent", probe.Result{OK: true, Message: "degraded: swap", Details: probe.Details{StatusCode: 200,
			Checks: []probe.CheckDetail{{Name: "swap", Status: "failing", Message: "swap 91%"}, {Name: "db", Status: "ok", Critical: true}}}}},
		{"status beyond int32", probe.Result{Details: probe.Details{StatusCode: 1 << 40}}},
		{"negative latency", probe.Result{Latency: -5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l lastResult
			l.set(&tt.res, intern(tt.res.Message))
			if got := l.result(); !reflect.DeepEqual(got, tt.res) {
				t.Errorf("result() = %+v, want %+v", got, tt.res)
			}
		})
	}
}

// TestLastResultShares: unchanged details and remote addresses are not
// stored again; changed ones replace the old ones.
func TestLastResultShares(t *testing.T) {
	expiry := time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)
	res := func(remote string, days int) *probe.Result {
		return &probe.Result{OK: true, Message: "HTTP 200", Details: probe.Details{
			StatusCode: 200, RemoteAddr: remote, TLSVersion: "TLS 1.3", CertExpiry: expiry, CertDaysLeft: days}}
	}
	var l lastResult
	l.set(res("127.0.1.1:443", 30), intern("HTTP 200"))
	extra, remote := l.extra, l.remote
	if extra == nil {
		t.Fatal("TLS details not kept")
	}
	// A fresh string with the same address and equal details: shared.
	l.set(res(string([]byte("127.0.1.1:443")), 30), intern("HTTP 200"))
	if l.extra != extra || l.remote != remote {
		t.Errorf("unchanged details or remote stored again")
	}
	l.set(res("127.0.1.2:443", 29), intern("HTTP 200"))
	if l.extra == extra || l.remote == remote {
		t.Errorf("changed details or remote not replaced")
	}
	if got := l.result(); got.Details.CertDaysLeft != 29 || got.Details.RemoteAddr != "127.0.1.2:443" {
		t.Errorf("after a change: %+v", got.Details)
	}
	l.set(&probe.Result{Message: "connection refused"}, intern("connection refused"))
	if d := l.result().Details; l.extra != nil || !reflect.DeepEqual(d, probe.Details{}) {
		t.Errorf("details of an earlier result kept after one without: %+v", l.result().Details)
	}
}

// TestEntrySize guards the per-target footprint: 50,000 entries must stay
// small (the goal is under 4 KiB resident per target in total).
func TestEntrySize(t *testing.T) {
	if s := unsafe.Sizeof(entry{}); s > 224 {
		t.Errorf("entry is %d bytes, want at most 224: keep per-target state compact", s)
	}
	if s := unsafe.Sizeof(sample{}); s > 16 {
		t.Errorf("sample is %d bytes, want at most 16", s)
	}
}

// TestRingMessages: the recent results give back each result's message
// whether the ring keeps one message for all or one per sample, and it
// keeps one per sample exactly while they differ.
func TestRingMessages(t *testing.T) {
	msgs := []string{"HTTP 200", "HTTP 503", "connection refused"}
	for _, recent := range []int{1, 2, 3, 10} {
		for seed := range uint64(20) {
			t.Run(fmt.Sprintf("recent=%d/seed=%d", recent, seed), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(seed, 1))
				s := New(Options{Recent: recent})
				e := &entry{id: "a", sched: unique.Make(sched(time.Second)), lastAt: noTime, hidx: -1}
				var want []string
				for i := range 60 {
					m := msgs[0]
					if rng.IntN(4) == 0 { // mostly one message, with runs of others
						m = msgs[rng.IntN(len(msgs))]
					}
					res := probe.Result{OK: m == msgs[0], Latency: time.Duration(i), Message: string([]byte(m))}
					s.recordLocked(e, run{}, int64(i), int64(i), &res, &Outcome{})
					want = append(want, m)
					if len(want) > recent {
						want = want[1:]
					}
					var st Status
					s.fillLocked(&st, e, true)
					got := make([]string, len(st.Recent))
					for k, r := range st.Recent {
						got[k] = r.Message
						if r.Latency != time.Duration(i-len(want)+1+k) {
							t.Fatalf("after %d: recent[%d] latency %v", i, k, r.Latency)
						}
					}
					if !slices.Equal(got, want) {
						t.Fatalf("after %d results: recent messages %q, want %q", i+1, got, want)
					}
					alike := !slices.ContainsFunc(want, func(m string) bool { return m != want[len(want)-1] })
					if alike != (e.rmsg == nil) {
						t.Fatalf("after %d results %q: per-sample messages kept: %v", i+1, want, e.rmsg != nil)
					}
				}
			})
		}
	}
}
