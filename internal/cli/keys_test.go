package cli_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net"
	"strings"
	"testing"

	"github.com/heckhq/heck/internal/wire"

	"github.com/heckhq/heck/internal/cluster/gossipkey"

	"github.com/heckhq/heck/internal/api"
	"github.com/heckhq/heck/internal/api/apitest"
	"github.com/heckhq/heck/internal/cli"
)

func gkey(seed byte) []byte { return bytes.Repeat([]byte{seed}, 32) }

func enc(k []byte) string { return base64.StdEncoding.EncodeToString(k) }

// keyNode starts an API over a keyring backend named name and returns it
// with the host:port its API listens on.
func keyNode(t *testing.T, name string, opts api.Options, keys ...[]byte) (*apitest.Keyring, string) {
	t.Helper()
	b := apitest.NewKeyring(name, keys...)
	_, ts := apitest.Serve(t, b, opts)
	return b, strings.TrimPrefix(ts.URL, "http://")
}

// withStdin makes s the standard input of the commands run in t.
func withStdin(t *testing.T, s string) {
	t.Helper()
	old := cli.Stdin
	cli.Stdin = strings.NewReader(s)
	t.Cleanup(func() { cli.Stdin = old })
}

// fleet is three alive nodes n1 (the one --server names), n2 (its API on
// every address, reached through its gossip host) and n4, plus n3, dead.
type fleet struct {
	n1, n2, n4 *apitest.Keyring
}

func (f fleet) all() []*apitest.Keyring { return []*apitest.Keyring{f.n1, f.n2, f.n4} }

func newFleet(t *testing.T, opts api.Options, keys ...[]byte) fleet {
	t.Helper()
	n1, a1 := keyNode(t, "n1", opts, keys...)
	n2, a2 := keyNode(t, "n2", opts, keys...)
	n4, a4 := keyNode(t, "n4", opts, keys...)
	_, p2, _ := net.SplitHostPort(a2)
	n1.SetMember(wire.Member{Name: "n1", Addr: "127.0.0.1:7946", APIAddr: a1, State: wire.MemberAlive, Weight: 1, Self: true})
	n1.SetMember(wire.Member{Name: "n2", Addr: "127.0.0.1:7947", APIAddr: "0.0.0.0:" + p2, State: wire.MemberAlive, Weight: 1})
	n1.SetMember(wire.Member{Name: "n3", Addr: "127.0.0.1:7948", APIAddr: "127.0.0.1:1", State: wire.MemberDead, Weight: 1})
	n1.SetMember(wire.Member{Name: "n4", Addr: "127.0.0.1:7949", APIAddr: a4, State: wire.MemberAlive, Weight: 1})
	t.Setenv("HECK_SERVER", "http://"+a1)
	t.Setenv("HECK_API_TOKEN", "")
	return fleet{n1, n2, n4}
}

// noKeyIn fails when any run printed a key.
func noKeyIn(t *testing.T, r run, keys ...[]byte) {
	t.Helper()
	for _, k := range keys {
		if strings.Contains(r.stdout+r.stderr, enc(k)) {
			t.Fatalf("output shows a key:\n%s%s", r.stdout, r.stderr)
		}
	}
}

func TestKeysGenerate(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range []struct {
		args []string
		n    int
	}{{nil, 32}, {nil, 32}, {[]string{"--bytes", "16"}, 16}, {[]string{"--bytes", "24"}, 24}} {
		r := heck(t, append([]string{"keys", "generate"}, c.args...)...)
		k, err := base64.StdEncoding.DecodeString(strings.TrimSuffix(r.stdout, "\n"))
		if r.code != 0 || err != nil || len(k) != c.n || strings.Count(r.stdout, "\n") != 1 {
			t.Fatalf("keys generate %v: %d %q %v", c.args, r.code, r.stdout, err)
		}
		if seen[r.stdout] {
			t.Fatalf("keys generate repeated a key")
		}
		seen[r.stdout] = true
	}
	if r := heck(t, "keys", "generate", "--bytes", "20"); r.code != 2 || !strings.Contains(r.stderr, "use 16, 24 or 32") {
		t.Fatalf("keys generate --bytes 20: %d %s", r.code, r.stderr)
	}
}

