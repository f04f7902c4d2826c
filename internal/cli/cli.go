// Package cli owns heck's command line: parsing each subcommand's flags,
// running a node (serve), checking config files (validate), one-off probes
// (check), and the clients of the REST API (targets, status, transitions,
// events, members, join, leave, and the gossip keyring: keys ls, install,
// use, remove, generate), users and API tokens (user add, ls, rm; token
// create), a host's agent (agent), and moving history between stores
// (store migrate, store copy), with help on each,
// consistent exit codes, and shell completion scripts generated from the
// same command and flag tables.
//
// Exit codes: 0 success; 1 a check failed, a target is down (status
// --check) or a config has problems; 2 a usage error or any other error.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Exit codes.
const (
	ExitOK    = 0
	ExitFail  = 1 // a check failed, a target is down (status --check), a config has problems
	ExitError = 2 // usage or other error
)

// command is one subcommand.
type command struct {
	name     string // "targets add"
	synopsis string // one line for the overview
	usage    string // "heck targets add --id ID ..."
	help     string // paragraphs after the usage line
	flags    func(fs *flag.FlagSet) any
	run      func(ctx context.Context, e *env, opts any, args []string) int
	// args bounds the positional arguments.
	minArgs, maxArgs int
}

// env is one run's streams.
type env struct {
	stdout, stderr io.Writer
	name           string // the command's name, for messages
}

func (e *env) errorf(format string, a ...any) int {
	fmt.Fprintf(e.stderr, "heck %s: %s\n", e.name, fmt.Sprintf(format, a...))
	return ExitError
}

func commands() []*command {
	return []*command{
		serveCmd(), agentCmd(), validateCmd(), checkCmd(),
		targetsLsCmd(), targetsAddCmd(), targetsRmCmd(),
		silenceAddCmd(), silenceLsCmd(), silenceRmCmd(),
		poolsAddCmd(), poolsLsCmd(), poolsRmCmd(), pickCmd(), runCmd(), auditCmd(),
		notifiersAddCmd(), notifiersLsCmd(), notifiersRmCmd(), notifiersTestCmd(),
		statusCmd(), transitionsCmd(), eventsCmd(), membersCmd(), joinCmd(), leaveCmd(),
		keysLsCmd(), keysInstallCmd(), keysUseCmd(), keysRemoveCmd(), keysGenerateCmd(),
		storeMigrateCmd(), storeCopyCmd(),
		userAddCmd(), userLsCmd(), userRmCmd(), tokenCreateCmd(),
		versionCmd(), completionCmd(),
	}
}

// Main runs the command line args (without the program name) and returns
// the exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmds := commands()
	if len(args) == 0 {
		overview(stderr, cmds)
		return ExitError
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		if len(args) > 1 {
			return Main(ctx, append(args[1:], "--help"), stdout, stderr)
		}
		overview(stdout, cmds)
		return ExitOK
	case "-v", "--version":
		return Main(ctx, []string{"version"}, stdout, stderr)
	}
	cmd, rest := lookup(cmds, args)
	if cmd == nil {
		if group := subcommands(cmds, args[0]); len(group) > 0 {
			if len(args) > 1 && !strings.HasPrefix(args[1], "-") {
				fmt.Fprintf(stderr, "heck %s: unknown subcommand %q; use one of: %s\n", args[0], args[1], strings.Join(group, ", "))
				return ExitError
			}
			w, code := stderr, ExitError
			if len(args) > 1 && isHelp(args[1]) {
				w, code = stdout, ExitOK
			}
			fmt.Fprintf(w, "Usage: heck %s <subcommand> [flags]\n\nSubcommands:\n", args[0])
			for _, c := range cmds {
				if strings.HasPrefix(c.name, args[0]+" ") {
					fmt.Fprintf(w, "  %-14s %s\n", strings.TrimPrefix(c.name, args[0]+" "), c.synopsis)
				}
			}
			return code
		}
		fmt.Fprintf(stderr, "heck: unknown command %q%s; run 'heck --help' for the list\n", args[0], suggest(args[0], cmds))
		return ExitError
	}
	return cmd.execute(ctx, rest, stdout, stderr)
}

// lookup finds the command args name, two-word commands first
// ("targets ls"), then one-word, and returns it with the arguments after
// its name; nil when none has that name.
func lookup(cmds []*command, args []string) (*command, []string) {
	if len(args) == 0 {
		return nil, nil
	}
	for _, c := range cmds {
		if len(args) > 1 && c.name == args[0]+" "+args[1] {
			return c, args[2:]
		}
	}
	for _, c := range cmds {
		if c.name == args[0] {
			return c, args[1:]
		}
	}
	return nil, nil
}

// flagSet is a fresh flag set of the command and the options it fills.
func (c *command) flagSet() (*flag.FlagSet, any) {
	fs := flag.NewFlagSet("heck "+c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var opts any
	if c.flags != nil {
		opts = c.flags(fs)
	}
	return fs, opts
}

// parse parses args (after the command's name) as the command would,
// without running it: the options and the positional arguments, or a
// usage error.
func (c *command) parse(args []string) (*flag.FlagSet, any, []string, error) {
	fs, opts := c.flagSet()
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return fs, opts, nil, err
	}
	if len(pos) < c.minArgs {
		return fs, opts, pos, errMissingArg
	}
	if c.maxArgs >= 0 && len(pos) > c.maxArgs {
		return fs, opts, pos, errTooManyArgs
	}
	return fs, opts, pos, nil
}

