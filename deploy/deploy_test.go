// Package deploy holds heck's deployment files (systemd, Kubernetes,
// Docker); its tests check that every YAML file parses, that the configs
// they carry load with config.Parse, and that the manifests agree with
// each other (names, ports, environment variables, probes).
package deploy_test

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/heckhq/heck/internal/config"
)

// doc is one YAML document, decoded loosely.
type doc = map[string]any

// readDocs parses every document of a YAML file.
func readDocs(t *testing.T, path string) []doc {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []doc
	for {
		var d doc
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if d != nil {
			docs = append(docs, d)
		}
	}
	if len(docs) == 0 {
		t.Fatalf("%s: no YAML document", path)
	}
	return docs
}

// get walks a path of map keys and list indexes ("spec", "template", 0).
func get(t *testing.T, v any, path ...any) any {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("at %v: %v is not a mapping", path, v)
			}
			v, ok = m[k]
			if !ok {
				t.Fatalf("no %q at %v", k, path)
			}
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				t.Fatalf("at %v: %v is not a list of more than %d", path, v, k)
			}
			v = l[k]
		}
	}
	return v
}

func str(t *testing.T, v any, path ...any) string {
	t.Helper()
	s, ok := get(t, v, path...).(string)
	if !ok {
		t.Fatalf("%v is not a string", path)
	}
	return s
}

func list(t *testing.T, v any, path ...any) []any {
	t.Helper()
	l, ok := get(t, v, path...).([]any)
	if !ok {
		t.Fatalf("%v is not a list", path)
	}
	return l
}

func yamlFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ext := filepath.Ext(path); !d.IsDir() && (ext == ".yaml" || ext == ".yml") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 7 {
		t.Fatalf("found only %v", files)
	}
	return files
}

func TestEveryYAMLFileParses(t *testing.T) {
	for _, f := range yamlFiles(t) {
		t.Run(f, func(t *testing.T) {
			docs := readDocs(t, f)
			if !strings.HasPrefix(f, "kubernetes"+string(filepath.Separator)) {
				return
			}
			for _, d := range docs {
				if d["apiVersion"] == nil || d["kind"] == nil {
					t.Fatalf("%s: a document lacks apiVersion or kind: %v", f, d)
				}
				if d["kind"] != "Kustomization" && str(t, d, "metadata", "name") == "" {
					t.Fatalf("%s: a %v has no name", f, d["kind"])
				}
			}
		})
	}
}

// envRef is the ${VAR} syntax the config expands.
var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// testKey is a valid gossip key.
var testKey = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))

// testEnv gives each variable a config may reference a plausible value.
var testEnv = map[string]string{
	"HECK_API_TOKEN":  "test-token-0123456789",
	"HECK_GOSSIP_KEY": testKey,
	"POD_NAME":        "heck-0",
	"POD_NAMESPACE":   "monitoring",
	"POD_IP":          "10.1.2.3",
}

// parseConfig loads a config after setting every variable it references,
// and returns the names of those variables.
func parseConfig(t *testing.T, name string, data []byte) (*config.Config, []string) {
	t.Helper()
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var vars []string
	for _, m := range envRef.FindAllStringSubmatch(strings.Join(scalars(&root, nil), "\n"), -1) {
		v := m[1]
		val, ok := testEnv[v]
		if !ok {
			t.Fatalf("%s refers to ${%s}, which this test does not know; add it to testEnv", name, v)
		}
		t.Setenv(v, val)
		if !slices.Contains(vars, v) {
			vars = append(vars, v)
		}
	}
	cfg, err := config.Parse(name, data)
	if err != nil {
		t.Fatalf("%s does not load: %v", name, err)
	}
	return cfg, vars
}

// scalars collects the scalar values of a YAML tree (not its comments).
func scalars(n *yaml.Node, out []string) []string {
	if n.Kind == yaml.ScalarNode {
		return append(out, n.Value)
	}
	for _, c := range n.Content {
		out = scalars(c, out)
	}
	return out
}

