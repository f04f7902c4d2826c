package health

import "fmt"

// State is what heck says of a target.
type State uint8

// The states. Unknown until rise or fall results settle it; Stale when the
// freshest observation is older than a few intervals.
const (
	Unknown State = iota
	Up
	Down
	Degraded
	Impacted
	Late
	Stale
)

var stateNames = [...]string{"unknown", "up", "down", "degraded", "impacted", "late", "stale"}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// ParseState parses a state name.
func ParseState(name string) (State, error) {
	for i, n := range stateNames {
		if n == name {
			return State(i), nil
		}
	}
	return Unknown, fmt.Errorf("state %q: want one of unknown, up, down, degraded, impacted, late, stale", name)
}

// MarshalText writes the state's name.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a state's name.
func (s *State) UnmarshalText(b []byte) error {
	v, err := ParseState(string(b))
	*s = v
	return err
}
