package node

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/api"
	"github.com/heckhq/heck/internal/user"
)

// call sends one request to base and returns the status and body.
func call(t *testing.T, method, url, body string, hdr ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := clClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func mustCall(t *testing.T, want int, method, url, body string, hdr ...string) string {
	t.Helper()
	code, b := call(t, method, url, body, hdr...)
	if code != want {
		t.Fatalf("%s %s: %d %s, want %d", method, url, code, b, want)
	}
	return b
}

func tokenFor(t *testing.T, base, userName string, auth ...string) string {
	t.Helper()
	b := mustCall(t, http.StatusCreated, "POST", base+"/api/v1/tokens", `{"user":"`+userName+`"}`, auth...)
	var tr api.TokenResponse
	if err := json.Unmarshal([]byte(b), &tr); err != nil || !strings.HasPrefix(tr.Secret, user.TokenPrefix) {
		t.Fatalf("token response %s: %v", b, err)
	}
	if strings.Contains(b, `"hash"`) {
		t.Errorf("the token response shows the hash: %s", b)
	}
	return tr.Secret
}

// TestRolesOverAPI: viewers read, editors change targets and silences,
// admins the rest; api.token is an admin; anonymous changes need a token.
func TestRolesOverAPI(t *testing.T) {
	cfg := ntConfig(t.TempDir())
	cfg.API.Token = "the-admin-token"
	nn := ntStart(t, cfg)
	adm := []string{"Authorization", "Bearer the-admin-token"}
	for _, u := range []string{`{"name":"ed","role":"editor","password":"editor-pass"}`, `{"name":"vi","role":"viewer","password":"viewer-pass"}`} {
		mustCall(t, http.StatusCreated, "POST", nn.base+"/api/v1/users", u, adm...)
	}
	bearer := map[string][]string{
		"anonymous": nil,
		"viewer":    {"Authorization", "Bearer " + tokenFor(t, nn.base, "vi", adm...)},
		"editor":    {"Authorization", "Bearer " + tokenFor(t, nn.base, "ed", adm...)},
		"api-token": adm,
	}
	n := 0
	target := func() string {
		n++
		return fmt.Sprintf(`{"id":"t%d","kind":"tcp","address":"127.0.0.1:9"}`, n)
	}
	type row struct {
		method, path string
		body         func() string
		need         string // the least role allowed: viewer, editor, admin
	}
	none := func() string { return "" }
	rows := []row{
		{"GET", "/api/v1/targets", none, "viewer"},
		{"GET", "/api/v1/silences", none, "viewer"},
		{"POST", "/api/v1/targets", target, "editor"},
		{"POST", "/api/v1/silences", func() string { return `{"target":"t1","for":"1h","reason":"test"}` }, "editor"},
		{"POST", "/api/v1/maintenance", func() string { return `{}` }, "editor"},
		{"POST", "/api/v1/pools", func() string { return `{}` }, "editor"},
		{"POST", "/api/v1/notifiers", func() string { return `{}` }, "admin"},
		{"POST", "/api/v1/keys/install", func() string { return `{}` }, "admin"},
		{"POST", "/api/v1/members/join", func() string { return `{}` }, "admin"},
		{"POST", "/api/v1/leave", none, "admin"},
		{"GET", "/api/v1/users", none, "admin"},
		{"POST", "/api/v1/users", func() string { return `{"name":"x","role":"viewer","password":"short"}` }, "admin"},
		{"DELETE", "/api/v1/users/nobody", none, "admin"},
		{"PUT", "/api/v1/users/nobody/role", func() string { return `{"role":"viewer"}` }, "admin"},
	}
	rank := map[string]int{"anonymous": 0, "viewer": 1, "editor": 2, "api-token": 3, "admin": 3}
	for _, r := range rows {
		for _, who := range []string{"anonymous", "viewer", "editor", "api-token"} {
			if r.path == "/api/v1/leave" && who == "api-token" {
				continue // it would stop the node's membership
			}
			t.Run(who+" "+r.method+" "+r.path, func(t *testing.T) {
				code, body := call(t, r.method, nn.base+r.path, r.body(), bearer[who]...)
				allowed := rank[who] >= rank[r.need] || (who == "anonymous" && r.need == "viewer") // reads are open on loopback
				switch {
				case allowed && (code == http.StatusUnauthorized || code == http.StatusForbidden):
					t.Errorf("%d %s, want it let through", code, body)
				case !allowed && who == "anonymous" && code != http.StatusUnauthorized:
					t.Errorf("%d %s, want 401", code, body)
				case !allowed && who != "anonymous" && (code != http.StatusForbidden || !strings.Contains(body, "needs the "+r.need+" role")):
					t.Errorf("%d %s, want 403 naming the %s role", code, body, r.need)
				}
			})
		}
	}
}

// TestFirstAdminOnLoopback: a fresh node on loopback without api.token is
// open to changes until the first user exists; then changes need a
// principal, and the user mints a token with their password.
func TestFirstAdminOnLoopback(t *testing.T) {
	nn := ntStart(t, ntConfig(t.TempDir()))
	mustCall(t, http.StatusCreated, "POST", nn.base+"/api/v1/users", `{"name":"root","role":"admin","password":"first-admin-pw"}`)
	mustCall(t, http.StatusUnauthorized, "POST", nn.base+"/api/v1/targets", `{"id":"a","kind":"tcp","address":"127.0.0.1:9"}`)
	mustCall(t, http.StatusOK, "GET", nn.base+"/api/v1/targets", "")
	req, _ := http.NewRequest("POST", nn.base+"/api/v1/tokens", nil)
	req.SetBasicAuth("root", "wrong-password")
	mustCall(t, http.StatusUnauthorized, "POST", nn.base+"/api/v1/tokens", `{}`, "Authorization", req.Header.Get("Authorization"))
	req.SetBasicAuth("root", "first-admin-pw")
	tok := tokenFor(t, nn.base, "root", "Authorization", req.Header.Get("Authorization"))
	// The last admin keeps the role; a bad role names the field.
	mustCall(t, http.StatusConflict, "PUT", nn.base+"/api/v1/users/root/role", `{"role":"viewer"}`, "Authorization", "Bearer "+tok)
	if b := mustCall(t, http.StatusUnprocessableEntity, "PUT", nn.base+"/api/v1/users/root/role", `{"role":"boss"}`, "Authorization", "Bearer "+tok); !strings.Contains(b, `"field":"role"`) {
		t.Errorf("a bad role: %s", b)
	}
	mustCall(t, http.StatusCreated, "POST", nn.base+"/api/v1/targets", `{"id":"a","kind":"tcp","address":"127.0.0.1:9"}`, "Authorization", "Bearer "+tok)
	// Password attempts are rate limited per name: 429 with Retry-After.
	for i := range 6 {
		req.SetBasicAuth("ghost", "guess-"+fmt.Sprint(i))
		code, body := call(t, "POST", nn.base+"/api/v1/tokens", `{}`, "Authorization", req.Header.Get("Authorization"))
		if want := map[bool]int{true: http.StatusTooManyRequests, false: http.StatusUnauthorized}[i == 5]; code != want {
			t.Fatalf("attempt %d: %d %s, want %d", i, code, body, want)
		}
	}
	// The audit names who made the change, and holds no password hash.
	ntWait(t, "the audit to name root", func() error {
		b := mustCall(t, http.StatusOK, "GET", nn.base+"/api/v1/audit?type=config&target=a", "")
		if !strings.Contains(b, "target a written by root through the API") {
			return fmt.Errorf("audit %s does not name root", b)
		}
		return nil
	})
	if b := mustCall(t, http.StatusOK, "GET", nn.base+"/api/v1/audit?type=config&limit=1000", ""); strings.Contains(b, "argon2") || !strings.Contains(b, "user/root") {
		t.Errorf("the audit of users: %s", b)
	}
}

// TestClusterSessions: a session opened on one node works on the other
// (the user, the signing key replicate), its changes need the CSRF token,
// and a logout on the first node ends it on the other.
func TestClusterSessions(t *testing.T) {
	c := startCL(t, 2, clIDs("u", 1, 0), clFastTuning)
	a, b := c.nodes[0], c.nodes[1]
	mustCall(t, http.StatusCreated, "POST", a.base+"/api/v1/users", `{"name":"root","role":"admin","password":"cluster-admin"}`)
	cookie, err := a.n.Auth().Login(t.Context(), "root", "cluster-admin", "127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	withCookie := []string{"Cookie", cookie.Name + "=" + cookie.Value}
	cr, _ := http.NewRequest("GET", b.base+"/", nil)
	cr.AddCookie(cookie)
	took := waitFor(t, "the session to work on the other node", 10*time.Second, 0, func() error {
		if p, ok := b.n.Auth().Principal(cr); !ok || p.Name != "root" {
			return fmt.Errorf("the other node takes the cookie as %+v, %v", p, ok)
		}
		if code, body := call(t, "GET", b.base+"/api/v1/users", "", withCookie...); code != http.StatusOK {
			return fmt.Errorf("%d %s", code, body)
		}
		return nil
	})
	t.Logf("a session reached the other node in %v", took.Round(time.Millisecond))
	// Changes with the cookie need the session's CSRF token.
	mustCall(t, http.StatusForbidden, "POST", b.base+"/api/v1/tokens", `{}`, withCookie...)
	mustCall(t, http.StatusForbidden, "POST", b.base+"/api/v1/tokens", `{}`, append(withCookie, "X-CSRF-Token", "wrong")...)
	r, _ := http.NewRequest("GET", a.base+"/", nil)
	r.AddCookie(cookie)
	csrf := a.n.Auth().CSRFToken(r)
	tokenFor(t, b.base, "root", append(withCookie, "X-CSRF-Token", csrf)...)
	// Logout on a: b refuses the cookie soon after.
	lr, _ := http.NewRequestWithContext(context.Background(), "POST", a.base+"/logout", bytes.NewReader(nil))
	lr.AddCookie(cookie)
	if out := a.n.Auth().Logout(lr); out.MaxAge >= 0 {
		t.Fatalf("logout cookie %+v does not clear", out)
	}
	took = waitFor(t, "the logout to reach the other node", 10*time.Second, 0, func() error {
		if code, body := call(t, "GET", b.base+"/api/v1/users", "", withCookie...); code != http.StatusUnauthorized {
			return fmt.Errorf("%d %s", code, body)
		}
		return nil
	})
	t.Logf("a logout reached the other node in %v", took.Round(time.Millisecond))
}

func TestListensOnLoopback(t *testing.T) {
	for listen, want := range map[string]bool{
		"127.0.0.1:7800": true, "[::1]:7800": true, "localhost:7800": true, "127.0.0.2:1": true,
		"0.0.0.0:7800": false, ":7800": false, "10.0.0.1:7800": false, "example.com:80": false, "bad": false,
	} {
		if got := listensOnLoopback(listen); got != want {
			t.Errorf("listensOnLoopback(%q) = %v, want %v (a cookie is Secure beyond loopback)", listen, got, want)
		}
	}
}
