// Package hostcheck owns the checks only a host can make of itself: CPU use
// over a window (sampled in the background), memory, swap, disk space and
// inodes of a mount, load average, a process running (by name, pid file or
// command line), a file present or fresh, a local TCP port listening, and a
// command's exit code. Host facts come from gopsutil, never from /proc
// parsed by hand.
//
// Each check is a probe.Prober, so it returns heck's probe.Result and runs
// under any scheduler that runs probes (internal/agent). Each has an options
// struct (the block of its kind in an agent config) with a Validate that
// reports every problem at once as target.FieldErrors, fields named
// relative to the block ("max_used_percent").
package hostcheck

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/heckhq/heck/internal/probe"
	"github.com/heckhq/heck/internal/target"
)

// Kind names a host check kind; they sit beside the target kinds in an
// agent config.
type Kind string

// The host check kinds.
const (
	KindCPU     Kind = "cpu"
	KindMemory  Kind = "memory"
	KindSwap    Kind = "swap"
	KindDisk    Kind = "disk"
	KindLoad    Kind = "load"
	KindProcess Kind = "process"
	KindFile    Kind = "file"
	KindPort    Kind = "port"
	KindCommand Kind = "command"
)

// Kinds lists every host check kind, in the order they are documented.
var Kinds = []Kind{KindCPU, KindMemory, KindSwap, KindDisk, KindLoad, KindProcess, KindFile, KindPort, KindCommand}

// IsKind reports whether k is a host check kind.
func IsKind(k string) bool {
	for _, x := range Kinds {
		if string(x) == k {
			return true
		}
	}
	return false
}

// Sampler is implemented by checks that sample in the background between
// probes (cpu): Run samples until ctx ends. Whoever runs the check owns the
// goroutine running Run.
type Sampler interface {
	Run(ctx context.Context)
}

// percent formats a percentage with one decimal.
func percent(p float64) string { return strconv.FormatFloat(p, 'f', 1, 64) + "%" }

// checkPercent reports a bad threshold percentage (0 means the default).
func checkPercent(errs *target.FieldErrors, field string, v float64) {
	if v < 0 || v > 100 || v != v {
		*errs = append(*errs, target.FieldError{Field: field, Value: strconv.FormatFloat(v, 'g', -1, 64),
			Problem: "is not a percentage", Fix: "set a percentage above 0 and at most 100, or leave it out for the default"})
	}
}

// orDefault is v, or def when v is zero.
func orDefault(v, def float64) float64 {
	if v == 0 {
		return def
	}
	return v
}

// threshold compares a used percentage with its limit.
func threshold(what string, used, limit float64, start time.Time) probe.Result {
	res := probe.Result{Latency: time.Since(start), OK: used <= limit}
	if res.OK {
		res.Message = fmt.Sprintf("%s %s used (limit %s)", what, percent(used), percent(limit))
	} else {
		res.Message = fmt.Sprintf("%s %s used, above the limit of %s", what, percent(used), percent(limit))
		res.Reason = probe.ReasonOther
	}
	return res
}
