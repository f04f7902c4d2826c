package wire

import (
	"time"

	"github.com/heckhq/heck/internal/maintenance"
)

// Window is a maintenance window as the API shows it: the window, whether
// an occurrence is in force now, and when the next one starts.
type Window struct {
	maintenance.Window
	Active bool      `json:"active"`
	Next   time.Time `json:"next,omitzero"`
}
