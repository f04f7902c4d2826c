package testkit

import (
	"os"
	"os/exec"
	"testing"
)

// NeedBinary returns the path of an external program a test drives (dig,
// haproxy), looked up on PATH and then in dirs. When it is missing the
// test is skipped with how to install it, unless HECK_INTEGRATION=1 (CI),
// where that is a failure.
func NeedBinary(t testing.TB, name, install string, dirs ...string) string {
	t.Helper()
	if path, err := exec.LookPath(name); err == nil {
		return path
	}
	for _, d := range dirs {
		if path, err := exec.LookPath(d + "/" + name); err == nil {
			return path
		}
	}
	if os.Getenv("HECK_INTEGRATION") == "1" {
		t.Fatalf("%s is not installed and HECK_INTEGRATION=1 needs it: %s", name, install)
	}
	t.Skipf("%s is not installed, skipping (%s; HECK_INTEGRATION=1 makes this a failure)", name, install)
	return ""
}
