package cli

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/heckhq/heck/internal/wire"

	"github.com/heckhq/heck/internal/cluster/gossipkey"

	"github.com/heckhq/heck/internal/client"
)

// Stdin is where `heck keys install -` (use, remove) reads the key; main
// may leave it as os.Stdin, tests set it.
var Stdin io.Reader = os.Stdin

// keysOpts are the flags of the keys commands.
type keysOpts struct {
	clientOpts
	all, force bool
}

func (o *keysOpts) register(fs *flag.FlagSet, change bool) {
	o.clientOpts.register(fs)
	fs.BoolVar(&o.all, "all", false, "apply to every alive member (found with GET /api/v1/members on --server, reached at each one's api_addr with the same token)")
	if change {
		fs.BoolVar(&o.force, "force", false, "with --all, skip the check that the change is safe for the whole cluster")
	}
}

const keyArgHelp = `
KEY is the base64 of a 16, 24 or 32-byte key (make one with 'heck keys
generate'). Write - to read it from the first line of standard input, so it
stays out of the shell history:

    heck keys generate > new.key
    heck keys install - --all < new.key

The key is sent only in the request body and never printed: output names a
key by its fingerprint (the first 8 bytes of its SHA-256, in hex).`

const allHelp = `
With --all, heck lists the members of the node at --server and applies the
command to every alive one, at its api_addr with the same --token; it prints
one line per node and exits 1 if any node failed (0 when all succeeded).`

func keysLsCmd() *command {
	return &command{
		name:     "keys ls",
		synopsis: "list a node's gossip encryption keys",
		usage:    "heck keys ls [--all] [-o json] [--server URL]",
		help: `
Lists the gossip encryption keys installed on the node at --server, by
fingerprint, the primary (encrypting) key first. A node gossiping without
encryption lists none. -o json prints a JSON array of {"fingerprint",
"primary"}; with --all, an array of {"node", "api_addr", "keys"} (and "error"
for a node that failed), and a note on standard error when the nodes'
keyrings differ.` + allHelp,
		maxArgs: 0,
		flags: func(fs *flag.FlagSet) any {
			o := &keysOpts{}
			o.register(fs, false)
			return o
		},
		run: runKeysLs,
	}
}

func keyChangeCmd(verb, synopsis, help string) *command {
	return &command{
		name:     "keys " + verb,
		synopsis: synopsis,
		usage:    "heck keys " + verb + " KEY|- [--all] [--force] [-o json] [--server URL]",
		help:     strings.TrimSpace(help) + "\n" + keyArgHelp + "\n" + allHelp,
		minArgs:  1, maxArgs: 1,
		flags: func(fs *flag.FlagSet) any {
			o := &keysOpts{}
			o.register(fs, true)
			return o
		},
		run: func(ctx context.Context, e *env, opts any, args []string) int {
			return runKeyChange(ctx, e, opts.(*keysOpts), verb, args[0])
		},
	}
}

func keysInstallCmd() *command {
	return keyChangeCmd("install", "install a gossip key (it decrypts at once)", `
Installs KEY in the gossip keyring of the node at --server (every alive
member with --all). An installed key decrypts at once; 'heck keys use' makes
it the one that encrypts. Rotation: install the new key on every node, use it
on every node, remove the old one (see docs/keys.md).`)
}

func keysUseCmd() *command {
	return keyChangeCmd("use", "make an installed gossip key the one that encrypts", `
Makes KEY, already installed, the primary key of the node at --server (every
alive member with --all): the one it encrypts its gossip with. With --all,
heck first checks that every alive member has KEY installed and refuses
otherwise (--force skips the check), since a member without it could not
read the others.`)
}

func keysRemoveCmd() *command {
	return keyChangeCmd("remove", "remove a gossip key that is not primary", `
Removes KEY from the gossip keyring of the node at --server (every alive
member with --all). The primary key cannot be removed: use another key first.
Removing a key that is not installed changes nothing. With --all, heck first
checks that no alive member still encrypts with KEY and refuses otherwise
(--force skips the check), since the others could no longer read it.`)
}

type generateOpts struct{ bytes int }

func keysGenerateCmd() *command {
	return &command{
		name:     "keys generate",
		synopsis: "print a new random gossip key",
		usage:    "heck keys generate [--bytes 32]",
		help: `
Prints a new random key (from the system's secure random source) in base64,
for cluster.keys or 'heck keys install'. Nothing else is printed, so the
output can go straight to a file or a secret:

    heck keys generate > new.key`,
		maxArgs: 0,
		flags: func(fs *flag.FlagSet) any {
			o := &generateOpts{}
			fs.IntVar(&o.bytes, "bytes", 32, "key size in `N` bytes: 16, 24 or 32 (AES-128, -192, -256)")
			return o
		},
		run: runKeysGenerate,
	}
}

