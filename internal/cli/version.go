package cli

import (
	"context"
	"flag"
	"fmt"

	"github.com/heckhq/heck/internal/version"
)

type versionOpts struct{ out output }

func versionCmd() *command {
	return &command{
		name:     "version",
		synopsis: "print the version, commit and Go version",
		usage:    "heck version [-o json]",
		help:     "Prints heck's version, the commit it was built from and the Go version.",
		flags: func(fs *flag.FlagSet) any {
			o := &versionOpts{}
			outputFlag(fs, &o.out)
			return o
		},
		run: func(_ context.Context, e *env, opts any, _ []string) int {
			v := version.Get()
			if opts.(*versionOpts).out.json() {
				if err := writeJSON(e.stdout, v); err != nil {
					return e.errorf("%v", err)
				}
				return ExitOK
			}
			fmt.Fprintf(e.stdout, "heck %s (commit %s, %s)\n", v.Version, v.Commit, v.GoVersion)
			return ExitOK
		},
	}
}
