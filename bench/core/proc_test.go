package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestParseStatCPU(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want time.Duration
		ok   bool
	}{
		{"plain", "1234 (heck) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 8 0 100 0 0", 3 * time.Second, true},
		{"comm with spaces and parens", "1234 (a (b) c) R 1 1 1 0 -1 0 0 0 0 0 7 3 0 0 20 0 1 0 1 0 0", 100 * time.Millisecond, true},
		{"truncated", "1234 (heck) S 1 2 3", 0, false},
		{"no comm", "garbage", 0, false},
	}
	for _, c := range cases {
		got, err := parseStatCPU([]byte(c.in))
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("%s: got %v, %v; want %v ok=%v", c.name, got, err, c.want, c.ok)
		}
	}
}

func TestParseStatusMem(t *testing.T) {
	in := "Name:\theck\nVmHWM:\t  20480 kB\nVmRSS:\t  10240 kB\nThreads:\t8\n"
	rss, hwm, err := parseStatusMem([]byte(in))
	if err != nil || rss != 10240*1024 || hwm != 20480*1024 {
		t.Fatalf("got rss=%d hwm=%d err=%v", rss, hwm, err)
	}
	if _, _, err := parseStatusMem([]byte("Name:\tkthread\n")); err == nil {
		t.Fatal("status without VmRSS accepted")
	}
}

func TestReadProcSelf(t *testing.T) {
	p, err := readProc(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if p.rss <= 0 || p.hwm < p.rss {
		t.Fatalf("implausible memory: %+v", p)
	}
}

func TestStoreBytesSkipsShm(t *testing.T) {
	dir := t.TempDir()
	for name, size := range map[string]int{"heck.db": 4096, "heck.db-wal": 1000, "heck.db-shm": 32768} {
		if err := os.WriteFile(filepath.Join(dir, name), make([]byte, size), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if got := storeBytes(dir); got != 5096 {
		t.Fatalf("storeBytes = %d, want 5096", got)
	}
}
