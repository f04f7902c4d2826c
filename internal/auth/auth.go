// Package auth owns how a request proves who it is: logins (argon2id
// passwords, rate limited per remote IP and per user name), session
// cookies valid on every node (HMAC-signed with per-node keys that
// replicate, revoked everywhere on logout), the CSRF synchronizer token of
// a session, user API tokens and the node's api.token; and the user admin
// operations (list, invite, accept an invite, set a role, delete) over the
// replicated kinds of internal/user.
package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/heckhq/heck/internal/crdt"
	"github.com/heckhq/heck/internal/objects"
	"github.com/heckhq/heck/internal/target"
	"github.com/heckhq/heck/internal/user"
)

// CookieName is the session cookie's name.
const CookieName = "heck_session"

// DefaultSessionTTL is how long a session lasts from login.
const DefaultSessionTTL = 7 * 24 * time.Hour

// Errors the pages and the API show.
var (
	// ErrBadCredentials is the one error of a wrong password and of an
	// unknown (or disabled) user, so that a login does not reveal which
	// names exist.
	ErrBadCredentials = errors.New("wrong user name or password")
	// ErrCSRF is returned by CheckCSRF.
	ErrCSRF = errors.New("the form's CSRF token is missing or wrong; reload the page and try again")
	// ErrInvite is the one error of an unknown, used or expired invite.
	ErrInvite = errors.New("the invite is unknown, used or expired; ask an admin for a new one")
	// ErrNotFound is returned for an absent user or token.
	ErrNotFound = objects.ErrNotFound
	// ErrLastAdmin refuses a change that would leave no admin.
	ErrLastAdmin error = conflict("it would leave no admin; make another user admin first")
	// ErrExists refuses a user name already taken.
	ErrExists error = conflict("a user with that name exists; pick another name or delete the user first")
)

// conflict is a refusal the caller can fix; the API answers 409.
type conflict string

func (c conflict) Error() string { return string(c) }

// Conflict marks the error as a conflict for the API.
func (conflict) Conflict() bool { return true }

// RateLimitError is returned by Login when too many attempts came from the
// remote address or for the name.
type RateLimitError struct {
	// What was limited: "address" or "user name".
	What       string
	RetryAfter time.Duration
}

// RateLimited says how long until the next attempt may be made.
func (e *RateLimitError) RateLimited() time.Duration { return e.RetryAfter }

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("too many login attempts for this %s; try again in %s", e.What, e.RetryAfter.Round(time.Second))
}

// Options configure an Auth.
type Options struct {
	// Node is this node's name; its session key is stored under it.
	Node string
	// APIToken is the node's api.token ("" when none): a bearer of it acts
	// as Principal{Name: "api-token", Role: Admin, Via: "api-token"}.
	APIToken string
	// Secure marks cookies Secure (the node listens beyond loopback).
	Secure bool
	// Accounts, Tokens, Invites, Keys and Revoked are the replicated
	// collections of the kinds user.AccountKind, user.TokenKind,
	// user.InviteKind, KeyKind and RevocationKind.
	Accounts *objects.Collection[user.Account]
	Tokens   *objects.Collection[user.Token]
	Invites  *objects.Collection[user.Invite]
	Keys     *objects.Collection[SessionKey]
	Revoked  *objects.Collection[Revocation]
	// SessionTTL is a session's lifetime (default DefaultSessionTTL).
	SessionTTL time.Duration
	// Params are argon2id's for new passwords (default user.DefaultParams).
	Params user.Params
	// PerIP and PerName bound login attempts: a burst, then one per
	// interval (defaults: 10 then one per 3s per address; 5 then one per
	// 20s per name).
	PerIP, PerName Limit
	// Now is the clock (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger
}

// Limit is a token bucket: Burst attempts, then one per Every.
type Limit struct {
	Every time.Duration
	Burst int
}

