package cluster

import (
	"bytes"
	"context"
	"io"
	"log"
	"log/slog"
	"strings"
)

// logWriter turns memberlist's *log.Logger lines ("[WARN] memberlist: ...")
// into slog records at the matching level. log.Logger calls Write once per
// line, so each Write is one record.
type logWriter struct {
	log *slog.Logger
}

// newStdLogger returns a *log.Logger for memberlist that logs through l.
func newStdLogger(l *slog.Logger) *log.Logger {
	return log.New(&logWriter{log: l}, "", 0)
}

var levelPrefixes = []struct {
	prefix []byte
	level  slog.Level
}{
	{[]byte("[DEBUG]"), slog.LevelDebug},
	{[]byte("[TRACE]"), slog.LevelDebug},
	{[]byte("[INFO]"), slog.LevelInfo},
	{[]byte("[WARN]"), slog.LevelWarn},
	{[]byte("[ERR]"), slog.LevelError},
	{[]byte("[ERROR]"), slog.LevelError},
}

var _ io.Writer = (*logWriter)(nil)

func (w *logWriter) Write(p []byte) (int, error) {
	n := len(p)
	level, msg := parseLogLine(p)
	if !w.log.Enabled(context.Background(), level) {
		return n, nil
	}
	if level >= slog.LevelWarn && (strings.Contains(msg, "decrypt") || strings.Contains(msg, "encrypt")) {
		w.log.Log(context.Background(), level, msg, "hint", "a peer uses other gossip keys: "+ErrKeyMismatch.Error())
		return n, nil
	}
	w.log.Log(context.Background(), level, msg)
	return n, nil
}

// parseLogLine finds the [LEVEL] tag (memberlist puts it first when the
// logger has no flags) and strips it and the "memberlist: " prefix. A line
// without a tag is logged at info.
func parseLogLine(p []byte) (slog.Level, string) {
	p = bytes.TrimRight(p, "\r\n")
	level := slog.LevelInfo
	for _, lp := range levelPrefixes {
		if i := bytes.Index(p, lp.prefix); i >= 0 && i < 32 {
			level = lp.level
			p = bytes.TrimSpace(p[i+len(lp.prefix):])
			break
		}
	}
	p = bytes.TrimPrefix(p, []byte("memberlist: "))
	return level, string(p)
}
