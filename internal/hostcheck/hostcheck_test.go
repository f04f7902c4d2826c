package hostcheck

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/disk"
	"github.com/shirou/gopsutil/v4/load"
	"github.com/shirou/gopsutil/v4/mem"
	psnet "github.com/shirou/gopsutil/v4/net"

	"github.com/heckhq/heck/internal/probe"
	"github.com/heckhq/heck/internal/target"
)

// want checks a result's outcome and that its message holds each of msg.
func want(t *testing.T, res probe.Result, ok bool, msg ...string) {
	t.Helper()
	if res.OK != ok {
		t.Errorf("OK = %v, want %v (%q)", res.OK, ok, res.Message)
	}
	for _, m := range msg {
		if !strings.Contains(res.Message, m) {
			t.Errorf("message %q does not contain %q", res.Message, m)
		}
	}
}

// fields are the field names of errs, in order.
func fields(errs target.FieldErrors) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Field)
	}
	return out
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		errs target.FieldErrors
		want []string
	}{
		{"cpu ok", (&CPUOptions{MaxPercent: 80, Window: target.Duration(time.Minute)}).Validate(), nil},
		{"cpu defaults", (&CPUOptions{}).Validate(), nil},
		{"cpu bad", (&CPUOptions{MaxPercent: 120, Window: target.Duration(time.Millisecond)}).Validate(), []string{"max_percent", "window"}},
		{"memory bad", (&MemoryOptions{MaxUsedPercent: -1}).Validate(), []string{"max_used_percent"}},
		{"disk missing path", (&DiskOptions{}).Validate(), []string{"path"}},
		{"disk bad", (&DiskOptions{Path: "var", MaxUsedPercent: 101, MaxInodesUsedPercent: -5}).Validate(), []string{"path", "max_used_percent", "max_inodes_used_percent"}},
		{"load none", (&LoadOptions{}).Validate(), []string{"max_load5"}},
		{"load negative", (&LoadOptions{Max1: -1, Max5: 2}).Validate(), []string{"max_load1"}},
		{"process none", (&ProcessOptions{}).Validate(), []string{"name"}},
		{"process two", (&ProcessOptions{Name: "x", PID: 1}).Validate(), []string{"name"}},
		{"process bad regexp", (&ProcessOptions{Cmdline: "("}).Validate(), []string{"cmdline"}},
		{"process count with pid", (&ProcessOptions{PID: 1, MinCount: 2}).Validate(), []string{"min_count"}},
		{"process ok", (&ProcessOptions{Name: "sshd", MinCount: 2}).Validate(), nil},
		{"process name too long", (&ProcessOptions{Name: "a-very-long-daemon-name"}).Validate(), []string{"name"}},
		{"file bad", (&FileOptions{Path: "x", MaxAge: -1}).Validate(), []string{"path", "max_age"}},
		{"port bad", (&PortOptions{Port: 70000, Address: "localhost"}).Validate(), []string{"port", "address"}},
		{"port ok", (&PortOptions{Port: 22, Address: "::1"}).Validate(), nil},
		{"command bad", (&CommandOptions{ExpectExit: 300}).Validate(), []string{"argv", "expect_exit"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fields(tt.errs); strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("fields = %v, want %v (%v)", got, tt.want, tt.errs)
			}
			for _, e := range tt.errs {
				if e.Problem == "" || e.Fix == "" {
					t.Errorf("%s: no problem or fix: %+v", e.Field, e)
				}
			}
		})
	}
}

