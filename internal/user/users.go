package user

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/heckhq/heck/internal/objects"
	"github.com/heckhq/heck/internal/target"
)

// User is a person who logs in, as the pages and the API show them: no
// hash.
type User struct {
	Name      string    `json:"name"`
	Role      Role      `json:"role"`
	Created   time.Time `json:"created"`
	CreatedBy string    `json:"created_by,omitempty"`
	Disabled  bool      `json:"disabled,omitempty"`
	// Pending is set while the user was invited and has not set a
	// password yet.
	Pending bool `json:"pending,omitempty"`
}

// Account is a user as stored and replicated (kind "user", keyed by name):
// the user, the argon2id hash of their password ("" while invited), and
// the time before which their sessions are not accepted (a deleted and
// re-created user does not inherit the old one's sessions).
type Account struct {
	User
	PasswordHash string    `json:"password_hash,omitempty"`
	SessionsFrom time.Time `json:"sessions_from,omitempty"`
}

// Token is an API token as stored (kind "token", keyed by id): only the
// SHA-256 of its secret is kept. The token itself, "heck_<id>_<secret>",
// is shown once when created.
type Token struct {
	ID        string    `json:"id"`
	User      string    `json:"user"`
	Hash      string    `json:"hash,omitempty"` // hex SHA-256 of the secret
	Name      string    `json:"name,omitempty"` // what it is for
	Created   time.Time `json:"created"`
	CreatedBy string    `json:"created_by,omitempty"`
	Expires   time.Time `json:"expires,omitempty"` // zero: never
}

// Invite is an admin's invitation of a collaborator (kind "invite", keyed
// by id): the name and role they will have, and the SHA-256 of the secret
// of the invite token "heckinv_<id>_<secret>" they set their password
// with, once, before Expires.
type Invite struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Role      Role      `json:"role"`
	Hash      string    `json:"hash,omitempty"`
	Created   time.Time `json:"created"`
	CreatedBy string    `json:"created_by,omitempty"`
	Expires   time.Time `json:"expires"`
}

// InviteTTL is how long an invite can be accepted.
const InviteTTL = 7 * 24 * time.Hour

// Limits on names.
const (
	MaxName    = 64
	MaxComment = 128
)

// Reserved names a user cannot take: the principal of api.token.
var reserved = map[string]bool{"api-token": true}

