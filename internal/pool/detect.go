package pool

import (
	"fmt"
	"math"
	"sort"
	"time"
)

// Ejection reasons.
const (
	ReasonFailures  = "consecutive_failures"
	ReasonErrorRate = "error_rate"
	ReasonLatency   = "latency"
)

// Floors below which a deviation from the pool's median never ejects, so
// that a pool whose members all agree (a median absolute deviation of 0)
// does not eject one for a hair's difference.
const (
	minErrorGap   = 0.10                 // 10 percentage points above the median error rate
	minLatencyGap = 5 * time.Millisecond // and half the median latency
)

// madScale turns a median absolute deviation into an estimate of the
// standard deviation of normally distributed data.
const madScale = 1.4826

// Detect runs outlier detection over an evaluated pool at now and returns
// the new ejections to make. prior returns a member's last ejection, in
// force or ended (for the repeat count), if any.
//
// The tests, in order of severity: a run of at least ConsecutiveFailures
// failed probes; an error rate, or a latency, more than Deviations median
// absolute deviations above the pool's median (with at least MinMembers
// members reporting it, and at least minErrorGap or minLatencyGap above
// the median). Nothing is ejected while the pool is in panic, by
// consecutive failures when more than half of its healthy members are
// failing (a shared cause, not an outlier), or beyond MaxEjectionPercent
// of the members ejected at once (at least one in a pool of three or
// more, when the percentage is not 0). Medians make the rest safe: when
// most of a pool is slow or failing together, the median moves with them
// and no member stands out. The n-th ejection in a row of a member (the
// previous one ended less than MaxEjectionTime ago) lasts n times
// BaseEjectionTime, at most MaxEjectionTime.
//
// Detect judges one moment; the node confirms the median tests over
// several rounds before it ejects (one slow probe is no outlier).
func Detect(v *View, now time.Time, prior func(member string) (Ejection, bool)) []Ejection {
	o := v.Spec.Outlier.WithDefaults()
	if o.Disabled || v.Panic || len(v.Members) == 0 {
		return nil
	}
	budget := maxEjections(len(v.Members), *o.MaxEjectionPercent) - v.Ejected
	if budget <= 0 {
		return nil
	}
	type cand struct {
		i        int
		reason   string
		severity float64
		detail   string
	}
	var cands []cand
	var healthy []int
	for i := range v.Members {
		if v.Members[i].Healthy {
			healthy = append(healthy, i)
		}
	}
	failing := 0
	for _, i := range healthy {
		if v.Members[i].Fails >= o.ConsecutiveFailures {
			failing++
		}
	}
	taken := map[int]bool{}
	if failing*2 <= len(healthy) {
		for _, i := range healthy {
			if f := v.Members[i].Fails; f >= o.ConsecutiveFailures {
				cands = append(cands, cand{i, ReasonFailures, math.Inf(1), fmt.Sprintf("%d consecutive failed probes", f)})
				taken[i] = true
			}
		}
	}
	var errs, lats []float64
	for _, i := range healthy {
		if r := v.Members[i].ErrorRate; r >= 0 {
			errs = append(errs, r)
		}
		if l := v.Members[i].Latency; l > 0 {
			lats = append(lats, float64(l))
		}
	}
	if len(errs) >= o.MinMembers {
		med, mad := medianMAD(errs)
		limit := med + max(o.Deviations*madScale*mad, minErrorGap)
		for _, i := range healthy {
			if r := v.Members[i].ErrorRate; !taken[i] && r > limit {
				cands = append(cands, cand{i, ReasonErrorRate, (r - med) / max(mad, 1e-9),
					fmt.Sprintf("error rate %.0f%%, pool median %.0f%%", r*100, med*100)})
				taken[i] = true
			}
		}
	}
	if len(lats) >= o.MinMembers {
		med, mad := medianMAD(lats)
		limit := med + max(o.Deviations*madScale*mad, med/2, float64(minLatencyGap))
		for _, i := range healthy {
			if l := float64(v.Members[i].Latency); !taken[i] && l > limit {
				cands = append(cands, cand{i, ReasonLatency, (l - med) / max(mad, 1),
					fmt.Sprintf("latency %v, pool median %v", time.Duration(l).Round(time.Microsecond), time.Duration(med).Round(time.Microsecond))})
				taken[i] = true
			}
		}
	}
	sort.SliceStable(cands, func(a, b int) bool { return cands[a].severity > cands[b].severity })
	if len(cands) > budget {
		cands = cands[:budget]
	}
	out := make([]Ejection, 0, len(cands))
	for _, c := range cands {
		m := &v.Members[c.i]
		e := Ejection{Pool: v.Name, Member: m.ID, At: now, Count: 1, Reason: c.reason + ": " + c.detail, Test: c.reason}
		if p, ok := prior(m.ID); ok && now.Sub(p.Until) < o.MaxEjectionTime.D() {
			e.Count = p.Count + 1
		}
		d := min(o.BaseEjectionTime.D()*time.Duration(e.Count), o.MaxEjectionTime.D())
		e.Until = now.Add(d)
		out = append(out, e)
	}
	return out
}

// maxEjections is how many of n members may be ejected at once at pct
// percent: at least one of three or more, unless pct is 0.
func maxEjections(n, pct int) int {
	if pct <= 0 {
		return 0
	}
	k := n * pct / 100
	if k == 0 && n >= 3 {
		k = 1
	}
	return k
}

// medianMAD returns the median of xs and their median absolute deviation
// from it. xs is reordered.
func medianMAD(xs []float64) (float64, float64) {
	med := median(xs)
	dev := make([]float64, len(xs))
	for i, x := range xs {
		dev[i] = math.Abs(x - med)
	}
	return med, median(dev)
}

func median(xs []float64) float64 {
	sort.Float64s(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

// Key is an ejection's key in its replicated collection: pool/member.
func (e *Ejection) Key() string { return e.Pool + "/" + e.Member }
