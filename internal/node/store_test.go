package node

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/heckhq/heck/internal/config"
	"github.com/heckhq/heck/internal/store"
)

// The node opens the store store.driver names, with its section's
// settings, and says which driver failed when one cannot open.
func TestNodeOpensTheConfiguredStore(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Node.DataDir = dir
	cfg.Store.Sections = map[string]map[string]string{"sqlite": {"path": filepath.Join(dir, "elsewhere", "h.db")}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	n, err := New(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	n.st.Close()
	if _, err := os.Stat(filepath.Join(dir, "elsewhere", "h.db")); err != nil {
		t.Fatalf("store.sqlite.path not used: %v", err)
	}
	if want := "sqlite:" + filepath.Join(dir, "elsewhere", "h.db"); n.storeName != want {
		t.Errorf("store named %q in the logs, want %q", n.storeName, want)
	}

	// A config built in code with no store path: the file under the data
	// directory.
	cfg = config.Default()
	cfg.Node.DataDir = t.TempDir()
	cfg.Store.Path = ""
	if set := storeSettings(cfg); set["path"] != filepath.Join(cfg.Node.DataDir, config.DefaultStoreFile) {
		t.Errorf("settings without a path: %v", set)
	}

	cfg.Store.Driver = "nosuch"
	_, err = New(context.Background(), cfg, nil)
	var ue *store.UnknownDriverError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "store.driver nosuch") || !strings.Contains(err.Error(), "sqlite") {
		t.Errorf("unknown driver: %v", err)
	}
}
