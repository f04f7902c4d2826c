package crdt

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"time"
)

type spec struct {
	Name string            `json:"name"`
	URL  string            `json:"url,omitempty"`
	Tags map[string]string `json:"tags,omitempty"`
}

func sampleEntries() []Entry[spec] {
	return []Entry[spec]{
		{Key: "web", Value: spec{Name: "web", URL: "http://127.0.0.1:8080/"}, TS: MakeTimestamp(time.UnixMilli(1_700_000_000_000), 3), Node: "node-a"},
		{Key: "db", TS: 1<<63 + 5, Node: "node-b", Deleted: true},
		{Key: "", Value: spec{Name: "ünïcode", Tags: map[string]string{"a": "b"}}, TS: 0, Node: "node-a"},
		{Key: "long", Value: spec{Name: string(make([]byte, 300))}, TS: 7, Node: ""},
	}
}

func TestEntriesRoundTrip(t *testing.T) {
	vc := JSONCodec[spec]{}
	for _, es := range [][]Entry[spec]{nil, sampleEntries(), sampleEntries()[1:2]} {
		b, err := AppendEntries([]byte("prefix"), vc, es)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeEntries(b[len("prefix"):], vc)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if len(es) == 0 && len(got) == 0 {
			continue
		}
		if !reflect.DeepEqual(got, es) {
			t.Errorf("round trip:\n got %+v\nwant %+v", got, es)
		}
	}
}

func TestEntriesCompact(t *testing.T) {
	es := make([]Entry[spec], 100)
	for i := range es {
		es[i] = Entry[spec]{Key: "k", TS: 1, Node: "a-rather-long-node-name", Deleted: true}
	}
	b, err := AppendEntries(nil, JSONCodec[spec]{}, es)
	if err != nil {
		t.Fatal(err)
	}
	// The node name is written once: 100 entries of key(2) ts(1) node(1)
	// flag(1) plus the header.
	if len(b) > 100*5+40 {
		t.Errorf("100 tombstones encode to %d bytes; node names are not shared", len(b))
	}
}

func TestDecodeEntriesRejects(t *testing.T) {
	vc := JSONCodec[spec]{}
	good, _ := AppendEntries(nil, vc, sampleEntries())
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"bad version", append([]byte{9}, good[1:]...)},
		{"truncated", good[:len(good)-3]},
		{"trailing", append(append([]byte{}, good...), 0)},
		{"huge count", []byte{1, 0, 0xff, 0xff, 0xff, 0xff, 0x0f}},
		{"node index out of range", []byte{1, 0, 1, 0, 1, 0, 1}},
		{"bad flag", []byte{1, 1, 0, 1, 0, 1, 0, 7}},
		{"bad json", []byte{1, 1, 0, 1, 0, 1, 0, 0, 1, '{'}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeEntries(tt.in, vc)
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("err = %v, want ErrCorrupt", err)
			}
		})
	}
}

func FuzzDecodeEntries(f *testing.F) {
	vc := JSONCodec[spec]{}
	good, _ := AppendEntries(nil, vc, sampleEntries())
	f.Add(good)
	f.Add([]byte{1, 0, 0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		es, err := DecodeEntries(b, vc)
		if err != nil {
			return
		}
		// Whatever decodes re-encodes and decodes to the same entries.
		again, err := AppendEntries(nil, vc, es)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		es2, err := DecodeEntries(again, vc)
		if err != nil {
			t.Fatalf("decode of re-encoding: %v", err)
		}
		if len(es) != len(es2) {
			t.Fatalf("round trip changed the count %d -> %d", len(es), len(es2))
		}
		for i := range es {
			a, b := es[i], es2[i]
			if a.Key != b.Key || a.TS != b.TS || a.Node != b.Node || a.Deleted != b.Deleted {
				t.Fatalf("entry %d: %+v -> %+v", i, a, b)
			}
		}
		// JSON may normalise a value once ({} and null maps); after that
		// the encoding is a fixed point.
		third, err := AppendEntries(nil, vc, es2)
		if err != nil || !bytes.Equal(third, again) {
			t.Fatalf("encoding is not stable: %v", err)
		}
	})
}