// Auth authenticates requests and administers users. Safe for concurrent
// use.
type Auth struct {
	o        Options
	apiToken [sha256.Size]byte
	perIP    *limiter
	perName  *limiter
	// hashing bounds concurrent argon2id computations (64 MiB each).
	hashing chan struct{}
	// dummy is a hash verified for unknown users, so that they take as
	// long as known ones.
	dummyOnce sync.Once
	dummy     string
}

// New returns an Auth over the collections of o. Call EnsureKey before
// serving.
func New(o Options) *Auth {
	if o.SessionTTL <= 0 {
		o.SessionTTL = DefaultSessionTTL
	}
	if o.Params.KeyLen == 0 {
		o.Params = user.DefaultParams
	}
	if o.PerIP.Burst == 0 {
		o.PerIP = Limit{Every: 3 * time.Second, Burst: 10}
	}
	if o.PerName.Burst == 0 {
		o.PerName = Limit{Every: 20 * time.Second, Burst: 5}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	a := &Auth{o: o, perIP: newLimiter(o.PerIP.Every, o.PerIP.Burst, 10000),
		perName: newLimiter(o.PerName.Every, o.PerName.Burst, 10000), hashing: make(chan struct{}, 2)}
	if o.APIToken != "" {
		a.apiToken = sha256.Sum256([]byte(o.APIToken))
	}
	return a
}

// EnsureKey generates this node's session key once (on its first start);
// a restart keeps the stored one, so sessions survive it.
func (a *Auth) EnsureKey(ctx context.Context) error {
	if _, ok := a.o.Keys.Get(a.o.Node); ok {
		return nil
	}
	k, err := newKey(a.o.Now())
	if err != nil {
		return err
	}
	if err := a.o.Keys.Put(ctx, a.o.Node, k); err != nil {
		return fmt.Errorf("store the session key of %s: %w", a.o.Node, err)
	}
	return nil
}

func (a *Auth) keyOf(node string) ([]byte, bool) {
	k, ok := a.o.Keys.Get(node)
	return k.Key, ok
}

// HasUsers reports whether any user exists (the API's loopback rule).
func (a *Auth) HasUsers() bool { return a.o.Accounts.Len() > 0 }

// --- principals ---

// Principal returns who r acts as: "Authorization: Bearer" with the
// node's api.token or a user token, else the session cookie. A request
// with an Authorization header is judged by it alone.
func (a *Auth) Principal(r *http.Request) (user.Principal, bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, _ := strings.Cut(h, " ")
		if !strings.EqualFold(scheme, "Bearer") {
			return user.Principal{}, false
		}
		return a.Bearer(strings.TrimSpace(tok))
	}
	s, ok := a.session(r)
	if !ok {
		return user.Principal{}, false
	}
	acc, ok := a.o.Accounts.Get(s.User)
	if !ok || acc.Disabled {
		return user.Principal{}, false
	}
	return user.Principal{Name: acc.Name, Role: acc.Role, Via: "session"}, true
}

// Bearer returns who a bearer token acts as.
func (a *Auth) Bearer(tok string) (user.Principal, bool) {
	if tok == "" {
		return user.Principal{}, false
	}
	if a.o.APIToken != "" {
		sum := sha256.Sum256([]byte(tok))
		if subtle.ConstantTimeCompare(sum[:], a.apiToken[:]) == 1 {
			return user.Principal{Name: "api-token", Role: user.Admin, Via: "api-token"}, true
		}
	}
	id, secret, err := user.SplitToken(tok, user.TokenPrefix)
	if err != nil {
		return user.Principal{}, false
	}
	t, ok := a.o.Tokens.Get(id)
	if !ok || !user.Matches(t.Hash, secret) || (!t.Expires.IsZero() && !a.o.Now().Before(t.Expires)) {
		return user.Principal{}, false
	}
	acc, ok := a.o.Accounts.Get(t.User)
	if !ok || acc.Disabled || t.Created.Before(acc.Created.Truncate(time.Second)) {
		return user.Principal{}, false
	}
	return user.Principal{Name: acc.Name, Role: acc.Role, Via: "token"}, true
}

