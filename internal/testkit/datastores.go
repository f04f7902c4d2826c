package testkit

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// MissingError says an external server's programs are not installed.
type MissingError struct {
	// Program is what was looked for; Install says how to get it.
	Program, Install string
}

func (e *MissingError) Error() string {
	return e.Program + " is not installed (" + e.Install + ")"
}

// Shared is a server started at most once per test binary, on the first
// Get, and stopped by Close (from TestMain, after m.Run): starting a
// PostgreSQL takes seconds, so a package's tests share one. Tests that
// stop the server (Stop) start it again before they end.
type Shared[S interface{ Close() error }] struct {
	once  sync.Once
	start func() (S, error)
	s     S
	err   error
	ok    bool
}

// NewShared returns a Shared server made by start.
func NewShared[S interface{ Close() error }](start func() (S, error)) *Shared[S] {
	return &Shared[S]{start: start}
}

// Get returns the server, starting it on the first call. When its
// programs are missing the test is skipped saying how to install them,
// unless HECK_INTEGRATION=1 (CI), where that is a failure; any other
// error starting it fails the test.
func (sh *Shared[S]) Get(t testing.TB) S {
	t.Helper()
	sh.once.Do(func() {
		sh.s, sh.err = sh.start()
		sh.ok = sh.err == nil
	})
	if sh.err != nil {
		var me *MissingError
		switch {
		case errors.As(sh.err, &me) && os.Getenv("HECK_INTEGRATION") != "1":
			t.Skipf("%v, skipping (HECK_INTEGRATION=1 makes this a failure)", me)
		case errors.As(sh.err, &me):
			t.Fatalf("%v and HECK_INTEGRATION=1 needs it", me)
		default:
			t.Fatal(sh.err)
		}
	}
	return sh.s
}

// Close stops and removes the server if Get started it.
func (sh *Shared[S]) Close() error {
	if !sh.ok {
		return nil
	}
	return sh.s.Close()
}

// daemon is an external server process on a loopback port in a directory
// of its own, stopped and started again at will.
type daemon struct {
	name    string
	dir     string
	logPath string
	cmd     func() *exec.Cmd
	ready   func() error
	stopSig syscall.Signal

	mu  sync.Mutex
	cur *run // nil while stopped
}

// run is one start of a daemon's process.
type run struct {
	cmd    *exec.Cmd
	exited chan struct{}
	err    error // the process's exit, set before exited is closed
}

func (d *daemon) start() error {
	d.mu.Lock()
	if d.cur != nil {
		d.mu.Unlock()
		return fmt.Errorf("%s: already running", d.name)
	}
	logf, err := os.OpenFile(d.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		d.mu.Unlock()
		return fmt.Errorf("%s: open its log: %w", d.name, err)
	}
	cmd := d.cmd()
	cmd.Stdout, cmd.Stderr = logf, logf
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	// Its own process group, away from a terminal's ^C, and ended with
	// the test binary if the test never gets to stop it.
	cmd.SysProcAttr.Setpgid = true
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	if err := cmd.Start(); err != nil {
		d.mu.Unlock()
		logf.Close()
		return fmt.Errorf("%s: start %s: %w", d.name, cmd.Path, err)
	}
	r := &run{cmd: cmd, exited: make(chan struct{})}
	d.cur = r
	d.mu.Unlock()
	go func() {
		r.err = cmd.Wait()
		logf.Close()
		close(r.exited)
	}()
	_, err = Wait{Timeout: 60 * time.Second, Every: 20 * time.Millisecond}.Poll(d.name+" ready", func() error {
		select {
		case <-r.exited:
			return Abort(fmt.Errorf("exited (%v); its log ends:\n%s", r.err, d.logTail()))
		default:
		}
		return d.ready()
	})
	if err != nil {
		_ = d.stop()
		return err
	}
	return nil
}

func (d *daemon) logTail() string {
	b, _ := os.ReadFile(d.logPath)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-15):], "\n")
}

