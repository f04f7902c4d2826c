package cluster

import (
	"flag"
	"os"
	"testing"
)

// TestMain lets up to 4 cluster tests run at once unless -parallel is
// given: they mostly wait on memberlist's timers (the whole suite uses a
// few CPU seconds), so GOMAXPROCS (2 in CI) would serialise idle waiting.
func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		_ = flag.Set("test.parallel", "4")
	}
	os.Exit(m.Run())
}
