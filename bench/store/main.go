// Command store measures heck's stores side by side, SQLite and
// PostgreSQL (issue 12): raw results written per second through the
// store's write API (AddResults; goals 50,000/s SQLite, 100,000/s
// PostgreSQL on 2 cores), and the time of the read behind a target's
// uptime page: 30 days of one target's rollups for the 24 h / 7 d / 30 d
// uptime and the latency percentiles (goal p99 under 50 ms).
//
//	go run ./bench/store                               # both stores, 1,000,000 results, 30 days
//	go run ./bench/store -stores postgres -pg 'postgres://heck:${PGPASSWORD}@127.0.0.1:5432/postgres'
//	go run ./bench/store -results 200000 -days 3 -queries 50   # a short run
//
// For each store in -stores:
//
//  1. write: -results results of -targets targets, 1 s apart per target,
//     in batches of -batch from -writers goroutines, each batch one
//     AddResults call; results/s is the count over the wall time of the
//     whole phase; a store that queues writes (postgres) is flushed, so
//     the phase ends when the last result is committed, and one that
//     dropped any from a full queue fails the run;
//  2. seed: one more target, "q", gets -days of 1 s results (86,400 a
//     day, a failure in 500, latencies spread over the histogram) folded
//     into per-minute rollups as heck's recorder folds them, written with
//     AddRollups a day per call; with -raw its raw results are written too
//     (2.6 million for 30 days), so the query runs beside a full table;
//  3. query: -warmup untimed, then -queries timed reads, one at a time:
//     q's rollups over the 30 days before now, as a node reads them (from
//     a store keeping hour rollups, RollupSpans in 24-hour steps; else
//     Rollups, every minute), then the uptime of the
//     three windows and p50/p95/p99 latency computed from them, as
//     GET /api/v1/targets/q/uptime and the history page do.
//
// PostgreSQL is started for the run (testkit.StartPostgres: initdb in a
// temporary directory, a loopback port, stopped at the end) unless -pg
// names a server; either way the harness creates a database of its own
// there and drops it at the end (-keep keeps it, and the SQLite file).
// Only loopback addresses are used. The harness, the store and PostgreSQL
// share the machine's cores: load1 is printed at the start and the end.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/heckhq/heck/internal/history"
	"github.com/heckhq/heck/internal/store"
	"github.com/heckhq/heck/internal/store/postgres"
	"github.com/heckhq/heck/internal/store/sqlite"
	"github.com/heckhq/heck/internal/testkit"
)

func main() {
	if err := run(os.Args[1:]); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "bench/store:", err)
		os.Exit(1)
	}
}

type options struct {
	stores                  []string
	pg                      string
	results, targets, batch int
	writers, days           int
	queries, warmup         int
	raw, keep               bool
}

// row is one store's figures.
type row struct {
	store         string
	written       int
	writeTime     time.Duration
	rollups       int
	seedTime      time.Duration
	rawWritten    int
	rawTime       time.Duration
	p50, p99, max time.Duration
	uptime        history.Uptime
	lp50, lp99    time.Duration
	readRows      int // rollups one uptime read returns
}

