package user

import "time"

// User is a person who signs in. (Placeholder for the web UI until the
// auth branch lands its own definition; removed at that merge.)
type User struct {
	Name    string    `json:"name"`
	Role    Role      `json:"role"`
	Created time.Time `json:"created,omitzero"`
}
