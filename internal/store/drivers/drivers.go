// Package drivers links every built-in store driver into a program; it has
// nothing to call. A program that opens stores by name (store.Open, the
// store.driver setting) or validates a config imports it for its side
// effect:
//
//	import _ "github.com/heckhq/heck/internal/store/drivers"
//
// A new driver adds one import here.
package drivers

import (
	// The PostgreSQL store, "postgres".
	_ "github.com/heckhq/heck/internal/store/postgres"
	// The SQLite store, "sqlite", the default.
	_ "github.com/heckhq/heck/internal/store/sqlite"
)
