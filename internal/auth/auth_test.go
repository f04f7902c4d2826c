package auth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/crdt"
	"github.com/heckhq/heck/internal/objects"
	"github.com/heckhq/heck/internal/store"
	"github.com/heckhq/heck/internal/store/sqlite"
	"github.com/heckhq/heck/internal/user"
)

// The interfaces internal/web consumes (copied from there, to keep the
// method sets in step).
type webAuth interface {
	Principal(r *http.Request) (user.Principal, bool)
	Login(ctx context.Context, name, password, remote string) (*http.Cookie, error)
	Logout(r *http.Request) *http.Cookie
	CSRFToken(r *http.Request) string
	CheckCSRF(r *http.Request) error
}

type webUsers interface {
	ListUsers(ctx context.Context) ([]user.User, error)
	Invite(ctx context.Context, name string, role user.Role, by string) (inviteToken string, err error)
	AcceptInvite(ctx context.Context, inviteToken, password string) error
	SetRole(ctx context.Context, name string, role user.Role, by string) error
	DeleteUser(ctx context.Context, name, by string) error
}

var (
	_ webAuth  = (*Auth)(nil)
	_ webUsers = (*Auth)(nil)
)

var fast = user.Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}

// clock is a settable clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newAuth(t *testing.T, st objects.Persister, mod func(*Options)) (*Auth, *clock) {
	t.Helper()
	c := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	hlc := crdt.NewClock(c.now)
	o := Options{Node: "n1", APIToken: "the-api-token", Params: fast, Now: c.now,
		Accounts: objects.New(user.AccountKind, "n1", hlc, st),
		Tokens:   objects.New(user.TokenKind, "n1", hlc, st),
		Invites:  objects.New(user.InviteKind, "n1", hlc, st),
		Keys:     objects.New(KeyKind, "n1", hlc, st),
		Revoked:  objects.New(RevocationKind, "n1", hlc, st),
	}
	if mod != nil {
		mod(&o)
	}
	a := New(o)
	if err := a.EnsureKey(t.Context()); err != nil {
		t.Fatal(err)
	}
	return a, c
}

func addUser(t *testing.T, a *Auth, name string, role user.Role) {
	t.Helper()
	if _, err := a.AddUser(t.Context(), name, role, "password-"+name, "test"); err != nil {
		t.Fatal(err)
	}
}

func login(t *testing.T, a *Auth, name string) *http.Cookie {
	t.Helper()
	c, err := a.Login(t.Context(), name, "password-"+name, "127.0.0.1:5000")
	if err != nil {
		t.Fatalf("login %s: %v", name, err)
	}
	return c
}

