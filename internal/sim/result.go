package sim

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Result is one run's figures.
type Result struct {
	Config Config

	// Amplification is probes per target per interval: over the steady
	// windows, and the mean and the highest over the windows from the event
	// on. Missed and Duplicated are the shares of target-windows with no
	// probe and with more than one, from the event on.
	AmpSteady, AmpChurn, AmpChurnMax float64
	Missed, Duplicated               float64
	// Balance is the most targets one node owns over the mean (ring).
	Balance float64
	// Moved is the share of targets whose owner changed, per membership
	// change, times the nodes (1.0 is the ideal 1/N).
	MovedN, MovedMaxN float64
	Changes           int
	// Transitions timed; their time to reach 99% and 100% of the other
	// running nodes (p50, p99, max); the share that reached all.
	Transitions        int
	T99, T100          [3]time.Duration
	Reached            float64
	BytesSteady        float64 // per node per second, steady window
	BytesEvent         float64 // per node per second, from the event on
	BytesSteadyBy      [numCats]float64
	BytesEventBy       [numCats]float64
	Converged, ViewsAt time.Duration // after the heal; -1 when not reached
	MemPerNode         float64       // heap per node above the shared data
	ObservationBytes   float64       // one observation in a table
	FullTableBytes     float64       // a full table of every target
	Wall               time.Duration
	Events             uint64
	Virtual            time.Duration
	Stopped            string
	Joins, PushPulls   int
	RejoinTries        int
	LostTargets        int // targets with no running node within topK
}

func pct(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return -1
	}
	return ds[min(len(ds)-1, int(p*float64(len(ds))))]
}

func (s *Sim) result(wall time.Duration, events uint64) *Result {
	r := &Result{Config: s.cfg, Converged: s.converged, ViewsAt: s.viewsAt, Wall: wall, Events: events,
		Virtual: time.Duration(s.loop.now), Stopped: s.stopped, Joins: s.joins, PushPulls: s.pushPulls,
		RejoinTries: s.rejoinTries, LostTargets: s.tr.lost, Balance: s.tr.balance()}
	T := float64(len(s.ids))
	var steady, churn []float64
	var missed, dup, churnWins int
	for _, w := range s.windows {
		a := float64(w.probes) / T
		if w.event {
			churn = append(churn, a)
			missed += w.zero
			dup += w.multi
			churnWins++
		} else {
			steady = append(steady, a)
		}
	}
	mean := func(xs []float64) float64 {
		if len(xs) == 0 {
			return 0
		}
		t := 0.0
		for _, x := range xs {
			t += x
		}
		return t / float64(len(xs))
	}
	r.AmpSteady, r.AmpChurn = mean(steady), mean(churn)
	if len(churn) > 0 {
		r.AmpChurnMax = slices.Max(churn)
		r.Missed = float64(missed) / (T * float64(churnWins))
		r.Duplicated = float64(dup) / (T * float64(churnWins))
	}
	N := float64(s.cfg.Nodes)
	for _, m := range s.moved {
		f := float64(m) / T * N
		r.MovedN += f
		r.MovedMaxN = max(r.MovedMaxN, f)
	}
	if r.Changes = len(s.moved); r.Changes > 0 {
		r.MovedN /= float64(r.Changes)
	}
	var t99, t100 []time.Duration
	reached := 0
	for _, tr := range s.tracks {
		if tr.t99 >= 0 {
			t99 = append(t99, time.Duration(tr.t99))
		}
		if tr.t100 >= 0 {
			t100 = append(t100, time.Duration(tr.t100))
			reached++
		}
	}
	slices.Sort(t99)
	slices.Sort(t100)
	r.Transitions = len(s.tracks)
	if r.Transitions > 0 {
		r.Reached = float64(reached) / float64(r.Transitions)
	}
	r.T99 = [3]time.Duration{pct(t99, .5), pct(t99, .99), pct(t99, 1)}
	r.T100 = [3]time.Duration{pct(t100, .5), pct(t100, .99), pct(t100, 1)}
	rate := func(a, b snapshot) (tot float64, by [numCats]float64) {
		secs := time.Duration(b.at - a.at).Seconds()
		nodes := float64(a.nodes+b.nodes) / 2
		if a.at == 0 && a.nodes == 0 { // the event was never reached: from the start
			nodes = float64(b.nodes)
		}
		if secs <= 0 || nodes == 0 {
			return 0, by
		}
		for c := range numCats {
			by[c] = float64(b.sent[c]-a.sent[c]) / secs / nodes
			tot += by[c]
		}
		return tot, by
	}
	st, ev, en := s.snaps["steady"], s.snaps["event"], s.snaps["end"]
	if ev.at > st.at {
		r.BytesSteady, r.BytesSteadyBy = rate(st, ev)
	}
	if en.at > ev.at {
		r.BytesEvent, r.BytesEventBy = rate(ev, en)
	}
	return r
}