var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]*$`)

// fe builds a field error.
func fe(field, value, problem, fix string) target.FieldError {
	return target.FieldError{Field: field, Value: value, Problem: problem, Fix: fix}
}

// ValidateName checks a user name.
func ValidateName(name string) error {
	switch {
	case name == "":
		return fe("name", "", "is missing", "give the user a name (--name NAME)")
	case len(name) > MaxName:
		return fe("name", name[:32]+"...", fmt.Sprintf("is %d bytes long", len(name)), fmt.Sprintf("use at most %d", MaxName))
	case !namePattern.MatchString(name):
		return fe("name", name, "is not a valid user name", "use letters, digits, '.', '_', '@' or '-', starting with a letter or digit")
	case reserved[name]:
		return fe("name", name, "is reserved for the node's api.token", "pick another name")
	}
	return nil
}

// ParseRole reads a role name.
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	if rank(r) == 0 {
		return "", fe("role", s, "is not a role", "use admin, editor or viewer")
	}
	return r, nil
}

// ValidatePassword checks a new password's length (no composition rules,
// as NIST SP 800-63B advises).
func ValidatePassword(pw string) error {
	switch {
	case len(pw) < MinPassword:
		return fe("password", "", fmt.Sprintf("is %d characters long", len(pw)), fmt.Sprintf("use at least %d characters; a passphrase of a few words is best", MinPassword))
	case len(pw) > MaxPassword:
		return fe("password", "", fmt.Sprintf("is %d bytes long", len(pw)), fmt.Sprintf("use at most %d", MaxPassword))
	}
	return nil
}

// Validate checks an account, reporting every problem.
func (a *Account) Validate() error {
	var errs target.FieldErrors
	add := func(err error) {
		if fes, ok := target.AsFieldErrors(err); ok {
			errs = append(errs, fes...)
		}
	}
	add(ValidateName(a.Name))
	if rank(a.Role) == 0 {
		errs = append(errs, fe("role", string(a.Role), "is not a role", "use admin, editor or viewer"))
	}
	if a.PasswordHash == "" && !a.Pending {
		errs = append(errs, fe("password_hash", "", "is missing on a user who is not pending", "set a password"))
	}
	if a.PasswordHash != "" && !strings.HasPrefix(a.PasswordHash, "$argon2id$") && !strings.HasPrefix(a.PasswordHash, "$2") {
		errs = append(errs, fe("password_hash", "", "is neither an argon2id PHC string nor a bcrypt hash", "hash the password with HashPassword"))
	}
	if len(a.CreatedBy) > MaxComment {
		errs = append(errs, fe("created_by", a.CreatedBy[:32]+"...", "is too long", fmt.Sprintf("keep it under %d bytes", MaxComment)))
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

var idPattern = regexp.MustCompile(`^[0-9a-f]{12}$`)

// Validate checks a stored token.
func (t *Token) Validate() error {
	var errs target.FieldErrors
	if !idPattern.MatchString(t.ID) {
		errs = append(errs, fe("id", t.ID, "is not a token id", "use 12 lower-case hex digits (NewToken makes one)"))
	}
	if err := ValidateName(t.User); err != nil {
		errs = append(errs, fe("user", t.User, "is not a user name", "name the user the token acts as"))
	}
	if len(t.Hash) != 64 {
		errs = append(errs, fe("hash", "", "is not a hex SHA-256", "store only the hash NewToken returns"))
	}
	if len(t.Name) > MaxComment {
		errs = append(errs, fe("name", t.Name[:32]+"...", "is too long", fmt.Sprintf("keep it under %d bytes", MaxComment)))
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// Validate checks a stored invite.
func (iv *Invite) Validate() error {
	var errs target.FieldErrors
	if !idPattern.MatchString(iv.ID) {
		errs = append(errs, fe("id", iv.ID, "is not an invite id", "use 12 lower-case hex digits (NewInvite makes one)"))
	}
	if err := ValidateName(iv.Name); err != nil {
		fes, _ := target.AsFieldErrors(err)
		errs = append(errs, fes...)
	}
	if rank(iv.Role) == 0 {
		errs = append(errs, fe("role", string(iv.Role), "is not a role", "use admin, editor or viewer"))
	}
	if len(iv.Hash) != 64 {
		errs = append(errs, fe("hash", "", "is not a hex SHA-256", "store only the hash NewInvite returns"))
	}
	if iv.Expires.IsZero() {
		errs = append(errs, fe("expires", "", "is missing", "give the invite an expiry"))
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// The kinds' registrations.
var (
	AccountKind = objects.Kind[Account]{Name: "user", Validate: func(key string, a Account) error {
		if a.Name != key {
			return fe("name", a.Name, fmt.Sprintf("does not match the key %q it is stored under", key), "store a user under its own name")
		}
		return a.Validate()
	}}
	TokenKind = objects.Kind[Token]{Name: "token", Validate: func(key string, t Token) error {
		if t.ID != key {
			return fe("id", t.ID, fmt.Sprintf("does not match the key %q it is stored under", key), "store a token under its own id")
		}
		return t.Validate()
	}}
	InviteKind = objects.Kind[Invite]{Name: "invite", Validate: func(key string, iv Invite) error {
		if iv.ID != key {
			return fe("id", iv.ID, fmt.Sprintf("does not match the key %q it is stored under", key), "store an invite under its own id")
		}
		return iv.Validate()
	}}
)

// Token prefixes: what a secret is, at a glance (and for secret scanners).
const (
	TokenPrefix  = "heck_"
	InvitePrefix = "heckinv_"
)

// ErrMalformed is returned for a token that is not of the form
// prefix<id>_<secret>.
var ErrMalformed = errors.New("token is malformed")

// newSecret returns a fresh id (6 random bytes, hex) and secret (32 random
// bytes, base64url), the token text and the secret's hash.
func newSecret(prefix string) (id, text, hash string, err error) {
	var idb [6]byte
	var sec [32]byte
	if _, err := rand.Read(idb[:]); err != nil {
		return "", "", "", fmt.Errorf("make token: %w", err)
	}
	if _, err := rand.Read(sec[:]); err != nil {
		return "", "", "", fmt.Errorf("make token: %w", err)
	}
	id = hex.EncodeToString(idb[:])
	s := base64.RawURLEncoding.EncodeToString(sec[:])
	return id, prefix + id + "_" + s, HashSecret(s), nil
}

// HashSecret is the hex SHA-256 of a token's secret: tokens are 256 random
// bits, so a fast hash is enough (no dictionary to try).
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// NewToken makes a token for user: the stored record (hash only) and the
// text to show once.
func NewToken(userName, name, by string, now time.Time) (Token, string, error) {
	id, text, hash, err := newSecret(TokenPrefix)
	if err != nil {
		return Token{}, "", err
	}
	return Token{ID: id, User: userName, Hash: hash, Name: name, Created: now.UTC().Truncate(time.Second), CreatedBy: by}, text, nil
}

// NewInvite makes an invite of name as role: the stored record and the
// invite token to hand over once.
func NewInvite(name string, role Role, by string, now time.Time) (Invite, string, error) {
	id, text, hash, err := newSecret(InvitePrefix)
	if err != nil {
		return Invite{}, "", err
	}
	now = now.UTC().Truncate(time.Second)
	return Invite{ID: id, Name: name, Role: role, Hash: hash, Created: now, CreatedBy: by, Expires: now.Add(InviteTTL)}, text, nil
}

// SplitToken reads prefix<id>_<secret> into its id and secret.
func SplitToken(text, prefix string) (id, secret string, err error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(text), prefix)
	if !ok {
		return "", "", ErrMalformed
	}
	id, secret, ok = strings.Cut(rest, "_")
	if !ok || !idPattern.MatchString(id) || secret == "" {
		return "", "", ErrMalformed
	}
	return id, secret, nil
}

// Matches reports, in constant time, whether secret hashes to hash.
func Matches(hash, secret string) bool {
	want := HashSecret(secret)
	return subtle.ConstantTimeCompare([]byte(want), []byte(hash)) == 1
}

// Redacted returns a copy fit for logs and audit events: no hash.
func (a Account) Redacted() Account { a.PasswordHash = ""; return a }

// Redacted returns a copy without the hash.
func (t Token) Redacted() Token { t.Hash = ""; return t }

// Redacted returns a copy without the hash.
func (iv Invite) Redacted() Invite { iv.Hash = ""; return iv }
