package deploy_test

import (
	"encoding/json"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/heckhq/heck/internal/config"
)

// instruction is one Dockerfile instruction, its continuation lines
// joined.
type instruction struct {
	line int
	cmd  string // upper case: FROM, RUN, ...
	args string
}

// parseDockerfile reads the instructions of a Dockerfile: comments and
// blank lines dropped, lines ending in a backslash joined to the next.
func parseDockerfile(t *testing.T, path string) []instruction {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []instruction
	var cur *instruction
	for i, l := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(l)
		if cur == nil && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		cont := strings.HasSuffix(trimmed, "\\")
		trimmed = strings.TrimSpace(strings.TrimSuffix(trimmed, "\\"))
		if cur == nil {
			cmd, args, _ := strings.Cut(trimmed, " ")
			cur = &instruction{line: i + 1, cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)}
		} else if trimmed != "" && !strings.HasPrefix(trimmed, "#") {
			cur.args += " " + trimmed
		}
		if !cont {
			out = append(out, *cur)
			cur = nil
		}
	}
	if cur != nil {
		t.Fatalf("%s: the last instruction (line %d) ends in a backslash", path, cur.line)
	}
	return out
}

// execForm decodes the JSON array of an exec-form CMD, ENTRYPOINT,
// VOLUME or HEALTHCHECK CMD.
func execForm(t *testing.T, in instruction, s string) []string {
	t.Helper()
	var v []string
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("Dockerfile:%d: %s %s is not in exec form (a JSON array): %v", in.line, in.cmd, s, err)
	}
	return v
}

// TestDockerfile checks deploy/Dockerfile against the binary's defaults
// and the config it serves: a multi-stage static build, a non-root user,
// the /data volume as the data directory, the API and gossip ports
// exposed, and a health check that runs heck check on /livez.
func TestDockerfile(t *testing.T) {
	ins := parseDockerfile(t, "Dockerfile")
	by := map[string][]instruction{}
	for _, in := range ins {
		by[in.cmd] = append(by[in.cmd], in)
	}
	one := func(cmd string) instruction {
		t.Helper()
		if len(by[cmd]) != 1 {
			t.Fatalf("Dockerfile has %d %s instructions, want one", len(by[cmd]), cmd)
		}
		return by[cmd][0]
	}

	// Multi-stage: a build stage, then a final one that copies from it.
	if len(by["FROM"]) < 2 {
		t.Fatalf("Dockerfile has %d stages, want a build stage and a final one", len(by["FROM"]))
	}
	if final := by["FROM"][len(by["FROM"])-1].args; !strings.Contains(final, "static") && final != "scratch" {
		t.Errorf("the final stage is FROM %s, want a static base (distroless static or scratch)", final)
	}
	static := slices.ContainsFunc(by["RUN"], func(in instruction) bool {
		return strings.Contains(in.args, "CGO_ENABLED=0") && strings.Contains(in.args, "go build") && strings.Contains(in.args, "./cmd/heck")
	})
	if !static {
		t.Error("no RUN builds ./cmd/heck with CGO_ENABLED=0")
	}

	// Non-root.
	if u := one("USER").args; strings.HasPrefix(u, "0") || strings.HasPrefix(u, "root") || u == "" {
		t.Errorf("USER %q: want a non-root user", u)
	}
	user, _, _ := strings.Cut(one("USER").args, ":")

	// The files the image holds: the binary and the config.
	copied := map[string]string{} // destination -> source
	var dataChown string
	for _, in := range by["COPY"] {
		var f []string
		for _, w := range strings.Fields(in.args) {
			if c, ok := strings.CutPrefix(w, "--chown="); ok && strings.HasSuffix(in.args, " /data") {
				dataChown = c
			}
			if !strings.HasPrefix(w, "--") {
				f = append(f, w)
			}
		}
		if len(f) == 2 {
			copied[f[1]] = f[0]
		}
	}
	entry := execForm(t, one("ENTRYPOINT"), one("ENTRYPOINT").args)
	if len(entry) != 1 || copied[entry[0]] == "" {
		t.Fatalf("ENTRYPOINT %v: want the one heck binary the image copies in (copied: %v)", entry, copied)
	}
	cmd := execForm(t, one("CMD"), one("CMD").args)
	if len(cmd) != 3 || cmd[0] != "serve" || cmd[1] != "--config" {
		t.Fatalf("CMD %v: want serve --config FILE", cmd)
	}
	src := copied[cmd[2]]
	if src == "" {
		t.Fatalf("CMD serves %s, which no COPY puts in the image", cmd[2])
	}
	src = strings.TrimPrefix(src, "deploy/") // COPY is relative to the repository root
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatalf("the config the image serves: %v", err)
	}
	cfg, vars := parseConfig(t, src, data)

	// The data directory is the volume, writable by the user.
	vol := execForm(t, one("VOLUME"), one("VOLUME").args)
	if !slices.Equal(vol, []string{cfg.Node.DataDir}) || cfg.Node.DataDir != "/data" {
		t.Errorf("VOLUME %v, data_dir %q: want the one volume /data, the config's data_dir", vol, cfg.Node.DataDir)
	}
	if owner, _, _ := strings.Cut(dataChown, ":"); owner != user {
		t.Errorf("/data is copied with --chown=%q, want it owned by USER %s", dataChown, user)
	}

	// Listening on every interface of the container needs the token,
	// from the environment.
	host, apiPort, err := net.SplitHostPort(cfg.Listen)
	if err != nil || host != "0.0.0.0" {
		t.Errorf("listen %q: want 0.0.0.0 so a published port reaches the API", cfg.Listen)
	}
	_, defPort, _ := net.SplitHostPort(config.DefaultListen)
	if apiPort != defPort {
		t.Errorf("the API port is %s, want the binary's default %s", apiPort, defPort)
	}
	if cfg.API.Token != testEnv["HECK_API_TOKEN"] || !slices.Contains(vars, "HECK_API_TOKEN") {
		t.Errorf("api.token %q: want it from ${HECK_API_TOKEN}", cfg.API.Token)
	}

	// The API and gossip ports, gossip over TCP and UDP.
	var exposed []string
	for _, in := range by["EXPOSE"] {
		for _, p := range strings.Fields(in.args) {
			if !strings.Contains(p, "/") {
				p += "/tcp"
			}
			exposed = append(exposed, p)
		}
	}
	gossip := strconv.Itoa(config.DefaultGossipPort)
	if _, bindPort, _ := net.SplitHostPort(config.DefaultGossipBind); bindPort != gossip {
		t.Fatalf("config.DefaultGossipBind %s and DefaultGossipPort %s disagree", config.DefaultGossipBind, gossip)
	}
	for _, want := range []string{apiPort + "/tcp", gossip + "/tcp", gossip + "/udp"} {
		if !slices.Contains(exposed, want) {
			t.Errorf("EXPOSE %v lacks %s", exposed, want)
		}
	}

	// HEALTHCHECK runs heck check on this node's /livez.
	hc := one("HEALTHCHECK")
	_, hcCmd, ok := strings.Cut(hc.args, "CMD ")
	if !ok {
		t.Fatalf("HEALTHCHECK %s has no CMD", hc.args)
	}
	probe := execForm(t, hc, strings.TrimSpace(hcCmd))
	want := "http://127.0.0.1:" + apiPort + "/livez"
	if len(probe) < 3 || probe[0] != entry[0] || probe[1] != "check" || probe[len(probe)-1] != want {
		t.Errorf("HEALTHCHECK CMD %v: want [%s check ... %s]", probe, entry[0], want)
	}
}
