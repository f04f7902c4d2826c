package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/heckhq/heck/internal/client"
	"github.com/heckhq/heck/internal/user"
	"github.com/heckhq/heck/internal/wire"
)

// readPassword reads a password: with a no-echo prompt on the terminal
// (twice when confirm), else the first line of Stdin.
func readPassword(e *env, prompt string, confirm bool) (string, error) {
	if f, ok := Stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(e.stderr, prompt)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(e.stderr)
		if err != nil {
			return "", fmt.Errorf("read the password: %w", err)
		}
		if confirm {
			fmt.Fprint(e.stderr, "Again: ")
			b2, err := term.ReadPassword(int(f.Fd()))
			fmt.Fprintln(e.stderr)
			if err != nil {
				return "", fmt.Errorf("read the password: %w", err)
			}
			if string(b) != string(b2) {
				return "", errors.New("the passwords differ; try again")
			}
		}
		return string(b), nil
	}
	line, err := bufio.NewReaderSize(io.LimitReader(Stdin, user.MaxPassword+2), 4096).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read the password from standard input: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", errors.New("no password on standard input; pipe one line (echo \"$PW\" | heck ...) or run on a terminal to be prompted")
	}
	return pw, nil
}

// userFlag names the flag of a user request field.
func userFlag(field string) string {
	switch field {
	case "name", "role", "user":
		return "--" + field
	case "password":
		return "the password"
	}
	return ""
}

// --- user add ---

type userAddOpts struct {
	clientOpts
	name, role string
	invite     bool
}

func userAddCmd() *command {
	return &command{
		name:     "user add",
		synopsis: "add a user (the first one makes the first admin), or invite one",
		usage:    "heck user add --name NAME --role admin|editor|viewer [--invite] [--server URL] [--token TOKEN]",
		help: `
Adds a user on the node at --server; users replicate to every node. The
password is read from a prompt that does not echo (twice), or from the
first line of standard input when it is not a terminal.

On a fresh node listening on loopback without api.token, changes are open
until the first user exists: run this there to create the first admin,
then 'heck token create --user NAME' for a token. After that, adding a
user needs an admin's token (--token or HECK_API_TOKEN), or api.token.

--invite reads no password: it prints a one-time invite token (valid 7
days) for the invitee to set their password with in the web UI.`,
		maxArgs: 0,
		flags: func(fs *flag.FlagSet) any {
			o := &userAddOpts{}
			o.register(fs)
			fs.StringVar(&o.name, "name", "", "the user's `NAME`")
			fs.StringVar(&o.role, "role", "", "the user's `ROLE`: admin, editor or viewer")
			fs.BoolVar(&o.invite, "invite", false, "invite the user: print an invite token instead of reading a password")
			return o
		},
		run: runUserAdd,
	}
}

func runUserAdd(ctx context.Context, e *env, opts any, _ []string) int {
	o := opts.(*userAddOpts)
	if o.name == "" {
		return e.errorf("flag --name is missing; name the user, e.g. --name alice")
	}
	role, err := user.ParseRole(o.role)
	if err != nil {
		return e.errorf("flag --role: %q is not a role; use admin, editor or viewer", o.role)
	}
	c, err := o.client()
	if err != nil {
		return e.errorf("%v", err)
	}
	req := wire.UserRequest{Name: o.name, Role: role, Invite: o.invite}
	if !o.invite {
		if req.Password, err = readPassword(e, "Password for "+o.name+": ", true); err != nil {
			return e.errorf("%v", err)
		}
	}
	resp, err := c.AddUser(ctx, req)
	if err != nil {
		return e.apiError(c, err, userFlag)
	}
	if o.out.json() {
		if err := writeJSON(e.stdout, resp); err != nil {
			return e.errorf("%v", err)
		}
		return ExitOK
	}
	if o.invite {
		fmt.Fprintf(e.stdout, "invited %s as %s; hand them this invite token (valid 7 days, once):\n%s\n", o.name, role, resp.InviteToken)
		return ExitOK
	}
	fmt.Fprintf(e.stdout, "added user %s as %s\n", resp.User.Name, resp.User.Role)
	return ExitOK
}

// --- user ls ---

type userLsOpts struct{ clientOpts }

