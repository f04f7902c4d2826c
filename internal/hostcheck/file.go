package hostcheck

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/heckhq/heck/internal/probe"
	"github.com/heckhq/heck/internal/target"
)

// FileOptions are the options of a file check: Path exists and, with
// MaxAge, was modified within it (a backup's stamp, a cache refreshed by a
// cron job).
type FileOptions struct {
	Path   string          `json:"path" yaml:"path"`
	MaxAge target.Duration `json:"max_age,omitempty" yaml:"max_age,omitempty"`
}

// Validate reports every problem of o.
func (o *FileOptions) Validate() target.FieldErrors {
	var errs target.FieldErrors
	switch {
	case o.Path == "":
		errs = append(errs, target.FieldError{Field: "path", Problem: "is missing", Fix: "set the file to look for, such as path: /var/lib/backup/last"})
	case !filepath.IsAbs(o.Path):
		errs = append(errs, target.FieldError{Field: "path", Value: o.Path, Problem: "is not an absolute path", Fix: "write the path from the root"})
	}
	if o.MaxAge < 0 {
		errs = append(errs, target.FieldError{Field: "max_age", Value: o.MaxAge.String(), Problem: "is negative", Fix: "set a positive age such as 25h, or leave it out to check presence only"})
	}
	return errs
}

// File is a file check.
type File struct {
	o    FileOptions
	stat func(string) (os.FileInfo, error)
	now  func() time.Time
}

// NewFile builds a file check of o (validated).
func NewFile(o FileOptions) *File { return &File{o: o, stat: os.Stat, now: time.Now} }

// Probe looks at the file.
func (f *File) Probe(ctx context.Context) probe.Result {
	start := time.Now()
	res := probe.Result{Reason: probe.ReasonOther}
	fi, err := f.stat(f.o.Path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		res.Message = f.o.Path + " does not exist"
	case err != nil:
		res.Message = err.Error()
	case f.o.MaxAge > 0:
		age := f.now().Sub(fi.ModTime()).Truncate(time.Second)
		if age > f.o.MaxAge.D() {
			res.Message = fmt.Sprintf("%s was modified %v ago, longer than %v", f.o.Path, age, f.o.MaxAge)
		} else {
			res.OK, res.Reason = true, probe.ReasonNone
			res.Message = fmt.Sprintf("%s was modified %v ago (max %v)", f.o.Path, max(age, 0), f.o.MaxAge)
		}
	default:
		res.OK, res.Reason, res.Message = true, probe.ReasonNone, f.o.Path+" exists"
	}
	res.Latency = time.Since(start)
	return res
}
