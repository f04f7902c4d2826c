package api_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/heckhq/heck/internal/api"
	"github.com/heckhq/heck/internal/api/apitest"
	"github.com/heckhq/heck/internal/cluster/gossipkey"
	"github.com/heckhq/heck/internal/testkit"
)

// testKey returns a key of n bytes derived from seed.
func testKey(seed byte, n int) []byte {
	k := make([]byte, n)
	for i := range k {
		k[i] = seed + byte(i)*7
	}
	return k
}

func b64(k []byte) string { return base64.StdEncoding.EncodeToString(k) }

func keyBody(k string) string { return fmt.Sprintf(`{"key":%q}`, k) }

// keyFixture is a loopback server over a keyring holding old (primary)
// and logging to the returned buffer.
func keyFixture(t *testing.T, opts api.Options, keys ...[]byte) (*apitest.Keyring, *api.Server, *testkit.SyncBuffer) {
	t.Helper()
	b := apitest.NewKeyring("n1", keys...)
	logs := &testkit.SyncBuffer{}
	opts.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return b, api.New(b, opts), logs
}

func decodeKeyList(t *testing.T, r resp) []api.KeyInfo {
	t.Helper()
	l := okJSON[api.KeyList](t, r, "GET /api/v1/keys")
	if l.Keys == nil {
		t.Fatalf("keys body %q: keys must be an array", r.body)
	}
	return l.Keys
}

func decodeKeyResponse(t *testing.T, r resp) api.KeyResponse {
	t.Helper()
	return okJSON[api.KeyResponse](t, r, "key change")
}

// TestKeyRotation walks the documented rotation on one node: install the
// new key, use it, remove the old one; repeating a step changes nothing.
func TestKeyRotation(t *testing.T) {
	oldK, newK := testKey(1, 32), testKey(100, 32)
	b, s, logs := keyFixture(t, api.Options{LoopbackOnly: true}, oldK)
	oldFP, newFP := gossipkey.Fingerprint(oldK), gossipkey.Fingerprint(newK)

	ks := decodeKeyList(t, do(t, s, "GET", "/api/v1/keys", "", ""))
	if len(ks) != 1 || ks[0] != (api.KeyInfo{Fingerprint: oldFP, Primary: true}) {
		t.Fatalf("keys = %+v, want only the old key, primary", ks)
	}

	steps := []struct {
		path    string
		key     []byte
		changed bool
		want    []api.KeyInfo
	}{
		{"install", newK, true, []api.KeyInfo{{Fingerprint: oldFP, Primary: true}, {Fingerprint: newFP, Primary: false}}},
		{"install", newK, false, []api.KeyInfo{{Fingerprint: oldFP, Primary: true}, {Fingerprint: newFP, Primary: false}}},
		{"use", newK, true, []api.KeyInfo{{Fingerprint: newFP, Primary: true}, {Fingerprint: oldFP, Primary: false}}},
		{"use", newK, false, []api.KeyInfo{{Fingerprint: newFP, Primary: true}, {Fingerprint: oldFP, Primary: false}}},
		{"remove", oldK, true, []api.KeyInfo{{Fingerprint: newFP, Primary: true}}},
		{"remove", oldK, false, []api.KeyInfo{{Fingerprint: newFP, Primary: true}}},
	}
	for i, st := range steps {
		r := do(t, s, "POST", "/api/v1/keys/"+st.path, keyBody(b64(st.key)), "")
		kr := decodeKeyResponse(t, r)
		if kr.Fingerprint != gossipkey.Fingerprint(st.key) || kr.Changed != st.changed || fmt.Sprint(kr.Keys) != fmt.Sprint(st.want) {
			t.Fatalf("step %d %s = %+v, want changed=%v keys %+v", i, st.path, kr, st.changed, st.want)
		}
		if got := decodeKeyList(t, do(t, s, "GET", "/api/v1/keys", "", "")); fmt.Sprint(got) != fmt.Sprint(st.want) {
			t.Fatalf("step %d %s: listing %+v, want %+v", i, st.path, got, st.want)
		}
		if strings.Contains(r.body, b64(st.key)) {
			t.Fatalf("step %d answer echoes the key: %s", i, r.body)
		}
	}
	if raw := b.RawKeys(); len(raw) != 1 || !bytes.Equal(raw[0], newK) {
		t.Fatalf("backend keys after rotation = %d keys, want only the new one", len(raw))
	}
	l := logs.String()
	for _, k := range [][]byte{oldK, newK} {
		if strings.Contains(l, b64(k)) {
			t.Fatalf("logs contain a key:\n%s", l)
		}
	}
	if !strings.Contains(l, newFP) || !strings.Contains(l, "op=use") {
		t.Errorf("logs do not record the changes by fingerprint:\n%s", l)
	}
}

