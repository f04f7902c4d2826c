package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat. It
// is 100 on every Linux architecture Go supports for this harness.
const clockTicks = 100

// procStat is what the harness reads about one process.
type procStat struct {
	cpu        time.Duration // utime + stime
	rss        int64         // VmRSS, bytes
	hwm        int64         // VmHWM (peak RSS), bytes
	writeBytes int64         // /proc/PID/io write_bytes (-1 if unreadable)
}

// readProc reads CPU time, resident memory and storage writes of pid.
func readProc(pid int) (procStat, error) {
	var p procStat
	cpu, err := readCPU(pid)
	if err != nil {
		return p, err
	}
	p.cpu = cpu
	p.rss, p.hwm, err = readMem(pid)
	if err != nil {
		return p, err
	}
	p.writeBytes = readWriteBytes(pid)
	return p, nil
}

// readCPU returns utime+stime of pid (all its threads; children excluded).
func readCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read cpu of pid %d: %w", pid, err)
	}
	return parseStatCPU(b)
}

// parseStatCPU extracts utime and stime (fields 14 and 15) from the content
// of /proc/PID/stat. The command name (field 2) may hold spaces and
// parentheses, so fields are counted after its last ')'.
func parseStatCPU(b []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("parse /proc stat: no ')' after comm")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime is field 14 -> f[11], stime f[12].
	if len(f) < 13 {
		return 0, fmt.Errorf("parse /proc stat: %d fields after comm, want >= 13", len(f))
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("parse /proc stat utime/stime: %w", err)
	}
	return time.Duration(ut+st) * time.Second / clockTicks, nil
}

// readMem returns VmRSS and VmHWM of pid in bytes.
func readMem(pid int) (rss, hwm int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, fmt.Errorf("read memory of pid %d: %w", pid, err)
	}
	return parseStatusMem(b)
}

func parseStatusMem(b []byte) (rss, hwm int64, err error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	var gotRSS bool
	for sc.Scan() {
		line := sc.Text()
		var dst *int64
		switch {
		case strings.HasPrefix(line, "VmRSS:"):
			dst, gotRSS = &rss, true
		case strings.HasPrefix(line, "VmHWM:"):
			dst = &hwm
		default:
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			return 0, 0, fmt.Errorf("parse /proc status line %q", line)
		}
		kb, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("parse /proc status line %q: %w", line, err)
		}
		*dst = kb * 1024
	}
	if !gotRSS {
		return 0, 0, errors.New("parse /proc status: no VmRSS line")
	}
	return rss, hwm, nil
}

// readWriteBytes returns write_bytes of /proc/PID/io (bytes the process
// caused to be sent to the storage layer), or -1 when unreadable.
func readWriteBytes(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "write_bytes:"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return -1
			}
			return n
		}
	}
	return -1
}

// storeBytes sums the sizes of the files under dir, leaving out SQLite's
// shared-memory index (*-shm), which is a fixed-size mapping, not data.
func storeBytes(dir string) int64 {
	var total int64
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(path, "-shm") {
			return nil
		}
		if info, err := d.Info(); err == nil {
			total += info.Size()
		}
		return nil
	})
	return total
}

// raiseNofile raises RLIMIT_NOFILE as far as allowed: the hard limit up to
// want when privileged, the soft limit to the hard limit otherwise. Calling
// syscall.Setrlimit also makes children inherit the raised limit (Go
// otherwise restores the original soft limit in exec'd children). It
// returns the resulting soft limit and a note when it fell short of want.
func raiseNofile(want uint64) (uint64, string) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, fmt.Sprintf("getrlimit RLIMIT_NOFILE: %v", err)
	}
	if rl.Max < want {
		try := syscall.Rlimit{Cur: want, Max: want}
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &try); err == nil {
			return want, ""
		}
	}
	rl.Cur = rl.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, fmt.Sprintf("setrlimit RLIMIT_NOFILE to %d: %v", rl.Max, err)
	}
	if rl.Cur < want {
		return rl.Cur, fmt.Sprintf("RLIMIT_NOFILE is %d (hard limit; raising to %d needs privilege)", rl.Cur, want)
	}
	return rl.Cur, ""
}
