package wire

// The gossip keyring routes: GET /api/v1/keys lists the installed keys by
// fingerprint; POST /api/v1/keys/install, /use and /remove take
// {"key": "<base64>"} and answer the keyring afterwards. A key is never
// written back, logged or put in a problem: only its fingerprint is shown.

// KeyList is the body of GET /api/v1/keys: the installed gossip keys, the
// primary (encrypting) one first.
type KeyList struct {
	Keys []KeyInfo `json:"keys"`
}

// KeyRequest is the body of POST /api/v1/keys/install, /use and /remove.
type KeyRequest struct {
	// Key is the base64 (standard encoding) of 16, 24 or 32 bytes.
	Key string `json:"key"`
}

// KeyResponse answers a keyring change: the fingerprint of the key named
// in the request, whether the keyring changed (installing a key already
// installed, using the primary key or removing a key that is not
// installed changes nothing), and the keys afterwards.
type KeyResponse struct {
	Fingerprint string    `json:"fingerprint"`
	Changed     bool      `json:"changed"`
	Keys        []KeyInfo `json:"keys"`
}

// KeyInfo describes an installed gossip key without revealing it.
type KeyInfo struct {
	// Fingerprint is the first 8 bytes of the key's SHA-256, in hex.
	Fingerprint string `json:"fingerprint"`
	// Primary marks the key that encrypts.
	Primary bool `json:"primary"`
}

// Problem types of the keyring routes.
const (
	// TypeEncryptionOff: the node gossips without encryption, so it has
	// no keyring to change (memberlist cannot turn encryption on at
	// runtime).
	TypeEncryptionOff = problemBase + "encryption-off"
	// TypeKeyNotInstalled: using a key that is not installed.
	TypeKeyNotInstalled = problemBase + "key-not-installed"
	// TypeKeyPrimary: removing the key that encrypts.
	TypeKeyPrimary = problemBase + "key-primary"
)
