package config

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// ParseLevel reads a log.level value: debug, info, warn or error.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info", "":
		return slog.LevelInfo, nil
	case "warn":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return slog.LevelInfo, fmt.Errorf("log.level %q: use one of %s", s, strings.Join(LogLevels, ", "))
}

// LogHandler returns the slog handler log.level and log.format ask for,
// writing to w. A value Validate would reject falls back to its default
// (info, text).
func (c *Config) LogHandler(w io.Writer) slog.Handler {
	level, _ := ParseLevel(c.Log.Level)
	opts := &slog.HandlerOptions{Level: level}
	if strings.EqualFold(c.Log.Format, "json") {
		return slog.NewJSONHandler(w, opts)
	}
	return slog.NewTextHandler(w, opts)
}

// Logger is slog.New(c.LogHandler(w)).
func (c *Config) Logger(w io.Writer) *slog.Logger { return slog.New(c.LogHandler(w)) }