func ms(d time.Duration) string {
	if d < 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", d.Seconds())
}

func kb(b float64) string { return fmt.Sprintf("%.1f", b/1024) }

// Header is the table's header line.
const Header = "| nodes | targets | scenario | amp steady | amp churn mean/max | missed/dup % | balance | moved xN mean/max | t99 p50/p99 s | t100 p50/p99 s | reached | KB/s/node steady | KB/s/node event | converge s (views) | mem/node KB (full table MB) | wall s |\n" +
	"|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"

// Row formats r as one line of the table.
func (r *Result) Row() string {
	c := r.Config
	conv := "-"
	if c.Scenario == Partition {
		conv = fmt.Sprintf("%s (%s)", ms(r.Converged), ms(r.ViewsAt))
	}
	moved := "-"
	if r.Changes > 0 {
		moved = fmt.Sprintf("%.2f / %.2f", r.MovedN, r.MovedMaxN)
	}
	tr := "-"
	tr100, reached := "-", "-"
	if r.Transitions > 0 {
		tr = ms(r.T99[0]) + " / " + ms(r.T99[1])
		tr100 = ms(r.T100[0]) + " / " + ms(r.T100[1])
		reached = fmt.Sprintf("%.0f%% of %d", 100*r.Reached, r.Transitions)
	}
	row := fmt.Sprintf("| %d | %d | %s | %.3f | %.3f / %.3f | %.2f / %.2f | %.3f | %s | %s | %s | %s | %s | %s | %s | %.0f (%.0f) | %.0f |",
		c.Nodes, c.Targets, c.Scenario, r.AmpSteady, r.AmpChurn, r.AmpChurnMax, 100*r.Missed, 100*r.Duplicated,
		r.Balance, moved, tr, tr100, reached, kb(r.BytesSteady), kb(r.BytesEvent), conv,
		r.MemPerNode/1024, r.FullTableBytes/(1<<20), r.Wall.Seconds())
	if r.Stopped != "" {
		row += " stopped: " + r.Stopped
	}
	return row
}

// Detail writes the byte breakdown and counters of r.
func (r *Result) Detail(w io.Writer) {
	var b strings.Builder
	fmt.Fprintf(&b, "  %d nodes x %d targets, %s: virtual %.0fs in %.1fs wall, %d events", r.Config.Nodes, r.Config.Targets,
		r.Config.Scenario, r.Virtual.Seconds(), r.Wall.Seconds(), r.Events)
	fmt.Fprintf(&b, "; bytes/node/s steady:")
	for c := range numCats {
		fmt.Fprintf(&b, " %s %.0f", catNames[c], r.BytesSteadyBy[c])
	}
	fmt.Fprintf(&b, "; event:")
	for c := range numCats {
		fmt.Fprintf(&b, " %s %.0f", catNames[c], r.BytesEventBy[c])
	}
	fmt.Fprintf(&b, "; joins %d, push/pulls %d, rejoin tries %d, lost targets %d, observation %.0f B\n",
		r.Joins, r.PushPulls, r.RejoinTries, r.LostTargets, r.ObservationBytes)
	io.WriteString(w, b.String())
}