func TestCPU(t *testing.T) {
	tests := []struct {
		name     string
		max      float64
		from, to cpu.TimesStat
		ok       bool
		msg      string
	}{
		{"idle", 90, cpu.TimesStat{User: 10, Idle: 90}, cpu.TimesStat{User: 11, Idle: 189}, true, "CPU 1.0% used"},
		{"busy", 90, cpu.TimesStat{User: 10, Idle: 90}, cpu.TimesStat{User: 105, System: 0, Idle: 95}, false, "CPU 95.0% used, above the limit of 90.0%"},
		{"iowait is idle", 50, cpu.TimesStat{Idle: 10}, cpu.TimesStat{Idle: 10, Iowait: 100}, true, "CPU 0.0%"},
		{"steal is busy", 50, cpu.TimesStat{Idle: 10}, cpu.TimesStat{Idle: 20, Steal: 90}, false, "CPU 90.0%"},
		{"no time passed", 50, cpu.TimesStat{Idle: 10}, cpu.TimesStat{Idle: 10}, true, "CPU 0.0%"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Unix(1000, 0)
			c := NewCPU(CPUOptions{MaxPercent: tt.max, Window: target.Duration(time.Minute)})
			c.now = func() time.Time { return now }
			times := []cpu.TimesStat{tt.from, tt.to}
			c.times = func(context.Context) (cpu.TimesStat, error) {
				ts := times[0]
				times = times[1:]
				return ts, nil
			}
			if _, err := c.sample(context.Background()); err != nil {
				t.Fatal(err)
			}
			now = now.Add(30 * time.Second)
			res := c.Probe(context.Background())
			want(t, res, tt.ok, tt.msg, "over 30s")
		})
	}
}

// TestCPUWindow checks that samples older than the window are not used and
// that at most cpuSamples are kept.
func TestCPUWindow(t *testing.T) {
	now := time.Unix(1000, 0)
	c := NewCPU(CPUOptions{Window: target.Duration(50 * time.Second)}) // a sample every 10s
	c.now = func() time.Time { return now }
	busy := 0.0
	c.times = func(context.Context) (cpu.TimesStat, error) {
		return cpu.TimesStat{User: busy, Idle: 1000 + now.Sub(time.Unix(1000, 0)).Seconds()}, nil
	}
	for i := 0; i < 20; i++ {
		if _, err := c.sample(context.Background()); err != nil {
			t.Fatal(err)
		}
		now = now.Add(10 * time.Second)
	}
	if len(c.samples) != cpuSamples {
		t.Fatalf("%d samples kept, want %d", len(c.samples), cpuSamples)
	}
	// Hours later, with no sampling in between: the probe starts afresh
	// (and waits minCPUSpan for a second sample, in real time).
	now = now.Add(time.Hour)
	if _, ok := c.oldest(now); ok {
		t.Fatal("a sample older than the window was used")
	}
}

func TestCPURealHost(t *testing.T) {
	c := NewCPU(CPUOptions{MaxPercent: 100})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	want(t, c.Probe(ctx), true, "CPU ")
}

func TestMemory(t *testing.T) {
	tests := []struct {
		name string
		max  float64
		stat mem.VirtualMemoryStat
		err  error
		ok   bool
		msg  string
	}{
		{"low", 90, mem.VirtualMemoryStat{Total: 100, Available: 60}, nil, true, "memory 40.0% used (limit 90.0%)"},
		{"high", 90, mem.VirtualMemoryStat{Total: 100, Available: 5}, nil, false, "memory 95.0% used, above the limit"},
		{"default limit", 0, mem.VirtualMemoryStat{Total: 100, Available: 11}, nil, true, "limit 90.0%"},
		{"error", 90, mem.VirtualMemoryStat{}, errors.New("boom"), false, "memory: boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMemory(MemoryOptions{MaxUsedPercent: tt.max})
			m.stat = func(context.Context) (*mem.VirtualMemoryStat, error) { return &tt.stat, tt.err }
			want(t, m.Probe(context.Background()), tt.ok, tt.msg)
		})
	}
	want(t, NewMemory(MemoryOptions{MaxUsedPercent: 100}).Probe(context.Background()), true, "memory ")
}

