package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// child is a process the harness started (heck). It runs in its own
// process group with SIGKILL as its parent-death signal, so nothing
// outlives the harness, and killAll ends it on every way out.
type child struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{} // closed when the process has exited
	err     error         // Wait's result, valid after done
}

var (
	childrenMu sync.Mutex
	children   []*child
)

// startChild starts cmd with stdout and stderr going to logPath.
func startChild(name, logPath string, cmd *exec.Cmd) (*child, error) {
	lf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("start %s: create log: %w", name, err)
	}
	defer func() { _ = lf.Close() }() // the child holds its own descriptor
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
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

// stop sends SIGTERM to the child's group, waits up to grace, then kills
// the group.
func (c *child) stop(grace time.Duration) {
	if c.exited() {
		return
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

// killAll kills every child still running, Ctrl-C included.
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
