package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/heckhq/heck/internal/config"
	"github.com/heckhq/heck/internal/store"
	"github.com/heckhq/heck/internal/store/storecopy"
)

// heck store migrate and heck store copy: moving an installation between
// stores (SQLite to PostgreSQL).

// schemaVersioner is a store driver that reads a store's schema version
// without changing it (the sqlite and postgres drivers' openers).
type schemaVersioner interface {
	SchemaVersions(ctx context.Context, s store.Settings) (have, binary int, err error)
}

// storeLoc is a store named on the command line: its driver, settings,
// and how to name it in messages (its password redacted).
type storeLoc struct {
	driver   string
	settings store.Settings
	shown    string
}

// storeLocFlag resolves a store flag's value.
func storeLocFlag(flagName, value string) (storeLoc, error) {
	driver, set, err := config.StoreFlag(flagName, value)
	if err != nil {
		return storeLoc{}, err
	}
	return storeLoc{driver: driver, settings: set, shown: config.RedactDSN(value)}, nil
}

// storeLocConfig is the store a config file (or the embedded defaults,
// for "") chooses.
func storeLocConfig(path string) (storeLoc, error) {
	cfg := config.Default()
	if path != "" {
		c, err := config.Load(path)
		if err != nil {
			return storeLoc{}, err
		}
		cfg = c
	}
	set := cfg.Store.DriverSettings()
	l := storeLoc{driver: cfg.Store.Driver, settings: set, shown: cfg.Store.Driver}
	switch {
	case set["path"] != "":
		l.shown += ":" + set["path"]
	case set["dsn"] != "":
		l.shown += ":" + config.RedactDSN(set["dsn"])
	}
	return l, nil
}

// versions reads the schema version of the store l names, unchanged, and
// the version this binary writes.
func (l storeLoc) versions(ctx context.Context) (have, binary int, err error) {
	open, ok := store.Lookup(l.driver)
	if !ok {
		return 0, 0, &store.UnknownDriverError{Name: l.driver, Known: store.Drivers()}
	}
	v, ok := open.(schemaVersioner)
	if !ok {
		return 0, 0, fmt.Errorf("the %s store cannot report its schema version", l.driver)
	}
	return v.SchemaVersions(ctx, l.settings)
}

func (l storeLoc) open(ctx context.Context, observer string) (store.Store, error) {
	st, err := store.Open(ctx, l.driver, store.Options{Settings: l.settings, Observer: observer})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", l.shown, err)
	}
	return st, nil
}

type storeMigrateOpts struct{ store, config string }

func storeMigrateCmd() *command {
	return &command{
		name:     "store migrate",
		synopsis: "bring a store's schema up to date",
		usage:    "heck store migrate [--store sqlite:PATH|postgres://...] [--config FILE]",
		help: `
Applies the schema migrations this heck carries to the store --store names
(sqlite:PATH, or a PostgreSQL URL such as
postgres://heck:${HECK_PG_PASSWORD}@127.0.0.1:5432/heck), or else the store
of --config FILE (the embedded defaults' SQLite under ./data without
either), and prints the schema version before and after. heck serve migrates
on start too; this does it ahead, say before nodes sharing one database are
upgraded. Migrations only go forward and run under a lock, so running it
twice, or beside a starting node, is safe. A store migrated by a newer heck
is refused and left unchanged.`,
		maxArgs: 0,
		flags: func(fs *flag.FlagSet) any {
			o := &storeMigrateOpts{}
			fs.StringVar(&o.store, "store", "", "the store `LOCATION`: sqlite:PATH or postgres://USER:PASS@HOST/DB (${VAR} expanded)")
			fs.StringVar(&o.config, "config", "", "migrate the store of config `FILE` (its store section)")
			return o
		},
		run: runStoreMigrate,
	}
}

