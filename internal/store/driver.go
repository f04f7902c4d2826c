package store

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
)

// Settings are one driver's own settings: its section of the config,
// store.<driver> (store.sqlite.path; store.postgres.dsn), key to value as
// written, with ${VAR} references already expanded. A driver reads the
// keys it knows and reports any other.
type Settings map[string]string

// Options are what a driver opens a store with.
type Options struct {
	// Settings are the driver's section of the config.
	Settings Settings
	// Logger receives the driver's notices (migrations); nil discards.
	Logger *slog.Logger
	// Observer names the node whose measurements the store writes (the
	// node's name): a driver whose database several nodes share keys what
	// each writes by it, and reads combine them. "" is one unnamed
	// observer; a driver of one node's own file may ignore it.
	Observer string
	// OnDrop, when set, is told when a driver that queues writes (Postgres)
	// had to drop raw results because its queue was full while the
	// database was away. It is called from the driver's writer: it must
	// not block.
	OnDrop func(DropReport)
}

// DropReport says how many raw results a store dropped since its last
// report (Dropped; Total since it opened) and the span of their times.
type DropReport struct {
	Dropped, Total uint64
	Oldest, Newest time.Time
}

// An Opener opens the stores of one driver.
type Opener interface {
	// Check reports every problem with settings before anything is
	// opened (config validation calls it, to place each problem at its
	// line); none when they are usable.
	Check(s Settings) []SettingError
	// Open opens the store the options describe, creating it when absent
	// and bringing its schema up to date. Open checks the settings too.
	Open(ctx context.Context, o Options) (Store, error)
}

// SettingError is a problem with one setting of a driver.
type SettingError struct {
	// Key is the setting's key in the driver's section ("path", "dsn").
	Key string
	// Value is the value as written; "" when missing or secret (a driver
	// never puts a password here).
	Value string
	// Problem says what is wrong, Fix what to do about it.
	Problem string
	Fix     string
}

func (e SettingError) Error() string {
	s := e.Key + ": "
	if e.Value != "" {
		s += fmt.Sprintf("%q ", e.Value)
	}
	s += e.Problem
	if e.Fix != "" {
		s += "; " + e.Fix
	}
	return s
}

// SettingErrors are every problem with a driver's settings.
type SettingErrors []SettingError

func (es SettingErrors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "; ")
}

var (
	driversMu sync.RWMutex
	drivers   = map[string]Opener{}
)

// Register makes a driver available as name, the value of store.driver
// and the key of its config section. Drivers register from init, as
// database/sql's do; internal/store/drivers links every built-in one.
// Register panics when name is not a lower-case word ([a-z][a-z0-9_]*),
// is taken, or open is nil: each is a programming error.
func Register(name string, open Opener) {
	if !validName(name) {
		panic(fmt.Sprintf("store: driver name %q is not a lower-case word ([a-z][a-z0-9_]*)", name))
	}
	if open == nil {
		panic("store: driver " + name + " registered with a nil Opener")
	}
	driversMu.Lock()
	defer driversMu.Unlock()
	if _, dup := drivers[name]; dup {
		panic("store: driver " + name + " registered twice")
	}
	drivers[name] = open
}

func validName(s string) bool {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

// Drivers returns the names of the registered drivers, sorted.
func Drivers() []string {
	driversMu.RLock()
	defer driversMu.RUnlock()
	names := make([]string, 0, len(drivers))
	for n := range drivers {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Lookup returns the driver registered as name.
func Lookup(name string) (Opener, bool) {
	driversMu.RLock()
	defer driversMu.RUnlock()
	o, ok := drivers[name]
	return o, ok
}

// UnknownDriverError says a driver is not registered, and which are.
type UnknownDriverError struct {
	Name  string
	Known []string
}

func (e *UnknownDriverError) Error() string {
	if len(e.Known) == 0 {
		return fmt.Sprintf("store driver %q is not known: this program registers no store drivers (import internal/store/drivers)", e.Name)
	}
	return fmt.Sprintf("store driver %q is not known; use one of: %s", e.Name, strings.Join(e.Known, ", "))
}

// Open opens a store with the driver registered as driver: an
// *UnknownDriverError when there is none, SettingErrors when the settings
// are not usable.
func Open(ctx context.Context, driver string, o Options) (Store, error) {
	open, ok := Lookup(driver)
	if !ok {
		return nil, &UnknownDriverError{Name: driver, Known: Drivers()}
	}
	if errs := open.Check(o.Settings); len(errs) > 0 {
		return nil, fmt.Errorf("open %s store: %w", driver, SettingErrors(errs))
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return open.Open(ctx, o)
}
