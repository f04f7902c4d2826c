package hostcheck

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/shirou/gopsutil/v4/process"

	"github.com/heckhq/heck/internal/probe"
	"github.com/heckhq/heck/internal/target"
)

// ProcessOptions are the options of a process check: exactly one of Name,
// PIDFile or Cmdline says which process must be running.
type ProcessOptions struct {
	// Name is the process name as the kernel has it (comm: "nginx",
	// "postgres", at most 15 characters on Linux), matched exactly.
	Name string `json:"name,omitempty" yaml:"name,omitempty"`
	// PIDFile holds the process id (a daemon's /run/NAME.pid).
	PIDFile string `json:"pid_file,omitempty" yaml:"pid_file,omitempty"`
	// PID is a process id (pid: 1 for init).
	PID int `json:"pid,omitempty" yaml:"pid,omitempty"`
	// Cmdline is a regular expression (RE2) the command line (arguments
	// joined by spaces) must match.
	Cmdline string `json:"cmdline,omitempty" yaml:"cmdline,omitempty"`
	// MinCount is how many matching processes must run (default 1); for
	// name and cmdline only.
	MinCount int `json:"min_count,omitempty" yaml:"min_count,omitempty"`
}

// maxComm is the length of a process name on Linux (TASK_COMM_LEN - 1).
const maxComm = 15

// Validate reports every problem of o.
func (o *ProcessOptions) Validate() target.FieldErrors {
	var errs target.FieldErrors
	n := 0
	for _, set := range []bool{o.Name != "", o.PIDFile != "", o.PID != 0, o.Cmdline != ""} {
		if set {
			n++
		}
	}
	if n != 1 {
		errs = append(errs, target.FieldError{Field: "name", Value: o.Name, Problem: fmt.Sprintf("and the other selectors: %d of name, pid_file, pid, cmdline are set", n),
			Fix: "set exactly one of name, pid_file, pid or cmdline"})
	}
	if len(o.Name) > maxComm {
		errs = append(errs, target.FieldError{Field: "name", Value: o.Name, Problem: fmt.Sprintf("is longer than the %d characters the kernel keeps of a process name", maxComm),
			Fix: "write the first 15 characters, or match the command line with cmdline instead"})
	}
	if o.PID < 0 {
		errs = append(errs, target.FieldError{Field: "pid", Value: strconv.Itoa(o.PID), Problem: "is negative", Fix: "set a process id, such as pid: 1"})
	}
	if o.Cmdline != "" {
		if _, err := regexp.Compile(o.Cmdline); err != nil {
			errs = append(errs, target.FieldError{Field: "cmdline", Value: o.Cmdline, Problem: "is not a valid regular expression (" + err.Error() + ")", Fix: "fix the RE2 syntax"})
		}
	}
	if o.MinCount < 0 || (o.MinCount > 1 && o.Name == "" && o.Cmdline == "") {
		errs = append(errs, target.FieldError{Field: "min_count", Value: strconv.Itoa(o.MinCount), Problem: "does not apply",
			Fix: "set a count of 1 or more with name or cmdline, or leave it out"})
	}
	return errs
}

// procs is what a process check asks of the host.
type procs struct {
	pids    func(ctx context.Context) ([]int32, error)
	exists  func(ctx context.Context, pid int32) (bool, error)
	name    func(ctx context.Context, pid int32) (string, error)
	cmdline func(ctx context.Context, pid int32) (string, error)
}

var hostProcs = procs{
	pids:   process.PidsWithContext,
	exists: process.PidExistsWithContext,
	name: func(ctx context.Context, pid int32) (string, error) {
		return (&process.Process{Pid: pid}).NameWithContext(ctx)
	},
	cmdline: func(ctx context.Context, pid int32) (string, error) {
		return (&process.Process{Pid: pid}).CmdlineWithContext(ctx)
	},
}

// Process is a process check.
type Process struct {
	o    ProcessOptions
	re   *regexp.Regexp
	host procs
}

// NewProcess builds a process check of o (validated).
func NewProcess(o ProcessOptions) (*Process, error) {
	p := &Process{o: o, host: hostProcs}
	if p.o.MinCount == 0 {
		p.o.MinCount = 1
	}
	if o.Cmdline != "" {
		re, err := regexp.Compile(o.Cmdline)
		if err != nil {
			return nil, fmt.Errorf("process.cmdline: %q is not a valid regular expression (%v); fix the RE2 syntax", o.Cmdline, err)
		}
		p.re = re
	}
	return p, nil
}

// Probe looks for the process.
func (p *Process) Probe(ctx context.Context) probe.Result {
	start := time.Now()
	done := func(ok bool, format string, a ...any) probe.Result {
		r := probe.Result{OK: ok, Latency: time.Since(start), Message: fmt.Sprintf(format, a...)}
		if !ok {
			r.Reason = probe.ReasonOther
		}
		return r
	}
	switch {
	case p.o.PIDFile != "":
		pid, err := readPIDFile(p.o.PIDFile)
		if err != nil {
			return done(false, "%v", err)
		}
		return p.byPID(ctx, pid, "(from "+p.o.PIDFile+")", done)
	case p.o.PID != 0:
		return p.byPID(ctx, int32(p.o.PID), "", done)
	}
	pids, err := p.host.pids(ctx)
	if err != nil {
		return done(false, "list processes: %v", err)
	}
	what := "named " + strconv.Quote(p.o.Name)
	if p.re != nil {
		what = "matching " + strconv.Quote(p.o.Cmdline)
	}
	var found []int32
	for _, pid := range pids {
		if ctx.Err() != nil {
			return done(false, "processes %s: %s", what, probe.TimedOut(probe.Budget(ctx, start)))
		}
		if p.re != nil {
			c, err := p.host.cmdline(ctx, pid)
			if err == nil && p.re.MatchString(c) {
				found = append(found, pid)
			}
			continue
		}
		n, err := p.host.name(ctx, pid)
		if err == nil && n == p.o.Name {
			found = append(found, pid)
		}
	}
	if len(found) < p.o.MinCount {
		if len(found) == 0 {
			return done(false, "no process %s", what)
		}
		return done(false, "%d process(es) %s, want at least %d", len(found), what, p.o.MinCount)
	}
	return done(true, "%d process(es) %s (pid %s)", len(found), what, pidList(found))
}

func (p *Process) byPID(ctx context.Context, pid int32, from string, done func(bool, string, ...any) probe.Result) probe.Result {
	ok, err := p.host.exists(ctx, pid)
	switch {
	case err != nil:
		return done(false, "pid %d%s: %v", pid, spaced(from), err)
	case !ok:
		return done(false, "pid %d%s is not running", pid, spaced(from))
	}
	return done(true, "pid %d%s is running", pid, spaced(from))
}

func spaced(s string) string {
	if s == "" {
		return ""
	}
	return " " + s
}

func pidList(pids []int32) string {
	var b strings.Builder
	for i, pid := range pids {
		if i == 5 {
			fmt.Fprintf(&b, ", ... %d more", len(pids)-5)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Itoa(int(pid)))
	}
	return b.String()
}

// readPIDFile reads a process id from the first line of a pid file.
func readPIDFile(path string) (int32, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return 0, fmt.Errorf("pid file %s does not exist", path)
		}
		return 0, fmt.Errorf("pid file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 64))
	if err != nil {
		return 0, fmt.Errorf("pid file %s: %w", path, err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.ParseInt(strings.TrimSpace(line), 10, 32)
	if err != nil || pid < 1 {
		return 0, fmt.Errorf("pid file %s holds %q, not a process id", path, strings.TrimSpace(line))
	}
	return int32(pid), nil
}
