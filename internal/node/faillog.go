package node

import (
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/heckhq/heck/internal/probe"
)

// failLogEvery is the least time between two failure log lines.
const failLogEvery = 10 * time.Second

// failLog logs failed checks without logging each one: the first failure of
// a burst (after at least failLogEvery without a line) is one WARN naming
// its target, reason and message; later failures are counted by reason and
// summed up in one WARN at most every failLogEvery, on the next failure
// after that. Passing checks cost nothing; a failure costs a few atomic
// operations. The "late" count tells this node's own overload apart from
// its targets' failures.
type failLog struct {
	log    *slog.Logger
	now    func() time.Time
	last   atomic.Int64 // unix ns of the last line (0: none yet)
	counts [probe.NumReasons]atomic.Int64
}

func newFailLog(log *slog.Logger) *failLog {
	return &failLog{log: log, now: time.Now}
}

// note counts one failed check of target id.
func (f *failLog) note(id string, reason probe.Reason, msg string) {
	f.counts[reason].Add(1)
	now := f.now().UnixNano()
	last := f.last.Load()
	if now-last < int64(failLogEvery) || !f.last.CompareAndSwap(last, now) {
		return
	}
	var by [probe.NumReasons]int64
	var total int64
	for r := range f.counts {
		by[r] = f.counts[r].Swap(0)
		total += by[r]
	}
	if last == 0 || now-last >= 2*int64(failLogEvery) && total == 1 {
		f.log.Warn("checks failing", "target", id, "reason", reason.String(), "message", msg)
		return
	}
	attrs := make([]any, 0, 8+2*probe.NumReasons)
	attrs = append(attrs, "failed", total, "over", time.Duration(now-last).Round(time.Second).String(),
		"last_target", id, "last_reason", reason.String())
	for r, n := range by {
		if n > 0 {
			attrs = append(attrs, "reason_"+probe.Reason(r).String(), n)
		}
	}
	if by[probe.ReasonLate] > 0 {
		attrs = append(attrs, "overloaded", true)
	}
	f.log.Warn("checks failing: summary", attrs...)
}
