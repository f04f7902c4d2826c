package sqlite

import (
	"context"
	"strings"

	"github.com/heckhq/heck/internal/store"
)

// DriverName is the name the SQLite store registers as: store.driver:
// sqlite, the default.
const DriverName = "sqlite"

// SettingPath is the key of the database file in the driver's settings
// (store.sqlite.path; store.path is short for it).
const SettingPath = "path"

func init() { store.Register(DriverName, opener{}) }

// opener opens SQLite stores from their settings: path, the database
// file (required: the config fills in <data_dir>/heck.db).
type opener struct{}

func (opener) Check(s store.Settings) []store.SettingError {
	var errs []store.SettingError
	path, ok := s[SettingPath]
	if !ok {
		errs = append(errs, store.SettingError{Key: SettingPath, Problem: "is missing",
			Fix: "set the database file, such as \"./data/heck.db\""})
	} else if problem, fix := pathProblem(path); problem != "" {
		errs = append(errs, store.SettingError{Key: SettingPath, Value: path, Problem: problem, Fix: fix})
	}
	for k := range s {
		if k != SettingPath {
			errs = append(errs, store.SettingError{Key: k, Problem: "is not a setting of the sqlite store",
				Fix: "remove it; the sqlite store takes only path"})
		}
	}
	return errs
}

func (opener) Open(ctx context.Context, o store.Options) (store.Store, error) {
	st, err := Open(ctx, o.Settings[SettingPath], Options{Logger: o.Logger, Observer: o.Observer})
	if err != nil {
		return nil, err
	}
	return st, nil
}

// pathProblem says what is wrong with a database path, and the fix.
func pathProblem(path string) (problem, fix string) {
	switch {
	case strings.TrimSpace(path) == "":
		return "is empty", "set a file such as \"./data/heck.db\", or leave store.path out to use <data_dir>/heck.db"
	case strings.ContainsAny(path, "?#") || strings.HasPrefix(path, "file:"):
		return "is not a plain file path", "write a file path without '?', '#' or a file: prefix"
	}
	return "", ""
}
