package cli

import (
	"context"
	"strings"
	"testing"
)

func TestTargetsAddRefusesZeroScheduleFlags(t *testing.T) {
	for _, args := range [][]string{
		{"targets", "add", "--id", "z", "--url", "http://127.0.0.1:1/", "--interval", "0s"},
		{"targets", "add", "--id", "z", "--url", "http://127.0.0.1:1/", "--rise", "0"},
	} {
		var out, errb strings.Builder
		code := Main(context.Background(), append(args, "--server", "http://127.0.0.1:1"), &out, &errb)
		if code != ExitError {
			t.Errorf("%v: exit %d, want %d", args, code, ExitError)
		}
		if !strings.Contains(errb.String(), "flag --") || strings.Contains(errb.String(), "cannot reach") {
			t.Errorf("%v: %q, want a message naming the flag before any request", args, errb.String())
		}
	}
}
