package hostcheck

import (
	"context"
	"time"

	"github.com/shirou/gopsutil/v4/mem"

	"github.com/heckhq/heck/internal/probe"
	"github.com/heckhq/heck/internal/target"
)

// MemoryOptions are the options of a memory or swap check.
type MemoryOptions struct {
	// MaxUsedPercent of memory (or swap) in use (default 90 for memory,
	// 80 for swap). Memory in use is what the kernel cannot reclaim:
	// total minus available.
	MaxUsedPercent float64 `json:"max_used_percent,omitempty" yaml:"max_used_percent,omitempty"`
}

// Memory defaults.
const (
	DefaultMemoryPercent = 90
	DefaultSwapPercent   = 80
)

// Validate reports every problem of o.
func (o *MemoryOptions) Validate() target.FieldErrors {
	var errs target.FieldErrors
	checkPercent(&errs, "max_used_percent", o.MaxUsedPercent)
	return errs
}

// Memory is a memory check.
type Memory struct {
	max  float64
	stat func(ctx context.Context) (*mem.VirtualMemoryStat, error)
}

// NewMemory builds a memory check of o (validated).
func NewMemory(o MemoryOptions) *Memory {
	return &Memory{max: orDefault(o.MaxUsedPercent, DefaultMemoryPercent), stat: mem.VirtualMemoryWithContext}
}

// Probe reads the memory in use.
func (m *Memory) Probe(ctx context.Context) probe.Result {
	start := time.Now()
	v, err := m.stat(ctx)
	if err != nil {
		return probe.Fail(time.Since(start), "memory: "+err.Error())
	}
	used := v.UsedPercent
	if v.Total > 0 && v.Available <= v.Total {
		used = float64(v.Total-v.Available) / float64(v.Total) * 100
	}
	return threshold("memory", used, m.max, start)
}

// Swap is a swap check; a host without swap passes.
type Swap struct {
	max  float64
	stat func(ctx context.Context) (*mem.SwapMemoryStat, error)
}

// NewSwap builds a swap check of o (validated).
func NewSwap(o MemoryOptions) *Swap {
	return &Swap{max: orDefault(o.MaxUsedPercent, DefaultSwapPercent), stat: mem.SwapMemoryWithContext}
}

// Probe reads the swap in use.
func (s *Swap) Probe(ctx context.Context) probe.Result {
	start := time.Now()
	v, err := s.stat(ctx)
	if err != nil {
		return probe.Fail(time.Since(start), "swap: "+err.Error())
	}
	if v.Total == 0 {
		return probe.Result{OK: true, Latency: time.Since(start), Message: "no swap"}
	}
	return threshold("swap", v.UsedPercent, s.max, start)
}