// session returns r's valid session: signed by a known key, not expired,
// not revoked, issued after its user's sessions_from.
func (a *Auth) session(r *http.Request) (session, bool) {
	c, err := r.Cookie(CookieName)
	if err != nil {
		return session{}, false
	}
	s, err := decode(c.Value, a.keyOf)
	if err != nil {
		return session{}, false
	}
	now := a.o.Now().Unix()
	if now >= s.Expires {
		return session{}, false
	}
	if _, revoked := a.o.Revoked.Get(s.ID); revoked {
		return session{}, false
	}
	acc, ok := a.o.Accounts.Get(s.User)
	if !ok || s.Issued < acc.SessionsFrom.Unix() {
		return session{}, false
	}
	return s, true
}

// --- login ---

// Login checks name and password and returns a session cookie. Attempts
// are rate limited per remote address (an IP, or host:port) and per name,
// on this node; a wrong password and an unknown user give the same
// ErrBadCredentials.
func (a *Auth) Login(ctx context.Context, name, password, remote string) (*http.Cookie, error) {
	acc, err := a.checkPassword(ctx, name, password, remote)
	if err != nil {
		return nil, err
	}
	sid, err := newSID()
	if err != nil {
		return nil, err
	}
	now := a.o.Now()
	if _, ok := a.keyOf(a.o.Node); !ok {
		if err := a.EnsureKey(ctx); err != nil {
			return nil, err
		}
	}
	key, _ := a.keyOf(a.o.Node)
	exp := now.Add(a.o.SessionTTL)
	s := session{Key: a.o.Node, ID: sid, User: acc.Name, Issued: now.Unix(), Expires: exp.Unix()}
	a.o.Logger.Info("login", "user", acc.Name, "remote", remote)
	return a.cookie(encode(s, key), exp), nil
}

// Password checks name and password as Login does (same limits) and
// returns the principal, without a session: the API takes it for
// POST /api/v1/tokens, so a user can mint a token from the command line.
func (a *Auth) Password(ctx context.Context, name, password, remote string) (user.Principal, error) {
	acc, err := a.checkPassword(ctx, name, password, remote)
	if err != nil {
		return user.Principal{}, err
	}
	return user.Principal{Name: acc.Name, Role: acc.Role, Via: "password"}, nil
}

func (a *Auth) checkPassword(ctx context.Context, name, password, remote string) (user.Account, error) {
	now := a.o.Now()
	if ok, d := a.perIP.allow(remoteIP(remote), now); !ok {
		return user.Account{}, &RateLimitError{What: "address", RetryAfter: d}
	}
	if ok, d := a.perName.allow(strings.ToLower(name), now); !ok {
		return user.Account{}, &RateLimitError{What: "user name", RetryAfter: d}
	}
	select {
	case a.hashing <- struct{}{}:
		defer func() { <-a.hashing }()
	case <-ctx.Done():
		return user.Account{}, ctx.Err()
	}
	acc, ok := a.o.Accounts.Get(name)
	if !ok || acc.Disabled || acc.PasswordHash == "" || len(password) > user.MaxPassword {
		// The same work as a known user's, then the same error.
		_ = user.VerifyPassword(a.dummyHash(), password)
		return user.Account{}, ErrBadCredentials
	}
	if err := user.VerifyPassword(acc.PasswordHash, password); err != nil {
		if !errors.Is(err, user.ErrMismatch) {
			a.o.Logger.Warn("a stored password hash cannot be read", "user", name, "err", err)
		}
		return user.Account{}, ErrBadCredentials
	}
	return acc, nil
}

func (a *Auth) dummyHash() string {
	a.dummyOnce.Do(func() { a.dummy, _ = user.HashPassword("not a password", a.o.Params) })
	return a.dummy
}

