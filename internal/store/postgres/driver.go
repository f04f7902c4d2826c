package postgres

import (
	"context"
	"errors"
	"net/url"
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
	for k := range s {
		if k != SettingDSN {
			errs = append(errs, store.SettingError{Key: k, Problem: "is not a setting of the postgres store",
				Fix: "remove it; the postgres store takes only dsn"})
		}
	}
	return errs
}

func (opener) Open(ctx context.Context, o store.Options) (store.Store, error) {
	st, err := Open(ctx, o.Settings[SettingDSN], Options{Logger: o.Logger, Observer: o.Observer})
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
