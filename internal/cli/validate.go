package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/heckhq/heck/internal/config"
)

type validateOpts struct{ out output }

func validateCmd() *command {
	return &command{
		name:     "validate",
		synopsis: "check a config file and print every problem",
		usage:    "heck validate FILE [-o json]",
		help: `
Loads FILE as heck serve would and prints every problem at once, each with
file:line:column, the field, the value and the fix. Exits 0 when the file is
valid, 1 when it has problems, 2 when it cannot be read.`,
		minArgs: 1, maxArgs: 1,
		flags: func(fs *flag.FlagSet) any {
			o := &validateOpts{}
			outputFlag(fs, &o.out)
			return o
		},
		run: runValidate,
	}
}

type validateJSON struct {
	File     string           `json:"file"`
	OK       bool             `json:"ok"`
	Targets  int              `json:"targets"`
	Problems []config.Problem `json:"problems"`
}

func runValidate(_ context.Context, e *env, opts any, args []string) int {
	o := opts.(*validateOpts)
	path := args[0]
	cfg, err := config.Load(path)
	var le *config.LoadError
	if err != nil && !errors.As(err, &le) {
		return e.errorf("%v", err)
	}
	if o.out.json() {
		v := validateJSON{File: path, OK: err == nil, Problems: []config.Problem{}}
		if cfg != nil && err == nil {
			v.Targets = len(cfg.Targets)
		}
		if le != nil {
			v.Problems = le.Problems
		}
		if werr := writeJSON(e.stdout, v); werr != nil {
			return e.errorf("%v", werr)
		}
	} else if le != nil {
		printProblems(e.stdout, le)
		fmt.Fprintf(e.stdout, "%s: %d problem(s)\n", path, len(le.Problems))
	} else {
		fmt.Fprintf(e.stdout, "%s: ok (%d targets)\n", path, len(cfg.Targets))
	}
	if le != nil {
		return ExitFail
	}
	return ExitOK
}
