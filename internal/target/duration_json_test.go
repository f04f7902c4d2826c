package target

import (
	"encoding/json"
	"testing"
	"time"
)

// MarshalJSON quotes the duration itself; it must write what json.Marshal
// of the duration's string writes, and read back the same.
func TestDurationMarshalJSONAsString(t *testing.T) {
	for _, d := range []time.Duration{0, 1, 1500 * time.Nanosecond, 250 * time.Microsecond, 1500 * time.Millisecond,
		time.Minute, 90 * time.Minute, 26*time.Hour + 3*time.Second, -5 * time.Second} {
		got, err := Duration(d).MarshalJSON()
		want, _ := json.Marshal(d.String())
		if err != nil || string(got) != string(want) {
			t.Errorf("%v: MarshalJSON = %s, %v; want %s", d, got, err, want)
		}
		var back Duration
		if err := json.Unmarshal(got, &back); err != nil || back.D() != d {
			t.Errorf("%v: read back %v, %v", d, back.D(), err)
		}
	}
}
