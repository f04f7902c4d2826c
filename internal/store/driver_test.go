package store_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/heckhq/heck/internal/store"
)

// fakeDriver records what it was opened with.
type fakeDriver struct {
	opened store.Options
	check  []store.SettingError
}

func (f *fakeDriver) Check(store.Settings) []store.SettingError { return f.check }
func (f *fakeDriver) Open(_ context.Context, o store.Options) (store.Store, error) {
	f.opened = o
	return nil, errors.New("fake stores hold nothing")
}

func TestRegistry(t *testing.T) {
	f := &fakeDriver{}
	store.Register("fake_registry", f)
	if !slices.Contains(store.Drivers(), "fake_registry") || !slices.IsSorted(store.Drivers()) {
		t.Fatalf("drivers %v", store.Drivers())
	}
	if o, ok := store.Lookup("fake_registry"); !ok || o != f {
		t.Fatal("lookup did not find the registered driver")
	}
	_, err := store.Open(context.Background(), "fake_registry", store.Options{Settings: store.Settings{"k": "v"}})
	if err == nil || f.opened.Settings["k"] != "v" || f.opened.Logger == nil {
		t.Fatalf("open: %v, driver got %+v (want the settings and a logger)", err, f.opened)
	}
	f.check = []store.SettingError{{Key: "dsn", Problem: "is missing", Fix: "set it"}, {Key: "pool", Value: "x", Problem: "is not a number"}}
	f.opened = store.Options{}
	_, err = store.Open(context.Background(), "fake_registry", store.Options{})
	var se store.SettingErrors
	if !errors.As(err, &se) || len(se) != 2 || f.opened.Logger != nil {
		t.Fatalf("open with bad settings: %v (driver opened: %v)", err, f.opened.Logger != nil)
	}
	if want := `open fake_registry store: dsn: is missing; set it; pool: "x" is not a number`; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
}

func TestRegisterPanics(t *testing.T) {
	store.Register("fake_twice", &fakeDriver{})
	for _, c := range []struct {
		name string
		o    store.Opener
		want string
	}{
		{"", &fakeDriver{}, "lower-case word"},
		{"Fake", &fakeDriver{}, "lower-case word"},
		{"fake-dash", &fakeDriver{}, "lower-case word"},
		{"9fake", &fakeDriver{}, "lower-case word"},
		{"fake_nil", nil, "nil Opener"},
		{"fake_twice", &fakeDriver{}, "registered twice"},
	} {
		func() {
			defer func() {
				r := recover()
				if s, _ := r.(string); !strings.Contains(s, c.want) {
					t.Errorf("Register(%q) panicked with %v, want %q", c.name, r, c.want)
				}
			}()
			store.Register(c.name, c.o)
		}()
	}
}

func TestUnknownDriver(t *testing.T) {
	err := (&store.UnknownDriverError{Name: "x"}).Error()
	if !strings.Contains(err, "registers no store drivers") || !strings.Contains(err, "internal/store/drivers") {
		t.Errorf("no drivers: %q", err)
	}
	err = (&store.UnknownDriverError{Name: "x", Known: []string{"a", "b"}}).Error()
	if err != `store driver "x" is not known; use one of: a, b` {
		t.Errorf("known drivers: %q", err)
	}
}
