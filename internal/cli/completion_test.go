package cli_test

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestCompletionCoversTheCLI: every script names every command,
// subcommand and flag the CLI parses (taken from the overview and each
// command's --help), and an unknown shell is a usage error.
func TestCompletionCoversTheCLI(t *testing.T) {
	over := heck(t, "--help").stdout
	var cmds []string
	inCmds := false
	for _, l := range strings.Split(over, "\n") {
		if l == "Commands:" {
			inCmds = true
			continue
		}
		if inCmds {
			if strings.TrimSpace(l) == "" {
				break
			}
			f := strings.Fields(l)
			name := f[0]
			if len(f) > 1 && (name == "targets" || name == "keys") {
				name += " " + f[1]
			}
			cmds = append(cmds, name)
		}
	}
	if len(cmds) < 10 {
		t.Fatalf("found %d commands in heck --help", len(cmds))
	}
	for _, sh := range []string{"bash", "zsh", "fish"} {
		r := heck(t, "completion", sh)
		if r.code != 0 || r.stdout == "" {
			t.Fatalf("completion %s: exit %d %s", sh, r.code, r.stderr)
		}
		for _, c := range cmds {
			for _, w := range strings.Fields(c) {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("completion %s lacks command word %q", sh, w)
				}
			}
			for _, f := range helpFlags(t, c) {
				name := f
				if sh == "fish" {
					name = strings.TrimLeft(f, "-")
				}
				if !strings.Contains(r.stdout, name) {
					t.Errorf("completion %s lacks %s of heck %s", sh, f, c)
				}
			}
		}
	}
	usageError(t, heck(t, "completion", "powershell"), `unknown shell "powershell"`, "bash, zsh or fish")
	usageError(t, heck(t, "completion"), "missing argument")
}

// helpFlags are the flags heck CMD --help lists.
func helpFlags(t *testing.T, cmd string) []string {
	t.Helper()
	r := heck(t, append(strings.Fields(cmd), "--help")...)
	var out []string
	for _, l := range strings.Split(r.stdout, "\n") {
		if strings.HasPrefix(l, "  -") {
			out = append(out, strings.Fields(l)[0])
		}
	}
	return out
}

// shell runs script in the named shell, skipping when it is not here.
func shell(t *testing.T, sh string, args ...string) string {
	t.Helper()
	path, err := exec.LookPath(sh)
	if err != nil {
		t.Skipf("%s is not installed", sh)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", sh, args, err, out)
	}
	return string(out)
}

// TestCompletionScriptsParse checks each script with its shell's syntax
// check (bash -n, zsh -n, fish --no-execute) where that shell exists.
func TestCompletionScriptsParse(t *testing.T) {
	for sh, check := range map[string][]string{"bash": {"-n"}, "zsh": {"-n"}, "fish": {"--no-execute"}} {
		t.Run(sh, func(t *testing.T) {
			file := t.TempDir() + "/heck." + sh
			writeFile(t, file, heck(t, "completion", sh).stdout)
			shell(t, sh, append(check, file)...)
		})
	}
}

// TestBashCompletionCompletes loads the bash script and asks it what
// follows a few command lines, as bash would on Tab.
func TestBashCompletionCompletes(t *testing.T) {
	file := t.TempDir() + "/heck.bash"
	writeFile(t, file, heck(t, "completion", "bash").stdout)
	for _, c := range []struct {
		line string // words typed, the last one being completed
		want string // COMPREPLY, space-separated
	}{
		{"heck sta", "status"},
		{"heck targets ", "ls add rm"},
		{"bin/heck targets ls --st", "--state"},
		{"heck status --c", "--check"},
		{"heck serve --j", "--join"},
		{"heck completion ", "bash fish zsh"},
		{"heck keys re", "remove"},
	} {
		words := strings.Split(c.line, " ")
		script := "source " + file + "\nCOMP_WORDS=(" + quoteWords(words) + ")\nCOMP_CWORD=" +
			strconv.Itoa(len(words)-1) + "\n_heck\necho \"${COMPREPLY[*]}\"\n"
		got := strings.TrimSpace(shell(t, "bash", "-c", script))
		if got != c.want {
			t.Errorf("%q<Tab> = %q, want %q", c.line, got, c.want)
		}
	}
}

func quoteWords(ws []string) string {
	var q []string
	for _, w := range ws {
		q = append(q, "'"+strings.ReplaceAll(w, "'", `'\''`)+"'")
	}
	return strings.Join(q, " ")
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	must(t, os.WriteFile(path, []byte(data), 0o600))
}
