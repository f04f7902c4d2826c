package hostcheck

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/load"

	"github.com/heckhq/heck/internal/probe"
	"github.com/heckhq/heck/internal/target"
)

// LoadOptions are the options of a load check: each limit set must hold.
type LoadOptions struct {
	// Max1, Max5 and Max15 bound the 1, 5 and 15 minute load averages;
	// at least one is set.
	Max1  float64 `json:"max_load1,omitempty" yaml:"max_load1,omitempty"`
	Max5  float64 `json:"max_load5,omitempty" yaml:"max_load5,omitempty"`
	Max15 float64 `json:"max_load15,omitempty" yaml:"max_load15,omitempty"`
	// PerCPU divides the load by the number of logical CPUs before
	// comparing, so one config fits hosts of any size.
	PerCPU bool `json:"per_cpu,omitempty" yaml:"per_cpu,omitempty"`
}

// Validate reports every problem of o.
func (o *LoadOptions) Validate() target.FieldErrors {
	var errs target.FieldErrors
	for _, f := range []struct {
		name string
		v    float64
	}{{"max_load1", o.Max1}, {"max_load5", o.Max5}, {"max_load15", o.Max15}} {
		if f.v < 0 || f.v != f.v {
			errs = append(errs, target.FieldError{Field: f.name, Value: strconv.FormatFloat(f.v, 'g', -1, 64),
				Problem: "is negative", Fix: "set a load above 0"})
		}
	}
	if o.Max1 == 0 && o.Max5 == 0 && o.Max15 == 0 {
		errs = append(errs, target.FieldError{Field: "max_load5", Problem: "is missing (no limit is set)",
			Fix: "set at least one of max_load1, max_load5, max_load15, such as max_load5: 2 with per_cpu: true"})
	}
	return errs
}

// Load is a load average check.
type Load struct {
	o    LoadOptions
	avg  func(ctx context.Context) (*load.AvgStat, error)
	cpus func(ctx context.Context) (int, error)
}

// NewLoad builds a load check of o (validated).
func NewLoad(o LoadOptions) *Load {
	return &Load{o: o, avg: load.AvgWithContext, cpus: func(ctx context.Context) (int, error) { return cpu.CountsWithContext(ctx, true) }}
}

// Probe reads the load averages.
func (l *Load) Probe(ctx context.Context) probe.Result {
	start := time.Now()
	a, err := l.avg(ctx)
	if err != nil {
		return probe.Fail(time.Since(start), "load: "+err.Error())
	}
	div, unit := 1.0, ""
	if l.o.PerCPU {
		n, err := l.cpus(ctx)
		if err != nil || n < 1 {
			return probe.Fail(time.Since(start), fmt.Sprintf("load: no CPU count (%v)", err))
		}
		div, unit = float64(n), " per CPU"
	}
	res := probe.Result{OK: true}
	var parts []string
	for _, f := range []struct {
		name     string
		v, limit float64
	}{{"1m", a.Load1, l.o.Max1}, {"5m", a.Load5, l.o.Max5}, {"15m", a.Load15, l.o.Max15}} {
		v := f.v / div
		s := f.name + " " + strconv.FormatFloat(v, 'f', 2, 64)
		switch {
		case f.limit == 0:
		case v > f.limit:
			res.OK = false
			s += " above " + strconv.FormatFloat(f.limit, 'f', 2, 64)
		default:
			s += " (limit " + strconv.FormatFloat(f.limit, 'f', 2, 64) + ")"
		}
		parts = append(parts, s)
	}
	res.Latency = time.Since(start)
	res.Message = "load" + unit + ": " + strings.Join(parts, ", ")
	if !res.OK {
		res.Reason = probe.ReasonOther
	}
	return res
}