var (
	errMissingArg  = errors.New("missing argument")
	errTooManyArgs = errors.New("too many arguments")
)

func isHelp(a string) bool { return a == "-h" || a == "-help" || a == "--help" || a == "help" }

func subcommands(cmds []*command, group string) []string {
	var out []string
	for _, c := range cmds {
		if sub, ok := strings.CutPrefix(c.name, group+" "); ok {
			out = append(out, sub)
		}
	}
	return out
}

func suggest(name string, cmds []*command) string {
	for _, c := range cmds {
		first, _, _ := strings.Cut(c.name, " ")
		if strings.HasPrefix(first, name) || strings.HasPrefix(name, first) {
			return fmt.Sprintf(" (did you mean %q?)", first)
		}
	}
	return ""
}

func overview(w io.Writer, cmds []*command) {
	fmt.Fprint(w, `heck is a distributed health checker.

Usage: heck <command> [flags]

Commands:
`)
	for _, c := range cmds {
		fmt.Fprintf(w, "  %-14s %s\n", c.name, c.synopsis)
	}
	fmt.Fprint(w, `
Run 'heck <command> --help' for a command's flags.
Exit codes: 0 ok, 1 a check failed or (status --check) a target is down,
2 usage or other error.
`)
}

func (c *command) printUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: %s\n\n%s\n", c.usage, strings.TrimSpace(c.help))
	var any bool
	fs.VisitAll(func(*flag.Flag) { any = true })
	if !any {
		return
	}
	fmt.Fprint(w, "\nFlags:\n")
	var lines []string
	fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		dash := "--"
		if len(f.Name) == 1 {
			dash = "-"
		}
		l := "  " + dash + f.Name
		if name != "" {
			l += " " + name
		}
		l += "\n      " + usage
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "0s" && f.DefValue != "[]" {
			l += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		lines = append(lines, l)
	})
	sort.Strings(lines)
	fmt.Fprintln(w, strings.Join(lines, "\n"))
}

func (c *command) execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	e := &env{stdout: stdout, stderr: stderr, name: c.name}
	fs, opts, pos, err := c.parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		c.printUsage(stdout, fs)
		return ExitOK
	case errors.Is(err, errMissingArg), errors.Is(err, errTooManyArgs):
		fmt.Fprintf(stderr, "heck %s: %s\nUsage: %s\nRun 'heck %s --help' for more.\n", c.name, err, c.usage, c.name)
		return ExitError
	case err != nil:
		fmt.Fprintf(stderr, "heck %s: %s\nRun 'heck %s --help' for usage.\n", c.name, flagError(err), c.name)
		return ExitError
	}
	return c.run(ctx, e, opts, pos)
}

// parseInterspersed parses flags found anywhere among args, returning the
// positional arguments; "--" ends the flags.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		// fs.Parse stops at the first non-flag, or after "--".
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// flagError rewrites the flag package's errors to name the flag and say
// the fix.
func flagError(err error) string {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok {
		return fmt.Sprintf("unknown flag %s", dashed(name))
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: "); ok {
		name = dashed(name)
		return fmt.Sprintf("flag %s needs a value; write %s VALUE", name, name)
	}
	// invalid value "x" for flag -timeout: parse error
	for _, prefix := range []string{"invalid value ", "invalid boolean value "} {
		rest, ok := strings.CutPrefix(msg, prefix)
		if !ok {
			continue
		}
		q, err := strconv.QuotedPrefix(rest)
		if err != nil {
			break
		}
		if r2, ok := strings.CutPrefix(rest[len(q):], " for flag -"); ok {
			name, why, _ := strings.Cut(r2, ": ")
			return fmt.Sprintf("flag %s: invalid value %s: %s", dashed(name), q, cleanWhy(why))
		}
	}
	return msg
}

// dashed writes a flag name as users type it: -o, --timeout.
func dashed(name string) string {
	name = strings.TrimLeft(name, "-")
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

func cleanWhy(why string) string {
	switch {
	case strings.Contains(why, "parse error"):
		return "want a number"
	case strings.Contains(why, "value out of range"):
		return "the number is out of range"
	case why == "":
		return "is not valid"
	}
	return why
}

// durationFlag is a duration flag that also takes "30d".
type durationFlag struct{ d *time.Duration }

func (f durationFlag) String() string {
	if f.d == nil {
		return ""
	}
	return f.d.String()
}

func (f durationFlag) Set(s string) error {
	d, err := parseDuration(s)
	if err != nil {
		return err
	}
	*f.d = d
	return nil
}

// listFlag collects a repeatable flag; each value may hold several items
// separated by commas when split is set.
type listFlag struct {
	vals  *[]string
	split bool
}

func (f listFlag) String() string {
	if f.vals == nil {
		return ""
	}
	return strings.Join(*f.vals, ",")
}

func (f listFlag) Set(s string) error {
	if !f.split {
		*f.vals = append(*f.vals, s)
		return nil
	}
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*f.vals = append(*f.vals, p)
		}
	}
	return nil
}

// output is the -o flag.
type output string

func (o *output) String() string { return string(*o) }

func (o *output) Set(s string) error {
	switch s {
	case "table", "text", "":
		*o = "table"
	case "json":
		*o = "json"
	default:
		return errors.New("use -o json or -o table")
	}
	return nil
}

func (o output) json() bool { return o == "json" }

func outputFlag(fs *flag.FlagSet, o *output) {
	*o = "table"
	fs.Var(o, "o", "output `format`: table or json")
	fs.Var(o, "output", "output `format`: table or json (same as -o)")
}