func TestKeyErrors(t *testing.T) {
	oldK, other := testKey(1, 32), testKey(50, 16)
	short := testKey(9, 7)
	cases := []struct {
		name    string
		path    string
		body    string
		code    int
		typ     string
		field   string   // a field problem naming this field
		want    []string // in the detail or the field problems
		secrets []string // never in the answer
	}{
		{"empty body", "install", "", 400, api.TypeInvalidJSON, "", []string{`{"key"`}, nil},
		{"malformed", "install", `{"key": "` + b64(other), 400, api.TypeInvalidJSON, "", []string{"offset"}, []string{b64(other)}},
		{"bare value", "install", `{"key": ` + strings.TrimRight(b64(other), "=") + `}`, 400, api.TypeInvalidJSON, "", []string{"offset"}, []string{b64(other)[:4]}},
		{"trailing data", "install", keyBody(b64(other)) + ` {"key":"x"}`, 400, api.TypeInvalidJSON, "", []string{"offset"}, []string{b64(other)}},
		{"not an object", "use", `["` + b64(other) + `"]`, 400, api.TypeInvalidJSON, "", []string{"JSON object"}, []string{b64(other)}},
		{"null", "use", `null`, 400, api.TypeInvalidJSON, "", []string{"null"}, nil},
		{"not a string", "install", `{"key": 12345678901234}`, 400, api.TypeInvalidJSON, "key", []string{"is not a string"}, []string{"12345678901234"}},
		{"missing", "install", `{}`, 400, api.TypeInvalidJSON, "key", []string{"is missing", "heck keys generate"}, nil},
		{"typo", "install", `{"kye": "` + b64(other) + `"}`, 400, api.TypeInvalidJSON, "kye", []string{"is not a known field"}, []string{b64(other)}},
		{"key as a field name", "install", `{"` + b64(other) + `": 1, "key": "x"}`, 400, api.TypeInvalidJSON, "(an unknown field)", nil, []string{b64(other)}},
		{"not base64", "install", keyBody("s3cr3t!key*value"), 422, api.TypeInvalidRequest, "key", []string{"not base64"}, []string{"s3cr3t!key*value"}},
		{"wrong length", "install", keyBody(b64(short)), 422, api.TypeInvalidRequest, "key", []string{"decodes to 7 bytes", "heck keys generate"}, []string{b64(short)}},
		{"use a key not installed", "use", keyBody(b64(other)), 422, api.TypeKeyNotInstalled, "", []string{gossipkey.Fingerprint(other), "install it first"}, []string{b64(other)}},
		{"remove the primary", "remove", keyBody(b64(oldK)), 409, api.TypeKeyPrimary, "", []string{gossipkey.Fingerprint(oldK), "heck keys use"}, []string{b64(oldK)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, s, logs := keyFixture(t, api.Options{LoopbackOnly: true}, oldK)
			r := do(t, s, "POST", "/api/v1/keys/"+c.path, c.body, "")
			p := r.problem(t)
			if r.code != c.code || p.Type != c.typ {
				t.Fatalf("= %d %s, want %d %s: %s", r.code, p.Type, c.code, c.typ, r.body)
			}
			if c.field != "" {
				found := false
				for _, e := range p.Errors {
					found = found || (e.Field == c.field && e.Value == "")
				}
				if !found {
					t.Errorf("no problem names field %q (without a value): %+v", c.field, p.Errors)
				}
			}
			for _, w := range c.want {
				if !strings.Contains(p.Error(), w) {
					t.Errorf("problem lacks %q: %s", w, p.Error())
				}
			}
			for _, sec := range c.secrets {
				if strings.Contains(r.body, sec) || strings.Contains(logs.String(), sec) {
					t.Errorf("answer or logs echo %q:\n%s\n%s", sec, r.body, logs.String())
				}
			}
			if raw := b.RawKeys(); len(raw) != 1 || !bytes.Equal(raw[0], oldK) {
				t.Errorf("a refused change changed the keyring: %d keys", len(raw))
			}
		})
	}
}

