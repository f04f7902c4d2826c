package testkit

import (
	"bytes"
	"log/slog"
	"os"
	"sync"
)

// SyncBuffer is a bytes.Buffer safe for writers on other goroutines (a
// logger, a child process) and a test reading at once.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns everything written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Tail returns the last n bytes written, for failure messages.
func (b *SyncBuffer) Tail(n int) string {
	s := b.String()
	if len(s) > n {
		s = "..." + s[len(s)-n:]
	}
	return s
}

// Logger returns a logger for the node named name that discards
// everything unless HECK_TEST_LOG is set, and then writes debug logs to
// stderr (memberlist and nodes log from goroutines that may outlive a
// test's t.Log).
func Logger(name string) *slog.Logger {
	if os.Getenv("HECK_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("node", name)
}
