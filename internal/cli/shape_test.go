package cli_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"reflect"
	"slices"
	"testing"

	"github.com/heckhq/heck/internal/api"
)

// TestTargetListShape: heck targets ls -o json, heck status -o json and
// GET /api/v1/targets print one shape, {"targets": [...]}, with the same
// object for each target; status adds its counts beside the list.
func TestTargetListShape(t *testing.T) {
	server(t, api.Options{LoopbackOnly: true})
	resp, err := http.Get(os.Getenv("HECK_SERVER") + "/api/v1/targets")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/v1/targets: %d %v", resp.StatusCode, err)
	}
	ls := heck(t, "targets", "ls", "-o", "json")
	st := heck(t, "status", "-o", "json")
	if ls.code != 0 || st.code != 0 {
		t.Fatalf("targets ls: %d %s; status: %d %s", ls.code, ls.stderr, st.code, st.stderr)
	}
	decode := func(what, s string) map[string]any {
		t.Helper()
		var m map[string]any
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			t.Fatalf("%s is not a JSON object: %v\n%s", what, err, s)
		}
		if _, ok := m["targets"].([]any); !ok {
			t.Fatalf(`%s has no "targets" list:\n%s`, what, s)
		}
		return m
	}
	apiBody := decode("GET /api/v1/targets", string(body))
	lsBody := decode("heck targets ls -o json", ls.stdout)
	stBody := decode("heck status -o json", st.stdout)

	keys := func(m map[string]any) []string {
		var ks []string
		for k := range m {
			ks = append(ks, k)
		}
		slices.Sort(ks)
		return ks
	}
	if got := keys(apiBody); !slices.Equal(got, []string{"targets"}) {
		t.Errorf("GET /api/v1/targets has keys %v, want [targets]", got)
	}
	if got := keys(lsBody); !slices.Equal(got, []string{"targets"}) {
		t.Errorf("heck targets ls -o json has keys %v, want [targets]", got)
	}
	if got := keys(stBody); !slices.Equal(got, []string{"counts", "targets", "total"}) {
		t.Errorf("heck status -o json has keys %v, want [counts targets total]", got)
	}
	want := apiBody["targets"].([]any)
	if len(want) != 3 {
		t.Fatalf("the API lists %d targets, want 3", len(want))
	}
	for name, body := range map[string]map[string]any{"heck targets ls -o json": lsBody, "heck status -o json": stBody} {
		if got := body["targets"]; !reflect.DeepEqual(got, apiBody["targets"]) {
			g, _ := json.MarshalIndent(got, "", "  ")
			w, _ := json.MarshalIndent(want, "", "  ")
			t.Errorf("%s targets differ from the API's:\n%s\nwant\n%s", name, g, w)
		}
	}
}