// stop signals the process and waits for it to exit (killing it after
// 30 s).
func (d *daemon) stop() error {
	d.mu.Lock()
	r := d.cur
	d.cur = nil
	d.mu.Unlock()
	if r == nil {
		return nil
	}
	_ = r.cmd.Process.Signal(d.stopSig)
	select {
	case <-r.exited:
	case <-time.After(30 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.exited
		return fmt.Errorf("%s: did not stop within 30s of %v; killed", d.name, d.stopSig)
	}
	return nil
}

// freeTCPPort returns a loopback TCP port free at the moment.
func freeTCPPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Postgres is a PostgreSQL server of a test binary's own: a cluster made
// by initdb in a temporary directory, listening on a free loopback port,
// its superuser User authenticated by Password (scram-sha-256). Run as
// root (CI), initdb and postgres run as the postgres user (or nobody),
// since PostgreSQL refuses to run as root.
type Postgres struct {
	// Addr is host:port; User and Password the superuser's credentials.
	Addr, User, Password string
	// Port is Addr's port.
	Port int
	bin  string
	d    *daemon
	cred *syscall.Credential
}

// PostgresInstall says how to get PostgreSQL's programs.
const PostgresInstall = "apt-get install -y postgresql (Debian), or put initdb and postgres on PATH"

// postgresBin finds the directory of initdb and postgres: next to initdb
// on PATH, or the newest /usr/lib/postgresql/*/bin.
func postgresBin() (string, error) {
	var dirs []string
	if p, err := exec.LookPath("initdb"); err == nil {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			dirs = append(dirs, filepath.Dir(r))
		}
		dirs = append(dirs, filepath.Dir(p))
	}
	lib, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(lib, func(i, j int) bool { return pgVersion(lib[i]) > pgVersion(lib[j]) })
	for _, d := range append(dirs, lib...) {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	return "", &MissingError{Program: "PostgreSQL (initdb and postgres)", Install: PostgresInstall}
}

func pgVersion(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func isExec(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// unprivileged returns the credential to run PostgreSQL under when this
// process is root (nil otherwise): the postgres user's, or nobody's.
func unprivileged() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil || uid == 0 {
			continue
		}
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: false}, nil
	}
	return nil, errors.New("postgres: running as root, and neither a postgres nor a nobody user exists to run PostgreSQL as (it refuses to run as root); add one with useradd --system postgres")
}

// StartPostgres makes and starts a new PostgreSQL cluster. The error is a
// *MissingError when PostgreSQL is not installed. Close stops it and
// removes its directory.
func StartPostgres() (*Postgres, error) { return startPostgres(nil, nil) }

// StartPostgresTLS is StartPostgres with TLS on (ssl = on), serving the
// certificate (chain) and private key given in PEM.
func StartPostgresTLS(certPEM, keyPEM []byte) (*Postgres, error) {
	if len(certPEM) == 0 || len(keyPEM) == 0 {
		return nil, errors.New("postgres: StartPostgresTLS needs a certificate and a key")
	}
	return startPostgres(certPEM, keyPEM)
}

func startPostgres(certPEM, keyPEM []byte) (*Postgres, error) {
	bin, err := postgresBin()
	if err != nil {
		return nil, err
	}
	cred, err := unprivileged()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "heck-postgres-")
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	fail := func(err error) (*Postgres, error) {
		os.RemoveAll(dir)
		return nil, err
	}
	port, err := freeTCPPort()
	if err != nil {
		return fail(err)
	}
	p := &Postgres{Addr: "127.0.0.1:" + strconv.Itoa(port), Port: port, User: "postgres",
		Password: "heck-test-" + strconv.FormatInt(time.Now().UnixNano(), 36), bin: bin, cred: cred}
	pwfile := filepath.Join(dir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(p.Password+"\n"), 0o600); err != nil {
		return fail(fmt.Errorf("postgres: %w", err))
	}
	if cred != nil {
		for _, path := range []string{dir, pwfile} {
			if err := os.Chown(path, int(cred.Uid), int(cred.Gid)); err != nil {
				return fail(fmt.Errorf("postgres: give %s to uid %d: %w", path, cred.Uid, err))
			}
		}
	}
	var settings []string
	if certPEM != nil {
		// PostgreSQL wants its key readable by its own user only.
		for name, pem := range map[string][]byte{"server.crt": certPEM, "server.key": keyPEM} {
			path := filepath.Join(dir, name)
			if err := os.WriteFile(path, pem, 0o600); err != nil {
				return fail(fmt.Errorf("postgres: %w", err))
			}
			if cred != nil {
				if err := os.Chown(path, int(cred.Uid), int(cred.Gid)); err != nil {
					return fail(fmt.Errorf("postgres: give %s to uid %d: %w", path, cred.Uid, err))
				}
			}
		}
		settings = append(settings, "-c", "ssl=on", "-c", "ssl_cert_file="+filepath.Join(dir, "server.crt"),
			"-c", "ssl_key_file="+filepath.Join(dir, "server.key"))
	}
	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", p.User, "--pwfile", pwfile,
		"--auth", "scram-sha-256", "-E", "UTF8", "--locale", "C", "--no-sync", "--no-instructions")
	initdb.Dir = dir
	initdb.Env = pgEnv()
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		return fail(fmt.Errorf("postgres: initdb: %w\n%s", err, out))
	}
	p.d = &daemon{
		name: "postgres", dir: dir, logPath: filepath.Join(dir, "postgres.log"), stopSig: syscall.SIGINT, // fast shutdown
		cmd: func() *exec.Cmd {
			args := append([]string{"-D", data, "-p", strconv.Itoa(port), "-k", dir,
				"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
				"-c", "full_page_writes=off", "-c", "max_connections=30", "-c", "shared_buffers=16MB",
				"-c", "logging_collector=off", "-c", "log_min_messages=warning"}, settings...)
			c := exec.Command(filepath.Join(bin, "postgres"), args...)
			c.Dir, c.Env = dir, pgEnv()
			c.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
			return c
		},
		ready: func() error { return pgReady(data) },
	}
	if err := p.d.start(); err != nil {
		return fail(err)
	}
	return p, nil
}