func TestSystemdConfigLoads(t *testing.T) {
	data, err := os.ReadFile("systemd/heck.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, vars := parseConfig(t, "systemd/heck.yaml", data)
	if cfg.Node.DataDir != "/var/lib/heck" || cfg.Store.Path != "/var/lib/heck/heck.db" {
		t.Errorf("data_dir %q, store %q: want the unit's StateDirectory /var/lib/heck", cfg.Node.DataDir, cfg.Store.Path)
	}
	if cfg.API.Token != testEnv["HECK_API_TOKEN"] || !cfg.Cluster.Enabled() || len(cfg.Cluster.Keys) != 1 || cfg.Cluster.Keys[0] != testKey {
		t.Errorf("token %q, cluster %+v: want the token and key from the environment, clustering on", cfg.API.Token, cfg.Cluster)
	}
	// Every variable the config needs is documented in the env file.
	env, err := os.ReadFile("systemd/heck.env.example")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vars {
		if !regexp.MustCompile(`(?m)^` + v + `=`).Match(env) {
			t.Errorf("heck.yaml needs %s but heck.env.example does not set it", v)
		}
	}
}

// unit reads a systemd unit's directives (all values of each key).
func unit(t *testing.T, path string) map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || l[0] == '#' || l[0] == '[' {
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			t.Fatalf("%s: line %q is not key=value", path, l)
		}
		out[k] = append(out[k], v)
	}
	return out
}

func TestSystemdUnit(t *testing.T) {
	u := unit(t, "systemd/heck.service")
	want := map[string]string{
		"ExecStart":             "/usr/local/bin/heck serve --config /etc/heck/heck.yaml",
		"Restart":               "on-failure",
		"DynamicUser":           "yes",
		"StateDirectory":        "heck",
		"AmbientCapabilities":   "CAP_NET_RAW",
		"CapabilityBoundingSet": "CAP_NET_RAW",
		"NoNewPrivileges":       "yes",
		"ProtectSystem":         "strict",
		"ProtectHome":           "yes",
		"PrivateTmp":            "yes",
		"PrivateDevices":        "yes",
		"ProtectKernelTunables": "yes",
		"ProtectControlGroups":  "yes",
		"RestrictSUIDSGID":      "yes",
		"SystemCallFilter":      "@system-service",
		"WantedBy":              "multi-user.target",
	}
	for k, v := range want {
		if !slices.Contains(u[k], v) {
			t.Errorf("heck.service: %s = %q, want %q", k, u[k], v)
		}
	}
	// The config's data_dir is the StateDirectory.
	if got := u["WorkingDirectory"]; !slices.Equal(got, []string{"/var/lib/heck"}) {
		t.Errorf("WorkingDirectory = %v", got)
	}
}

// k8s loads every manifest of deploy/kubernetes by kind and name.
func k8s(t *testing.T) map[string]doc {
	t.Helper()
	out := map[string]doc{}
	files, err := filepath.Glob("kubernetes/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		for _, d := range readDocs(t, f) {
			name := ""
			if d["kind"] != "Kustomization" {
				name = str(t, d, "metadata", "name")
			}
			key := d["kind"].(string) + "/" + name
			if _, dup := out[key]; dup {
				t.Fatalf("%s defined twice", key)
			}
			out[key] = d
		}
	}
	return out
}

