package deploy_test

import (
	"net"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/heckhq/heck/internal/agent"
)

// TestKubernetesAgentSidecar: the sidecar example's agent config loads, is
// mounted where its args say, listens on the port its probes use, and the
// probes go to the agent: liveness and startup to /livez (neither may
// fail because a dependency is down: both kill the container), readiness
// to /readyz.
func TestKubernetesAgentSidecar(t *testing.T) {
	m := k8s(t)
	dep := m["Deployment/web"]
	cm := m["ConfigMap/web-heck-agent"]
	if dep == nil || cm == nil {
		t.Fatal("agent-sidecar.yaml: no Deployment/web or ConfigMap/web-heck-agent")
	}
	cfg, err := agent.Parse("ConfigMap web-heck-agent agent.yaml", []byte(str(t, cm, "data", "agent.yaml")))
	if err != nil {
		t.Fatalf("the sidecar's agent config does not load: %v", err)
	}
	var c any
	for _, x := range list(t, dep, "spec", "template", "spec", "containers") {
		if str(t, x, "name") == "heck-agent" {
			c = x
		}
	}
	if c == nil {
		t.Fatal("no heck-agent container")
	}
	var args []string
	for _, a := range list(t, c, "args") {
		args = append(args, a.(string))
	}
	i := slices.Index(args, "--config")
	if len(args) == 0 || args[0] != "agent" || i < 0 || i+1 >= len(args) {
		t.Fatalf("args %v: want agent --config FILE", args)
	}
	dir, file := path.Split(args[i+1])
	mounted := false
	for _, vm := range list(t, c, "volumeMounts") {
		if strings.TrimSuffix(str(t, vm, "mountPath"), "/")+"/" != dir {
			continue
		}
		for _, v := range list(t, dep, "spec", "template", "spec", "volumes") {
			if str(t, v, "name") == str(t, vm, "name") && str(t, v, "configMap", "name") == "web-heck-agent" {
				mounted = true
			}
		}
	}
	if !mounted || file != "agent.yaml" {
		t.Errorf("--config %s is not the ConfigMap's agent.yaml mounted", args[i+1])
	}
	_, port, _ := net.SplitHostPort(cfg.Listen)
	ports := map[string]int{}
	for _, p := range list(t, c, "ports") {
		ports[str(t, p, "name")] = get(t, p, "containerPort").(int)
	}
	if port != "7900" || ports["agent"] != 7900 {
		t.Errorf("listen %s, ports %v: want the agent port 7900", cfg.Listen, ports)
	}
	if host, _, _ := net.SplitHostPort(cfg.Listen); host != "0.0.0.0" {
		t.Errorf("listen %s: the kubelet probes the pod's IP, listen on 0.0.0.0", cfg.Listen)
	}
	for probe, want := range map[string]string{"livenessProbe": "/livez", "readinessProbe": "/readyz", "startupProbe": "/livez"} {
		if got := str(t, c, probe, "httpGet", "path"); got != want || get(t, c, probe, "httpGet", "port") != "agent" {
			t.Errorf("%s = %v, want %s on port agent", probe, get(t, c, probe), want)
		}
	}
	if get(t, dep, "spec", "template", "spec", "shareProcessNamespace") != true {
		t.Error("process checks need shareProcessNamespace: true")
	}
}