func runStoreMigrate(ctx context.Context, e *env, opts any, _ []string) int {
	o := opts.(*storeMigrateOpts)
	if o.store != "" && o.config != "" {
		return e.errorf("give --store or --config, not both (--store names the store itself)")
	}
	var loc storeLoc
	var err error
	if o.store != "" {
		loc, err = storeLocFlag("--store", o.store)
	} else {
		loc, err = storeLocConfig(o.config)
	}
	if err != nil {
		return configError(e, err)
	}
	before, binary, err := loc.versions(ctx)
	if err != nil {
		return e.errorf("%s: %v", loc.shown, err)
	}
	fmt.Fprintf(e.stdout, "store %s: schema version %d (this heck writes version %d)\n", loc.shown, before, binary)
	if before > binary {
		return e.errorf("%s has schema version %d, newer than this heck's %d: it was migrated by a newer heck; run that one (or a later one). Nothing was changed",
			loc.shown, before, binary)
	}
	st, err := loc.open(ctx, "")
	if err != nil {
		return e.errorf("%v", err)
	}
	if err := st.Close(); err != nil {
		return e.errorf("close %s: %v", loc.shown, err)
	}
	after, _, err := loc.versions(ctx)
	if err != nil {
		return e.errorf("%s: %v", loc.shown, err)
	}
	if after == before {
		fmt.Fprintf(e.stdout, "up to date: schema version %d\n", after)
	} else {
		fmt.Fprintf(e.stdout, "migrated: schema version %d -> %d\n", before, after)
	}
	return ExitOK
}

type storeCopyOpts struct {
	from, to, observer string
	appendTo           bool
	batch              int
	quiet              bool
}

func storeCopyCmd() *command {
	return &command{
		name:     "store copy",
		synopsis: "copy one store into another (SQLite to PostgreSQL)",
		usage:    "heck store copy --from sqlite:PATH --to postgres://USER:PASS@HOST/DB [--append] [--observer NAME] [--batch N]",
		help: `
Copies everything the --from store holds into the --to store: the
replicated objects of every kind (targets, silences, pools, notifiers,
users, incidents...), the transition log with its events (the audit trail),
the per-minute rollups and the raw results. Stores are written
sqlite:PATH, postgres://... (postgresql:// too) or postgres:DSN; ${VAR} is
read from the environment, so a password need not be typed. Stop the node
that uses --from first. Progress goes to stderr; at the end the rows of each
table are printed, in both stores.

The copy is idempotent. A destination that holds data already is refused
unless --append is given: then objects keep the newer of two writes,
transitions are stored once by id, and rollups and results are replaced,
never added twice. So --append finishes a copy that stopped half way, and
adds a second node's store to a database other nodes write.

In PostgreSQL, rollups and results are kept per observer, the node that
measured them: --observer is the name of the node whose store is copied
(default this host's name, heck serve's default node name). Exits 0 when the
copy completed, 2 otherwise.`,
		maxArgs: 0,
		flags: func(fs *flag.FlagSet) any {
			o := &storeCopyOpts{}
			fs.StringVar(&o.from, "from", "", "the store `LOCATION` to copy from: sqlite:PATH (or postgres://...)")
			fs.StringVar(&o.to, "to", "", "the store `LOCATION` to copy into: postgres://USER:PASS@HOST/DB, postgres:DSN (or sqlite:PATH)")
			fs.BoolVar(&o.appendTo, "append", false, "copy into a store that holds data already (a rerun, or another node's database)")
			fs.StringVar(&o.observer, "observer", config.Default().Node.Name, "the `NAME` of the node whose store is copied: the destination's rows are its")
			fs.IntVar(&o.batch, "batch", storecopy.DefaultBatch, "records per write (`N`)")
			fs.BoolVar(&o.quiet, "quiet", false, "no progress on stderr")
			return o
		},
		run: runStoreCopy,
	}
}