func runKeysGenerate(_ context.Context, e *env, opts any, _ []string) int {
	o := opts.(*generateOpts)
	switch o.bytes {
	case 16, 24, 32:
	default:
		return e.errorf("flag --bytes: %d is not a key size; use 16, 24 or 32", o.bytes)
	}
	k := make([]byte, o.bytes)
	if _, err := rand.Read(k); err != nil {
		return e.errorf("read random bytes: %v", err)
	}
	fmt.Fprintln(e.stdout, base64.StdEncoding.EncodeToString(k))
	return ExitOK
}

// readKey decodes the KEY argument, reading the first line of Stdin when
// it is "-". Errors never contain the key.
func readKey(arg string) ([]byte, error) {
	src := "KEY"
	if arg == "-" {
		src = "the key read from standard input"
		line, err := bufio.NewReaderSize(io.LimitReader(Stdin, 4096), 4096).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("read the key from standard input: %w", err)
		}
		arg = line
		if strings.TrimSpace(arg) == "" {
			return nil, errors.New("KEY is -, but standard input is empty; pipe the key in (heck keys install - < new.key)")
		}
	}
	k, err := gossipkey.Parse(arg)
	if err != nil {
		return nil, fmt.Errorf("%s %v; give the base64 of a 16, 24 or 32-byte key (heck keys generate makes one)", src, err)
	}
	return k, nil
}

// nodeResult is the outcome of a command on one node.
type nodeResult struct {
	Node    string            `json:"node"`
	APIAddr string            `json:"api_addr,omitempty"`
	Keys    []wire.KeyInfo    `json:"keys,omitempty"`
	Result  *wire.KeyResponse `json:"result,omitempty"`
	Skipped string            `json:"skipped,omitempty"`
	Error   string            `json:"error,omitempty"`

	err error
}

// nodeTarget is one member to reach.
type nodeTarget struct {
	name, addr string
	c          *client.Client
	err        error  // the member cannot be reached: no usable api_addr
	skip       string // not alive: its state
}

// perNodeTimeout bounds one call to one member.
const perNodeTimeout = 15 * time.Second

// maxParallel bounds the members reached at once.
const maxParallel = 8

// clusterNodes lists the members of the node c points at, each with a client
// of its API.
func clusterNodes(ctx context.Context, c *client.Client) ([]nodeTarget, error) {
	ms, err := c.Members(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]nodeTarget, 0, len(ms))
	for _, m := range ms {
		t := nodeTarget{name: m.Name}
		if m.State != wire.MemberAlive {
			t.skip = m.State
			out = append(out, t)
			continue
		}
		t.addr, t.err = m.Reach()
		if t.err != nil {
			t.err = fmt.Errorf("%w; run the command on it with --server", t.err)
		}
		if t.err == nil {
			t.c, t.err = c.At(t.addr)
		}
		out = append(out, t)
	}
	return out, nil
}

// eachNode runs fn on every reachable alive member, a few at a time, and
// returns the results in member order.
func eachNode(ctx context.Context, nodes []nodeTarget, fn func(ctx context.Context, c *client.Client, r *nodeResult)) []nodeResult {
	res := make([]nodeResult, len(nodes))
	sem := make(chan struct{}, maxParallel)
	var wg sync.WaitGroup
	for i, n := range nodes {
		res[i] = nodeResult{Node: n.name, APIAddr: n.addr, Skipped: n.skip, err: n.err}
		if n.skip != "" || n.err != nil {
			continue
		}
		wg.Add(1)
		go func(n nodeTarget, r *nodeResult) {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				r.err = ctx.Err()
				return
			}
			defer func() { <-sem }()
			cctx, cancel := context.WithTimeout(ctx, perNodeTimeout)
			defer cancel()
			fn(cctx, n.c, r)
		}(n, &res[i])
	}
	wg.Wait()
	for i := range res {
		if res[i].err != nil {
			res[i].Error = errText(res[i].err)
		}
	}
	return res
}

// errText is an error on one line: an API problem's title and detail.
func errText(err error) string {
	var ae *client.Error
	if errors.As(err, &ae) {
		p := ae.Problem
		s := p.Title
		if p.Detail != "" {
			s += ": " + p.Detail
		}
		for _, fe := range p.Errors {
			s += "; " + fe.String()
		}
		if ae.StatusCode == 401 || ae.StatusCode == 403 {
			s += " (pass the api.token with --token or HECK_API_TOKEN; --all sends the same token to every node)"
		}
		return s
	}
	return err.Error()
}

