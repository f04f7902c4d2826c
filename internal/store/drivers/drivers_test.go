package drivers_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/store"
	_ "github.com/heckhq/heck/internal/store/drivers"
)

func TestBuiltinDrivers(t *testing.T) {
	if got := store.Drivers(); !slices.Contains(got, "sqlite") {
		t.Fatalf("drivers %v, want sqlite among them", got)
	}
}

// A store opened by name keeps its data across a reopen, as the node
// opens it.
func TestOpenSQLiteByName(t *testing.T) {
	ctx := context.Background()
	set := store.Settings{"path": filepath.Join(t.TempDir(), "sub", "heck.db")}
	st, err := store.Open(ctx, "sqlite", store.Options{Settings: set})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := st.AddTransitions(ctx, []store.Transition{{ID: "t1", TargetID: "web", From: health.Unknown, To: health.Up, At: at}}); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st, err = store.Open(ctx, "sqlite", store.Options{Settings: set})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	got, err := st.TransitionByID(ctx, "t1")
	if err != nil || got.TargetID != "web" || !got.At.Equal(at) {
		t.Fatalf("after reopen: %+v, %v", got, err)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	_, err := store.Open(ctx, "mysql", store.Options{})
	var ue *store.UnknownDriverError
	if !errors.As(err, &ue) || ue.Name != "mysql" || !strings.Contains(err.Error(), "sqlite") {
		t.Errorf("unknown driver: %v, want an UnknownDriverError listing sqlite", err)
	}
	for _, c := range []struct {
		name string
		set  store.Settings
		want []string
	}{
		{"no path", store.Settings{}, []string{"path: is missing"}},
		{"blank path", store.Settings{"path": " "}, []string{`path: " " is empty`}},
		{"uri", store.Settings{"path": "file:x.db?mode=ro"}, []string{"is not a plain file path", "without '?'"}},
		{"unknown key", store.Settings{"path": filepath.Join(t.TempDir(), "h.db"), "dsn": "x"},
			[]string{"dsn: is not a setting of the sqlite store", "takes only path"}},
	} {
		_, err := store.Open(ctx, "sqlite", store.Options{Settings: c.set})
		var se store.SettingErrors
		if !errors.As(err, &se) {
			t.Errorf("%s: %v, want SettingErrors", c.name, err)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q does not say %q", c.name, err, w)
			}
		}
	}
}
