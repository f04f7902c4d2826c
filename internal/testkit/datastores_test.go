package testkit

import (
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

type fakeServer struct{ closed *int }

func (f fakeServer) Close() error { *f.closed++; return nil }

func TestShared(t *testing.T) {
	starts, closed := 0, 0
	sh := NewShared(func() (fakeServer, error) { starts++; return fakeServer{&closed}, nil })
	if err := sh.Close(); err != nil || closed != 0 {
		t.Fatalf("Close before Get closed %d servers (%v), want none", closed, err)
	}
	sh.Get(t)
	sh.Get(t)
	if starts != 1 {
		t.Errorf("started %d times, want once", starts)
	}
	if err := sh.Close(); err != nil || closed != 1 {
		t.Errorf("Close closed %d servers (%v), want 1", closed, err)
	}

	t.Setenv("HECK_INTEGRATION", "")
	missing := NewShared(func() (fakeServer, error) {
		return fakeServer{}, &MissingError{Program: "fakedb", Install: "apt-get install fakedb"}
	})
	var skipped bool
	t.Run("missing", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		missing.Get(t)
		t.Error("Get returned without a server")
	})
	if !skipped {
		t.Error("a missing program should skip the test")
	}
	if err := missing.Close(); err != nil {
		t.Errorf("Close of a server never started: %v", err)
	}
}

// TestDaemon drives the process handling of the servers with sleep and
// sh, so it runs everywhere.
func TestDaemon(t *testing.T) {
	dir := t.TempDir()
	d := &daemon{name: "sleeper", dir: dir, logPath: filepath.Join(dir, "log"), stopSig: syscall.SIGTERM,
		cmd:   func() *exec.Cmd { return exec.Command("sleep", "60") },
		ready: func() error { return nil },
	}
	if err := d.start(); err != nil {
		t.Fatal(err)
	}
	if err := d.start(); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Errorf("second start: %v, want already running", err)
	}
	pid := d.cur.cmd.Process.Pid
	start := time.Now()
	if err := d.stop(); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("stop took %v", time.Since(start))
	}
	if err := syscall.Kill(pid, 0); err == nil {
		t.Errorf("process %d still exists after stop", pid)
	}
	if err := d.stop(); err != nil {
		t.Errorf("stop of a stopped daemon: %v", err)
	}
	if err := d.start(); err != nil {
		t.Fatalf("start again: %v", err)
	}
	if err := d.stop(); err != nil {
		t.Fatal(err)
	}

	// A process that exits before it is ready ends the wait at once, with
	// its log.
	crash := &daemon{name: "crasher", dir: dir, logPath: filepath.Join(dir, "crash.log"), stopSig: syscall.SIGTERM,
		cmd:   func() *exec.Cmd { return exec.Command("sh", "-c", "echo cannot bind port; exit 3") },
		ready: func() error { return errors.New("not listening") },
	}
	start = time.Now()
	err := crash.start()
	if err == nil || !strings.Contains(err.Error(), "exit status 3") || !strings.Contains(err.Error(), "cannot bind port") {
		t.Errorf("crash: %v, want the exit and the log", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("a crash took %v to report", time.Since(start))
	}
}
