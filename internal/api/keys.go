package api

import "context"

// KeyringBackend is optionally implemented by a clustered Backend: runtime
// rotation of the gossip encryption keys (install a new key on every node,
// use it on every node, remove the old one). Keys travel base64-encoded in
// requests and are never shown back: listings carry fingerprints.
type KeyringBackend interface {
	// Keys lists the installed keys, the primary (encrypting) one first.
	Keys(ctx context.Context) ([]KeyInfo, error)
	// InstallKey adds a key; it decrypts at once.
	InstallKey(ctx context.Context, key []byte) error
	// UseKey makes an installed key the one that encrypts.
	UseKey(ctx context.Context, key []byte) error
	// RemoveKey removes a key that is not the primary one.
	RemoveKey(ctx context.Context, key []byte) error
}
