package cli_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/config"
	"github.com/heckhq/heck/internal/node"
	"github.com/heckhq/heck/internal/user"
)

// startNode runs a real node on loopback (no api.token) and points
// HECK_SERVER at it.
func startNode(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Listen = "127.0.0.1:0"
	cfg.Node.Name = "cli"
	cfg.Node.DataDir = dir
	cfg.Store.Path = filepath.Join(dir, config.DefaultStoreFile)
	ctx, cancel := context.WithCancel(context.Background())
	n, err := node.New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("node: %v", err)
		}
	})
	actx, acancel := context.WithTimeout(ctx, 10*time.Second)
	defer acancel()
	addr := n.Addr(actx)
	if addr == nil {
		t.Fatal("the node did not listen")
	}
	t.Setenv("HECK_SERVER", "http://"+addr.String())
	t.Setenv("HECK_API_TOKEN", "")
}

// TestUserCommands: on a fresh node, heck user add makes the first admin
// with no token; heck token create mints the admin's token with their
// password; with it, user add and user ls work, and without it changes
// are refused.
func TestUserCommands(t *testing.T) {
	startNode(t)
	withStdin(t, "first-admin-pw\n")
	if r := heck(t, "user", "add", "--name", "root", "--role", "admin"); r.code != 0 || !strings.Contains(r.stdout, "added user root as admin") {
		t.Fatalf("first user add: %+v", r)
	}
	// Changes now need a principal.
	withStdin(t, "second-pw-long\n")
	if r := heck(t, "user", "add", "--name", "ed", "--role", "editor"); r.code != 2 || !strings.Contains(r.stderr, "Unauthorized") {
		t.Fatalf("user add without a token once a user exists: %+v", r)
	}
	withStdin(t, "wrong-password\n")
	if r := heck(t, "token", "create", "--user", "root"); r.code != 2 || !strings.Contains(r.stderr, "wrong user name or password") {
		t.Fatalf("token create with a wrong password: %+v", r)
	}
	withStdin(t, "first-admin-pw\n")
	r := heck(t, "token", "create", "--user", "root", "--name", "laptop")
	tok := strings.TrimSpace(r.stdout)
	if r.code != 0 || !strings.HasPrefix(tok, user.TokenPrefix) || strings.Contains(tok, "\n") {
		t.Fatalf("token create: %+v", r)
	}
	t.Setenv("HECK_API_TOKEN", tok)
	withStdin(t, "short\n")
	if r := heck(t, "user", "add", "--name", "ed", "--role", "editor"); r.code != 2 || !strings.Contains(r.stderr, "the password") {
		t.Fatalf("a short password: %+v", r)
	}
	withStdin(t, "editor-password\n")
	if r := heck(t, "user", "add", "--name", "ed", "--role", "editor"); r.code != 0 {
		t.Fatalf("user add with the admin's token: %+v", r)
	}
	if r := heck(t, "user", "add", "--name", "vi", "--role", "viewer", "--invite"); r.code != 0 || !strings.Contains(r.stdout, user.InvitePrefix) {
		t.Fatalf("user add --invite: %+v", r)
	}
	if r := heck(t, "user", "add", "--name", "x", "--role", "boss"); r.code != 2 || !strings.Contains(r.stderr, "--role") {
		t.Fatalf("a bad role: %+v", r)
	}
	r = heck(t, "user", "ls")
	for _, want := range []string{"root", "admin", "ed", "editor", "vi", "invited"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("user ls lacks %q:\n%s", want, r.stdout)
		}
	}
	r = heck(t, "user", "ls", "-o", "json")
	var us []user.User
	if err := json.Unmarshal([]byte(r.stdout), &us); err != nil || len(us) != 3 || strings.Contains(r.stdout, "argon2") {
		t.Fatalf("user ls -o json: %v %s", err, r.stdout)
	}
	// The editor's own token, minted with their password, cannot add users.
	t.Setenv("HECK_API_TOKEN", "")
	withStdin(t, "editor-password\n")
	edTok := strings.TrimSpace(heck(t, "token", "create", "--user", "ed").stdout)
	t.Setenv("HECK_API_TOKEN", edTok)
	withStdin(t, "whatever-pw\n")
	if r := heck(t, "user", "add", "--name", "z", "--role", "admin"); r.code != 2 || !strings.Contains(r.stderr, "needs the admin role") {
		t.Fatalf("user add by an editor: %+v", r)
	}
	t.Setenv("HECK_API_TOKEN", tok)
	if r := heck(t, "user", "rm", "ed"); r.code != 0 {
		t.Fatalf("user rm: %+v", r)
	}
	t.Setenv("HECK_API_TOKEN", edTok)
	if r := heck(t, "user", "ls"); r.code != 2 || !strings.Contains(r.stderr, "Unauthorized") {
		t.Fatalf("a removed user's token: %+v", r)
	}
}