func req(method string, c *http.Cookie, hdr ...string) *http.Request {
	r := httptest.NewRequest(method, "/x", nil)
	if c != nil {
		r.AddCookie(c)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	return r
}

func TestLoginSession(t *testing.T) {
	a, clk := newAuth(t, nil, nil)
	addUser(t, a, "alice", user.Editor)
	c := login(t, a, "alice")
	if c.Name != CookieName || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Secure || c.MaxAge <= 0 {
		t.Errorf("cookie %+v: want heck_session, HttpOnly, SameSite=Lax, Path=/, not Secure on loopback, a max age", c)
	}
	p, ok := a.Principal(req("GET", c))
	if !ok || p != (user.Principal{Name: "alice", Role: user.Editor, Via: "session"}) {
		t.Fatalf("principal = %+v, %v", p, ok)
	}
	// A role change applies to the open session.
	addUser(t, a, "root", user.Admin)
	if err := a.SetRole(t.Context(), "alice", user.Viewer, "root"); err != nil {
		t.Fatal(err)
	}
	if p, _ := a.Principal(req("GET", c)); p.Role != user.Viewer {
		t.Errorf("after SetRole the session has role %s, want viewer", p.Role)
	}
	// Tampering breaks the signature.
	bad := *c
	bad.Value = strings.Replace(c.Value, c.Value[2:4], "zz", 1)
	if _, ok := a.Principal(req("GET", &bad)); ok {
		t.Error("a tampered cookie is accepted")
	}
	// Logout revokes the cookie, even if it is sent again.
	out := a.Logout(req("POST", c))
	if out.MaxAge >= 0 || out.Value != "" {
		t.Errorf("logout cookie %+v does not clear the session", out)
	}
	if _, ok := a.Principal(req("GET", c)); ok {
		t.Error("the cookie still works after logout")
	}
	// Expiry.
	c2 := login(t, a, "alice")
	clk.t = clk.t.Add(DefaultSessionTTL)
	if _, ok := a.Principal(req("GET", c2)); ok {
		t.Error("the cookie works after its lifetime")
	}
}

func TestSessionEndsWithUser(t *testing.T) {
	a, clk := newAuth(t, nil, nil)
	addUser(t, a, "root", user.Admin)
	addUser(t, a, "bob", user.Viewer)
	c := login(t, a, "bob")
	if err := a.DeleteUser(t.Context(), "bob", "root"); err != nil {
		t.Fatal(err)
	}
	if _, ok := a.Principal(req("GET", c)); ok {
		t.Fatal("a deleted user's session still works")
	}
	clk.t = clk.t.Add(time.Minute)
	addUser(t, a, "bob", user.Admin)
	if _, ok := a.Principal(req("GET", c)); ok {
		t.Error("a re-created user inherits the old one's session")
	}
}

func TestBadCredentialsAlike(t *testing.T) {
	a, _ := newAuth(t, nil, nil)
	addUser(t, a, "alice", user.Viewer)
	_, errWrong := a.Login(t.Context(), "alice", "nope-nope", "10.0.0.1:1")
	_, errUnknown := a.Login(t.Context(), "mallory", "nope-nope", "10.0.0.2:1")
	if !errors.Is(errWrong, ErrBadCredentials) || !errors.Is(errUnknown, ErrBadCredentials) || errWrong.Error() != errUnknown.Error() {
		t.Errorf("wrong password: %v; unknown user: %v; want the same ErrBadCredentials", errWrong, errUnknown)
	}
}

func TestLoginRateLimit(t *testing.T) {
	a, clk := newAuth(t, nil, func(o *Options) {
		o.PerIP = Limit{Every: time.Minute, Burst: 4}
		o.PerName = Limit{Every: time.Minute, Burst: 3}
	})
	addUser(t, a, "alice", user.Viewer)
	var rl *RateLimitError
	// Per name: three attempts from different addresses, then refused,
	// even with the right password.
	for i := range 3 {
		if _, err := a.Login(t.Context(), "alice", "wrong-password", "10.0.0."+string(rune('1'+i))+":1"); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	if _, err := a.Login(t.Context(), "alice", "password-alice", "10.0.0.9:1"); !errors.As(err, &rl) || rl.What != "user name" || rl.RetryAfter <= 0 {
		t.Fatalf("fourth attempt: %v, want a per-name rate limit", err)
	}
	clk.t = clk.t.Add(time.Minute)
	if _, err := a.Login(t.Context(), "alice", "password-alice", "10.0.0.9:1"); err != nil {
		t.Fatalf("a minute later: %v", err)
	}
	// Per address: one address trying many names.
	for i := range 4 {
		_, _ = a.Login(t.Context(), "u"+string(rune('a'+i)), "x", "10.9.9.9:1")
	}
	if _, err := a.Login(t.Context(), "zed", "x", "10.9.9.9:2"); !errors.As(err, &rl) || rl.What != "address" {
		t.Fatalf("fifth attempt from one address: %v, want a per-address rate limit", err)
	}
}

func TestCSRF(t *testing.T) {
	a, _ := newAuth(t, nil, nil)
	addUser(t, a, "alice", user.Editor)
	c := login(t, a, "alice")
	tok := a.CSRFToken(req("GET", c))
	if tok == "" {
		t.Fatal("no CSRF token for a session")
	}
	other := a.CSRFToken(req("GET", login(t, a, "alice")))
	if other == tok {
		t.Error("two sessions share a CSRF token")
	}
	form := func(v string) *http.Request {
		r := httptest.NewRequest("POST", "/x", strings.NewReader(url.Values{"csrf": {v}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.AddCookie(c)
		return r
	}
	for _, tc := range []struct {
		name string
		r    *http.Request
		ok   bool
	}{
		{"GET needs none", req("GET", c), true},
		{"POST without token", req("POST", c), false},
		{"POST with a wrong header", req("POST", c, "X-CSRF-Token", tok+"x"), false},
		{"POST with another session's token", req("DELETE", c, "X-CSRF-Token", other), false},
		{"POST with the header", req("POST", c, "X-CSRF-Token", tok), true},
		{"form with a wrong field", form("nope"), false},
		{"form with the field", form(tok), true},
		{"bearer needs none", req("POST", c, "Authorization", "Bearer the-api-token"), true},
		{"no session needs none", req("POST", nil), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := a.CheckCSRF(tc.r)
			if tc.ok != (err == nil) || (err != nil && !errors.Is(err, ErrCSRF)) {
				t.Errorf("CheckCSRF = %v, want ok %v", err, tc.ok)
			}
		})
	}
}

func TestBearer(t *testing.T) {
	a, clk := newAuth(t, nil, nil)
	addUser(t, a, "ci", user.Editor)
	addUser(t, a, "root", user.Admin)
	_, text, err := a.CreateToken(t.Context(), "ci", "pipeline", "root")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		hdr  string
		want user.Principal
		ok   bool
	}{
		{"Bearer the-api-token", user.Principal{Name: "api-token", Role: user.Admin, Via: "api-token"}, true},
		{"Bearer " + text, user.Principal{Name: "ci", Role: user.Editor, Via: "token"}, true},
		{"bearer " + text, user.Principal{Name: "ci", Role: user.Editor, Via: "token"}, true},
		{"Bearer " + text + "x", user.Principal{}, false},
		{"Bearer heck_000000000000_x", user.Principal{}, false},
		{"Basic " + text, user.Principal{}, false},
		{"Bearer wrong", user.Principal{}, false},
	} {
		got, ok := a.Principal(req("GET", nil, "Authorization", tc.hdr))
		if ok != tc.ok || got != tc.want {
			t.Errorf("%q: %+v %v, want %+v %v", tc.hdr, got, ok, tc.want, tc.ok)
		}
	}
	// A deleted token, and a deleted user's tokens, stop working.
	toks := a.Tokens(t.Context(), "ci")
	if len(toks) != 1 || toks[0].Hash != "" {
		t.Fatalf("Tokens = %+v, want one, without its hash", toks)
	}
	clk.t = clk.t.Add(time.Second)
	_, text2, _ := a.CreateToken(t.Context(), "ci", "second", "root")
	if err := a.DeleteToken(t.Context(), toks[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, ok := a.Principal(req("GET", nil, "Authorization", "Bearer "+text)); ok {
		t.Error("a deleted token works")
	}
	if err := a.DeleteUser(t.Context(), "ci", "root"); err != nil {
		t.Fatal(err)
	}
	if _, ok := a.Principal(req("GET", nil, "Authorization", "Bearer "+text2)); ok {
		t.Error("a deleted user's token works")
	}
}

// TestTokensHashedAtRest: what the store holds of users and tokens has no
// token secret and no password.
func TestTokensHashedAtRest(t *testing.T) {
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "heck.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	a, _ := newAuth(t, st, nil)
	addUser(t, a, "alice", user.Admin)
	_, text, err := a.CreateToken(t.Context(), "alice", "", "alice")
	if err != nil {
		t.Fatal(err)
	}
	_, secret, _ := user.SplitToken(text, user.TokenPrefix)
	inv, err := a.Invite(t.Context(), "bob", user.Viewer, "alice")
	if err != nil {
		t.Fatal(err)
	}
	_, invSecret, _ := user.SplitToken(inv, user.InvitePrefix)
	var all []store.ObjectRecord
	for _, kind := range []string{"user", "token", "invite"} {
		recs, err := st.Objects(t.Context(), kind)
		if err != nil || len(recs) == 0 {
			t.Fatalf("stored %s: %d records, %v", kind, len(recs), err)
		}
		all = append(all, recs...)
	}
	for _, r := range all {
		v := string(r.Value)
		for what, s := range map[string]string{"token secret": secret, "invite secret": invSecret, "password": "password-alice"} {
			if strings.Contains(v, s) {
				t.Errorf("the store's %s holds the %s: %s", r.Key, what, v)
			}
		}
	}
	if _, ok := a.Principal(req("GET", nil, "Authorization", "Bearer "+text)); !ok {
		t.Error("the token does not work")
	}
}

func TestInvite(t *testing.T) {
	a, clk := newAuth(t, nil, nil)
	addUser(t, a, "root", user.Admin)
	inv, err := a.Invite(t.Context(), "carol", user.Editor, "root")
	if err != nil {
		t.Fatal(err)
	}
	us, _ := a.ListUsers(t.Context())
	if len(us) != 2 || us[0].Name != "carol" || !us[0].Pending || us[0].Role != user.Editor {
		t.Fatalf("ListUsers = %+v, want carol pending", us)
	}
	if err := a.AcceptInvite(t.Context(), inv, "short"); err == nil || !strings.Contains(err.Error(), "password") {
		t.Fatalf("a short password: %v", err)
	}
	if err := a.AcceptInvite(t.Context(), inv+"x", "long enough pw"); !errors.Is(err, ErrInvite) {
		t.Fatalf("a wrong invite: %v", err)
	}
	if err := a.AcceptInvite(t.Context(), inv, "long enough pw"); err != nil {
		t.Fatal(err)
	}
	if err := a.AcceptInvite(t.Context(), inv, "long enough pw"); !errors.Is(err, ErrInvite) {
		t.Fatalf("an invite used twice: %v", err)
	}
	if _, err := a.Login(t.Context(), "carol", "long enough pw", "127.0.0.1:1"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Invite(t.Context(), "carol", user.Viewer, "root"); !errors.Is(err, ErrExists) {
		t.Errorf("inviting an existing user: %v", err)
	}
	inv2, _ := a.Invite(t.Context(), "dave", user.Viewer, "root")
	clk.t = clk.t.Add(user.InviteTTL)
	if err := a.AcceptInvite(t.Context(), inv2, "long enough pw"); !errors.Is(err, ErrInvite) {
		t.Errorf("an expired invite: %v", err)
	}
	a.Sweep(t.Context(), clk.t.Add(time.Second), time.Hour)
	if a.o.Invites.Len() != 0 {
		t.Errorf("%d invites left after the sweep", a.o.Invites.Len())
	}
}

func TestLastAdmin(t *testing.T) {
	a, _ := newAuth(t, nil, nil)
	addUser(t, a, "root", user.Admin)
	if err := a.SetRole(t.Context(), "root", user.Editor, "root"); !errors.Is(err, ErrLastAdmin) {
		t.Errorf("demoting the last admin: %v", err)
	}
	if err := a.DeleteUser(t.Context(), "root", "root"); !errors.Is(err, ErrLastAdmin) {
		t.Errorf("deleting the last admin: %v", err)
	}
	addUser(t, a, "second", user.Admin)
	if err := a.DeleteUser(t.Context(), "root", "second"); err != nil {
		t.Errorf("deleting one of two admins: %v", err)
	}
	if _, err := a.AddUser(t.Context(), "second", user.Viewer, "password-x", ""); !errors.Is(err, ErrExists) {
		t.Errorf("adding an existing name: %v", err)
	}
	if _, err := a.AddUser(t.Context(), "", "boss", "pw", ""); err == nil || !strings.Contains(err.Error(), "name") ||
		!strings.Contains(err.Error(), "role") || !strings.Contains(err.Error(), "password") {
		t.Errorf("a user with every field wrong: %v, want name, role and password named", err)
	}
}

// TestSessionOtherNode: a cookie signed by one node's key verifies on a
// node that has the key (as replication gives it).
func TestSessionOtherNode(t *testing.T) {
	a, _ := newAuth(t, nil, nil)
	addUser(t, a, "alice", user.Viewer)
	c := login(t, a, "alice")
	b, _ := newAuth(t, nil, func(o *Options) { o.Node = "n2" })
	if _, ok := b.Principal(req("GET", c)); ok {
		t.Fatal("a node without the signing key accepts the cookie")
	}
	for _, coll := range []func(x *Auth) error{
		func(x *Auth) error { _, _, err := x.o.Keys.Merge(t.Context(), a.o.Keys.Entries()); return err },
		func(x *Auth) error { _, _, err := x.o.Accounts.Merge(t.Context(), a.o.Accounts.Entries()); return err },
	} {
		if err := coll(b); err != nil {
			t.Fatal(err)
		}
	}
	if p, ok := b.Principal(req("GET", c)); !ok || p.Name != "alice" {
		t.Fatalf("the other node: %+v %v", p, ok)
	}
	a.Logout(req("POST", c))
	if _, _, err := b.o.Revoked.Merge(t.Context(), a.o.Revoked.Entries()); err != nil {
		t.Fatal(err)
	}
	if _, ok := b.Principal(req("GET", c)); ok {
		t.Error("the other node accepts a cookie revoked on the first")
	}
}