func runStoreCopy(ctx context.Context, e *env, opts any, _ []string) int {
	o := opts.(*storeCopyOpts)
	switch {
	case o.from == "":
		return e.errorf("flag --from is missing; name the store to copy from, such as --from sqlite:./data/heck.db")
	case o.to == "":
		return e.errorf("flag --to is missing; name the store to copy into, such as --to 'postgres://heck:${HECK_PG_PASSWORD}@127.0.0.1:5432/heck'")
	case o.batch < 1 || o.batch > 100000:
		return e.errorf("flag --batch: %d is out of range; use 1 to 100000 records per write", o.batch)
	}
	from, ferr := storeLocFlag("--from", o.from)
	to, terr := storeLocFlag("--to", o.to)
	if err := errors.Join(ferr, terr); err != nil {
		var les []*config.LoadError
		for _, err := range []error{ferr, terr} {
			var le *config.LoadError
			if errors.As(err, &le) {
				les = append(les, le)
			}
		}
		for _, le := range les {
			printProblems(e.stderr, le)
		}
		fmt.Fprintf(e.stderr, "heck %s: the flags have problems\n", e.name)
		return ExitError
	}
	if from.driver == to.driver && from.shown == to.shown {
		return e.errorf("--from and --to name the same store (%s); name another destination", from.shown)
	}
	// The source must be a heck store already: opening an absent SQLite
	// file would create an empty one.
	have, _, err := from.versions(ctx)
	if err != nil {
		return e.errorf("--from %s: %v", from.shown, err)
	}
	if have == 0 {
		return e.errorf("--from %s holds no heck store (no schema); check the path or DSN", from.shown)
	}
	src, err := from.open(ctx, o.observer)
	if err != nil {
		return e.errorf("--from: %v", err)
	}
	defer src.Close()
	dst, err := to.open(ctx, o.observer)
	if err != nil {
		return e.errorf("--to: %v", err)
	}
	defer dst.Close()
	s, err := storecopy.AsSource(src)
	if err != nil {
		return e.errorf("--from %s: %v", from.shown, err)
	}
	d, err := storecopy.AsDestination(dst)
	if err != nil {
		return e.errorf("--to %s: %v", to.shown, err)
	}
	fmt.Fprintf(e.stderr, "heck store copy: %s -> %s, as observer %q\n", from.shown, to.shown, o.observer)
	copts := storecopy.Options{Batch: o.batch, Append: o.appendTo}
	var prog *progress
	if !o.quiet {
		prog = &progress{w: e.stderr, every: time.Second}
		copts.Progress = prog.report
	}
	rep, err := storecopy.Copy(ctx, s, d, copts)
	if prog != nil {
		prog.flush()
	}
	if err != nil {
		var ne *storecopy.NotEmptyError
		if errors.As(err, &ne) {
			return e.errorf("--to %s: %v", to.shown, err)
		}
		return e.errorf("%v; what was copied so far stays: run the copy again with --append to finish it", err)
	}
	tw := newTable(e.stdout)
	fmt.Fprintln(tw, "TABLE\tCOPIED\tSOURCE\tDESTINATION")
	for _, t := range storecopy.Tables {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\n", t, rep.Copied[t], rep.Source[t], rep.Destination[t])
	}
	if err := tw.Flush(); err != nil {
		return e.errorf("%v", err)
	}
	fmt.Fprintf(e.stderr, "heck store copy: done in %s\n", rep.Elapsed.Round(time.Millisecond))
	return ExitOK
}

// progress prints a copy's progress at most every so often, and each
// table's last figure.
type progress struct {
	w     io.Writer
	every time.Duration

	mu    sync.Mutex
	last  time.Time
	cur   storecopy.Progress
	shown bool // cur was printed
}

func (p *progress) report(pr storecopy.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cur.Table != "" && p.cur.Table != pr.Table && !p.shown {
		p.print(p.cur) // the previous table's end
	}
	p.cur, p.shown = pr, false
	if time.Since(p.last) >= p.every {
		p.print(pr)
	}
}

func (p *progress) flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cur.Table != "" && !p.shown {
		p.print(p.cur)
	}
}

func (p *progress) print(pr storecopy.Progress) {
	pct := 100.0
	if pr.Total > 0 {
		pct = 100 * float64(pr.Done) / float64(pr.Total)
	}
	fmt.Fprintf(p.w, "heck store copy: %-11s %d/%d (%.0f%%)\n", pr.Table, pr.Done, pr.Total, pct)
	p.last = time.Now()
	if pr == p.cur {
		p.shown = true
	}
}