func TestKubernetesConfigMapLoads(t *testing.T) {
	m := k8s(t)
	cm := m["ConfigMap/heck-config"]
	data := str(t, cm, "data", "heck.yaml")
	cfg, vars := parseConfig(t, "ConfigMap heck-config heck.yaml", []byte(data))

	sts := m["StatefulSet/heck"]
	ns := testEnv["POD_NAMESPACE"]
	svc := str(t, sts, "spec", "serviceName")
	wantJoin := svc + "." + ns + ".svc.cluster.local:7946"
	if j := cfg.Cluster.JoinAddrs(); len(j) != 1 || j[0] != wantJoin {
		t.Errorf("cluster.join = %v, want [%s] (the headless Service of the StatefulSet)", j, wantJoin)
	}
	if cfg.Node.Name != "heck-0" || cfg.Cluster.Advertise != "10.1.2.3:7946" || cfg.Cluster.Keys[0] != testKey || cfg.API.Token == "" {
		t.Errorf("config = node %q advertise %q keys %v token %q", cfg.Node.Name, cfg.Cluster.Advertise, cfg.Cluster.Keys, cfg.API.Token)
	}

	// Every variable the config refers to is set in the container.
	c := get(t, sts, "spec", "template", "spec", "containers", 0)
	env := map[string]any{}
	for _, e := range list(t, c, "env") {
		env[str(t, e, "name")] = e
	}
	secret := k8sSecretKeys(t, m)
	for _, v := range vars {
		e, ok := env[v]
		if !ok {
			t.Errorf("the config refers to ${%s}, which the container's env does not set", v)
			continue
		}
		if ref, ok := e.(map[string]any)["valueFrom"].(map[string]any)["secretKeyRef"]; ok {
			name, key := str(t, ref, "name"), str(t, ref, "key")
			if !slices.Contains(secret[name], key) {
				t.Errorf("${%s} comes from Secret %s key %s, which secret.example.yaml does not define", v, name, key)
			}
		}
	}

	// The config is mounted where the container reads it.
	args := list(t, c, "args")
	if len(args) != 3 || args[0] != "serve" || args[1] != "--config" || args[2] != "/etc/heck/heck.yaml" {
		t.Errorf("args = %v", args)
	}
	mounted := false
	for _, v := range list(t, sts, "spec", "template", "spec", "volumes") {
		if cmn, ok := v.(map[string]any)["configMap"]; ok && str(t, cmn, "name") == "heck-config" {
			for _, vm := range list(t, c, "volumeMounts") {
				mounted = mounted || (str(t, vm, "name") == str(t, v, "name") && str(t, vm, "mountPath") == "/etc/heck")
			}
		}
	}
	if !mounted {
		t.Error("the ConfigMap is not mounted at /etc/heck")
	}
	dataMounted := false
	for _, vm := range list(t, c, "volumeMounts") {
		dataMounted = dataMounted || str(t, vm, "mountPath") == cfg.Node.DataDir
	}
	if !dataMounted {
		t.Errorf("node.data_dir %s is not a mounted volume", cfg.Node.DataDir)
	}

	// The API port of the config is the container's "api" port, which the
	// probes and the scrape annotation use.
	ports := map[string]int{}
	for _, p := range list(t, c, "ports") {
		ports[str(t, p, "name")] = get(t, p, "containerPort").(int)
	}
	if !strings.HasSuffix(cfg.Listen, ":7800") || ports["api"] != 7800 || ports["gossip-tcp"] != 7946 || ports["gossip-udp"] != 7946 {
		t.Errorf("listen %s, ports %v", cfg.Listen, ports)
	}
	// The load balancers' listeners are the container's dns and agent ports.
	if !strings.HasSuffix(cfg.DNS.Listen, ":8053") || ports["dns-udp"] != 8053 || ports["dns-tcp"] != 8053 {
		t.Errorf("dns.listen %s, ports %v", cfg.DNS.Listen, ports)
	}
	if !strings.HasSuffix(cfg.HAProxy.Listen, ":5555") || ports["haproxy-agent"] != 5555 {
		t.Errorf("haproxy_agent.listen %s, ports %v", cfg.HAProxy.Listen, ports)
	}
	ann := get(t, sts, "spec", "template", "metadata", "annotations").(map[string]any)
	if ann["prometheus.io/scrape"] != "true" || ann["prometheus.io/port"] != "7800" || ann["prometheus.io/path"] != "/metrics" {
		t.Errorf("scrape annotations = %v", ann)
	}
	if !cfg.API.OpenReads {
		t.Error("api.open_reads is off: annotation-based scraping of /metrics would get 401")
	}
	for probe, path := range map[string]string{"livenessProbe": "/livez", "readinessProbe": "/readyz"} {
		if got := str(t, c, probe, "httpGet", "path"); got != path || get(t, c, probe, "httpGet", "port") != "api" {
			t.Errorf("%s = %v, want %s on port api", probe, get(t, c, probe), path)
		}
	}
	for _, k := range []string{"requests", "limits"} {
		if _, ok := get(t, c, "resources").(map[string]any)[k]; !ok {
			t.Errorf("container has no resources.%s", k)
		}
	}
}

