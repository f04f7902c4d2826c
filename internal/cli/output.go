package cli

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/heckhq/heck/internal/wire"

	"github.com/heckhq/heck/internal/client"
	"github.com/heckhq/heck/internal/target"
)

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func newTable(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0) }

// clientOpts are the flags of every API client command.
type clientOpts struct {
	server, token string
	out           output
}

func (o *clientOpts) register(fs *flag.FlagSet) {
	fs.StringVar(&o.server, "server", "", "`URL` of a heck node's API (default $HECK_SERVER or "+client.DefaultServer+")")
	fs.StringVar(&o.token, "token", "", "API bearer `TOKEN` (default $HECK_API_TOKEN)")
	outputFlag(fs, &o.out)
}

func (o *clientOpts) client() (*client.Client, error) {
	server := o.server
	if server == "" {
		server = os.Getenv("HECK_SERVER")
	}
	token := o.token
	if token == "" {
		token = os.Getenv("HECK_API_TOKEN")
	}
	c, err := client.New(server, token, nil)
	if err != nil {
		return nil, fmt.Errorf("--server: %w", err)
	}
	return c, nil
}

// apiError prints an error of the API (its problem details, with fields
// named as flags where flags set them) or of reaching it.
func (e *env) apiError(c *client.Client, err error, flagOf func(field string) string) int {
	var ae *client.Error
	if errors.As(err, &ae) {
		p := ae.Problem
		msg := p.Title
		if p.Detail != "" {
			msg += ": " + p.Detail
		}
		fmt.Fprintf(e.stderr, "heck %s: %s\n", e.name, msg)
		for _, fe := range p.Errors {
			name := fe.Field
			if flagOf != nil {
				if f := flagOf(fe.Field); f != "" {
					name = f + " (" + fe.Field + ")"
				}
			}
			fe.Field = name
			fmt.Fprintf(e.stderr, "  %s\n", fe.String())
		}
		if ae.StatusCode == 401 || ae.StatusCode == 403 {
			fmt.Fprintf(e.stderr, "  pass the node's api.token or a user's token (heck token create) with --token or HECK_API_TOKEN\n")
		}
		return ExitError
	}
	var ne net.Error
	var oe *net.OpError
	if errors.As(err, &oe) || errors.As(err, &ne) {
		return e.errorf("cannot reach the heck API at %s: %v\n  start a node with 'heck serve', or point --server (or HECK_SERVER) at one", c.BaseURL(), err)
	}
	return e.errorf("%v", err)
}

// where is the host a target probes: its URL or address.
func where(s target.Spec) string {
	if s.URL != "" {
		return s.URL
	}
	return s.Address
}

func ago(t time.Time, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := now.Sub(t).Round(time.Second)
	switch {
	case d < 0:
		return t.Format(time.RFC3339)
	case d < time.Minute:
		return d.String() + " ago"
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%dm ago", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd ago", int(d.Hours()/24))
}

func latency(r *wire.Result) string {
	if r == nil {
		return "-"
	}
	return fmtLatency(r.Latency)
}

func fmtLatency(d time.Duration) string {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	}
	return d.Round(time.Microsecond).String()
}

// oneLine shortens s to a table cell.
func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > max {
		s = s[:max-3] + "..."
	}
	if s == "" {
		return "-"
	}
	return s
}

func parseDuration(s string) (time.Duration, error) {
	d, err := target.ParseDuration(s)
	if err != nil {
		return 0, errors.New("want a duration such as 1s, 500ms, 2m or 30d")
	}
	return d, nil
}
