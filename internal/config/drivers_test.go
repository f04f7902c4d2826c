package config

import (
	"slices"
	"testing"

	"github.com/heckhq/heck/internal/store"
	// Validation checks store.driver against the registered drivers: link
	// the built-in ones, as the heck binary does.
	_ "github.com/heckhq/heck/internal/store/drivers"
)

// fakeDB is a second driver, so that a test can choose between two: it
// needs a dsn and takes nothing else.
type fakeDB struct{ store.Opener }

func (fakeDB) Check(s store.Settings) []store.SettingError {
	var errs []store.SettingError
	if s["dsn"] == "" {
		errs = append(errs, store.SettingError{Key: "dsn", Problem: "is missing", Fix: "set the DSN of the database"})
	}
	for k := range s {
		if k != "dsn" {
			errs = append(errs, store.SettingError{Key: k, Problem: "is not a setting of the fakedb store", Fix: "remove it"})
		}
	}
	return errs
}

// withFakeDB makes validation see the registered drivers and fakedb until
// the test ends.
func withFakeDB(t *testing.T) {
	t.Helper()
	saved := storeDrivers
	t.Cleanup(func() { storeDrivers = saved })
	storeDrivers.lookup = func(name string) (store.Opener, bool) {
		if name == "fakedb" {
			return fakeDB{}, true
		}
		return saved.lookup(name)
	}
	storeDrivers.names = func() []string {
		names := append(saved.names(), "fakedb")
		slices.Sort(names)
		return names
	}
}
