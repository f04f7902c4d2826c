package hostcheck

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/shirou/gopsutil/v4/disk"

	"github.com/heckhq/heck/internal/probe"
	"github.com/heckhq/heck/internal/target"
)

// DiskOptions are the options of a disk check of one mount.
type DiskOptions struct {
	// Path is a path on the mount (its mount point, usually): "/".
	Path string `json:"path" yaml:"path"`
	// MaxUsedPercent of the space in use (default 90), as df counts it.
	MaxUsedPercent float64 `json:"max_used_percent,omitempty" yaml:"max_used_percent,omitempty"`
	// MaxInodesUsedPercent of the inodes in use (default 90); a file
	// system without a fixed number of inodes passes.
	MaxInodesUsedPercent float64 `json:"max_inodes_used_percent,omitempty" yaml:"max_inodes_used_percent,omitempty"`
}

// Disk defaults.
const (
	DefaultDiskPercent   = 90
	DefaultInodesPercent = 90
)

// Validate reports every problem of o.
func (o *DiskOptions) Validate() target.FieldErrors {
	var errs target.FieldErrors
	switch {
	case o.Path == "":
		errs = append(errs, target.FieldError{Field: "path", Problem: "is missing", Fix: "set the mount to check, such as path: /"})
	case !filepath.IsAbs(o.Path):
		errs = append(errs, target.FieldError{Field: "path", Value: o.Path, Problem: "is not an absolute path", Fix: "write the mount point from the root, such as /var/lib"})
	}
	checkPercent(&errs, "max_used_percent", o.MaxUsedPercent)
	checkPercent(&errs, "max_inodes_used_percent", o.MaxInodesUsedPercent)
	return errs
}

// Disk is a disk check.
type Disk struct {
	path             string
	maxUsed, maxInos float64
	usage            func(ctx context.Context, path string) (*disk.UsageStat, error)
}

// NewDisk builds a disk check of o (validated).
func NewDisk(o DiskOptions) *Disk {
	return &Disk{path: o.Path, maxUsed: orDefault(o.MaxUsedPercent, DefaultDiskPercent),
		maxInos: orDefault(o.MaxInodesUsedPercent, DefaultInodesPercent), usage: disk.UsageWithContext}
}

// Probe reads the space and inodes in use.
func (d *Disk) Probe(ctx context.Context) probe.Result {
	start := time.Now()
	u, err := d.usage(ctx, d.path)
	if err != nil {
		return probe.Fail(time.Since(start), fmt.Sprintf("disk %s: %v", d.path, err))
	}
	space := threshold("disk "+d.path+":", u.UsedPercent, d.maxUsed, start)
	if u.InodesTotal == 0 {
		space.Message += "; no inode limit"
		return space
	}
	inodes := threshold("inodes", u.InodesUsedPercent, d.maxInos, start)
	res := probe.Result{OK: space.OK && inodes.OK, Latency: time.Since(start), Message: space.Message + "; " + inodes.Message}
	if !res.OK {
		res.Reason = probe.ReasonOther
	}
	return res
}
