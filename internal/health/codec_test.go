package health

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/crdt"
)

func sampleDelta() Delta {
	return Delta{
		Observations: []Observation{
			{TargetID: "web", Observer: "node-a", Seq: MakeSeq(1700000000, 7), State: Up, Since: t0.Add(-time.Hour), At: t0,
				Latency: 12345 * time.Microsecond, Message: "200 OK", Interval: 10 * time.Second},
			{TargetID: "db", Observer: "node-b", Seq: 1, State: Down, At: t0.Add(time.Nanosecond), Message: "connection refused: ünïcode"},
			{TargetID: "", Observer: "node-a", Seq: 1<<64 - 1, State: Stale, Since: t0.Add(time.Hour), Latency: -1},
			{TargetID: "api", Observer: "node-c", Seq: 4, State: Down, Since: t0, At: t0, Released: true},
			{TargetID: "pool", Observer: "node-b", Seq: 5, State: Up, Since: t0, At: t0, Verdict: Down, VerdictSince: t0.Add(-time.Minute)},
			{TargetID: "flaky", Observer: "node-b", Seq: 6, State: Up, Since: t0, At: t0, Fails: 2, ErrorPct: 35},
		},
		Watermarks: []Watermark{{Observer: "node-c", Seq: 9, At: t0}, {Observer: "node-a", Seq: 3}},
		Digest:     crdt.VersionVector{"node-a": 12, "node-z": 1 << 40},
	}
}

func equalDelta(a, b Delta) bool {
	if len(a.Observations) != len(b.Observations) || len(a.Watermarks) != len(b.Watermarks) || !a.Digest.Equal(b.Digest) ||
		len(a.Digest) != len(b.Digest) {
		return false
	}
	for i, x := range a.Observations {
		y := b.Observations[i]
		if x.TargetID != y.TargetID || x.Observer != y.Observer || x.Seq != y.Seq || x.State != y.State ||
			!x.Since.Equal(y.Since) || !x.At.Equal(y.At) || x.Latency != y.Latency || x.Message != y.Message || x.Interval != y.Interval ||
			x.Released != y.Released || x.Verdict != y.Verdict || !x.VerdictSince.Equal(y.VerdictSince) ||
			x.Fails != y.Fails || x.ErrorPct != y.ErrorPct {
			return false
		}
	}
	for i, x := range a.Watermarks {
		y := b.Watermarks[i]
		if x.Observer != y.Observer || x.Seq != y.Seq || !x.At.Equal(y.At) {
			return false
		}
	}
	return true
}

func TestDeltaRoundTrip(t *testing.T) {
	for _, d := range []Delta{{}, sampleDelta(), {Digest: crdt.VersionVector{"x": 1}}} {
		b := AppendDelta([]byte("hdr"), &d)
		got, err := DecodeDelta(b[3:])
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if !equalDelta(got, d) {
			t.Errorf("round trip:\n got %+v\nwant %+v", got, d)
		}
	}
}

func TestDeltaCompact(t *testing.T) {
	d := Delta{}
	for i := range 100 {
		d.Observations = append(d.Observations, Observation{
			TargetID: "target-0042", Observer: "node-07.example", Seq: MakeSeq(1700000000, uint32(i)),
			State: Up, Since: t0.Add(-time.Hour), At: t0, Latency: 15 * time.Millisecond, Interval: time.Second, Message: "200 OK",
		})
	}
	n := len(AppendDelta(nil, &d))
	t.Logf("100 observations: %d bytes (%d each)", n, n/100)
	if n/100 > 60 {
		t.Errorf("%d bytes per observation; want a compact encoding", n/100)
	}
}

func TestDecodeDeltaRejects(t *testing.T) {
	d := sampleDelta()
	good := AppendDelta(nil, &d)
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"bad version", append([]byte{2}, good[1:]...)},
		{"truncated", good[:len(good)-1]},
		{"trailing", append(bytes.Clone(good), 0)},
		{"huge count", []byte{1, 0, 0xff, 0xff, 0xff, 0x7f}},
		{"observer index out of range", []byte{1, 0, 1, 0, 0, 0, 5, 1, 0, 0, 0, 0, 0, 0, 0}},
		{"bad state", []byte{1, 1, 1, 'a', 1, 0, 200, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0}},
		{"bad flags", []byte{1, 1, 1, 'a', 1, 0x80, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := DecodeDelta(tt.in); !errors.Is(err, crdt.ErrCorrupt) {
				t.Errorf("err = %v, want ErrCorrupt", err)
			}
		})
	}
}

func FuzzDecodeDelta(f *testing.F) {
	d := sampleDelta()
	f.Add(AppendDelta(nil, &d))
	f.Add([]byte{1, 0, 0, 0, 0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := DecodeDelta(b)
		if err != nil {
			return
		}
		again := AppendDelta(nil, &d)
		d2, err := DecodeDelta(again)
		if err != nil {
			t.Fatalf("decode of re-encoding: %v", err)
		}
		if !equalDelta(d, d2) {
			t.Fatalf("round trip changed the delta:\n%+v\n%+v", d, d2)
		}
		// Whatever decodes can be merged without harm.
		NewTable(TableOptions{}).Merge(d)
	})
}
