package node

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/heckhq/heck/internal/api"
)

// The gossip keyring can be rotated at runtime (install a new key on every
// node, use it on every node, remove the old one). The node keeps the
// keyring it ends up with in <data_dir>/keyring.json, so a restart keeps a
// rotation; the config's cluster.keys seed it when no file exists.

const keyringFile = "keyring.json"

// KeyInfo describes an installed key without revealing it.
type KeyInfo = api.KeyInfo

var _ api.KeyringBackend = (*Node)(nil)

func fingerprint(k []byte) string {
	s := sha256.Sum256(k)
	return hex.EncodeToString(s[:8])
}

// Keys lists the installed gossip keys by fingerprint, the primary first.
func (n *Node) Keys(ctx context.Context) ([]KeyInfo, error) {
	if n.cl == nil {
		return nil, fmt.Errorf("keys: %w", api.ErrNotClustered)
	}
	var out []KeyInfo
	for i, k := range n.cl.Keys() {
		out = append(out, KeyInfo{Fingerprint: fingerprint(k), Primary: i == 0})
	}
	return out, nil
}

// InstallKey adds a gossip key (it decrypts at once).
func (n *Node) InstallKey(ctx context.Context, key []byte) error {
	return n.keyOp(func() error { return n.cl.InstallKey(key) })
}

// UseKey makes an installed key the one that encrypts.
func (n *Node) UseKey(ctx context.Context, key []byte) error {
	return n.keyOp(func() error { return n.cl.UseKey(key) })
}

// RemoveKey removes a key that is not the primary one.
func (n *Node) RemoveKey(ctx context.Context, key []byte) error {
	return n.keyOp(func() error { return n.cl.RemoveKey(key) })
}

func (n *Node) keyOp(op func() error) error {
	if n.cl == nil {
		return fmt.Errorf("keys: %w", api.ErrNotClustered)
	}
	if len(n.cl.Keys()) == 0 {
		return errors.New("gossip encryption is off on this node: start it with cluster.keys to use a keyring")
	}
	n.keyMu.Lock()
	defer n.keyMu.Unlock()
	if err := op(); err != nil {
		return err
	}
	return n.saveKeyring()
}

func (n *Node) keyringPath() string { return filepath.Join(n.cfg.Node.DataDir, keyringFile) }

// saveKeyring writes the keyring atomically, readable by the owner only.
func (n *Node) saveKeyring() error {
	var enc []string
	for _, k := range n.cl.Keys() {
		enc = append(enc, base64.StdEncoding.EncodeToString(k))
	}
	b, err := json.Marshal(enc)
	if err != nil {
		return err
	}
	path := n.keyringPath()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("save keyring %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("save keyring %s: %w", path, err)
	}
	return nil
}

// loadKeyring returns the saved keyring, or nil when there is none.
func (n *Node) loadKeyring() ([]string, error) {
	b, err := os.ReadFile(n.keyringPath())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read keyring %s: %w", n.keyringPath(), err)
	}
	var keys []string
	if err := json.Unmarshal(b, &keys); err != nil {
		return nil, fmt.Errorf("read keyring %s: %w (delete it to start from cluster.keys)", n.keyringPath(), err)
	}
	return keys, nil
}
