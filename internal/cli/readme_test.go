package cli_test

import (
	"bufio"
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/heckhq/heck/internal/cli"
)

// readmeCommand is one heck command line found in a README code block.
type readmeCommand struct {
	line int
	text string
	args []string // after the program name
	prog string   // "bin/heck", "heck" or "go run ./cmd/heck"
}

// readmeCommands returns every heck command line of the README's fenced
// code blocks (comments and the prompt stripped).
func readmeCommands(t *testing.T, path string) []readmeCommand {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []readmeCommand
	in := false
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "```") {
			in = !in
			continue
		}
		if !in {
			continue
		}
		// A line may chain commands: go build ... && bin/heck serve ...
		for _, part := range strings.Split(strings.TrimPrefix(line, "$ "), " && ") {
			words, err := shellWords(part)
			if err != nil {
				t.Errorf("README.md:%d: %v: %s", n, err, line)
				continue
			}
			c := readmeCommand{line: n, text: part}
			switch {
			case len(words) > 0 && (words[0] == "bin/heck" || words[0] == "heck"):
				c.prog, c.args = words[0], words[1:]
			case len(words) > 2 && words[0] == "go" && words[1] == "run" && strings.HasSuffix(words[2], "cmd/heck"):
				c.prog, c.args = "go run "+words[2], words[3:]
			default:
				continue
			}
			out = append(out, c)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// shellWords splits a shell line into words: single and double quotes,
// backslash escapes, and a # comment starting a word.
func shellWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote rune
	for i := 0; i < len(s); i++ {
		ch := rune(s[i])
		switch {
		case quote != 0:
			if ch == quote {
				quote = 0
			} else {
				cur.WriteRune(ch)
			}
		case ch == '\'' || ch == '"':
			quote, inWord = ch, true
		case ch == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
			inWord = true
		case ch == ' ' || ch == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case ch == '#' && !inWord:
			return words, nil
		default:
			cur.WriteRune(ch)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, errUnclosedQuote
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

var errUnclosedQuote = errors.New("unclosed quote")

// TestREADMECommands: every heck command in the README's code blocks is
// written bin/heck and parses against the CLI: a known command, known
// flags with values where they need one, and the right number of
// arguments. Nothing is run and no server is contacted.
func TestREADMECommands(t *testing.T) {
	cmds := readmeCommands(t, "../../README.md")
	if len(cmds) < 5 {
		t.Fatalf("found %d heck commands in README.md's code blocks; the parser is broken", len(cmds))
	}
	seen := map[string]bool{}
	for _, c := range cmds {
		if c.prog != "bin/heck" {
			t.Errorf("README.md:%d: %q runs heck as %q; write bin/heck, as the README's first lines build it", c.line, c.text, c.prog)
		}
		name, err := cli.Parse(c.args)
		if err != nil {
			t.Errorf("README.md:%d: %q does not parse: %v", c.line, c.text, err)
		}
		seen[name] = true
	}
	// The README's first lines build bin/heck, then run it on the quickstart.
	first := cmds[0]
	if strings.Join(first.args, " ") != "serve --config examples/quickstart.yaml" {
		t.Errorf("the README's first heck command is %q, want bin/heck serve --config examples/quickstart.yaml", first.text)
	}
	for _, want := range []string{"serve", "status", "targets ls", "targets add", "targets rm"} {
		if !seen[want] {
			t.Errorf("README.md's code blocks have no heck %s (the tests expect the README to show it)", want)
		}
	}
}

// TestREADMEBuildsFirst: the first code block builds bin/heck before it
// runs it, then runs the tests.
func TestREADMEBuildsFirst(t *testing.T) {
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	build := strings.Index(s, "go build -o bin/heck ./cmd/heck")
	serve := strings.Index(s, "bin/heck serve --config examples/quickstart.yaml")
	test := strings.Index(s, "go test -race ./...")
	if build < 0 || serve < 0 || test < 0 || !(build < serve && serve < test) {
		t.Errorf("README.md: want go build -o bin/heck ./cmd/heck, then bin/heck serve --config examples/quickstart.yaml, then go test -race ./... first (at %d, %d, %d)", build, serve, test)
	}
	if fence := strings.Index(s, "```"); fence < 0 || fence > build || strings.Contains(s[fence+3:build], "```") {
		t.Errorf("README.md: the first code block does not build bin/heck")
	}
}

// TestREADMECommandsCatchDrift: the checker rejects what it should.
func TestREADMECommandsCatchDrift(t *testing.T) {
	for _, args := range [][]string{
		{"stat"}, {"status", "--nope"}, {"targets", "ls", "extra"}, {"targets", "add", "--interval"}, {"check"},
	} {
		if _, err := cli.Parse(args); err == nil {
			t.Errorf("Parse(%q) = nil, want an error", args)
		}
	}
	w, err := shellWords(`bin/heck targets add --header 'A: b c' "x y" # comment`)
	if err != nil || strings.Join(w, "|") != "bin/heck|targets|add|--header|A: b c|x y" {
		t.Errorf("shellWords = %q, %v", w, err)
	}
}

// TestUIDocumented: the node serves a web UI (internal/web) and the
// README shows it: every screenshot it names is in the repository.
func TestUIDocumented(t *testing.T) {
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "\n## Web UI\n") {
		t.Error("the README has no Web UI section")
	}
	shots := regexp.MustCompile(`\(docs/screenshots/[a-z-]+\.png\)`).FindAllString(string(data), -1)
	if len(shots) == 0 {
		t.Error("the README shows no screenshot of the UI")
	}
	for _, s := range shots {
		if _, err := os.Stat("../../" + strings.Trim(s, "()")); err != nil {
			t.Errorf("the README shows %s: %v", s, err)
		}
	}
}