func run(args []string) error {
	fs := flag.NewFlagSet("store", flag.ContinueOnError)
	o := options{}
	stores := fs.String("stores", "sqlite,postgres", "stores to measure, comma separated: sqlite, postgres")
	fs.StringVar(&o.pg, "pg", "", "a PostgreSQL server's `DSN` to use (its user may CREATE DATABASE); default: start one (testkit)")
	fs.IntVar(&o.results, "results", 1_000_000, "results the write phase writes")
	fs.IntVar(&o.targets, "targets", 1000, "targets the write phase's results are spread over")
	fs.IntVar(&o.batch, "batch", 5000, "results per AddResults call")
	fs.IntVar(&o.writers, "writers", 2, "goroutines writing at once")
	fs.IntVar(&o.days, "days", 30, "days of 1 s results of the queried target (1 to 30)")
	fs.IntVar(&o.queries, "queries", 200, "timed uptime reads")
	fs.IntVar(&o.warmup, "warmup", 20, "untimed uptime reads first")
	fs.BoolVar(&o.raw, "raw", false, "write the queried target's raw results too (86,400 a day)")
	fs.BoolVar(&o.keep, "keep", false, "keep the SQLite file and the PostgreSQL database")
	timeout := fs.Duration("timeout", 30*time.Minute, "bound of the whole run")
	if err := fs.Parse(args); err != nil {
		return err
	}
	for _, s := range strings.Split(*stores, ",") {
		s = strings.TrimSpace(s)
		if s != "sqlite" && s != "postgres" {
			return fmt.Errorf("-stores %q: %q is not a store; use sqlite, postgres or both", *stores, s)
		}
		o.stores = append(o.stores, s)
	}
	if o.results < 1 || o.targets < 1 || o.batch < 1 || o.writers < 1 || o.queries < 1 || o.warmup < 0 || o.days < 1 || o.days > 30 {
		return errors.New("-results, -targets, -batch, -writers and -queries must be 1 or more, -days 1 to 30, -warmup 0 or more")
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, *timeout)
	defer cancelT()

	fmt.Printf("%s, %d CPUs, load %s\n", runtime.Version(), runtime.NumCPU(), loadavg())
	fmt.Printf("write: %d results of %d targets, batches of %d, %d writers; query: %d day(s) of 1 s results of one target, %d reads\n",
		o.results, o.targets, o.batch, o.writers, o.days, o.queries)
	dir, err := os.MkdirTemp("", "heck-bench-store-")
	if err != nil {
		return err
	}
	if o.keep {
		fmt.Println("kept in", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	var rows []row
	for _, name := range o.stores {
		st, closeFn, err := openStore(ctx, name, dir, o)
		if err != nil {
			return err
		}
		r, err := measure(ctx, name, st, o)
		cerr := closeFn()
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if cerr != nil {
			return fmt.Errorf("%s: %w", name, cerr)
		}
		rows = append(rows, r)
	}
	printTable(rows, o)
	fmt.Printf("load at the end %s\n", loadavg())
	return nil
}

// openStore opens a fresh store of the named kind; close releases it (and
// what was started for it).
func openStore(ctx context.Context, name, dir string, o options) (store.Store, func() error, error) {
	if name == "sqlite" {
		st, err := sqlite.Open(ctx, filepath.Join(dir, "bench.db"), sqlite.Options{Observer: "bench"})
		if err != nil {
			return nil, nil, err
		}
		return st, st.Close, nil
	}
	var pg *testkit.Postgres
	admin := o.pg
	if admin == "" {
		fmt.Println("starting PostgreSQL (testkit)...")
		var err error
		if pg, err = testkit.StartPostgres(); err != nil {
			return nil, nil, err
		}
		u := url.URL{Scheme: "postgres", User: url.UserPassword(pg.User, pg.Password), Host: pg.Addr, Path: "/postgres", RawQuery: "sslmode=disable"}
		admin = u.String()
	}
	db := fmt.Sprintf("heck_bench_%d", time.Now().UnixNano())
	dsn, err := withDatabase(admin, db)
	if err == nil {
		err = adminExec(ctx, admin, "CREATE DATABASE "+db)
	}
	if err != nil {
		if pg != nil {
			_ = pg.Close()
		}
		return nil, nil, err
	}
	st, err := postgres.Open(ctx, dsn, postgres.Options{Observer: "bench"})
	if err != nil {
		if pg != nil {
			_ = pg.Close()
		}
		return nil, nil, err
	}
	return st, func() error {
		err := st.Close()
		if !o.keep {
			err = errors.Join(err, adminExec(context.WithoutCancel(ctx), admin, "DROP DATABASE "+db))
		} else {
			fmt.Println("kept PostgreSQL database", db)
		}
		if pg != nil && !o.keep {
			err = errors.Join(err, pg.Close())
		}
		return err
	}, nil
}

// withDatabase returns dsn with its database replaced by db.
func withDatabase(dsn, db string) (string, error) {
	if strings.Contains(dsn, "://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", errors.New("-pg: not a usable URL")
		}
		u.Path = "/" + db
		return u.String(), nil
	}
	return dsn + " dbname=" + db, nil
}

func adminExec(ctx context.Context, dsn, sql string) error {
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("connect to the PostgreSQL server: %w", err)
	}
	defer c.Close(context.WithoutCancel(ctx))
	if _, err := c.Exec(ctx, sql); err != nil {
		return fmt.Errorf("%s: %w", sql, err)
	}
	return nil
}

