package hostcheck

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"

	"github.com/heckhq/heck/internal/probe"
	"github.com/heckhq/heck/internal/target"
)

// CPUOptions are the options of a cpu check: CPU use of the whole host
// (all cores together) over the last Window must stay at or below
// MaxPercent.
type CPUOptions struct {
	// MaxPercent of CPU time busy over the window (default 90).
	MaxPercent float64 `json:"max_percent,omitempty" yaml:"max_percent,omitempty"`
	// Window is how far back the use is measured (default 1m, 1s to 1h).
	Window target.Duration `json:"window,omitempty" yaml:"window,omitempty"`
}

// CPU defaults and bounds.
const (
	DefaultCPUPercent = 90
	DefaultCPUWindow  = time.Minute
	MinCPUWindow      = time.Second
	MaxCPUWindow      = time.Hour
	// cpuSamples is how many samples the window holds.
	cpuSamples = 6
	// minCPUSpan is the shortest span a probe measures over: a probe right
	// after the start waits for it rather than divide noise.
	minCPUSpan = 200 * time.Millisecond
)

// Validate reports every problem of o.
func (o *CPUOptions) Validate() target.FieldErrors {
	var errs target.FieldErrors
	checkPercent(&errs, "max_percent", o.MaxPercent)
	if w := o.Window.D(); w != 0 && (w < MinCPUWindow || w > MaxCPUWindow) {
		errs = append(errs, target.FieldError{Field: "window", Value: o.Window.String(), Problem: "is out of range",
			Fix: "set a window from 1s to 1h, or leave it out for 1m"})
	}
	return errs
}

// CPU is a cpu check. Run samples the host's CPU times every window/5 in
// the background; Probe takes one more sample and measures the busy share
// since the oldest sample within the window.
type CPU struct {
	max    float64
	window time.Duration
	times  func(ctx context.Context) (cpu.TimesStat, error)
	now    func() time.Time

	mu      sync.Mutex
	samples []cpuSample // oldest first, at most cpuSamples
}

type cpuSample struct {
	at          time.Time
	busy, total float64
}

// NewCPU builds a cpu check of o (validated).
func NewCPU(o CPUOptions) *CPU {
	w := o.Window.D()
	if w == 0 {
		w = DefaultCPUWindow
	}
	return &CPU{max: orDefault(o.MaxPercent, DefaultCPUPercent), window: w, times: cpuTimes, now: time.Now}
}

func cpuTimes(ctx context.Context) (cpu.TimesStat, error) {
	ts, err := cpu.TimesWithContext(ctx, false)
	if err != nil {
		return cpu.TimesStat{}, err
	}
	if len(ts) == 0 {
		return cpu.TimesStat{}, fmt.Errorf("no CPU times reported")
	}
	return ts[0], nil
}

// Run samples every window/(cpuSamples-1) until ctx ends.
func (c *CPU) Run(ctx context.Context) {
	c.sample(ctx)
	t := time.NewTicker(c.window / (cpuSamples - 1))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c.sample(ctx)
		}
	}
}

// sample takes one sample and keeps it, dropping the oldest beyond
// cpuSamples; it returns the sample.
func (c *CPU) sample(ctx context.Context) (cpuSample, error) {
	t, err := c.times(ctx)
	if err != nil {
		return cpuSample{}, err
	}
	// Guest time is counted in user already, as gopsutil's Percent does.
	idle := t.Idle + t.Iowait
	total := t.User + t.System + t.Idle + t.Nice + t.Iowait + t.Irq + t.Softirq + t.Steal
	s := cpuSample{at: c.now(), busy: total - idle, total: total}
	c.mu.Lock()
	c.samples = append(c.samples, s)
	if len(c.samples) > cpuSamples {
		c.samples = append(c.samples[:0], c.samples[len(c.samples)-cpuSamples:]...)
	}
	c.mu.Unlock()
	return s, nil
}

// oldest is the oldest sample no older than the window before now.
func (c *CPU) oldest(now time.Time) (cpuSample, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.samples {
		if now.Sub(s.at) <= c.window+c.window/(cpuSamples-1) {
			return s, true
		}
	}
	return cpuSample{}, false
}

// Probe measures the CPU use over the window.
func (c *CPU) Probe(ctx context.Context) probe.Result {
	start := time.Now()
	from, ok := c.oldest(c.now())
	if !ok {
		// Run is not running (or not yet): start from a sample taken now.
		s, err := c.sample(ctx)
		if err != nil {
			return probe.Fail(time.Since(start), "cpu: "+err.Error())
		}
		from = s
	}
	if wait := minCPUSpan - c.now().Sub(from.at); wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return probe.Result{Latency: time.Since(start), Message: "cpu: " + probe.TimedOut(probe.Budget(ctx, start)), Reason: probe.ReasonTimeout}
		case <-t.C:
		}
	}
	to, err := c.sample(ctx)
	if err != nil {
		return probe.Fail(time.Since(start), "cpu: "+err.Error())
	}
	return c.judge(from, to, start)
}

func (c *CPU) judge(from, to cpuSample, start time.Time) probe.Result {
	dt := to.total - from.total
	used := 0.0
	if dt > 0 {
		used = min(max((to.busy-from.busy)/dt*100, 0), 100)
	}
	res := threshold("CPU", used, c.max, start)
	span := to.at.Sub(from.at)
	if span < 10*time.Second {
		span = span.Round(100 * time.Millisecond)
	} else {
		span = span.Round(time.Second)
	}
	res.Message += " over " + span.String()
	return res
}
