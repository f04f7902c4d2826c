package cli_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/heckhq/heck/internal/config"
)

// TestServeClusterFlags checks that --node-name, --gossip and --join reach
// the config the node runs on, over the embedded defaults and over a file.
func TestServeClusterFlags(t *testing.T) {
	var got *config.Config
	stubRunNode(t, func(_ context.Context, cfg *config.Config, _ *slog.Logger) error {
		got = cfg
		return nil
	})
	dir := t.TempDir()
	file := filepath.Join(dir, "heck.yaml")
	must(t, os.WriteFile(file, []byte(`node:
  name: from-file
cluster:
  bind: 127.0.0.1:7960
  advertise: 127.0.0.1:7960
  join: [127.0.0.1:7961]
  zone: a
`), 0o600))

	type want struct {
		name, bind, advertise string
		join                  []string // JoinAddrs: with the default port
		enabled               bool
		zone                  string
	}
	cases := []struct {
		name string
		args []string
		want want
	}{
		{"defaults: a single node", nil, want{name: hostOr("heck"), enabled: false}},
		{"node name only", []string{"--node-name", "n1"}, want{name: "n1"}},
		{"concrete gossip address is advertised", []string{"--node-name", "n1", "--gossip", "127.0.0.1:7950"},
			want{name: "n1", bind: "127.0.0.1:7950", advertise: "127.0.0.1:7950", enabled: true}},
		{"wildcard gossip address is not advertised", []string{"--gossip", "0.0.0.0:7946"},
			want{name: hostOr("heck"), bind: "0.0.0.0:7946", enabled: true}},
		{"empty host gossip address", []string{"--gossip", ":7946"},
			want{name: hostOr("heck"), bind: ":7946", enabled: true}},
		{"join alone enables clustering; ports default to 7946", []string{"--node-name", "n2", "--join", "127.0.0.1,heck-headless.default.svc.cluster.local"},
			want{name: "n2", join: []string{"127.0.0.1:7946", "heck-headless.default.svc.cluster.local:7946"}, enabled: true}},
		{"join is repeatable and splits commas", []string{"--join", "127.0.0.1:7951", "--join", "127.0.0.1:7952, 127.0.0.1:7953"},
			want{name: hostOr("heck"), join: []string{"127.0.0.1:7951", "127.0.0.1:7952", "127.0.0.1:7953"}, enabled: true}},
		{"file alone", []string{"--config", file},
			want{name: "from-file", bind: "127.0.0.1:7960", advertise: "127.0.0.1:7960", join: []string{"127.0.0.1:7961"}, enabled: true, zone: "a"}},
		{"flags override the file; join replaces its list", []string{"--config", file, "--node-name", "n3", "--gossip", "127.0.0.1:7970", "--join", "127.0.0.1:7971"},
			want{name: "n3", bind: "127.0.0.1:7970", advertise: "127.0.0.1:7970", join: []string{"127.0.0.1:7971"}, enabled: true, zone: "a"}},
		{"flags anywhere among the arguments", []string{"--join", "127.0.0.1:7981", "--config", file},
			want{name: "from-file", bind: "127.0.0.1:7960", advertise: "127.0.0.1:7960", join: []string{"127.0.0.1:7981"}, enabled: true, zone: "a"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got = nil
			r := heck(t, append([]string{"serve"}, c.args...)...)
			if r.code != 0 || got == nil {
				t.Fatalf("serve %v: %d %s", c.args, r.code, r.stderr)
			}
			cl := got.Cluster
			g := want{name: got.Node.Name, bind: cl.Bind, advertise: cl.Advertise, join: cl.JoinAddrs(), enabled: cl.Enabled(), zone: cl.Zone}
			if g.name != c.want.name || g.bind != c.want.bind || g.advertise != c.want.advertise || g.enabled != c.want.enabled ||
				g.zone != c.want.zone || strings.Join(g.join, " ") != strings.Join(c.want.join, " ") {
				t.Fatalf("serve %v gave\n %+v\nwant\n %+v", c.args, g, c.want)
			}
		})
	}

	bad := []struct {
		args []string
		want []string
	}{
		{[]string{"--gossip", "nowhere"}, []string{"--gossip", `"nowhere"`, "is not host:port", "127.0.0.1:7946"}},
		{[]string{"--gossip", "127.0.0.1:70000"}, []string{"--gossip", "has no valid port"}},
		{[]string{"--join", "http://127.0.0.1:7946"}, []string{"--join", "is not host:port", "7946"}},
		{[]string{"--join", "127.0.0.1:7946,bad host"}, []string{"--join", `"bad host"`}},
		{[]string{"--node-name", " "}, []string{"--node-name", "is blank"}},
		{[]string{"--gossip", "nowhere", "--join", "a b"}, []string{"--gossip", "--join", "2 problem(s)"}},
	}
	for _, c := range bad {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			got = nil
			usageError(t, heck(t, append([]string{"serve"}, c.args...)...), c.want...)
			if got != nil {
				t.Fatalf("serve %v: a usage error started the node", c.args)
			}
		})
	}
}

func hostOr(def string) string {
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return def
}