func TestSwap(t *testing.T) {
	tests := []struct {
		name string
		stat mem.SwapMemoryStat
		ok   bool
		msg  string
	}{
		{"none", mem.SwapMemoryStat{}, true, "no swap"},
		{"low", mem.SwapMemoryStat{Total: 100, UsedPercent: 10}, true, "swap 10.0% used (limit 80.0%)"},
		{"high", mem.SwapMemoryStat{Total: 100, UsedPercent: 81}, false, "swap 81.0% used, above"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewSwap(MemoryOptions{})
			s.stat = func(context.Context) (*mem.SwapMemoryStat, error) { return &tt.stat, nil }
			want(t, s.Probe(context.Background()), tt.ok, tt.msg)
		})
	}
	want(t, NewSwap(MemoryOptions{MaxUsedPercent: 100}).Probe(context.Background()), true)
}

func TestDisk(t *testing.T) {
	tests := []struct {
		name string
		u    disk.UsageStat
		ok   bool
		msg  []string
	}{
		{"ok", disk.UsageStat{UsedPercent: 50, InodesTotal: 10, InodesUsedPercent: 10}, true, []string{"disk /data: 50.0% used", "inodes 10.0% used"}},
		{"space", disk.UsageStat{UsedPercent: 95, InodesTotal: 10, InodesUsedPercent: 10}, false, []string{"95.0% used, above", "inodes 10.0% used (limit"}},
		{"inodes", disk.UsageStat{UsedPercent: 5, InodesTotal: 10, InodesUsedPercent: 99}, false, []string{"inodes 99.0% used, above"}},
		{"no inodes", disk.UsageStat{UsedPercent: 5}, true, []string{"no inode limit"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDisk(DiskOptions{Path: "/data"})
			d.usage = func(_ context.Context, p string) (*disk.UsageStat, error) {
				if p != "/data" {
					t.Errorf("path %q", p)
				}
				return &tt.u, nil
			}
			want(t, d.Probe(context.Background()), tt.ok, tt.msg...)
		})
	}
	want(t, NewDisk(DiskOptions{Path: "/", MaxUsedPercent: 100, MaxInodesUsedPercent: 100}).Probe(context.Background()), true, "disk /:")
	want(t, NewDisk(DiskOptions{Path: "/no/such/mount"}).Probe(context.Background()), false, "/no/such/mount")
}

func TestLoad(t *testing.T) {
	tests := []struct {
		name string
		o    LoadOptions
		avg  load.AvgStat
		ok   bool
		msg  string
	}{
		{"under", LoadOptions{Max5: 4}, load.AvgStat{Load1: 9, Load5: 3, Load15: 1}, true, "5m 3.00 (limit 4.00)"},
		{"over one", LoadOptions{Max1: 8, Max15: 2}, load.AvgStat{Load1: 9, Load5: 3, Load15: 1}, false, "1m 9.00 above 8.00"},
		{"per cpu", LoadOptions{Max5: 1, PerCPU: true}, load.AvgStat{Load5: 3.6}, true, "load per CPU: 1m 0.00, 5m 0.90 (limit 1.00)"},
		{"per cpu over", LoadOptions{Max5: 0.5, PerCPU: true}, load.AvgStat{Load5: 3.6}, false, "5m 0.90 above 0.50"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := NewLoad(tt.o)
			l.avg = func(context.Context) (*load.AvgStat, error) { return &tt.avg, nil }
			l.cpus = func(context.Context) (int, error) { return 4, nil }
			want(t, l.Probe(context.Background()), tt.ok, tt.msg)
		})
	}
	want(t, NewLoad(LoadOptions{Max15: 1e6, PerCPU: true}).Probe(context.Background()), true, "per CPU")
}