func runKeysLs(ctx context.Context, e *env, opts any, _ []string) int {
	o := opts.(*keysOpts)
	c, err := o.client()
	if err != nil {
		return e.errorf("%v", err)
	}
	if !o.all {
		ks, err := c.Keys(ctx)
		if err != nil {
			return e.apiError(c, err, keyField)
		}
		if ks == nil {
			ks = []wire.KeyInfo{}
		}
		if o.out.json() {
			if err := writeJSON(e.stdout, ks); err != nil {
				return e.errorf("%v", err)
			}
			return ExitOK
		}
		printKeyTable(e.stdout, "", ks)
		return ExitOK
	}
	nodes, err := clusterNodes(ctx, c)
	if err != nil {
		return e.apiError(c, err, nil)
	}
	res := eachNode(ctx, nodes, func(ctx context.Context, c *client.Client, r *nodeResult) {
		r.Keys, r.err = c.Keys(ctx)
		if r.err == nil && r.Keys == nil {
			r.Keys = []wire.KeyInfo{}
		}
	})
	if o.out.json() {
		if err := writeJSON(e.stdout, res); err != nil {
			return e.errorf("%v", err)
		}
	} else {
		tw := newTable(e.stdout)
		fmt.Fprintln(tw, "NODE\tFINGERPRINT\tPRIMARY")
		for _, r := range res {
			switch {
			case r.Skipped != "":
				fmt.Fprintf(tw, "%s\t-\tskipped (%s)\n", r.Node, r.Skipped)
			case r.err != nil:
				fmt.Fprintf(tw, "%s\t-\tFAILED: %s\n", r.Node, oneLine(r.Error, 200))
			case len(r.Keys) == 0:
				fmt.Fprintf(tw, "%s\t-\tno keys (encryption off)\n", r.Node)
			}
			for _, k := range r.Keys {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Node, k.Fingerprint, yesNo(k.Primary))
			}
		}
		_ = tw.Flush()
	}
	if differ := keyringsDiffer(res); differ != "" {
		fmt.Fprintf(e.stderr, "heck %s: note: %s\n", e.name, differ)
	}
	return summarize(e, res, "list keys", o.out.json())
}

// keyringsDiffer says how the listed keyrings differ, or "".
func keyringsDiffer(res []nodeResult) string {
	var first *nodeResult
	for i := range res {
		r := &res[i]
		if r.Skipped != "" || r.err != nil {
			continue
		}
		if first == nil {
			first = r
			continue
		}
		if keySig(r.Keys) != keySig(first.Keys) {
			return fmt.Sprintf("the keyrings differ (%s has %s; %s has %s): finish the rotation (docs/keys.md)",
				first.Node, keySig(first.Keys), r.Node, keySig(r.Keys))
		}
	}
	return ""
}

