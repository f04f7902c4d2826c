package client_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/heckhq/heck/internal/wire"

	"github.com/heckhq/heck/internal/cluster/gossipkey"

	"github.com/heckhq/heck/internal/api"
	"github.com/heckhq/heck/internal/api/apitest"
	"github.com/heckhq/heck/internal/client"
)

func keyringSetup(t *testing.T, opts api.Options, token string, keys ...[]byte) (*apitest.Keyring, *client.Client, string) {
	t.Helper()
	b := apitest.NewKeyring("n1", keys...)
	_, ts := apitest.Serve(t, b, opts)
	c, err := client.New(ts.URL, token, ts.Client())
	if err != nil {
		t.Fatal(err)
	}
	return b, c, strings.TrimPrefix(ts.URL, "http://")
}

func key(seed byte) []byte { return bytes.Repeat([]byte{seed}, 32) }

func TestClientKeys(t *testing.T) {
	b, c, _ := keyringSetup(t, api.Options{LoopbackOnly: true}, "", key(1))
	ctx := context.Background()
	ks, err := c.Keys(ctx)
	if err != nil || len(ks) != 1 || ks[0] != (wire.KeyInfo{Fingerprint: gossipkey.Fingerprint(key(1)), Primary: true}) {
		t.Fatalf("Keys = %+v, %v", ks, err)
	}
	kr, err := c.InstallKey(ctx, key(2))
	if err != nil || !kr.Changed || kr.Fingerprint != gossipkey.Fingerprint(key(2)) || len(kr.Keys) != 2 {
		t.Fatalf("InstallKey = %+v, %v", kr, err)
	}
	if kr, err = c.UseKey(ctx, key(2)); err != nil || !kr.Keys[0].Primary || kr.Keys[0].Fingerprint != gossipkey.Fingerprint(key(2)) {
		t.Fatalf("UseKey = %+v, %v", kr, err)
	}
	if _, err = c.RemoveKey(ctx, key(2)); client.StatusOf(err) != 409 || !strings.Contains(err.Error(), "primary") {
		t.Fatalf("RemoveKey(primary) = %v, want 409", err)
	}
	if kr, err = c.RemoveKey(ctx, key(1)); err != nil || !kr.Changed || len(kr.Keys) != 1 {
		t.Fatalf("RemoveKey = %+v, %v", kr, err)
	}
	if _, err = c.UseKey(ctx, key(3)); client.StatusOf(err) != 422 {
		t.Fatalf("UseKey(not installed) = %v, want 422", err)
	}
	if _, err = c.InstallKey(ctx, []byte("short")); client.StatusOf(err) != 422 || !strings.Contains(err.Error(), "key:") {
		t.Fatalf("InstallKey(5 bytes) = %v, want 422 naming key", err)
	}
	if raw := b.RawKeys(); len(raw) != 1 || !bytes.Equal(raw[0], key(2)) {
		t.Fatalf("backend keys = %d, want the second key alone", len(raw))
	}
}

func TestClientAt(t *testing.T) {
	_, c, _ := keyringSetup(t, api.Options{Token: "tok"}, "tok", key(1))
	_, _, addr2 := keyringSetup(t, api.Options{Token: "tok"}, "", key(9))
	c2, err := c.At(addr2)
	if err != nil || c2.BaseURL() != "http://"+addr2 {
		t.Fatalf("At(%s) = %v, %v", addr2, c2, err)
	}
	// The token goes along: the second node answers with its own keyring.
	ks, err := c2.Keys(context.Background())
	if err != nil || len(ks) != 1 || ks[0].Fingerprint != gossipkey.Fingerprint(key(9)) {
		t.Fatalf("Keys at %s = %+v, %v", addr2, ks, err)
	}
	for _, bad := range []string{"", "http://127.0.0.1:7800", "127.0.0.1:7800/x"} {
		if _, err := c.At(bad); err == nil {
			t.Errorf("At(%q) = nil error", bad)
		}
	}
}
