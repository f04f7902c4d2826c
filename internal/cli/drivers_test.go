package cli_test

// heck validate and heck serve check store.driver against the registered
// store drivers: link the built-in ones, as cmd/heck does.
import _ "github.com/heckhq/heck/internal/store/drivers"
