// Command fakeheck stands in for `heck serve` to test the bench/core harness
// end to end before (or without) a real node: it reads the targets of a heck
// config, GETs each once per interval, and serves /livez and /metrics with
// heck_checks_total and heck_schedule_lateness_seconds.
//
//	go build -o /tmp/fakeheck ./bench/core/testdata/fakeheck
//	go run ./bench/core -bin /tmp/fakeheck -n 100 -duration 5s
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"gopkg.in/yaml.v3"
)

type config struct {
	Listen  string `yaml:"listen"`
	Targets []struct {
		ID       string `yaml:"id"`
		URL      string `yaml:"url"`
		Interval string `yaml:"interval"`
		Timeout  string `yaml:"timeout"`
	} `yaml:"targets"`
}

func main() {
	if len(os.Args) < 2 || os.Args[1] != "serve" {
		fmt.Fprintln(os.Stderr, "usage: fakeheck serve --config FILE")
		os.Exit(2)
	}
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	path := fs.String("config", "", "config file")
	_ = fs.Parse(os.Args[2:])
	b, err := os.ReadFile(*path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var cfg config
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	reg := prometheus.NewRegistry()
	checks := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "heck_checks_total"}, []string{"kind", "result"})
	late := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "heck_schedule_lateness_seconds",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1}})
	reg.MustRegister(checks, late)
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/livez", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	go func() { _ = http.Serve(ln, mux) }()

	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	n := len(cfg.Targets)
	for i, t := range cfg.Targets {
		iv, _ := time.ParseDuration(t.Interval)
		to, _ := time.ParseDuration(t.Timeout)
		go func() {
			next := time.Now().Add(time.Duration(i) * iv / time.Duration(n))
			for {
				select {
				case <-ctx.Done():
					return
				case <-time.After(time.Until(next)):
				}
				late.Observe(time.Since(next).Seconds())
				next = next.Add(iv)
				cctx, cancel := context.WithTimeout(ctx, to)
				req, _ := http.NewRequestWithContext(cctx, http.MethodGet, t.URL, nil)
				result := "ok"
				if resp, err := client.Do(req); err != nil {
					result = "fail"
				} else {
					_, _ = io.Copy(io.Discard, resp.Body)
					_ = resp.Body.Close()
				}
				cancel()
				checks.WithLabelValues("http", result).Inc()
			}
		}()
	}
	<-ctx.Done()
}