func userLsCmd() *command {
	return &command{
		name:     "user ls",
		synopsis: "list users",
		usage:    "heck user ls [-o json] [--server URL] [--token TOKEN]",
		help: `
Lists the users (every node knows them all) with their role, and invited
users who have not set a password yet as pending. Needs an admin's token.
-o json prints a JSON array of user objects (name, role, created,
created_by, disabled, pending); never a password hash.`,
		maxArgs: 0,
		flags: func(fs *flag.FlagSet) any {
			o := &userLsOpts{}
			o.register(fs)
			return o
		},
		run: func(ctx context.Context, e *env, opts any, _ []string) int {
			o := opts.(*userLsOpts)
			c, err := o.client()
			if err != nil {
				return e.errorf("%v", err)
			}
			us, err := c.Users(ctx)
			if err != nil {
				return e.apiError(c, err, nil)
			}
			if o.out.json() {
				if us == nil {
					us = []user.User{}
				}
				if err := writeJSON(e.stdout, us); err != nil {
					return e.errorf("%v", err)
				}
				return ExitOK
			}
			if len(us) == 0 {
				fmt.Fprintln(e.stdout, "no users; add the first admin with 'heck user add --name NAME --role admin'")
				return ExitOK
			}
			tw := newTable(e.stdout)
			fmt.Fprintln(tw, "NAME\tROLE\tSTATE\tCREATED\tBY")
			for _, u := range us {
				state := "active"
				switch {
				case u.Pending:
					state = "invited"
				case u.Disabled:
					state = "disabled"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.Name, u.Role, state, u.Created.Local().Format(time.RFC3339), u.CreatedBy)
			}
			_ = tw.Flush()
			return ExitOK
		},
	}
}

// --- user rm ---

func userRmCmd() *command {
	return rmCmd(rmSpec{name: "user rm", synopsis: "remove users", usage: "heck user rm NAME [NAME...] [--server URL] [--token TOKEN]",
		help: "Removes each user named, with their tokens, on every node; their sessions end. The last admin cannot be removed.",
		del:  (*client.Client).DeleteUser, removed: "removed user %s", missing: "no user is named %q; list them with 'heck user ls'"})
}

// --- token create ---

type tokenCreateOpts struct {
	clientOpts
	user, name string
}

func tokenCreateCmd() *command {
	return &command{
		name:     "token create",
		synopsis: "create an API token for a user (printed once)",
		usage:    "heck token create --user NAME [--name TEXT] [--server URL] [--token TOKEN]",
		help: `
Creates an API token that acts as the user, and prints it once: the node
keeps only its SHA-256. Use it as --token or HECK_API_TOKEN with every
command, or as "Authorization: Bearer <token>" with the API.

Without --token (or HECK_API_TOKEN), the command asks for the user's
password (a prompt, or the first line of standard input) and creates the
token with it: this is how the first admin gets their first token. A user
may create tokens for themselves; for others, an admin's token is needed.`,
		maxArgs: 0,
		flags: func(fs *flag.FlagSet) any {
			o := &tokenCreateOpts{}
			o.register(fs)
			fs.StringVar(&o.user, "user", "", "the user `NAME` the token acts as")
			fs.StringVar(&o.name, "name", "", "what the token is for (`TEXT`, e.g. ci)")
			return o
		},
		run: runTokenCreate,
	}
}

func runTokenCreate(ctx context.Context, e *env, opts any, _ []string) int {
	o := opts.(*tokenCreateOpts)
	if o.user == "" {
		return e.errorf("flag --user is missing; name the user the token acts as, e.g. --user alice")
	}
	c, err := o.client()
	if err != nil {
		return e.errorf("%v", err)
	}
	if o.token == "" && os.Getenv("HECK_API_TOKEN") == "" {
		pw, err := readPassword(e, "Password for "+o.user+": ", false)
		if err != nil {
			return e.errorf("%v", err)
		}
		c = c.WithPassword(o.user, pw)
	}
	t, err := c.CreateToken(ctx, wire.TokenRequest{User: o.user, Name: o.name})
	if err != nil {
		return e.apiError(c, err, userFlag)
	}
	if o.out.json() {
		if err := writeJSON(e.stdout, t); err != nil {
			return e.errorf("%v", err)
		}
		return ExitOK
	}
	fmt.Fprintln(e.stdout, t.Secret)
	fmt.Fprintf(e.stderr, "token %s for %s: shown this once; keep it (HECK_API_TOKEN) or remove it with the API (DELETE /api/v1/tokens/%s)\n", t.ID, t.User, t.ID)
	return ExitOK
}
