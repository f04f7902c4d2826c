// Package sqlkit owns what heck's SQL store drivers (internal/store/sqlite,
// internal/store/postgres) share: reading their embedded forward-only
// migrations, the clamped time bounds of queries, the minute of a rollup,
// and the ordered integer key of a write stamp.
package sqlkit

import (
	"fmt"
	"io/fs"
	"math"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Migration is one embedded migration file, migrations/NNNN_name.sql.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// LoadMigrations reads the migrations under migrations/ in fsys in version
// order and checks they are numbered 1, 2, 3... without gaps.
func LoadMigrations(fsys fs.FS) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, "migrations")
	if err != nil {
		return nil, fmt.Errorf("read embedded migrations: %w", err)
	}
	var ms []Migration
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, _, ok := strings.Cut(strings.TrimSuffix(name, ".sql"), "_")
		if !ok {
			return nil, fmt.Errorf("migration %s: name must be NNNN_name.sql", name)
		}
		v, err := strconv.Atoi(num)
		if err != nil || v < 1 {
			return nil, fmt.Errorf("migration %s: name must start with a positive number", name)
		}
		b, err := fs.ReadFile(fsys, path.Join("migrations", name))
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", name, err)
		}
		ms = append(ms, Migration{Version: v, Name: name, SQL: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i, m := range ms {
		if m.Version != i+1 {
			return nil, fmt.Errorf("migration %s: expected version %d (migrations must be numbered without gaps)", m.Name, i+1)
		}
	}
	return ms, nil
}

// NanosLo is t as a lower bound in unix nanoseconds: a zero time is open
// (the least int64), times outside what int64 nanoseconds hold are clamped.
func NanosLo(t time.Time) int64 {
	if t.IsZero() || t.Year() < 1678 {
		return math.MinInt64
	}
	if t.Year() > 2261 {
		return math.MaxInt64
	}
	return t.UnixNano()
}

// NanosHi is t as an upper bound in unix nanoseconds: a zero time is open
// (the greatest int64), times outside int64 nanoseconds are clamped.
func NanosHi(t time.Time) int64 {
	if t.IsZero() || t.Year() > 2261 {
		return math.MaxInt64
	}
	if t.Year() < 1678 {
		return math.MinInt64
	}
	return t.UnixNano()
}

// MinuteOf is the unix second of the start of t's minute.
func MinuteOf(t time.Time) int64 {
	s := t.Unix()
	m := s % 60
	if m < 0 {
		m += 60
	}
	return s - m
}

// StampKey maps a write stamp to an int64 that orders the same way (SQL
// integers are signed); StampOf maps it back.
func StampKey(s uint64) int64 { return int64(s ^ 1<<63) }

// StampOf is the stamp of a StampKey.
func StampOf(k int64) uint64 { return uint64(k) ^ 1<<63 }