func TestKeysNotClustered(t *testing.T) {
	body := keyBody(b64(testKey(1, 32)))
	t.Run("single node", func(t *testing.T) {
		_, s := fixture(t, api.Options{LoopbackOnly: true})
		for _, rq := range [][2]string{{"GET", "/api/v1/keys"}, {"POST", "/api/v1/keys/install"}, {"POST", "/api/v1/keys/use"}, {"POST", "/api/v1/keys/remove"}} {
			r := do(t, s, rq[0], rq[1], body, "")
			if p := r.problem(t); r.code != 409 || p.Type != api.TypeNotClustered || !strings.Contains(p.Detail, "--gossip") {
				t.Errorf("%s %s = %d %+v, want 409 not clustered", rq[0], rq[1], r.code, p)
			}
		}
	})
	t.Run("backend says not clustered", func(t *testing.T) {
		b, s, _ := keyFixture(t, api.Options{LoopbackOnly: true}, testKey(1, 32))
		b.SetKeyErrors(fmt.Errorf("keys: %w", api.ErrNotClustered), nil)
		for _, rq := range [][2]string{{"GET", "/api/v1/keys"}, {"POST", "/api/v1/keys/install"}} {
			r := do(t, s, rq[0], rq[1], body, "")
			if p := r.problem(t); r.code != 409 || p.Type != api.TypeNotClustered {
				t.Errorf("%s %s = %d %+v, want 409 not clustered", rq[0], rq[1], r.code, p)
			}
		}
	})
	t.Run("encryption off", func(t *testing.T) {
		b, s, _ := keyFixture(t, api.Options{LoopbackOnly: true})
		if ks := decodeKeyList(t, do(t, s, "GET", "/api/v1/keys", "", "")); len(ks) != 0 {
			t.Fatalf("keys = %+v, want none", ks)
		}
		for _, op := range []string{"install", "use", "remove"} {
			r := do(t, s, "POST", "/api/v1/keys/"+op, body, "")
			if p := r.problem(t); r.code != 409 || p.Type != api.TypeEncryptionOff || !strings.Contains(p.Detail, "cluster.keys") {
				t.Errorf("%s with encryption off = %d %+v, want 409 naming cluster.keys", op, r.code, p)
			}
		}
		if ops := b.Ops(); len(ops) != 0 {
			t.Errorf("backend was asked %v with encryption off", ops)
		}
	})
}

// TestKeyBackendErrors: errors found by the backend after the API's own
// checks passed (a concurrent change) are answered as those checks would.
func TestKeyBackendErrors(t *testing.T) {
	oldK := testKey(1, 32)
	cases := []struct {
		name  string
		err   error
		code  int
		typ   string
		notIn string
	}{
		{"not in keyring", errors.New("cluster: use key: requested key is not in the keyring (install it first)"), 422, api.TypeKeyNotInstalled, ""},
		{"primary", errors.New("cluster: remove key: removing the primary key is not allowed"), 409, api.TypeKeyPrimary, ""},
		{"encryption off", errors.New("gossip encryption is off on this node"), 409, api.TypeEncryptionOff, ""},
		{"other", errors.New("save keyring /data/keyring.json: disk full"), 500, api.TypeInternal, b64(oldK)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, s, logs := keyFixture(t, api.Options{LoopbackOnly: true}, oldK)
			b.SetKeyErrors(nil, c.err)
			r := do(t, s, "POST", "/api/v1/keys/install", keyBody(b64(testKey(7, 32))), "")
			if p := r.problem(t); r.code != c.code || p.Type != c.typ {
				t.Fatalf("= %d %+v, want %d %s", r.code, p, c.code, c.typ)
			}
			if strings.Contains(r.body+logs.String(), b64(testKey(7, 32))) {
				t.Fatalf("answer or logs echo the key")
			}
		})
	}
}