func k8sSecretKeys(t *testing.T, m map[string]doc) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for key, d := range m {
		if name, ok := strings.CutPrefix(key, "Secret/"); ok {
			for k := range get(t, d, "stringData").(map[string]any) {
				out[name] = append(out[name], k)
			}
		}
	}
	return out
}

// TestSecretPlaceholdersAreRefused: an example Secret applied unchanged
// must stop heck with a clear error, not run with a published key.
func TestSecretPlaceholdersAreRefused(t *testing.T) {
	m := k8s(t)
	key := str(t, m["Secret/heck"], "stringData", "gossip-key")
	data := str(t, m["ConfigMap/heck-config"], "data", "heck.yaml")
	for v, val := range testEnv {
		t.Setenv(v, val)
	}
	t.Setenv("HECK_GOSSIP_KEY", key)
	_, err := config.Parse("heck.yaml", []byte(data))
	if err == nil || !strings.Contains(err.Error(), "cluster.keys[0]") {
		t.Fatalf("config with the placeholder key = %v, want an error naming cluster.keys[0]", err)
	}
}

func TestKubernetesManifestsAgree(t *testing.T) {
	m := k8s(t)
	sts := m["StatefulSet/heck"]
	podLabels := get(t, sts, "spec", "template", "metadata", "labels").(map[string]any)
	matches := func(sel any) bool {
		for k, v := range sel.(map[string]any) {
			if podLabels[k] != v {
				return false
			}
		}
		return len(sel.(map[string]any)) > 0
	}
	if get(t, sts, "spec", "replicas") != 3 {
		t.Errorf("replicas = %v, want 3", get(t, sts, "spec", "replicas"))
	}
	if !matches(get(t, sts, "spec", "selector", "matchLabels")) {
		t.Error("the StatefulSet's selector does not match its pods")
	}
	headless := m["Service/"+str(t, sts, "spec", "serviceName")]
	if headless == nil {
		t.Fatalf("no Service %s (the StatefulSet's serviceName)", str(t, sts, "spec", "serviceName"))
	}
	if get(t, headless, "spec", "clusterIP") != "None" || get(t, headless, "spec", "publishNotReadyAddresses") != true {
		t.Error("the headless Service must have clusterIP: None and publishNotReadyAddresses: true")
	}
	for _, svc := range []string{"Service/heck-headless", "Service/heck"} {
		if !matches(get(t, m[svc], "spec", "selector")) {
			t.Errorf("%s does not select the pods", svc)
		}
	}
	var protos []string
	for _, p := range list(t, headless, "spec", "ports") {
		if get(t, p, "port") == 7946 {
			protos = append(protos, str(t, p, "protocol"))
		}
	}
	slices.Sort(protos)
	if !slices.Equal(protos, []string{"TCP", "UDP"}) {
		t.Errorf("gossip port 7946 of the headless Service is %v, want TCP and UDP", protos)
	}
	pdb := m["PodDisruptionBudget/heck"]
	if pdb == nil || !matches(get(t, pdb, "spec", "selector", "matchLabels")) {
		t.Error("no PodDisruptionBudget selecting the pods")
	}

	// kustomization lists every manifest but the example Secret.
	var res []string
	for _, r := range list(t, m["Kustomization/"], "resources") {
		res = append(res, r.(string))
	}
	files, _ := filepath.Glob("kubernetes/*.yaml")
	for _, f := range files {
		base := filepath.Base(f)
		listed := slices.Contains(res, base)
		switch {
		case base == "kustomization.yaml":
		case base == "secret.example.yaml" && listed:
			t.Error("kustomization.yaml applies the example Secret (its placeholders would overwrite real secrets)")
		case base == "agent-sidecar.yaml" && listed:
			t.Error("kustomization.yaml applies agent-sidecar.yaml, an example for another Deployment")
		case base != "secret.example.yaml" && base != "agent-sidecar.yaml" && !listed:
			t.Errorf("kustomization.yaml does not list %s", base)
		}
	}
	for _, r := range res {
		if _, err := os.Stat(filepath.Join("kubernetes", r)); err != nil {
			t.Errorf("kustomization.yaml lists %s: %v", r, err)
		}
	}
}