func TestProcess(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	fake := procs{
		pids: func(context.Context) ([]int32, error) { return []int32{1, 40, 41, 99}, nil },
		exists: func(_ context.Context, pid int32) (bool, error) {
			return pid == 1 || pid == 40 || pid == 41 || pid == 99, nil
		},
		name: func(_ context.Context, pid int32) (string, error) {
			return map[int32]string{1: "init", 40: "nginx", 41: "nginx", 99: "sleep"}[pid], nil
		},
		cmdline: func(_ context.Context, pid int32) (string, error) {
			if pid == 99 {
				return "", errors.New("gone")
			}
			return map[int32]string{1: "/sbin/init splash", 40: "nginx: master process", 41: "nginx: worker process"}[pid], nil
		},
	}
	tests := []struct {
		name string
		o    ProcessOptions
		ok   bool
		msg  string
	}{
		{"by name", ProcessOptions{Name: "nginx"}, true, `2 process(es) named "nginx" (pid 40, 41)`},
		{"by name min count", ProcessOptions{Name: "nginx", MinCount: 3}, false, "2 process(es) named \"nginx\", want at least 3"},
		{"name absent", ProcessOptions{Name: "postgres"}, false, `no process named "postgres"`},
		{"name is exact", ProcessOptions{Name: "ngin"}, false, "no process"},
		{"by cmdline", ProcessOptions{Cmdline: "worker"}, true, "1 process(es) matching \"worker\" (pid 41)"},
		{"cmdline absent", ProcessOptions{Cmdline: "^redis"}, false, "no process matching"},
		{"by pid", ProcessOptions{PID: 1}, true, "pid 1 is running"},
		{"pid absent", ProcessOptions{PID: 7}, false, "pid 7 is not running"},
		{"pid file", ProcessOptions{PIDFile: write("ok.pid", "40\n")}, true, "pid 40 (from "},
		{"pid file stale", ProcessOptions{PIDFile: write("stale.pid", "12345")}, false, "pid 12345 (from "},
		{"pid file garbage", ProcessOptions{PIDFile: write("bad.pid", "hello")}, false, `holds "hello", not a process id`},
		{"pid file missing", ProcessOptions{PIDFile: filepath.Join(dir, "none.pid")}, false, "does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewProcess(tt.o)
			if err != nil {
				t.Fatal(err)
			}
			p.host = fake
			want(t, p.Probe(context.Background()), tt.ok, tt.msg)
		})
	}
	// The real host: this test's own process, by pid and by command line.
	self, _ := NewProcess(ProcessOptions{PID: os.Getpid()})
	want(t, self.Probe(context.Background()), true, "is running")
	exe, _ := os.Executable()
	byCmd, _ := NewProcess(ProcessOptions{Cmdline: regexpQuote(filepath.Base(exe))})
	want(t, byCmd.Probe(context.Background()), true, "matching")
}

func regexpQuote(s string) string {
	return strings.NewReplacer(".", `\.`, "+", `\+`, "(", `\(`, ")", `\)`).Replace(s)
}

func TestFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "stamp")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	mtime := time.Unix(1_000_000, 0)
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		o    FileOptions
		now  time.Time
		ok   bool
		msg  string
	}{
		{"present", FileOptions{Path: path}, mtime.Add(1000 * time.Hour), true, "exists"},
		{"absent", FileOptions{Path: filepath.Join(dir, "none")}, mtime, false, "does not exist"},
		{"fresh", FileOptions{Path: path, MaxAge: target.Duration(time.Hour)}, mtime.Add(59 * time.Minute), true, "modified 59m0s ago (max 1h0m0s)"},
		{"stale", FileOptions{Path: path, MaxAge: target.Duration(time.Hour)}, mtime.Add(2 * time.Hour), false, "modified 2h0m0s ago, longer than 1h0m0s"},
		{"future mtime", FileOptions{Path: path, MaxAge: target.Duration(time.Hour)}, mtime.Add(-time.Minute), true, "0s ago"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := NewFile(tt.o)
			f.now = func() time.Time { return tt.now }
			want(t, f.Probe(context.Background()), tt.ok, tt.msg)
		})
	}
}