// pgEnv is the environment of initdb and postgres: none of the test's PG*
// variables.
func pgEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") {
			env = append(env, kv)
		}
	}
	return append(env, "LC_ALL=C")
}

// pgReady reads postmaster.pid, whose eighth line the postmaster sets to
// "ready" once it accepts connections (what pg_ctl -w waits for).
func pgReady(data string) error {
	f, err := os.Open(filepath.Join(data, "postmaster.pid"))
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for i := 1; sc.Scan(); i++ {
		if i == 8 {
			if st := strings.TrimSpace(sc.Text()); st != "ready" {
				return fmt.Errorf("postmaster status %q", st)
			}
			return nil
		}
	}
	return errors.New("postmaster.pid has no status yet")
}

// Stop shuts the server down (fast shutdown) and waits until it has.
func (p *Postgres) Stop() error { return p.d.stop() }

// Start starts the server again after Stop, on the same port and data,
// and waits until it accepts connections.
func (p *Postgres) Start() error { return p.d.start() }

// Close stops the server and removes its directory.
func (p *Postgres) Close() error {
	err := p.d.stop()
	if rerr := os.RemoveAll(p.d.dir); err == nil {
		err = rerr
	}
	return err
}

// Log returns the end of the server's log.
func (p *Postgres) Log() string { return p.d.logTail() }

// Exec runs sql with psql as the superuser, in database db.
func (p *Postgres) Exec(db, sql string) error {
	c := exec.Command(filepath.Join(p.bin, "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
		"-h", "127.0.0.1", "-p", strconv.Itoa(p.Port), "-U", p.User, "-d", db, "-c", sql)
	c.Env = append(pgEnv(), "PGPASSWORD="+p.Password, "PGCONNECT_TIMEOUT=10")
	if out, err := c.CombinedOutput(); err != nil {
		return fmt.Errorf("psql -c %q: %w\n%s", sql, err, out)
	}
	return nil
}

// Redis is a redis-server of a test binary's own on a free loopback port,
// in a temporary directory, persisting nothing.
type Redis struct {
	// Addr is host:port.
	Addr string
	d    *daemon
}

// RedisInstall says how to get redis-server.
const RedisInstall = "apt-get install -y redis-server (Debian), or put redis-server on PATH"

// StartRedis starts a new redis-server with its config file ending in
// config (lines such as "requirepass s3cret" or "user heck on >pw ~* +@all").
// The error is a *MissingError when redis-server is not installed. Close
// stops it and removes its directory.
func StartRedis(config ...string) (*Redis, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if isExec("/usr/bin/redis-server") {
			bin = "/usr/bin/redis-server"
		} else {
			return nil, &MissingError{Program: "redis-server", Install: RedisInstall}
		}
	}
	dir, err := os.MkdirTemp("", "heck-redis-")
	if err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	port, err := freeTCPPort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	conf := append([]string{
		"port " + strconv.Itoa(port), "bind 127.0.0.1", "dir " + dir, `save ""`, "appendonly no",
		"daemonize no", "protected-mode no", "loglevel warning",
	}, config...)
	confPath := filepath.Join(dir, "redis.conf")
	if err := os.WriteFile(confPath, []byte(strings.Join(conf, "\n")+"\n"), 0o600); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("redis: %w", err)
	}
	r := &Redis{Addr: "127.0.0.1:" + strconv.Itoa(port)}
	r.d = &daemon{
		name: "redis-server", dir: dir, logPath: filepath.Join(dir, "redis.log"), stopSig: syscall.SIGTERM,
		cmd:   func() *exec.Cmd { c := exec.Command(bin, confPath); c.Dir = dir; return c },
		ready: func() error { return redisReady(r.Addr) },
	}
	if err := r.d.start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return r, nil
}

// redisReady sends PING: "+PONG", or "-NOAUTH" from a server wanting a
// password, says it serves (not "-LOADING").
func redisReady(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.HasPrefix(line, "+PONG") || strings.HasPrefix(line, "-NOAUTH") {
		return nil
	}
	return fmt.Errorf("PING answered %q", strings.TrimSpace(line))
}

// Stop shuts the server down and waits until it has.
func (r *Redis) Stop() error { return r.d.stop() }

// Start starts the server again after Stop, on the same port.
func (r *Redis) Start() error { return r.d.start() }

// Close stops the server and removes its directory.
func (r *Redis) Close() error {
	err := r.d.stop()
	if rerr := os.RemoveAll(r.d.dir); err == nil {
		err = rerr
	}
	return err
}

// Log returns the end of the server's log.
func (r *Redis) Log() string { return r.d.logTail() }
