package cli

import (
	"errors"
	"flag"
	"fmt"
)

// Parse resolves args (without the program name) to a command and parses
// its flags and arguments as Main would, without running it or contacting
// a server: the command's name, or an error naming what does not parse.
func Parse(args []string) (string, error) {
	c, rest := lookup(commands(), args)
	if c == nil {
		return "", fmt.Errorf("unknown command %q", args)
	}
	if _, _, _, err := c.parse(rest); err != nil && !errors.Is(err, flag.ErrHelp) {
		return c.name, fmt.Errorf("heck %s: %s", c.name, flagError(err))
	}
	return c.name, nil
}