// keySig describes a keyring: its fingerprints, sorted, the primary
// marked with a *.
func keySig(ks []wire.KeyInfo) string {
	parts := make([]string, 0, len(ks))
	for _, k := range ks {
		p := k.Fingerprint
		if k.Primary {
			p += "*"
		}
		parts = append(parts, p)
	}
	sort.Strings(parts)
	if len(parts) == 0 {
		return "no keys"
	}
	return strings.Join(parts, ",")
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func printKeyTable(w io.Writer, node string, ks []wire.KeyInfo) {
	tw := newTable(w)
	fmt.Fprintln(tw, "FINGERPRINT\tPRIMARY")
	for _, k := range ks {
		fmt.Fprintf(tw, "%s\t%s\n", k.Fingerprint, yesNo(k.Primary))
	}
	_ = tw.Flush()
	if len(ks) == 0 {
		fmt.Fprintf(w, "no keys: %sgossip is not encrypted (set cluster.keys to encrypt it)\n", node)
	}
}

// keyField names the KEY argument in a problem about field "key".
func keyField(field string) string {
	if field == "key" {
		return "KEY"
	}
	return ""
}

// pastTense of each change, for messages.
var pastTense = map[string]string{"install": "installed", "use": "now using", "remove": "removed"}

func runKeyChange(ctx context.Context, e *env, o *keysOpts, verb, arg string) int {
	key, err := readKey(arg)
	if err != nil {
		return e.errorf("%v", err)
	}
	c, err := o.client()
	if err != nil {
		return e.errorf("%v", err)
	}
	fp := gossipkey.Fingerprint(key)
	op := map[string]func(*client.Client, context.Context, []byte) (wire.KeyResponse, error){
		"install": (*client.Client).InstallKey, "use": (*client.Client).UseKey, "remove": (*client.Client).RemoveKey,
	}[verb]
	if !o.all {
		kr, err := op(c, ctx, key)
		if err != nil {
			return e.apiError(c, err, keyField)
		}
		if o.out.json() {
			if err := writeJSON(e.stdout, kr); err != nil {
				return e.errorf("%v", err)
			}
			return ExitOK
		}
		fmt.Fprintf(e.stdout, "%s\n", changeLine(verb, kr))
		printKeyTable(e.stdout, "", kr.Keys)
		return ExitOK
	}
	nodes, err := clusterNodes(ctx, c)
	if err != nil {
		return e.apiError(c, err, nil)
	}
	if (verb == "use" || verb == "remove") && !o.force {
		if msg := preflight(ctx, nodes, verb, fp); msg != "" {
			fmt.Fprintf(e.stderr, "heck %s: refused, nothing changed: %s\n", e.name, msg)
			return ExitFail
		}
	}
	res := eachNode(ctx, nodes, func(ctx context.Context, c *client.Client, r *nodeResult) {
		kr, err := op(c, ctx, key)
		if err != nil {
			r.err = err
			return
		}
		r.Result = &kr
	})
	if o.out.json() {
		if err := writeJSON(e.stdout, res); err != nil {
			return e.errorf("%v", err)
		}
	} else {
		for _, r := range res {
			switch {
			case r.Skipped != "":
				fmt.Fprintf(e.stdout, "%s: skipped (%s)\n", r.Node, r.Skipped)
			case r.err != nil:
				fmt.Fprintf(e.stdout, "%s: FAILED: %s\n", nodeLabel(r), r.Error)
			default:
				fmt.Fprintf(e.stdout, "%s: %s\n", nodeLabel(r), changeLine(verb, *r.Result))
			}
		}
	}
	return summarize(e, res, verb+" key "+fp, o.out.json())
}

func nodeLabel(r nodeResult) string {
	if r.APIAddr == "" {
		return r.Node
	}
	return r.Node + " (" + r.APIAddr + ")"
}

// changeLine says what a change did.
func changeLine(verb string, kr wire.KeyResponse) string {
	s := pastTense[verb] + " key " + kr.Fingerprint
	if !kr.Changed {
		switch verb {
		case "install":
			s = "key " + kr.Fingerprint + " was already installed"
		case "use":
			s = "key " + kr.Fingerprint + " was already primary"
		case "remove":
			s = "key " + kr.Fingerprint + " was not installed"
		}
	}
	return s + "; keys: " + keySig(kr.Keys) + " (* primary)"
}

// preflight checks, before a use or remove on every node, that it cannot
// cut a node off: every alive member has the key to use; none encrypts
// with the key to remove. It returns why it refuses, or "".
func preflight(ctx context.Context, nodes []nodeTarget, verb, fp string) string {
	res := eachNode(ctx, nodes, func(ctx context.Context, c *client.Client, r *nodeResult) {
		r.Keys, r.err = c.Keys(ctx)
	})
	var bad []string
	for _, r := range res {
		if r.Skipped != "" {
			continue
		}
		if r.err != nil {
			bad = append(bad, r.Node+" (cannot list its keys: "+r.Error+")")
			continue
		}
		has, primary := false, false
		for _, k := range r.Keys {
			if k.Fingerprint == fp {
				has, primary = true, k.Primary
			}
		}
		switch {
		case verb == "use" && !has && len(r.Keys) > 0:
			bad = append(bad, r.Node+" (key not installed)")
		case verb == "remove" && primary:
			bad = append(bad, r.Node+" (still encrypts with it)")
		}
	}
	if len(bad) == 0 {
		return ""
	}
	fix := "install it there first (heck keys install KEY --all)"
	if verb == "remove" {
		fix = "make the new key primary there first (heck keys use NEWKEY --all)"
	}
	return fmt.Sprintf("key %s cannot be %s safely on every node: %s; %s, or pass --force",
		fp, map[string]string{"use": "used", "remove": "removed"}[verb], strings.Join(bad, ", "), fix)
}

// summarize prints the outcome of an --all command on standard error and
// returns its exit code: 1 when any node failed.
func summarize(e *env, res []nodeResult, what string, quiet bool) int {
	var ok, failed, skipped int
	for _, r := range res {
		switch {
		case r.Skipped != "":
			skipped++
		case r.err != nil:
			failed++
		default:
			ok++
		}
	}
	if failed > 0 {
		fmt.Fprintf(e.stderr, "heck %s: %s failed on %d of %d alive node(s); fix them and run the command again (it is safe to repeat)\n",
			e.name, what, failed, ok+failed)
		return ExitFail
	}
	if !quiet {
		msg := fmt.Sprintf("%s: ok on %d node(s)", what, ok)
		if skipped > 0 {
			msg += fmt.Sprintf(", %d not alive skipped (see docs/keys.md for a node that was down)", skipped)
		}
		fmt.Fprintf(e.stderr, "%s\n", msg)
	}
	return ExitOK
}
