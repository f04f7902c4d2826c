package node

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/probe"
)

func TestFailLog(t *testing.T) {
	var buf bytes.Buffer
	f := newFailLog(slog.New(slog.NewTextHandler(&buf, nil)))
	now := time.Unix(1000, 0)
	f.now = func() time.Time { return now }
	steps := []struct {
		advance time.Duration
		reason  probe.Reason
		lines   int    // lines logged so far
		want    string // in the last line
	}{
		{0, probe.ReasonTimeout, 1, `msg="checks failing" target=t reason=timeout`},
		{time.Second, probe.ReasonLate, 1, ""},
		{time.Second, probe.ReasonLate, 1, ""},
		{10 * time.Second, probe.ReasonRefused, 2, `failed=3 over=12s last_target=t last_reason=refused reason_refused=1 reason_late=2 overloaded=true`},
		{time.Minute, probe.ReasonDNS, 3, `msg="checks failing" target=t reason=dns`},
	}
	for i, st := range steps {
		now = now.Add(st.advance)
		f.note("t", st.reason, "m")
		lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
		if len(lines) != st.lines {
			t.Fatalf("step %d: %d lines, want %d:\n%s", i, len(lines), st.lines, buf.String())
		}
		if st.want != "" && !strings.Contains(lines[len(lines)-1], st.want) {
			t.Fatalf("step %d: last line %q lacks %q", i, lines[len(lines)-1], st.want)
		}
	}
}