func TestKeysOneNode(t *testing.T) {
	oldK, newK := gkey(1), gkey(2)
	b, addr := keyNode(t, "n1", api.Options{LoopbackOnly: true}, oldK)
	t.Setenv("HECK_SERVER", "http://"+addr)
	t.Setenv("HECK_API_TOKEN", "")
	oldFP, newFP := gossipkey.Fingerprint(oldK), gossipkey.Fingerprint(newK)

	r := heck(t, "keys", "ls")
	if got := rows(r.stdout); r.code != 0 || len(got) != 2 || strings.Join(got[1], " ") != oldFP+" yes" {
		t.Fatalf("keys ls: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// The key from standard input, with its newline.
	withStdin(t, enc(newK)+"\n")
	r = heck(t, "keys", "install", "-")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "installed key "+newFP) {
		t.Fatalf("keys install -: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	noKeyIn(t, r, oldK, newK)
	r = heck(t, "keys", "install", enc(newK))
	if r.code != 0 || !strings.HasPrefix(r.stdout, "key "+newFP+" was already installed") {
		t.Fatalf("keys install again: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = heck(t, "keys", "use", enc(newK), "-o", "json")
	var kr wire.KeyResponse
	if err := json.Unmarshal([]byte(r.stdout), &kr); err != nil || r.code != 0 || !kr.Changed || kr.Keys[0] != (wire.KeyInfo{Fingerprint: newFP, Primary: true}) {
		t.Fatalf("keys use -o json: %d %v %s", r.code, err, r.stdout)
	}
	r = heck(t, "keys", "remove", enc(newK))
	if r.code != 2 || !strings.Contains(r.stderr, "Key is primary") || !strings.Contains(r.stderr, "heck keys use") {
		t.Fatalf("keys remove primary: %d %s", r.code, r.stderr)
	}
	noKeyIn(t, r, newK)
	if r = heck(t, "keys", "remove", enc(oldK)); r.code != 0 || !strings.HasPrefix(r.stdout, "removed key "+oldFP) {
		t.Fatalf("keys remove: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = heck(t, "keys", "ls", "-o", "json")
	var ks []wire.KeyInfo
	if err := json.Unmarshal([]byte(r.stdout), &ks); err != nil || len(ks) != 1 || ks[0].Fingerprint != newFP || !ks[0].Primary {
		t.Fatalf("keys ls -o json: %v %s", err, r.stdout)
	}
	if raw := b.RawKeys(); len(raw) != 1 || !bytes.Equal(raw[0], newK) {
		t.Fatalf("node keys after rotation: %d", len(raw))
	}

	secret := "c2VjcmV0LWJ1dC1ub3QtYS1rZXk=" // 20 bytes
	cases := []struct {
		name  string
		args  []string
		stdin string
		want  string
	}{
		{"wrong length", []string{"keys", "install", secret}, "", "KEY decodes to 20 bytes"},
		{"not base64", []string{"keys", "use", "not*base64*at*all"}, "", "KEY is not base64"},
		{"empty stdin", []string{"keys", "install", "-"}, "", "standard input is empty"},
		{"bad stdin", []string{"keys", "install", "-"}, secret + "\n", "the key read from standard input decodes to 20 bytes"},
		{"no key", []string{"keys", "install"}, "", "missing argument"},
		{"two keys", []string{"keys", "install", enc(newK), enc(oldK)}, "", "too many arguments"},
		{"not installed", []string{"keys", "use", enc(gkey(9))}, "", "Key not installed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			withStdin(t, c.stdin)
			r := heck(t, c.args...)
			if r.code != 2 || !strings.Contains(r.stderr, c.want) {
				t.Fatalf("exit %d, stderr %q; want 2 and %q", r.code, r.stderr, c.want)
			}
			if strings.Contains(r.stdout+r.stderr, secret) || strings.Contains(r.stdout+r.stderr, "not*base64") {
				t.Fatalf("output echoes the key: %s", r.stderr)
			}
			noKeyIn(t, r, newK, oldK, gkey(9))
		})
	}
	if ops := b.Ops(); len(ops) != 4 {
		t.Errorf("node saw %d changes %v, want 4: bad keys are never sent, and the API refuses removing the primary and using a missing key itself", len(ops), ops)
	}
}

func TestKeysSingleNodeNotClustered(t *testing.T) {
	server(t, api.Options{LoopbackOnly: true})
	for _, args := range [][]string{{"keys", "ls"}, {"keys", "install", enc(gkey(1))}} {
		if r := heck(t, args...); r.code != 2 || !strings.Contains(r.stderr, "Not clustered") {
			t.Errorf("%v on a single node: %d %s", args, r.code, r.stderr)
		}
	}
}

// TestKeysRotateAll runs the documented rotation over a fleet: install,
// use and remove with --all; the dead node is skipped.
func TestKeysRotateAll(t *testing.T) {
	const tok = "fleet-token"
	oldK, newK := gkey(1), gkey(2)
	f := newFleet(t, api.Options{Token: tok}, oldK)
	t.Setenv("HECK_API_TOKEN", tok)
	newFP := gossipkey.Fingerprint(newK)

	for _, step := range []struct{ verb, key string }{{"install", enc(newK)}, {"use", "-"}, {"remove", enc(oldK)}} {
		withStdin(t, enc(newK)+"\n")
		r := heck(t, "keys", step.verb, step.key, "--all")
		if r.code != 0 {
			t.Fatalf("keys %s --all: %d\n%s%s", step.verb, r.code, r.stdout, r.stderr)
		}
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		if len(lines) != 4 || !strings.HasPrefix(lines[2], "n3: skipped (dead)") ||
			!strings.HasPrefix(lines[1], "n2 (127.0.0.1:") || !strings.Contains(r.stderr, "ok on 3 node(s), 1 not alive skipped") {
			t.Fatalf("keys %s --all output:\n%s%s", step.verb, r.stdout, r.stderr)
		}
		noKeyIn(t, r, oldK, newK)
	}
	for i, n := range f.all() {
		if raw := n.RawKeys(); len(raw) != 1 || !bytes.Equal(raw[0], newK) {
			t.Fatalf("node %d has %d keys after the rotation, want the new one alone", i, len(raw))
		}
	}

	r := heck(t, "keys", "ls", "--all")
	want := [][]string{{"NODE", "FINGERPRINT", "PRIMARY"}, {"n1", newFP, "yes"}, {"n2", newFP, "yes"}, {"n3", "-", "skipped", "(dead)"}, {"n4", newFP, "yes"}}
	if r.code != 0 || strings.Join(flat(rows(r.stdout)), " ") != strings.Join(flat(want), " ") || strings.Contains(r.stderr, "differ") {
		t.Fatalf("keys ls --all:\n%s%s", r.stdout, r.stderr)
	}
}

func TestKeysAllFailures(t *testing.T) {
	oldK, newK := gkey(1), gkey(2)
	newFP := gossipkey.Fingerprint(newK)

	t.Run("unreachable node", func(t *testing.T) {
		f := newFleet(t, api.Options{LoopbackOnly: true}, oldK)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		gone := ln.Addr().String()
		ln.Close()
		f.n1.SetMember(wire.Member{Name: "n4", Addr: "127.0.0.1:7949", APIAddr: gone, State: wire.MemberAlive, Weight: 1})
		r := heck(t, "keys", "install", enc(newK), "--all")
		if r.code != 1 || !strings.Contains(r.stdout, "n4 ("+gone+"): FAILED") || !strings.Contains(r.stdout, "n1 (") ||
			!strings.Contains(r.stderr, "failed on 1 of 3 alive node(s)") {
			t.Fatalf("install --all with a node gone: %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		for _, n := range []*apitest.Keyring{f.n1, f.n2} {
			if len(n.RawKeys()) != 2 {
				t.Fatalf("a reachable node did not get the key")
			}
		}
		r = heck(t, "keys", "ls", "--all", "-o", "json")
		var res []map[string]any
		if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || r.code != 1 || len(res) != 4 || res[3]["error"] == nil || res[2]["skipped"] != "dead" {
			t.Fatalf("ls --all -o json with a node gone: %d %v\n%s", r.code, err, r.stdout)
		}
	})

	t.Run("no api_addr", func(t *testing.T) {
		f := newFleet(t, api.Options{LoopbackOnly: true}, oldK)
		f.n1.SetMember(wire.Member{Name: "n4", Addr: "127.0.0.1:7949", State: wire.MemberAlive, Weight: 1})
		r := heck(t, "keys", "install", enc(newK), "--all")
		if r.code != 1 || !strings.Contains(r.stdout, "n4: FAILED: the member advertises no api_addr") {
			t.Fatalf("install --all, a member without api_addr: %d\n%s%s", r.code, r.stdout, r.stderr)
		}
	})

	t.Run("use refused when a node lacks the key", func(t *testing.T) {
		f := newFleet(t, api.Options{LoopbackOnly: true}, oldK)
		for _, n := range []*apitest.Keyring{f.n1, f.n4} {
			if err := n.InstallKey(t.Context(), newK); err != nil {
				t.Fatal(err)
			}
		}
		before := len(f.n1.Ops())
		r := heck(t, "keys", "use", enc(newK), "--all")
		if r.code != 1 || !strings.Contains(r.stderr, "refused, nothing changed") || !strings.Contains(r.stderr, "n2 (key not installed)") ||
			!strings.Contains(r.stderr, "--force") {
			t.Fatalf("use --all with n2 lacking the key: %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		if len(f.n1.Ops()) != before || len(f.n2.Ops()) != 0 {
			t.Fatalf("a refused use changed a node")
		}
		r = heck(t, "keys", "ls", "--all")
		if r.code != 0 || !strings.Contains(r.stderr, "the keyrings differ") {
			t.Fatalf("ls --all over differing keyrings: %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		// --force goes ahead; n2 refuses.
		r = heck(t, "keys", "use", enc(newK), "--all", "--force")
		if r.code != 1 || !strings.Contains(r.stdout, "FAILED: Key not installed") || !strings.Contains(r.stdout, "now using key "+newFP) {
			t.Fatalf("use --all --force: %d\n%s%s", r.code, r.stdout, r.stderr)
		}
	})

	t.Run("remove refused while a node encrypts with the key", func(t *testing.T) {
		f := newFleet(t, api.Options{LoopbackOnly: true}, oldK, newK)
		for _, n := range []*apitest.Keyring{f.n1, f.n2} {
			if err := n.UseKey(t.Context(), newK); err != nil {
				t.Fatal(err)
			}
		}
		r := heck(t, "keys", "remove", enc(oldK), "--all")
		if r.code != 1 || !strings.Contains(r.stderr, "n4 (still encrypts with it)") || !strings.Contains(r.stderr, "heck keys use NEWKEY --all") {
			t.Fatalf("remove --all with n4 on the old key: %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		for _, n := range f.all() {
			if len(n.RawKeys()) != 2 {
				t.Fatalf("a refused remove changed a node")
			}
		}
	})

	t.Run("wrong token", func(t *testing.T) {
		newFleet(t, api.Options{Token: "right"}, oldK)
		t.Setenv("HECK_API_TOKEN", "wrong")
		r := heck(t, "keys", "install", enc(newK), "--all")
		if r.code != 2 || !strings.Contains(r.stderr, "--token") {
			t.Fatalf("install --all with a wrong token: %d\n%s%s", r.code, r.stdout, r.stderr)
		}
	})
}

func TestKeysHelp(t *testing.T) {
	for _, c := range []string{"ls", "install", "use", "remove", "generate"} {
		r := heck(t, "keys", c, "--help")
		if r.code != 0 || !strings.Contains(r.stdout, "Usage: heck keys "+c) || !strings.Contains(r.stdout, "Flags:") {
			t.Errorf("keys %s --help: %d\n%s", c, r.code, r.stdout)
		}
	}
	if r := heck(t, "keys"); r.code != 2 || !strings.Contains(r.stderr, "generate") {
		t.Errorf("keys: %d %s", r.code, r.stderr)
	}
	if r := heck(t, "keys", "install", "--help"); !strings.Contains(r.stdout, "heck keys install - --all < new.key") {
		t.Errorf("keys install --help does not show reading the key from stdin:\n%s", r.stdout)
	}
}