func TestKeysAuth(t *testing.T) {
	const tok = "s3cret-token"
	k := b64(testKey(3, 32))
	cases := []struct {
		name        string
		opts        api.Options
		token       string
		read, write int
	}{
		{"loopback, no token", api.Options{LoopbackOnly: true}, "", 200, 200},
		{"loopback, token configured, none sent", api.Options{LoopbackOnly: true, Token: tok}, "", 200, 401},
		{"public, no token configured", api.Options{}, "", 403, 403},
		{"public, token, none sent", api.Options{Token: tok}, "", 401, 401},
		{"public, token, open reads", api.Options{Token: tok, OpenReads: true}, "", 200, 401},
		{"public, token, right", api.Options{Token: tok}, tok, 200, 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, s, _ := keyFixture(t, c.opts, testKey(1, 32))
			if r := do(t, s, "GET", "/api/v1/keys", "", c.token); r.code != c.read {
				t.Errorf("GET = %d, want %d", r.code, c.read)
			}
			for _, op := range [][2]string{{"install", k}, {"use", b64(testKey(1, 32))}, {"remove", k}} {
				if r := do(t, s, "POST", "/api/v1/keys/"+op[0], keyBody(op[1]), c.token); r.code != c.write {
					t.Errorf("POST %s = %d, want %d: %s", op, r.code, c.write, r.body)
				}
			}
			if c.write != 200 && len(b.Ops()) != 0 {
				t.Errorf("unauthorised requests reached the backend: %v", b.Ops())
			}
		})
	}
}

func TestKeysMethodNotAllowed(t *testing.T) {
	_, s, _ := keyFixture(t, api.Options{LoopbackOnly: true}, testKey(1, 32))
	for _, rq := range [][3]string{{"POST", "/api/v1/keys", "GET"}, {"GET", "/api/v1/keys/install", "POST"}, {"DELETE", "/api/v1/keys/remove", "POST"}} {
		r := do(t, s, rq[0], rq[1], "", "")
		if r.code != 405 || r.header.Get("Allow") != rq[2] {
			t.Errorf("%s %s = %d Allow %q, want 405 Allow %s", rq[0], rq[1], r.code, r.header.Get("Allow"), rq[2])
		}
	}
}

// FuzzKeyRequest: any key request body is answered with 200 or a
// problem, never a panic; a refused body never reaches the backend and
// the "key" string is never echoed.
func FuzzKeyRequest(f *testing.F) {
	for _, s := range []string{
		keyBody(b64(testKey(1, 32))), keyBody(b64(testKey(2, 16))), keyBody("abc"), `{"key":1}`, `{"key":null}`,
		`{}`, `[]`, `null`, ``, `{"key":"` + b64(testKey(3, 24)) + `","x":1}`, `{"key":"YWJj`, `"str"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b := apitest.NewKeyring("n1", testKey(1, 32))
		s := api.New(b, api.Options{LoopbackOnly: true})
		r := do(t, s, "POST", "/api/v1/keys/install", string(data), "")
		if r.code == http.StatusOK {
			if len(b.Ops()) != 1 {
				t.Fatalf("200 without an install: %s", r.body)
			}
			return
		}
		p := r.problem(t)
		if r.code < 400 || r.code >= 500 {
			t.Fatalf("status %d for %q: %+v", r.code, data, p)
		}
		var req struct{ Key string }
		if json.Unmarshal(data, &req) == nil && len(req.Key) >= 12 && strings.Contains(r.body, req.Key) {
			t.Fatalf("problem echoes the key %q: %s", req.Key, r.body)
		}
		if len(b.Ops()) != 0 {
			t.Fatalf("refused body reached the backend: %s", r.body)
		}
	})
}
