package user

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Params are argon2id's cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
	KeyLen  uint32
	SaltLen uint32
}

// DefaultParams are OWASP's recommended minimum for argon2id (19 MiB,
// 2 passes, 1 lane): tens of milliseconds on one core, so that a node on a
// small machine can take logins without a login costing seconds.
var DefaultParams = Params{Memory: 19 * 1024, Time: 2, Threads: 1, KeyLen: 32, SaltLen: 16}

// Limits on a password.
const (
	MinPassword = 8
	MaxPassword = 1024
)

// ErrMismatch is returned when a password does not match its hash.
var ErrMismatch = errors.New("password does not match")

// HashPassword hashes pw with argon2id under p and returns the PHC string
// ($argon2id$v=19$m=65536,t=3,p=4$salt$hash).
func HashPassword(pw string, p Params) (string, error) {
	if p.KeyLen == 0 {
		p = DefaultParams
	}
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: read salt: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// Limits on what a PHC string may ask for, so that a stored hash cannot
// make a login allocate or spin without bound.
const (
	maxMemory = 1 << 20 // KiB: 1 GiB
	maxTime   = 64
	maxKeyLen = 128
)

// VerifyPassword checks pw against a stored hash: an argon2id PHC string,
// or a bcrypt hash ($2a$, $2b$, $2y$) for accounts imported from
// elsewhere. It returns ErrMismatch when pw is wrong, another error when the
// hash cannot be read. The comparison takes constant time.
func VerifyPassword(hash, pw string) error {
	if strings.HasPrefix(hash, "$2a$") || strings.HasPrefix(hash, "$2b$") || strings.HasPrefix(hash, "$2y$") {
		err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(pw))
		if errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
			return ErrMismatch
		}
		if err != nil {
			return fmt.Errorf("read bcrypt hash: %w", err)
		}
		return nil
	}
	p, salt, key, err := ParsePHC(hash)
	if err != nil {
		return err
	}
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, uint32(len(key)))
	if subtle.ConstantTimeCompare(got, key) != 1 {
		return ErrMismatch
	}
	return nil
}

// ParsePHC reads an argon2id PHC string into its parameters, salt and key.
func ParsePHC(s string) (Params, []byte, []byte, error) {
	var p Params
	bad := func(what string) (Params, []byte, []byte, error) {
		return p, nil, nil, fmt.Errorf("password hash is not an argon2id PHC string ($argon2id$v=19$m=M,t=T,p=P$salt$hash): %s", what)
	}
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" {
		return bad(fmt.Sprintf("has %d $-separated parts, want 5", len(parts)-1))
	}
	if parts[1] != "argon2id" {
		return bad(fmt.Sprintf("algorithm %q", parts[1]))
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return bad(fmt.Sprintf("version %q, want v=%d", parts[2], argon2.Version))
	}
	seen := map[string]bool{}
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if !ok || err != nil {
			return bad(fmt.Sprintf("parameter %q is not name=number", kv))
		}
		switch k {
		case "m":
			if n < 8 || n > maxMemory {
				return bad(fmt.Sprintf("memory m=%d is outside 8..%d KiB", n, maxMemory))
			}
			p.Memory = uint32(n)
		case "t":
			if n < 1 || n > maxTime {
				return bad(fmt.Sprintf("time t=%d is outside 1..%d", n, maxTime))
			}
			p.Time = uint32(n)
		case "p":
			if n < 1 || n > 255 {
				return bad(fmt.Sprintf("parallelism p=%d is outside 1..255", n))
			}
			p.Threads = uint8(n)
		default:
			return bad(fmt.Sprintf("unknown parameter %q", k))
		}
		seen[k] = true
	}
	if !seen["m"] || !seen["t"] || !seen["p"] {
		return bad("m, t and p are all required")
	}
	enc := base64.RawStdEncoding
	salt, err := enc.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return bad("the salt is not unpadded base64 of at least 8 bytes")
	}
	key, err := enc.DecodeString(parts[5])
	if err != nil || len(key) < 16 || len(key) > maxKeyLen {
		return bad(fmt.Sprintf("the hash is not unpadded base64 of 16 to %d bytes", maxKeyLen))
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	return p, salt, key, nil
}
