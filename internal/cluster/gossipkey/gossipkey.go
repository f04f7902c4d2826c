// Package gossipkey owns the text form of gossip encryption keys: the one
// parser that the config, the API and the command line share, and the
// fingerprint that names a key without revealing it.
package gossipkey

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Generate is how the messages tell an operator to make a key.
const Generate = "heck keys generate (or head -c 32 /dev/urandom | base64)"

// Parse decodes a gossip key written in base64 (standard encoding,
// padding optional; surrounding spaces ignored) and checks that it has
// 16, 24 or 32 bytes (AES-128, -192 or -256). The error says what is
// wrong and never contains the key.
func Parse(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("is empty")
	}
	k, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		k, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
	}
	if err != nil {
		return nil, errors.New("is not base64 (standard encoding, A-Z a-z 0-9 + /)")
	}
	switch len(k) {
	case 16, 24, 32:
		return k, nil
	}
	return nil, fmt.Errorf("decodes to %d bytes, not 16, 24 or 32 (AES-128, AES-192 or AES-256)", len(k))
}

// ParseAll parses keys as written in the config (cluster.keys), naming
// the first bad one by its index.
func ParseAll(keys []string) ([][]byte, error) {
	out := make([][]byte, 0, len(keys))
	for i, s := range keys {
		k, err := Parse(s)
		if err != nil {
			return nil, fmt.Errorf("cluster.keys[%d] %w: generate a key with %s", i, err, Generate)
		}
		out = append(out, k)
	}
	return out, nil
}

// Fingerprint names a key without revealing it: the first 8 bytes of its
// SHA-256, in hex.
func Fingerprint(key []byte) string {
	s := sha256.Sum256(key)
	return hex.EncodeToString(s[:8])
}
