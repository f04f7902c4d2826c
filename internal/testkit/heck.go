package testkit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Heck runs a heck binary built by BuildHeck.
type Heck struct {
	// Bin is the binary's path.
	Bin string
	// Patience bounds a run to completion and a wait for an exit (30 s
	// when zero).
	Patience time.Duration
}

// BuildHeck builds cmd/heck into a new temporary directory, for a
// TestMain. remove deletes the directory.
func BuildHeck() (h Heck, remove func(), err error) {
	dir, err := os.MkdirTemp("", "heck-test-bin-")
	if err != nil {
		return Heck{}, nil, fmt.Errorf("build heck: %w", err)
	}
	bin := filepath.Join(dir, "heck")
	build := exec.Command("go", "build", "-o", bin, "github.com/heckhq/heck/cmd/heck")
	if out, err := build.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return Heck{}, nil, fmt.Errorf("go build -o %s ./cmd/heck: %w\n%s", bin, err, out)
	}
	return Heck{Bin: bin}, func() { os.RemoveAll(dir) }, nil
}

// ModuleRoot walks up from the working directory to go.mod.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find the module root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("find the module root: no go.mod above the working directory")
		}
		dir = parent
	}
}

func (h Heck) patience() time.Duration {
	if h.Patience > 0 {
		return h.Patience
	}
	return 30 * time.Second
}

// Env is the environment of every heck process: the test's, without
// anything that points the client commands elsewhere, and then env.
func Env(env ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "HECK_SERVER=") || strings.HasPrefix(kv, "HECK_API_TOKEN=") {
			continue
		}
		out = append(out, kv)
	}
	return append(out, env...)
}

// Result is what a finished heck command printed and its exit code.
type Result struct {
	Stdout, Stderr string
	Code           int
}

func (r Result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.Code, r.Stdout, r.Stderr)
}

// Run runs heck with args in dir to completion, env added to Env's.
func (h Heck) Run(t testing.TB, dir string, env []string, args ...string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), h.patience())
	defer cancel()
	cmd := exec.CommandContext(ctx, h.Bin, args...)
	cmd.Dir = dir
	cmd.Env = Env(env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := Result{Stdout: stdout.String(), Stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ee.Exited():
		r.Code = ee.ExitCode()
	default:
		t.Fatalf("heck %s: %v\n%s", strings.Join(args, " "), err, r)
	}
	return r
}

// Proc is a long-running heck process (heck serve).
type Proc struct {
	// Stdout and Stderr collect what the process prints.
	Stdout, Stderr *SyncBuffer
	// Code is the exit code, valid once the process exited: -1 when a
	// signal killed it.
	Code int

	h    Heck
	cmd  *exec.Cmd
	done chan struct{}
}

// Start runs heck with args in dir without waiting, env added to Env's.
// The process is killed at the end of the test if still running, and what
// it printed is logged if the test failed.
func (h Heck) Start(t testing.TB, dir string, env []string, args ...string) *Proc {
	t.Helper()
	p := &Proc{Stdout: &SyncBuffer{}, Stderr: &SyncBuffer{}, h: h, done: make(chan struct{})}
	p.cmd = exec.Command(h.Bin, args...)
	p.cmd.Dir = dir
	p.cmd.Env = Env(env...)
	p.cmd.Stdout, p.cmd.Stderr = p.Stdout, p.Stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start heck %s: %v", strings.Join(args, " "), err)
	}
	go func() {
		err := p.cmd.Wait()
		var ee *exec.ExitError
		switch {
		case errors.As(err, &ee):
			p.Code = ee.ExitCode()
		case err != nil:
			p.Code = -2
		}
		close(p.done)
	}()
	t.Cleanup(func() {
		if !p.Exited() {
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			const n = 16 << 10
			t.Logf("heck %s in %s (exit %d)\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), dir, p.Code,
				p.Stdout.Tail(n), p.Stderr.Tail(n))
		}
	})
	return p
}

// Exited reports whether the process has exited.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Wait waits up to d for the process to exit and returns its code.
func (p *Proc) Wait(t testing.TB, d time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.Code
	case <-time.After(d):
		t.Fatalf("heck did not exit within %s\nstderr:\n%s", d, p.Stderr.Tail(4<<10))
		return 0
	}
}

// Signal sends sig and returns the exit code and how long the process
// took to exit.
func (p *Proc) Signal(t testing.TB, sig os.Signal) (int, time.Duration) {
	t.Helper()
	at := time.Now()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("%v: %v", sig, err)
	}
	code := p.Wait(t, p.h.patience())
	return code, time.Since(at)
}

// Stop sends SIGTERM and returns the exit code and how long the process
// took to exit.
func (p *Proc) Stop(t testing.TB) (int, time.Duration) {
	t.Helper()
	return p.Signal(t, syscall.SIGTERM)
}
