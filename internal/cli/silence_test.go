package cli_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/api"
)

func TestSilence(t *testing.T) {
	b := server(t, api.Options{LoopbackOnly: true})
	if r := heck(t, "silence", "ls"); r.code != 0 || !strings.Contains(r.stdout, "no silences") {
		t.Fatalf("ls empty: %d %s %s", r.code, r.stdout, r.stderr)
	}
	r := heck(t, "silence", "add", "--target", "web", "--for", "2h", "--reason", "deploy", "--by", "ann")
	if r.code != 0 || !strings.Contains(r.stdout, "added silence s-") || !strings.Contains(r.stdout, "on target web until") {
		t.Fatalf("add: %d %s %s", r.code, r.stdout, r.stderr)
	}
	r = heck(t, "silence", "add", "--selector", "env=prod,team=db", "--for", "30m", "--reason", "db upgrade")
	if r.code != 0 || !strings.Contains(r.stdout, "on selector env=prod,team=db") {
		t.Fatalf("add selector: %d %s %s", r.code, r.stdout, r.stderr)
	}
	ss := b.Silences(context.Background())
	if len(ss) != 2 {
		t.Fatalf("backend holds %d silences, want 2", len(ss))
	}
	r = heck(t, "silence", "ls")
	for _, w := range []string{"ID", "SILENCES", "target web", "selector env=prod,team=db", "active", "ann", "deploy"} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("ls lacks %q:\n%s", w, r.stdout)
		}
	}
	r = heck(t, "silence", "ls", "-o", "json")
	var got []api.Silence
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || len(got) != 2 {
		t.Fatalf("ls -o json: %v %s", err, r.stdout)
	}
	for _, s := range got {
		if !s.Active || s.Ends.Sub(s.Starts) > 2*time.Hour || s.Reason == "" {
			t.Errorf("silence %+v", s)
		}
	}
	r = heck(t, "silence", "rm", got[0].ID)
	if r.code != 0 || !strings.Contains(r.stdout, "removed silence "+got[0].ID) {
		t.Fatalf("rm: %d %s %s", r.code, r.stdout, r.stderr)
	}
	usageError(t, heck(t, "silence", "rm", got[0].ID), "no silence has id", "heck silence ls")
	if n := len(b.Silences(context.Background())); n != 1 {
		t.Fatalf("after rm: %d silences, want 1", n)
	}
}

func TestSilenceAddErrors(t *testing.T) {
	server(t, api.Options{LoopbackOnly: true})
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"--for", "2h", "--reason", "x"}, []string{"give --target ID or --selector k=v"}},
		{[]string{"--target", "a", "--selector", "a=b", "--for", "2h", "--reason", "x"}, []string{"not both"}},
		{[]string{"--target", "web", "--reason", "x"}, []string{"--for is missing", "--for 2h"}},
		{[]string{"--target", "web", "--for", "2h"}, []string{"--reason is missing"}},
		{[]string{"--target", "web", "--for", "soon", "--reason", "x"}, []string{`--for: "soon" is not a positive duration`}},
		// The server's validation, named by flag.
		{[]string{"--selector", "env", "--for", "2h", "--reason", "x"}, []string{"Invalid silence", "--selector (selector)", "key=value"}},
		{[]string{"--target", "bad id", "--for", "2h", "--reason", "x"}, []string{"--target (target)", "not a valid target id"}},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			usageError(t, heck(t, append([]string{"silence", "add"}, tc.args...)...), tc.want...)
		})
	}
}

func TestSilencedShown(t *testing.T) {
	b := server(t, api.Options{LoopbackOnly: true})
	st, ok := b.Target(context.Background(), "web")
	if !ok {
		t.Fatal("no web")
	}
	st.Silenced = true
	b.Set(st)
	if r := heck(t, "status", "web"); !strings.Contains(r.stdout, "Silenced:") {
		t.Errorf("status web does not say it is silenced:\n%s", r.stdout)
	}
	if r := heck(t, "targets", "ls"); !strings.Contains(r.stdout, "up (silenced)") {
		t.Errorf("targets ls does not mark web silenced:\n%s", r.stdout)
	}
	if r := heck(t, "status", "db"); strings.Contains(r.stdout, "Silenced:") {
		t.Errorf("status db says it is silenced:\n%s", r.stdout)
	}
}