func remoteIP(remote string) string {
	if h, _, err := net.SplitHostPort(remote); err == nil {
		return h
	}
	return remote
}

func (a *Auth) cookie(v string, exp time.Time) *http.Cookie {
	c := &http.Cookie{Name: CookieName, Value: v, Path: "/", HttpOnly: true, Secure: a.o.Secure,
		SameSite: http.SameSiteLaxMode, Expires: exp}
	if v == "" {
		c.MaxAge = -1
		c.Expires = time.Unix(0, 0)
	} else {
		c.MaxAge = int(exp.Sub(a.o.Now()).Seconds())
	}
	return c
}

// Logout revokes r's session on every node (a replicated revocation) and
// returns the cookie that clears it.
func (a *Auth) Logout(r *http.Request) *http.Cookie {
	if s, ok := a.session(r); ok {
		rv := Revocation{User: s.User, Until: time.Unix(s.Expires, 0).UTC()}
		if err := a.o.Revoked.Put(r.Context(), s.ID, rv); err != nil {
			a.o.Logger.Error("revoke session at logout", "user", s.User, "err", err)
		} else {
			a.o.Logger.Info("logout", "user", s.User)
		}
	}
	return a.cookie("", time.Time{})
}

// --- CSRF ---

// CSRFToken returns the token forms must carry for r's session (form
// field "csrf", or header X-CSRF-Token); "" without a session.
func (a *Auth) CSRFToken(r *http.Request) string {
	s, ok := a.session(r)
	if !ok {
		return ""
	}
	key, _ := a.keyOf(s.Key)
	return csrfToken(s, key)
}

// CheckCSRF verifies that an unsafe (not GET, HEAD, OPTIONS, TRACE)
// request authenticated by its session cookie carries its session's token.
// Requests with an Authorization header, and requests without a valid
// session (which act as no one), need none.
func (a *Auth) CheckCSRF(r *http.Request) error {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return nil
	}
	if r.Header.Get("Authorization") != "" {
		return nil
	}
	s, ok := a.session(r)
	if !ok {
		return nil
	}
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		got = r.PostFormValue("csrf")
	}
	key, _ := a.keyOf(s.Key)
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(csrfToken(s, key))) != 1 {
		return ErrCSRF
	}
	return nil
}

// --- users ---

