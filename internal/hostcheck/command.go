package hostcheck

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/heckhq/heck/internal/probe"
	"github.com/heckhq/heck/internal/target"
)

// CommandOptions are the options of a command check: Argv runs (no shell)
// within the check's timeout and must exit with ExpectExit.
type CommandOptions struct {
	// Argv is the program and its arguments: ["/usr/bin/pg_isready",
	// "-q"]. Write ["sh", "-c", "..."] for a shell.
	Argv []string `json:"argv" yaml:"argv"`
	// ExpectExit is the exit code that passes (default 0).
	ExpectExit int `json:"expect_exit,omitempty" yaml:"expect_exit,omitempty"`
	// Dir is the working directory (default: the agent's).
	Dir string `json:"dir,omitempty" yaml:"dir,omitempty"`
}

// OutputTail is how much of a command's output (stdout and stderr
// together) a result keeps: the last bytes, where errors usually are.
const OutputTail = 512

// Validate reports every problem of o.
func (o *CommandOptions) Validate() target.FieldErrors {
	var errs target.FieldErrors
	if len(o.Argv) == 0 || o.Argv[0] == "" {
		errs = append(errs, target.FieldError{Field: "argv", Problem: "is missing", Fix: "set the program and its arguments, such as argv: [/usr/bin/true]"})
	}
	if o.ExpectExit < 0 || o.ExpectExit > 255 {
		errs = append(errs, target.FieldError{Field: "expect_exit", Value: strconv.Itoa(o.ExpectExit), Problem: "is not an exit code", Fix: "set 0 to 255"})
	}
	return errs
}

// Command is a command check.
type Command struct {
	o CommandOptions
}

// NewCommand builds a command check of o (validated).
func NewCommand(o CommandOptions) *Command { return &Command{o: o} }

// Probe runs the command until it exits or ctx ends (then it is killed).
func (c *Command) Probe(ctx context.Context) probe.Result {
	start := time.Now()
	cmd := exec.CommandContext(ctx, c.o.Argv[0], c.o.Argv[1:]...)
	cmd.Dir = c.o.Dir
	out := &tail{max: OutputTail}
	cmd.Stdout, cmd.Stderr = out, out
	// A child holding the output pipes open does not outlive the kill by
	// more than this.
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	res := probe.Result{Latency: time.Since(start)}
	code := -1
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		res.Message, res.Reason = c.o.Argv[0]+": "+probe.TimedOut(probe.Budget(ctx, start))+", killed", probe.ReasonTimeout
	case errors.As(err, &ee):
		code = ee.ExitCode()
		if code < 0 {
			res.Message = fmt.Sprintf("%s: %v", c.o.Argv[0], ee)
		}
	case err != nil:
		res.Message = fmt.Sprintf("%s: %v", c.o.Argv[0], err)
	default:
		code = 0
	}
	if res.Message == "" {
		res.OK = code == c.o.ExpectExit
		res.Message = "exit " + strconv.Itoa(code)
		if !res.OK {
			res.Message += fmt.Sprintf(" (want %d)", c.o.ExpectExit)
		}
	}
	if !res.OK && res.Reason == probe.ReasonNone {
		res.Reason = probe.ReasonOther
	}
	if t := out.String(); t != "" {
		res.Message += ": " + t
	}
	return res
}

// tail keeps the last max bytes written to it.
type tail struct {
	mu    sync.Mutex
	max   int
	buf   []byte
	trunc bool
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(p)
	if len(p) >= t.max {
		t.buf = append(t.buf[:0], p[len(p)-t.max:]...)
		t.trunc = true
		return n, nil
	}
	if over := len(t.buf) + len(p) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
		t.trunc = true
	}
	t.buf = append(t.buf, p...)
	return n, nil
}

// String is the tail on one line, "..." first when cut.
func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.Join(strings.Fields(strings.ToValidUTF8(string(t.buf), "?")), " ")
	if t.trunc && s != "" {
		s = "..." + s
	}
	return s
}
