package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// child is a process the harness started: heck, the target servers or the
// baseline. Each runs in its own process group (so the harness can kill it
// and anything it spawned at once) with SIGKILL as its parent-death signal
// (so nothing outlives a harness that is itself killed).
type child struct {
	name    string
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	logPath string
	done    chan struct{} // closed when the process has exited
	err     error         // Wait's result, valid after done
}

var (
	childrenMu sync.Mutex
	children   []*child
)

// startChild starts cmd with stderr (and stdout unless already set) going to
// logPath and, when withStdin, a stdin pipe the child watches for EOF.
func startChild(name, logPath string, cmd *exec.Cmd, withStdin bool) (*child, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("start %s: create log: %w", name, err)
	}
	defer func() { _ = logf.Close() }() // the child holds its own descriptor
	if cmd.Stdout == nil {
		cmd.Stdout = logf
	}
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	c := &child{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	if withStdin {
		if c.stdin, err = cmd.StdinPipe(); err != nil {
			return nil, fmt.Errorf("start %s: stdin pipe: %w", name, err)
		}
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	childrenMu.Lock()
	children = append(children, c)
	childrenMu.Unlock()
	go func() {
		c.err = cmd.Wait()
		close(c.done)
	}()
	return c, nil
}

func (c *child) pid() int { return c.cmd.Process.Pid }

func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// stop asks the child to end (stdin EOF and SIGTERM to its group), waits up
// to grace, then kills the group.
func (c *child) stop(grace time.Duration) {
	if c.exited() {
		return
	}
	if c.stdin != nil {
		_ = c.stdin.Close()
	}
	_ = syscall.Kill(-c.pid(), syscall.SIGTERM)
	select {
	case <-c.done:
		return
	case <-time.After(grace):
	}
	_ = syscall.Kill(-c.pid(), syscall.SIGKILL)
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
	}
}

// logTail returns the last n bytes of the child's log, for error messages.
func (c *child) logTail(n int) string {
	b, err := os.ReadFile(c.logPath)
	if err != nil {
		return ""
	}
	if len(b) > n {
		b = b[len(b)-n:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return string(b)
}

// killAll kills every child still running; the harness calls it on every
// way out, including Ctrl-C.
func killAll() {
	childrenMu.Lock()
	defer childrenMu.Unlock()
	for _, c := range children {
		if !c.exited() {
			_ = syscall.Kill(-c.pid(), syscall.SIGKILL)
		}
	}
	for _, c := range children {
		select {
		case <-c.done:
		case <-time.After(2 * time.Second):
		}
	}
}
