package gossipkey_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/heckhq/heck/internal/cluster/gossipkey"
)

func TestParse(t *testing.T) {
	k16 := base64.StdEncoding.EncodeToString(make([]byte, 16))
	k32 := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", 32)))
	cases := []struct {
		in      string
		n       int
		problem string
	}{
		{k16, 16, ""},
		{k32, 32, ""},
		{"  " + k32 + "\n", 32, ""},           // spaces around, as pasted
		{strings.TrimRight(k16, "="), 16, ""}, // padding left out
		{base64.StdEncoding.EncodeToString(make([]byte, 24)), 24, ""},
		{"", 0, "is empty"},
		{"not base64!", 0, "is not base64"},
		{base64.URLEncoding.EncodeToString([]byte{0xfb, 0xff, 0xfe, 0xfb, 0xff, 0xfe, 0xfb, 0xff, 0xfe, 0xfb, 0xff, 0xfe, 0xfb, 0xff, 0xfe, 0xfb}), 0, "is not base64"},
		{base64.StdEncoding.EncodeToString(make([]byte, 20)), 0, "decodes to 20 bytes"},
	}
	for _, c := range cases {
		got, err := gossipkey.Parse(c.in)
		if c.problem == "" && (err != nil || len(got) != c.n) {
			t.Errorf("Parse(%q) = %d bytes, %v; want %d bytes", c.in, len(got), err, c.n)
		}
		if c.problem != "" && (err == nil || !strings.Contains(err.Error(), c.problem)) {
			t.Errorf("Parse(%q) error = %v, want %q", c.in, err, c.problem)
		}
		if err != nil && c.in != "" && strings.Contains(err.Error(), strings.TrimSpace(c.in)) {
			t.Errorf("Parse error %q echoes the key", err)
		}
	}
	if _, err := gossipkey.ParseAll([]string{k16, "x"}); err == nil || !strings.Contains(err.Error(), "cluster.keys[1]") {
		t.Errorf("ParseAll names the bad key by index: %v", err)
	}
	if a, b := gossipkey.Fingerprint([]byte("a")), gossipkey.Fingerprint([]byte("b")); len(a) != 16 || a == b {
		t.Errorf("fingerprints %q %q", a, b)
	}
}
