// Package version holds what `heck version` prints. Version and Commit are
// set at build time:
//
//	go build -ldflags "-X github.com/heckhq/heck/internal/version.Version=v0.1.0 -X github.com/heckhq/heck/internal/version.Commit=$(git rev-parse --short HEAD)" ./cmd/heck
package version

import (
	"runtime"
	"runtime/debug"
)

// Set by -ldflags -X at build time.
var (
	Version = "dev"
	Commit  = ""
)

// Info is the build's version, commit and Go version.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	GoVersion string `json:"go_version"`
}

// Get returns the build's Info; a commit not set by -ldflags comes from
// the build's VCS stamp when there is one, else "unknown".
func Get() Info {
	i := Info{Version: Version, Commit: Commit, GoVersion: runtime.Version()}
	if i.Commit == "" {
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" && len(s.Value) >= 12 {
					i.Commit = s.Value[:12]
				}
			}
		}
	}
	if i.Commit == "" {
		i.Commit = "unknown"
	}
	return i
}
