package postgres

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/heckhq/heck/internal/store"
)

// DriverName is the name the PostgreSQL store registers as: store.driver:
// postgres, or a store.postgres section.
const DriverName = "postgres"

// SettingDSN is the key of the connection string in the driver's settings
// (store.postgres.dsn); its password comes from the environment through
// ${VAR}, which the config expands before the driver sees it.
const SettingDSN = "dsn"

// SettingQueue is the key of the write queue's bound in the driver's
// settings (store.postgres.queue): how many raw results and rollups may
// wait in memory for the database. Default DefaultQueue.
const SettingQueue = "queue"

// maxQueue bounds SettingQueue: some 100 bytes a record, 10 GB of them.
const maxQueue = 100_000_000

// parseQueue reads SettingQueue (a whole number, _ allowed between digits).
func parseQueue(v string) (int, *store.SettingError) {
	n, err := strconv.Atoi(strings.ReplaceAll(strings.TrimSpace(v), "_", ""))
	switch {
	case err != nil:
		return 0, &store.SettingError{Key: SettingQueue, Value: v, Problem: "is not a whole number",
			Fix: fmt.Sprintf("write how many records may wait in memory for the database, such as %d", DefaultQueue)}
	case n < 1 || n > maxQueue:
		return 0, &store.SettingError{Key: SettingQueue, Value: v, Problem: fmt.Sprintf("is out of range (1 to %d)", maxQueue),
			Fix: fmt.Sprintf("write how many records may wait in memory for the database, such as %d", DefaultQueue)}
	}
	return n, nil
}

func init() { store.Register(DriverName, opener{}) }

// opener opens PostgreSQL stores from their settings: dsn (required).
type opener struct{}

func (opener) Check(s store.Settings) []store.SettingError {
	var errs []store.SettingError
	dsn, ok := s[SettingDSN]
	switch {
	case !ok:
		errs = append(errs, store.SettingError{Key: SettingDSN, Problem: "is missing",
			Fix: "set the connection string, such as postgres://heck:${HECK_PG_PASSWORD}@127.0.0.1:5432/heck"})
	case strings.TrimSpace(dsn) == "":
		errs = append(errs, store.SettingError{Key: SettingDSN, Problem: "is empty",
			Fix: "set the connection string, such as postgres://heck:${HECK_PG_PASSWORD}@127.0.0.1:5432/heck (is the variable set?)"})
	default:
		// The value may hold a password: it is never echoed.
		if _, err := pgxpool.ParseConfig(dsn); err != nil {
			errs = append(errs, store.SettingError{Key: SettingDSN, Problem: "is not a usable connection string: " + redact(err),
				Fix: "write a URL such as postgres://heck:${HECK_PG_PASSWORD}@127.0.0.1:5432/heck, or key=value pairs"})
		}
	}
	if v, ok := s[SettingQueue]; ok {
		if _, e := parseQueue(v); e != nil {
			errs = append(errs, *e)
		}
	}
	for k := range s {
		if k != SettingDSN && k != SettingQueue {
			errs = append(errs, store.SettingError{Key: k, Problem: "is not a setting of the postgres store",
				Fix: "remove it; the postgres store takes dsn and queue"})
		}
	}
	return errs
}

func (opener) Open(ctx context.Context, o store.Options) (store.Store, error) {
	opts := Options{Logger: o.Logger, Observer: o.Observer}
	if o.OnDrop != nil {
		opts.OnDrop = func(r DropReport) {
			o.OnDrop(store.DropReport{Dropped: r.Dropped, Total: r.Total, Oldest: r.Oldest, Newest: r.Newest})
		}
	}
	if v, ok := o.Settings[SettingQueue]; ok {
		n, e := parseQueue(v)
		if e != nil {
			return nil, fmt.Errorf("open postgres store: %w", e)
		}
		opts.Queue = n
	}
	st, err := Open(ctx, o.Settings[SettingDSN], opts)
	if err != nil {
		return nil, err
	}
	return st, nil
}

// redact describes a connection string parse error without the string
// itself, which may hold a password: pgconn masks passwords only on a best
// effort basis, and a URL error quotes the whole URL.
func redact(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) {
		if u := errors.Unwrap(pe); u != nil {
			return u.Error()
		}
	}
	return "it cannot be parsed"
}