func measure(ctx context.Context, name string, st store.Store, o options) (row, error) {
	r := row{store: name}
	now := time.Now().UTC().Truncate(time.Second)

	// 1. write.
	fmt.Printf("%s: writing %d results...\n", name, o.results)
	var next atomic.Int64
	var werr error
	var once sync.Once
	nBatches := (o.results + o.batch - 1) / o.batch
	perTarget := (o.results + o.targets - 1) / o.targets
	start := time.Now()
	var wg sync.WaitGroup
	for range o.writers {
		wg.Go(func() {
			buf := make([]store.Result, 0, o.batch)
			for {
				b := int(next.Add(1)) - 1
				if b >= nBatches || ctx.Err() != nil {
					return
				}
				buf = buf[:0]
				for i := b * o.batch; i < min(o.results, (b+1)*o.batch); i++ {
					// Result i is target i%targets's (i/targets)th: the
					// batch spreads over the targets, as a minute of a
					// fleet's results does.
					t, k := i%o.targets, i/o.targets
					buf = append(buf, store.Result{TargetID: fmt.Sprintf("t%05d", t),
						At: now.Add(-time.Duration(perTarget-k) * time.Second), OK: k%500 != 0,
						Latency: time.Duration(500+k%2000) * time.Microsecond, Message: "HTTP 200"})
				}
				if err := st.AddResults(ctx, buf); err != nil {
					once.Do(func() { werr = err })
					return
				}
			}
		})
	}
	wg.Wait()
	// A store that queues writes (postgres) has taken them, not written
	// them: the clock stops when they are committed.
	if f, ok := st.(interface{ Flush(context.Context) error }); ok && werr == nil {
		werr = f.Flush(ctx)
	}
	r.writeTime = time.Since(start)
	if werr != nil {
		return r, werr
	}
	if d, ok := st.(interface{ Dropped() uint64 }); ok && d.Dropped() > 0 {
		return r, fmt.Errorf("%s dropped %d results from its full write queue: the figure would count results not written", name, d.Dropped())
	}
	if err := ctx.Err(); err != nil {
		return r, err
	}
	r.written = o.results

	// 2. seed the queried target.
	fmt.Printf("%s: seeding %d day(s) of the queried target...\n", name, o.days)
	start = time.Now()
	first := now.Add(-time.Duration(o.days) * 24 * time.Hour).Truncate(time.Minute)
	var raw []store.Result
	for d := range o.days {
		rs := make([]store.Rollup, 0, 1440)
		for m := range 1440 {
			minute := first.Add(time.Duration(d*1440+m) * time.Minute)
			ru := store.Rollup{TargetID: "q", Minute: minute}
			for s := range 60 {
				i := (d*1440+m)*60 + s
				ok := i%500 != 0
				lat := latencyOf(i)
				ru.Add(ok, lat)
				if o.raw {
					raw = append(raw, store.Result{TargetID: "q", At: minute.Add(time.Duration(s) * time.Second), OK: ok, Latency: lat, Message: "HTTP 200"})
				}
			}
			rs = append(rs, ru)
		}
		if err := st.AddRollups(ctx, rs); err != nil {
			return r, err
		}
		r.rollups += len(rs)
		if o.raw {
			t0 := time.Now()
			for len(raw) > 0 {
				n := min(len(raw), o.batch)
				if err := st.AddResults(ctx, raw[:n]); err != nil {
					return r, err
				}
				r.rawWritten += n
				raw = raw[n:]
			}
			r.rawTime += time.Since(t0)
		}
	}
	r.seedTime = time.Since(start)

	// 3. query.
	fmt.Printf("%s: %d uptime reads...\n", name, o.queries)
	lat := make([]time.Duration, 0, o.queries)
	for i := range o.warmup + o.queries {
		t0 := time.Now()
		from, to := history.UptimeRange(now)
		// As a node reads it: in 24-hour steps from from, from the
		// coarse rollups of a store that keeps them.
		var rs []store.Rollup
		var err error
		if ss, ok := st.(history.SpanStore); ok {
			rs, err = ss.RollupSpans(ctx, "q", from, to, 24*time.Hour)
		} else {
			rs, err = st.Rollups(ctx, "q", from, to)
		}
		if err != nil {
			return r, err
		}
		r.readRows = len(rs)
		up := history.UptimeOf(rs, now)
		var all store.Rollup
		for _, x := range rs {
			all.Merge(x)
		}
		p50, p99 := all.Quantile(0.5), all.Quantile(0.99)
		d := time.Since(t0)
		if i >= o.warmup {
			lat = append(lat, d)
		}
		r.uptime, r.lp50, r.lp99 = up, p50, p99
	}
	slices.Sort(lat)
	r.p50, r.p99, r.max = quantile(lat, 0.5), quantile(lat, 0.99), lat[len(lat)-1]
	return r, nil
}

// latencyOf is the latency of the queried target's i-th result: mostly
// 1-20 ms, a slow one now and then.
func latencyOf(i int) time.Duration {
	switch {
	case i%997 == 0:
		return 800 * time.Millisecond
	case i%101 == 0:
		return 120 * time.Millisecond
	}
	return time.Duration(1000+(i*7919)%19000) * time.Microsecond
}

func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func printTable(rows []row, o options) {
	goal := map[string]float64{"sqlite": 50_000, "postgres": 100_000}
	fmt.Printf("\n%-9s %12s %9s %10s %11s %9s %9s %9s %9s %s\n",
		"store", "results/s", "goal", "rollups/s", "raw/s", "read p50", "read p99", "read max", "goal p99", "uptime 24h/7d/30d, latency p50/p99")
	for _, r := range rows {
		rate := float64(r.written) / r.writeTime.Seconds()
		rawRate := "-"
		if r.rawWritten > 0 {
			rawRate = fmt.Sprintf("%.0f", float64(r.rawWritten)/r.rawTime.Seconds())
		}
		ok := func(b bool) string {
			if b {
				return "met"
			}
			return "MISSED"
		}
		fmt.Printf("%-9s %12.0f %9s %10.0f %11s %9s %9s %9s %9s %.4f/%.4f/%.4f, %s/%s\n",
			r.store, rate, ok(rate >= goal[r.store]), float64(r.rollups)/(r.seedTime-r.rawTime).Seconds(), rawRate,
			ms(r.p50), ms(r.p99), ms(r.max), ok(r.p99 < 50*time.Millisecond),
			r.uptime.Day, r.uptime.Week, r.uptime.Month, r.lp50, r.lp99)
	}
	for _, r := range rows {
		fmt.Printf("(%s: %d day(s) of rollups, %d minutes, read per query as %d rows)\n", r.store, o.days, o.days*1440, r.readRows)
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1000) }

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