// ListUsers lists the users by name, and the invited ones not yet
// accepted as Pending; no hashes.
func (a *Auth) ListUsers(context.Context) ([]user.User, error) {
	var out []user.User
	have := map[string]bool{}
	for _, e := range a.o.Accounts.List() {
		out = append(out, e.Value.User)
		have[e.Key] = true
	}
	now := a.o.Now()
	for _, e := range a.o.Invites.List() {
		iv := e.Value
		if have[iv.Name] || !now.Before(iv.Expires) {
			continue
		}
		have[iv.Name] = true
		out = append(out, user.User{Name: iv.Name, Role: iv.Role, Created: iv.Created, CreatedBy: iv.CreatedBy, Pending: true})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// AddUser creates a user with a password (heck user add).
func (a *Auth) AddUser(ctx context.Context, name string, role user.Role, password, by string) (user.User, error) {
	var errs target.FieldErrors
	collect(&errs, user.ValidateName(name))
	if _, err := user.ParseRole(string(role)); err != nil {
		collect(&errs, err)
	}
	collect(&errs, user.ValidatePassword(password))
	if len(errs) > 0 {
		return user.User{}, errs
	}
	if _, ok := a.o.Accounts.Get(name); ok {
		return user.User{}, fmt.Errorf("add user %s: %w", name, ErrExists)
	}
	return a.create(ctx, name, role, password, by)
}

func (a *Auth) create(ctx context.Context, name string, role user.Role, password, by string) (user.User, error) {
	hash, err := user.HashPassword(password, a.o.Params)
	if err != nil {
		return user.User{}, err
	}
	now := a.o.Now().UTC()
	acc := user.Account{User: user.User{Name: name, Role: role, Created: now, CreatedBy: by}, PasswordHash: hash,
		SessionsFrom: now.Truncate(time.Second)}
	if err := a.o.Accounts.Put(ctx, name, acc); err != nil {
		return user.User{}, fmt.Errorf("store user %s: %w", name, err)
	}
	return acc.User, nil
}

func collect(errs *target.FieldErrors, err error) {
	if err == nil {
		return
	}
	if fes, ok := target.AsFieldErrors(err); ok {
		*errs = append(*errs, fes...)
	}
}

// Invite records an invitation of name as role by an admin and returns the
// one-time invite token (valid user.InviteTTL) to hand to the invitee. A
// new invite of the same name replaces the old.
func (a *Auth) Invite(ctx context.Context, name string, role user.Role, by string) (string, error) {
	var errs target.FieldErrors
	collect(&errs, user.ValidateName(name))
	if _, err := user.ParseRole(string(role)); err != nil {
		collect(&errs, err)
	}
	if len(errs) > 0 {
		return "", errs
	}
	if _, ok := a.o.Accounts.Get(name); ok {
		return "", fmt.Errorf("invite %s: %w", name, ErrExists)
	}
	iv, text, err := user.NewInvite(name, role, by, a.o.Now())
	if err != nil {
		return "", err
	}
	for _, e := range a.o.Invites.List() {
		if e.Value.Name == name {
			_ = a.o.Invites.Delete(ctx, e.Key)
		}
	}
	if err := a.o.Invites.Put(ctx, iv.ID, iv); err != nil {
		return "", fmt.Errorf("store invite of %s: %w", name, err)
	}
	return text, nil
}

// AcceptInvite sets the invitee's password through an invite token,
// creating the user; the invite is then used up.
func (a *Auth) AcceptInvite(ctx context.Context, inviteToken, password string) error {
	id, secret, err := user.SplitToken(inviteToken, user.InvitePrefix)
	if err != nil {
		return ErrInvite
	}
	iv, ok := a.o.Invites.Get(id)
	if !ok || !user.Matches(iv.Hash, secret) || !a.o.Now().Before(iv.Expires) {
		return ErrInvite
	}
	if err := user.ValidatePassword(password); err != nil {
		return target.FieldErrors{err.(target.FieldError)}
	}
	if _, ok := a.o.Accounts.Get(iv.Name); ok {
		_ = a.o.Invites.Delete(ctx, id)
		return ErrInvite
	}
	if _, err := a.create(ctx, iv.Name, iv.Role, password, iv.CreatedBy); err != nil {
		return err
	}
	if err := a.o.Invites.Delete(ctx, id); err != nil && !errors.Is(err, objects.ErrNotFound) {
		return fmt.Errorf("use up invite of %s: %w", iv.Name, err)
	}
	return nil
}

// admins counts the enabled admins other than name.
func (a *Auth) adminsBut(name string) int {
	n := 0
	for _, e := range a.o.Accounts.List() {
		if e.Key != name && e.Value.Role == user.Admin && !e.Value.Disabled {
			n++
		}
	}
	return n
}

// SetRole changes a user's role; the last admin stays admin.
func (a *Auth) SetRole(ctx context.Context, name string, role user.Role, by string) error {
	if _, err := user.ParseRole(string(role)); err != nil {
		return target.FieldErrors{err.(target.FieldError)}
	}
	acc, ok := a.o.Accounts.Get(name)
	if !ok {
		return fmt.Errorf("set role of %s: %w", name, ErrNotFound)
	}
	if acc.Role == user.Admin && role != user.Admin && a.adminsBut(name) == 0 {
		return fmt.Errorf("make %s %s: %w", name, role, ErrLastAdmin)
	}
	acc.Role = role
	if err := a.o.Accounts.Put(ctx, name, acc); err != nil {
		return fmt.Errorf("store user %s: %w", name, err)
	}
	a.o.Logger.Info("role changed", "user", name, "role", role, "by", by)
	return nil
}

// DeleteUser deletes a user (or a pending invite of that name), their
// tokens with them; their sessions end everywhere. The last admin cannot
// be deleted.
func (a *Auth) DeleteUser(ctx context.Context, name, by string) error {
	acc, ok := a.o.Accounts.Get(name)
	if !ok {
		found := false
		for _, e := range a.o.Invites.List() {
			if e.Value.Name == name {
				found = true
				_ = a.o.Invites.Delete(ctx, e.Key)
			}
		}
		if !found {
			return fmt.Errorf("delete user %s: %w", name, ErrNotFound)
		}
		return nil
	}
	if acc.Role == user.Admin && a.adminsBut(name) == 0 {
		return fmt.Errorf("delete %s: %w", name, ErrLastAdmin)
	}
	if err := a.o.Accounts.Delete(ctx, name); err != nil {
		return fmt.Errorf("delete user %s: %w", name, err)
	}
	for _, e := range a.o.Tokens.List() {
		if e.Value.User == name {
			_ = a.o.Tokens.Delete(ctx, e.Key)
		}
	}
	a.o.Logger.Info("user deleted", "user", name, "by", by)
	return nil
}

// --- tokens ---

// CreateToken makes an API token for a user and returns it (hash stored)
// with the token text, shown once.
func (a *Auth) CreateToken(ctx context.Context, userName, name, by string) (user.Token, string, error) {
	if _, ok := a.o.Accounts.Get(userName); !ok {
		return user.Token{}, "", fmt.Errorf("create a token for %s: %w", userName, ErrNotFound)
	}
	t, text, err := user.NewToken(userName, name, by, a.o.Now())
	if err != nil {
		return user.Token{}, "", err
	}
	if err := a.o.Tokens.Put(ctx, t.ID, t); err != nil {
		return user.Token{}, "", fmt.Errorf("store token for %s: %w", userName, err)
	}
	return t.Redacted(), text, nil
}

// Tokens lists the tokens (of userName, or all when ""), without hashes.
func (a *Auth) Tokens(_ context.Context, userName string) []user.Token {
	out := []user.Token{}
	for _, e := range a.o.Tokens.List() {
		if userName == "" || e.Value.User == userName {
			out = append(out, e.Value.Redacted())
		}
	}
	return out
}

// Token returns one token, without its hash.
func (a *Auth) Token(id string) (user.Token, bool) {
	t, ok := a.o.Tokens.Get(id)
	return t.Redacted(), ok
}

// DeleteToken revokes a token everywhere.
func (a *Auth) DeleteToken(ctx context.Context, id string) error {
	if err := a.o.Tokens.Delete(ctx, id); err != nil {
		return fmt.Errorf("delete token %s: %w", id, err)
	}
	return nil
}

// --- upkeep ---

// Sweep deletes the revocations of sessions that have expired anyway and
// the expired invites, and collects their tombstones older than horizon.
// Every node does it on its own; the deletes converge like any write.
func (a *Auth) Sweep(ctx context.Context, now time.Time, horizon time.Duration) {
	for _, e := range a.o.Revoked.List() {
		if now.After(e.Value.Until) {
			_ = a.o.Revoked.Delete(ctx, e.Key)
		}
	}
	for _, e := range a.o.Invites.List() {
		if now.After(e.Value.Expires) {
			_ = a.o.Invites.Delete(ctx, e.Key)
		}
	}
	h := crdt.MakeTimestamp(now.Add(-horizon), 0)
	a.o.Revoked.Collect(h)
	a.o.Invites.Collect(h)
	a.o.Tokens.Collect(h)
}