func TestPort(t *testing.T) {
	conns := []psnet.ConnectionStat{
		{Status: "ESTABLISHED", Laddr: psnet.Addr{IP: "127.0.0.1", Port: 5432}},
		{Status: "LISTEN", Laddr: psnet.Addr{IP: "127.0.0.1", Port: 6379}, Pid: 10},
		{Status: "LISTEN", Laddr: psnet.Addr{IP: "::", Port: 80}},
	}
	tests := []struct {
		name string
		o    PortOptions
		ok   bool
		msg  string
	}{
		{"listening", PortOptions{Port: 6379}, true, "listening on 127.0.0.1:6379 (pid 10)"},
		{"established only", PortOptions{Port: 5432}, false, "nothing listens on TCP port 5432"},
		{"wrong address", PortOptions{Port: 6379, Address: "10.0.0.1"}, false, "nothing listens on TCP port 10.0.0.1:6379"},
		{"wildcard counts", PortOptions{Port: 80, Address: "10.0.0.1"}, true, "listening on [::]:80"},
		{"right address", PortOptions{Port: 6379, Address: "127.0.0.1"}, true, "listening"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewPort(tt.o)
			p.conns = func(context.Context) ([]psnet.ConnectionStat, error) { return conns, nil }
			want(t, p.Probe(context.Background()), tt.ok, tt.msg)
		})
	}
}

func TestPortRealHost(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads the Linux socket table")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	want(t, NewPort(PortOptions{Port: int(port), Address: "127.0.0.1"}).Probe(context.Background()), true, "listening on 127.0.0.1:")
	ln.Close()
	want(t, NewPort(PortOptions{Port: int(port)}).Probe(context.Background()), false, "nothing listens")
}

func TestCommand(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh on this machine")
	}
	long := strings.Repeat("x", 2*OutputTail)
	tests := []struct {
		name    string
		o       CommandOptions
		timeout time.Duration
		ok      bool
		msg     string
		reason  probe.Reason
	}{
		{"exit 0", CommandOptions{Argv: []string{sh, "-c", "echo fine"}}, 5 * time.Second, true, "exit 0: fine", probe.ReasonNone},
		{"exit 3", CommandOptions{Argv: []string{sh, "-c", "echo broken >&2; exit 3"}}, 5 * time.Second, false, "exit 3 (want 0): broken", probe.ReasonOther},
		{"expected exit", CommandOptions{Argv: []string{sh, "-c", "exit 3"}, ExpectExit: 3}, 5 * time.Second, true, "exit 3", probe.ReasonNone},
		{"tail kept", CommandOptions{Argv: []string{sh, "-c", "echo start; echo " + long + "; echo end"}}, 5 * time.Second, true, "xxx end", probe.ReasonNone},
		{"timeout", CommandOptions{Argv: []string{sh, "-c", "exec sleep 30"}}, 100 * time.Millisecond, false, "killed", probe.ReasonTimeout},
		{"no program", CommandOptions{Argv: []string{"/no/such/program"}}, time.Second, false, "/no/such/program", probe.ReasonOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), tt.timeout)
			defer cancel()
			res := NewCommand(tt.o).Probe(ctx)
			want(t, res, tt.ok, tt.msg)
			if res.Reason != tt.reason {
				t.Errorf("reason = %v, want %v", res.Reason, tt.reason)
			}
			if strings.Contains(res.Message, "start") {
				t.Errorf("the head of a long output was kept: %q", res.Message)
			}
			if len(res.Message) > OutputTail+64 {
				t.Errorf("message of %d bytes", len(res.Message))
			}
		})
	}
}

func TestTail(t *testing.T) {
	tl := &tail{max: 8}
	for _, s := range []string{"abc", "defgh", "ij"} {
		if _, err := tl.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	if got := tl.String(); got != "...cdefghij" {
		t.Errorf("tail = %q", got)
	}
	tl = &tail{max: 8}
	_, _ = tl.Write([]byte("a\nb"))
	if got := tl.String(); got != "a b" {
		t.Errorf("tail = %q", got)
	}
}
