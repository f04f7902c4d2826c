package config

import (
	"os"
	"regexp"
	"strings"

	"github.com/heckhq/heck/internal/store"
)

// DriverPostgres is the PostgreSQL store's driver name; its setting is
// store.postgres.dsn.
const DriverPostgres = "postgres"

// postgresDSN is the PostgreSQL driver's setting a store flag fills.
const postgresDSN = "dsn"

// storeFlagFix is the fix of a store flag that does not parse.
const storeFlagFix = "write sqlite:PATH (such as sqlite:./data/heck.db) or a PostgreSQL URL " +
	"(such as postgres://heck:${HECK_PG_PASSWORD}@127.0.0.1:5432/heck, or postgres:\"host=127.0.0.1 dbname=heck\")"

// StoreFlag parses the value of a command-line store flag (--store of
// heck serve and heck validate, --from and --to of heck store copy) into
// the driver and its settings, as a store: section would give them:
//
//	sqlite:PATH                    the SQLite file PATH
//	postgres://USER:PASS@HOST/DB   a PostgreSQL URL (postgresql:// too)
//	postgres:DSN                   any PostgreSQL connection string (a URL, or key=value pairs)
//
// ${VAR} references are expanded from the environment, as in a config
// file, so a password need not be typed on the command line. On a problem
// the *LoadError names flag, the value (its password redacted) and the
// fix; the driver's own checks of its settings are run too.
func StoreFlag(flag, value string) (driver string, settings store.Settings, err error) {
	ch := &checker{}
	driver, settings = storeFlag(ch, flag, value)
	if err := asError(ch.problems); err != nil {
		return "", nil, err
	}
	return driver, settings, nil
}

func storeFlag(ch *checker, flag, value string) (string, store.Settings) {
	shown := RedactDSN(value)
	expanded, missing := expandEnv(value)
	for _, name := range missing {
		ch.add(flag, shown, "refers to environment variable "+name+", which is not set",
			"export "+name+" before running heck, or write the value instead")
	}
	if len(missing) > 0 {
		return "", nil
	}
	var driver string
	var set store.Settings
	low := strings.ToLower(expanded)
	switch {
	case strings.TrimSpace(value) == "":
		ch.add(flag, value, "is empty", storeFlagFix)
		return "", nil
	case strings.HasPrefix(low, "postgres://"), strings.HasPrefix(low, "postgresql://"):
		driver, set = DriverPostgres, store.Settings{postgresDSN: expanded}
	case strings.HasPrefix(low, "postgres:"), strings.HasPrefix(low, "postgresql:"):
		_, dsn, _ := strings.Cut(expanded, ":")
		driver, set = DriverPostgres, store.Settings{postgresDSN: dsn}
	case strings.HasPrefix(low, "sqlite://"):
		ch.add(flag, shown, "is not a store location (a SQLite file takes no //)",
			"write sqlite:PATH, such as sqlite:./data/heck.db or sqlite:/var/lib/heck/heck.db")
		return "", nil
	case strings.HasPrefix(low, "sqlite:"):
		driver, set = DriverSQLite, store.Settings{sqlitePath: expanded[len("sqlite:"):]}
	default:
		scheme, _, ok := strings.Cut(expanded, ":")
		switch {
		case !ok || strings.ContainsAny(scheme, "/\\. "):
			ch.add(flag, shown, "does not say which store it is", "write sqlite:"+value+" for a SQLite file, or "+storeFlagFix)
		default:
			ch.add(flag, shown, "is not a store heck knows (scheme "+scheme+":)", storeFlagFix)
		}
		return "", nil
	}
	open, ok := storeDrivers.lookup(driver)
	if !ok {
		ch.add(flag, shown, "names the "+driver+" store, which this program does not include",
			driverFix(driver, storeDrivers.names()))
		return "", nil
	}
	errs := open.Check(set)
	for _, e := range errs {
		ch.add(flag, shown, strings.TrimSpace(e.Key+" "+e.Problem), e.Fix)
	}
	if len(errs) > 0 {
		return "", nil
	}
	return driver, set
}

// applyStore makes n use the store of a store flag, replacing the
// config's choice of driver and its section (retention and recent stay).
func (n *Config) applyStore(ch *checker, flag, value string) {
	driver, set := storeFlag(ch, flag, value)
	if driver == "" {
		return
	}
	n.Store.Driver = driver
	if driver == DriverSQLite {
		// store.path is the file: no section, so nothing is set twice.
		n.Store.Sections = nil
		n.Store.Path = set[sqlitePath]
		n.storePathDerived = false
		return
	}
	n.Store.Sections = map[string]map[string]string{driver: set}
	// Another driver: the SQLite file is derived again, never "written".
	n.storePathDerived = true
	n.deriveStorePath()
}

// expandEnv replaces the ${VAR} references in s from the environment and
// lists those not set.
func expandEnv(s string) (string, []string) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	var missing []string
	out := envRef.ReplaceAllStringFunc(s, func(m string) string {
		name := m[2 : len(m)-1]
		v, ok := os.LookupEnv(name)
		if !ok {
			missing = append(missing, name)
		}
		return v
	})
	return out, missing
}

// passwordPair matches password=VALUE in a key=value connection string
// (VALUE bare or single-quoted) or in a URL's query.
var passwordPair = regexp.MustCompile(`(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&]*)`)

// RedactDSN returns a store location or connection string with its
// password replaced by "xxxxx" (a ${VAR} reference is kept: it is not the
// password), for messages and logs.
func RedactDSN(s string) string {
	const mask = "xxxxx"
	keep := func(v string) bool { return v == "" || envRef.MatchString(v) && envRef.FindString(v) == v }
	if i := strings.Index(s, "://"); i >= 0 {
		// scheme://user:password@host...: the user info runs to the last
		// '@' (a password typed raw may hold '/' or '@').
		rest := s[i+3:]
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			if colon := strings.Index(rest[:at], ":"); colon >= 0 && !keep(rest[colon+1:at]) {
				s = s[:i+3] + rest[:colon+1] + mask + rest[at:]
			}
		}
	}
	return passwordPair.ReplaceAllStringFunc(s, func(m string) string {
		sub := passwordPair.FindStringSubmatch(m)
		if keep(strings.Trim(sub[2], "'")) {
			return m
		}
		return sub[1] + mask
	})
}
