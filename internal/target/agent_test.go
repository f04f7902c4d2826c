package target

import (
	"strings"
	"testing"
)

func TestValidateAgent(t *testing.T) {
	tests := []struct {
		name string
		spec Spec
		want []string // fields with problems
	}{
		{"ok", Spec{ID: "h", Kind: KindAgent, URL: "http://127.0.0.1:7900/healthz"}, nil},
		{"one check", Spec{ID: "h", Kind: KindAgent, URL: "http://127.0.0.1:7900/healthz", Agent: &AgentOptions{Check: "db"}}, nil},
		{"env url", Spec{ID: "h", Kind: KindAgent, URL: "${AGENT_URL}"}, nil},
		{"no url", Spec{ID: "h", Kind: KindAgent}, []string{"url"}},
		{"bad url", Spec{ID: "h", Kind: KindAgent, URL: "tcp://x:1"}, []string{"url"}},
		{"address", Spec{ID: "h", Kind: KindAgent, URL: "http://127.0.0.1:7900/healthz", Address: "127.0.0.1:7900"}, []string{"address"}},
		{"bad check", Spec{ID: "h", Kind: KindAgent, URL: "http://127.0.0.1:7900/healthz", Agent: &AgentOptions{Check: "a b"}}, []string{"agent.check"}},
		{"other block", Spec{ID: "h", Kind: KindAgent, URL: "http://127.0.0.1:7900/healthz", HTTP: &HTTPOptions{}}, []string{"http"}},
		{"agent block on http", Spec{ID: "h", Kind: KindHTTP, URL: "http://127.0.0.1:7900/", Agent: &AgentOptions{}}, []string{"agent"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := tt.spec.Validate()
			var got []string
			for _, e := range errs {
				got = append(got, e.Field)
				if e.Fix == "" {
					t.Errorf("%s: no fix", e.Field)
				}
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("problems with %v, want %v (%v)", got, tt.want, errs)
			}
		})
	}
	c := Spec{ID: "h", Kind: KindAgent, Agent: &AgentOptions{Check: "db"}}.Clone()
	if c.Agent == nil || c.Agent.Check != "db" {
		t.Errorf("Clone lost the agent options: %+v", c.Agent)
	}
}
