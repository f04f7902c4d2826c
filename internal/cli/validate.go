package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/heckhq/heck/internal/config"
)

type validateOpts struct {
	out   output
	store string
}

func validateCmd() *command {
	return &command{
		name:     "validate",
		synopsis: "check a config file and print every problem",
		usage:    "heck validate FILE [--store sqlite:PATH|postgres://...] [-o json]",
		help: `
Loads FILE as heck serve would (as heck agent would when its top level lists
checks:) and prints every problem at once, each with file:line:column, the
field, the value and the fix. Exits 0 when the file is valid, 1 when it has
problems, 2 when it cannot be read. --store is checked as heck serve would
take it, overriding the file's store section.`,
		minArgs: 1, maxArgs: 1,
		flags: func(fs *flag.FlagSet) any {
			o := &validateOpts{}
			outputFlag(fs, &o.out)
			fs.StringVar(&o.store, "store", "", "check the config with this store `LOCATION` (sqlite:PATH or postgres://...), as heck serve --store takes it")
			return o
		},
		run: runValidate,
	}
}

type validateJSON struct {
	File    string `json:"file"`
	OK      bool   `json:"ok"`
	Targets int    `json:"targets"`
	// Checks is set for an agent config (heck agent) instead of Targets.
	Checks   *int             `json:"checks,omitempty"`
	Problems []config.Problem `json:"problems"`
}

func runValidate(_ context.Context, e *env, opts any, args []string) int {
	o := opts.(*validateOpts)
	path := args[0]
	if code, ok := validateAgent(e, o, path); ok {
		return code
	}
	cfg, err := config.Load(path)
	var le *config.LoadError
	if err != nil && !errors.As(err, &le) {
		return e.errorf("%v", err)
	}
	if o.store != "" {
		if all := validateStoreFlag(cfg, err == nil, le, o.store); all != nil {
			err, le = all, all
		}
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

// ValidateAgent, when set, tells an agent config from a heck config and
// loads it (agent.ValidateFile): how many checks it has, or a
// *config.LoadError. cmd/heck sets it.
var ValidateAgent func(path string, data []byte) (checks int, isAgent bool, err error)

// validateAgent validates path as an agent config when it is one; ok is
// false when it is not (or this build cannot tell).
func validateAgent(e *env, o *validateOpts, path string) (code int, ok bool) {
	if ValidateAgent == nil {
		return 0, false
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, false // config.Load reports it
	}
	n, isAgent, err := ValidateAgent(path, data)
	if !isAgent {
		return 0, false
	}
	var le *config.LoadError
	if err != nil && !errors.As(err, &le) {
		return e.errorf("%v", err), true
	}
	switch {
	case o.out.json():
		v := validateJSON{File: path, OK: err == nil, Problems: []config.Problem{}, Checks: &n}
		if le != nil {
			v.Problems = le.Problems
		}
		if werr := writeJSON(e.stdout, v); werr != nil {
			return e.errorf("%v", werr), true
		}
	case le != nil:
		printProblems(e.stdout, le)
		fmt.Fprintf(e.stdout, "%s: %d problem(s)\n", path, len(le.Problems))
	default:
		fmt.Fprintf(e.stdout, "%s: ok (agent config, %d checks)\n", path, n)
	}
	if le != nil {
		return ExitFail, true
	}
	return ExitOK, true
}

// validateStoreFlag applies --store to a loaded config (or, when the file
// has problems, checks the flag alone) and returns the problems of the
// file and the flag together; nil when there are none.
func validateStoreFlag(cfg *config.Config, loaded bool, le *config.LoadError, value string) *config.LoadError {
	var ferr error
	if loaded {
		ferr = cfg.Apply(config.Overrides{Store: value})
	} else {
		_, _, ferr = config.StoreFlag("--store", value)
	}
	var fle *config.LoadError
	if !errors.As(ferr, &fle) {
		return le
	}
	if le == nil {
		return fle
	}
	le.Problems = append(le.Problems, fle.Problems...)
	return le
}
