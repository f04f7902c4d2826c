package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

type runOpts struct {
	ping    string
	timeout time.Duration
}

func runCmd() *command {
	return &command{
		name:     "run",
		synopsis: "run a job and report it to a heartbeat target",
		usage:    "heck run --ping URL [--ping-timeout 10s] -- CMD [ARGS...]",
		help: `
Pings URL/start, runs CMD with its output passed through, then pings URL
with the exit code (URL/0 on success, URL/CODE on failure) and the last
10 KiB of its output, so the heartbeat target records the run, its duration
and why it failed. URL is the target's ping URL ('heck targets add --kind
heartbeat' prints it). A ping that fails is reported on stderr and never
stops the job. Exits with CMD's exit code (2 when it cannot start).

Example (crontab):
  0 3 * * * heck run --ping http://127.0.0.1:7800/ping/TOKEN -- /usr/local/bin/backup`,
		minArgs: 1, maxArgs: -1,
		flags: func(fs *flag.FlagSet) any {
			o := &runOpts{}
			fs.StringVar(&o.ping, "ping", os.Getenv("HECK_PING_URL"), "the heartbeat target's ping `URL` (default $HECK_PING_URL)")
			fs.DurationVar(&o.timeout, "ping-timeout", 10*time.Second, "how long one ping may take (`DURATION`)")
			return o
		},
		run: runRun,
	}
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) Bytes() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	return bytes.Clone(t.b)
}

func runRun(ctx context.Context, e *env, opts any, args []string) int {
	o := opts.(*runOpts)
	if o.ping == "" {
		return e.errorf("flag --ping is missing; give the heartbeat target's ping URL (heck targets add --kind heartbeat prints it), or set HECK_PING_URL")
	}
	u, err := url.Parse(o.ping)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || !strings.Contains(u.Path, "/ping/") {
		return e.errorf("flag --ping: %q is not a ping URL; write http://HOST:PORT/ping/TOKEN", o.ping)
	}
	base := strings.TrimSuffix(o.ping, "/")
	client := &http.Client{Timeout: o.timeout}
	send := func(suffix string, body []byte) {
		req, err := http.NewRequestWithContext(context.WithoutCancel(ctx), http.MethodPost, base+suffix, bytes.NewReader(body))
		if err == nil {
			var resp *http.Response
			if resp, err = client.Do(req); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					err = fmt.Errorf("%s", resp.Status)
				}
			}
		}
		if err != nil {
			fmt.Fprintf(e.stderr, "heck run: ping %s%s failed: %v (the job is not affected)\n", redactToken(base), suffix, err)
		}
	}
	send("/start", nil)
	tail := &tailBuffer{max: 10 << 10}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Stdin = os.Stdin
	cmd.Stdout = io.MultiWriter(e.stdout, tail)
	cmd.Stderr = io.MultiWriter(e.stderr, tail)
	err = cmd.Run()
	code := 0
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
		if code < 0 { // killed by a signal
			code = 128
		}
	default:
		fmt.Fprintf(tail, "heck run: cannot run %s: %v\n", args[0], err)
		send("/fail", tail.Bytes())
		return e.errorf("cannot run %s: %v", args[0], err)
	}
	send("/"+strconv.Itoa(min(code, 255)), tail.Bytes())
	return code
}

// redactToken hides a ping URL's token in messages.
func redactToken(u string) string {
	i := strings.Index(u, "/ping/")
	if i < 0 {
		return u
	}
	return u[:i] + "/ping/<token>"
}
