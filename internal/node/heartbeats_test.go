package node

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/target"
)

func ping(t *testing.T, url string, body string) int {
	t.Helper()
	resp, err := http.Post(url, "text/plain", strings.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// A heartbeat target is up while pings arrive, late once period and grace
// pass without one, down after fail_after more, and down at once on a
// failure ping; a start then a success records the run's duration.
func TestHeartbeat(t *testing.T) {
	const token = "hb-token-0123456789abcdef"
	spec := target.Spec{ID: "job", Kind: target.KindHeartbeat, Heartbeat: &target.HeartbeatOptions{
		Period: target.Duration(time.Second), Grace: target.Duration(time.Second), FailAfter: target.Duration(2 * time.Second), Token: token}}
	nn := ntStart(t, ntConfig(t.TempDir(), spec))
	url := nn.base + "/ping/" + token
	if code := ping(t, url, "hello"); code != http.StatusOK {
		t.Fatalf("ping: %d", code)
	}
	st := nn.waitState(t, "job", health.Up)
	if !strings.Contains(st.Cause, "on time") {
		t.Errorf("cause %q", st.Cause)
	}
	start := time.Now()
	st = nn.waitState(t, "job", health.Late)
	if took := time.Since(start); took < time.Second {
		t.Errorf("late after %v, before period + grace", took)
	}
	nn.waitState(t, "job", health.Down)
	if took := time.Since(start); took < 3*time.Second {
		t.Errorf("down after %v, before period + grace + fail_after", took)
	}
	ping(t, url+"/start", "")
	nn.waitState(t, "job", health.Up)
	time.Sleep(50 * time.Millisecond) // the run takes a while: its duration is measured
	ping(t, url+"/0", "done")
	ping(t, url+"/fail", "step 2\ndisk full\n")
	st = nn.waitState(t, "job", health.Down)
	if !strings.Contains(st.Cause, "disk full") {
		t.Errorf("failure cause %q", st.Cause)
	}
	ping(t, url+"/start", "")
	ping(t, url, "")
	p, ok := nn.n.hb.Get("job")
	if !ok || p.Duration <= 0 || p.Started.IsZero() {
		t.Fatalf("a start then a success: %+v", p)
	}
	// Transitions list the way through late.
	ts, err := nn.c.Transitions(t.Context(), "job", 20)
	if err != nil {
		t.Fatal(err)
	}
	var path []string
	for i := len(ts) - 1; i >= 0; i-- {
		path = append(path, ts[i].To.String())
	}
	if got := strings.Join(path, ","); !strings.HasPrefix(got, "up,late,down,up,down") {
		t.Errorf("transitions %s", got)
	}
}

func TestPingBadInput(t *testing.T) {
	const token = "hb-token-0123456789abcdef"
	spec := target.Spec{ID: "job", Kind: target.KindHeartbeat, Heartbeat: &target.HeartbeatOptions{Period: target.Duration(time.Minute), Token: token}}
	nn := ntStart(t, ntConfig(t.TempDir(), spec))
	if code := ping(t, nn.base+"/ping/"+token+"/later", ""); code != http.StatusBadRequest {
		t.Errorf("bad action: %d", code)
	}
	big := strings.Repeat("x", 3<<20)
	if code := ping(t, nn.base+"/ping/"+token, big+"END"); code != http.StatusOK {
		t.Errorf("big body: %d", code)
	}
	if p, _ := nn.n.hb.Get("job"); len(p.Body) > 10<<10 {
		t.Errorf("kept %d bytes of the body", len(p.Body))
	}
	var codes []int
	for i := range 30 {
		codes = append(codes, ping(t, nn.base+fmt.Sprintf("/ping/wrong-token-%02d-abcdefgh", i), ""))
	}
	if codes[0] != http.StatusNotFound || codes[29] != http.StatusTooManyRequests {
		t.Errorf("unknown tokens answered %v: want 404 then 429", codes)
	}
	if _, ok := nn.n.hb.Get("wrong"); ok {
		t.Error("an unknown token recorded a ping")
	}
}
