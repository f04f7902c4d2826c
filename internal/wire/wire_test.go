package wire_test

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestClientsImportWireNotServer: the client and the command line read the
// API's bodies through this package, never through the server's.
func TestClientsImportWireNotServer(t *testing.T) {
	for _, dir := range []string{"../client", "../cli"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no Go files in %s: %v", dir, err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range af.Imports {
				if p, _ := strconv.Unquote(imp.Path.Value); p == "github.com/heckhq/heck/internal/api" {
					t.Errorf("%s imports internal/api; use internal/wire for the API's bodies", f)
				}
			}
		}
	}
}
