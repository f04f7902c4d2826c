package wire

import "github.com/heckhq/heck/internal/silence"

// Silence is a silence as the API shows it: the silence and whether it is
// in force now.
type Silence struct {
	silence.Silence
	Active bool `json:"active"`
}

// SilenceRequest is the body of POST /api/v1/silences: a target id or a
// selector ("env=prod,team=db"), a window (for: "2h", or starts/ends in
// RFC 3339; starts defaults to now), a reason and who asks.
type SilenceRequest = silence.Request
