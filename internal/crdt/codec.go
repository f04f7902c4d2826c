package crdt

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
)

// ValueCodec encodes the values of an LWWMap for the binary entry codec,
// e.g. JSON for target specs.
type ValueCodec[V any] interface {
	AppendValue(dst []byte, v V) ([]byte, error)
	DecodeValue(b []byte) (V, error)
}

// JSONCodec encodes values as JSON.
type JSONCodec[V any] struct{}

// AppendValue appends the JSON of v to dst.
func (JSONCodec[V]) AppendValue(dst []byte, v V) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return dst, fmt.Errorf("encode value: %w", err)
	}
	return append(dst, b...), nil
}

// DecodeValue parses the JSON in b.
func (JSONCodec[V]) DecodeValue(b []byte) (V, error) {
	var v V
	if err := json.Unmarshal(b, &v); err != nil {
		return v, fmt.Errorf("decode value: %w", err)
	}
	return v, nil
}

// entriesVersion is the first byte of an encoded batch of entries.
const entriesVersion = 1

// Limits that keep a decoder from allocating on a garbage length.
const (
	maxString = 1 << 16 // keys and node names
	maxValue  = 1 << 24 // one encoded value
)

// ErrCorrupt is wrapped by every decoding error caused by malformed input.
var ErrCorrupt = errors.New("corrupt encoding")

// AppendEntries appends a compact binary encoding of es to dst. Node names
// are written once in a table and referred to by index; timestamps and
// lengths are varints; a tombstone carries no value. Values go through vc.
func AppendEntries[V any](dst []byte, vc ValueCodec[V], es []Entry[V]) ([]byte, error) {
	dst = append(dst, entriesVersion)
	nodes := map[string]uint64{}
	var names []string
	for i := range es {
		if _, ok := nodes[es[i].Node]; !ok {
			nodes[es[i].Node] = uint64(len(names))
			names = append(names, es[i].Node)
		}
	}
	dst = binary.AppendUvarint(dst, uint64(len(names)))
	for _, n := range names {
		dst = AppendString(dst, n)
	}
	dst = binary.AppendUvarint(dst, uint64(len(es)))
	for i := range es {
		e := &es[i]
		dst = AppendString(dst, e.Key)
		dst = binary.AppendUvarint(dst, uint64(e.TS))
		dst = binary.AppendUvarint(dst, nodes[e.Node])
		if e.Deleted {
			dst = append(dst, 1)
			continue
		}
		dst = append(dst, 0)
		// Encode the value in place, then slide it right to make room
		// for its length prefix (one memmove, no scratch buffer).
		start := len(dst)
		var err error
		dst, err = vc.AppendValue(dst, e.Value)
		if err != nil {
			return dst[:start], fmt.Errorf("entry %q: %w", e.Key, err)
		}
		n := len(dst) - start
		var lb [binary.MaxVarintLen64]byte
		l := binary.PutUvarint(lb[:], uint64(n))
		dst = append(dst, lb[:l]...)
		copy(dst[start+l:], dst[start:start+n])
		copy(dst[start:], lb[:l])
	}
	return dst, nil
}

// DecodeEntries decodes a batch written by AppendEntries. Malformed input
// gives an error wrapping ErrCorrupt, never a panic.
func DecodeEntries[V any](b []byte, vc ValueCodec[V]) ([]Entry[V], error) {
	r := Reader{b: b}
	if v := r.Byte(); r.Err() == nil && v != entriesVersion {
		return nil, fmt.Errorf("%w: entries version %d, want %d", ErrCorrupt, v, entriesVersion)
	}
	nn := r.Count(1)
	names := make([]string, 0, nn)
	for range nn {
		names = append(names, r.String())
	}
	n := r.Count(4) // key len, ts, node, flag: at least 4 bytes each
	if r.Err() != nil {
		return nil, r.Err()
	}
	es := make([]Entry[V], 0, n)
	for i := range n {
		var e Entry[V]
		e.Key = r.String()
		e.TS = Timestamp(r.Uvarint())
		ni := r.Uvarint()
		flag := r.Byte()
		if r.Err() != nil {
			return nil, fmt.Errorf("entry %d: %w", i, r.Err())
		}
		if ni >= uint64(len(names)) {
			return nil, fmt.Errorf("%w: entry %d: node index %d of %d", ErrCorrupt, i, ni, len(names))
		}
		e.Node = names[ni]
		switch flag {
		case 1:
			e.Deleted = true
		case 0:
			raw := r.Bytes(maxValue)
			if r.Err() != nil {
				return nil, fmt.Errorf("entry %d: %w", i, r.Err())
			}
			v, err := vc.DecodeValue(raw)
			if err != nil {
				return nil, fmt.Errorf("%w: entry %q: %w", ErrCorrupt, e.Key, err)
			}
			e.Value = v
		default:
			return nil, fmt.Errorf("%w: entry %d: flag %d", ErrCorrupt, i, flag)
		}
		es = append(es, e)
	}
	if r.Len() != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrCorrupt, r.Len())
	}
	return es, nil
}

// AppendString appends a uvarint length and the bytes of s.
func AppendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// Reader decodes the primitives of heck's binary encodings. The first
// error sticks: later reads return zero values, so a decoder can read a
// whole record and check Err once. It never panics on short or garbage
// input.
type Reader struct {
	b   []byte
	err error
}

// NewReader returns a reader over b.
func NewReader(b []byte) *Reader { return &Reader{b: b} }

// Err returns the first error met, wrapping ErrCorrupt.
func (r *Reader) Err() error { return r.err }

// Len returns the number of unread bytes.
func (r *Reader) Len() int { return len(r.b) }

func (r *Reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, args...)...)
	}
	r.b = nil
}

// Byte reads one byte.
func (r *Reader) Byte() byte {
	if len(r.b) < 1 {
		r.fail("unexpected end of input")
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

// Uvarint reads an unsigned varint.
func (r *Reader) Uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

// Varint reads a signed (zig-zag) varint.
func (r *Reader) Varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

// Count reads an element count and checks it against the input left,
// given that each element takes at least minSize bytes, so that a garbage
// count cannot make the caller allocate much.
func (r *Reader) Count(minSize int) int {
	n := r.Uvarint()
	if r.err != nil {
		return 0
	}
	if n > uint64(len(r.b)/max(minSize, 1)) {
		r.fail("count %d exceeds the %d bytes left", n, len(r.b))
		return 0
	}
	return int(n)
}

// Bytes reads a length-prefixed byte string of at most limit bytes. The
// result aliases the input.
func (r *Reader) Bytes(limit int) []byte {
	n := r.Uvarint()
	if r.err != nil {
		return nil
	}
	if n > uint64(limit) || n > uint64(len(r.b)) {
		r.fail("length %d exceeds %d bytes left (limit %d)", n, len(r.b), limit)
		return nil
	}
	s := r.b[:n:n]
	r.b = r.b[n:]
	return s
}

// String reads a length-prefixed string of at most 64 KiB.
func (r *Reader) String() string { return string(r.Bytes(maxString)) }
