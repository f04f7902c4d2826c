package cli

import (
	"context"
	"flag"
	"fmt"

	"github.com/heckhq/heck/internal/client"
)

// rmSpec describes a "heck GROUP rm" command.
type rmSpec struct {
	name, synopsis, usage, help string
	// del deletes one object on the node.
	del func(c *client.Client, ctx context.Context, id string) error
	// removed and missing format the line for an object removed, and the
	// error for one that does not exist (with the id as the one verb).
	removed, missing string
}

// rmCmd is "heck GROUP rm ID...": it deletes each object named on the node
// at --server, exits 2 if any does not exist, and with -o json prints
// {"removed": true|false}.
func rmCmd(s rmSpec) *command {
	return &command{
		name: s.name, synopsis: s.synopsis, usage: s.usage, help: s.help,
		minArgs: 1, maxArgs: -1,
		flags: func(fs *flag.FlagSet) any {
			o := &rmOpts{}
			o.register(fs)
			return o
		},
		run: func(ctx context.Context, e *env, opts any, args []string) int {
			o := opts.(*rmOpts)
			c, err := o.client()
			if err != nil {
				return e.errorf("%v", err)
			}
			code := ExitOK
			for _, id := range args {
				if err := s.del(c, ctx, id); err != nil {
					if client.IsNotFound(err) {
						code = e.errorf(s.missing, id)
						continue
					}
					return e.apiError(c, err, nil)
				}
				if !o.out.json() {
					fmt.Fprintf(e.stdout, s.removed+"\n", id)
				}
			}
			if o.out.json() {
				_ = writeJSON(e.stdout, map[string]any{"removed": code == ExitOK})
			}
			return code
		},
	}
}
