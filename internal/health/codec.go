package health

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/heckhq/heck/internal/crdt"
)

// deltaVersion is the first byte of an encoded Delta.
const deltaVersion = 1

// Per-record flags.
const (
	flagSinceZero = 1 << iota
	flagAtZero
	flagReleased
	flagVerdict
	flagOutlier
)

// AppendDelta appends a compact binary encoding of d to dst: observer
// names once in a table, integers as varints, times as nanoseconds (Since
// relative to At), so a typical observation takes some 30 bytes plus its
// target ID and message. Times keep their instant, not their location or
// monotonic reading; times outside 1678-2262 are clamped.
func AppendDelta(dst []byte, d *Delta) []byte {
	dst = append(dst, deltaVersion)
	idx := map[string]uint64{}
	var names []string
	add := func(n string) {
		if _, ok := idx[n]; !ok {
			idx[n] = uint64(len(names))
			names = append(names, n)
		}
	}
	for i := range d.Observations {
		add(d.Observations[i].Observer)
	}
	for _, w := range d.Watermarks {
		add(w.Observer)
	}
	for o := range d.Digest {
		add(o)
	}
	dst = binary.AppendUvarint(dst, uint64(len(names)))
	for _, n := range names {
		dst = crdt.AppendString(dst, n)
	}

	dst = binary.AppendUvarint(dst, uint64(len(d.Observations)))
	for i := range d.Observations {
		o := &d.Observations[i]
		var flags byte
		if o.Since.IsZero() {
			flags |= flagSinceZero
		}
		if o.At.IsZero() {
			flags |= flagAtZero
		}
		if o.Released {
			flags |= flagReleased
		}
		if o.Verdict != Unknown {
			flags |= flagVerdict
		}
		if o.Fails != 0 || o.ErrorPct != 0 {
			flags |= flagOutlier
		}
		dst = append(dst, flags, byte(o.State))
		dst = crdt.AppendString(dst, o.TargetID)
		dst = binary.AppendUvarint(dst, idx[o.Observer])
		dst = binary.AppendUvarint(dst, o.Seq)
		at := nanos(o.At)
		dst = binary.AppendVarint(dst, at)
		if !o.Since.IsZero() {
			dst = binary.AppendVarint(dst, at-nanos(o.Since))
		}
		dst = binary.AppendVarint(dst, int64(o.Latency))
		dst = binary.AppendVarint(dst, int64(o.Interval))
		dst = crdt.AppendString(dst, o.Message)
		if o.Verdict != Unknown {
			dst = append(dst, byte(o.Verdict))
			dst = binary.AppendVarint(dst, at-nanos(o.VerdictSince))
		}
		if flags&flagOutlier != 0 {
			dst = append(dst, o.Fails, o.ErrorPct)
		}
	}

	dst = binary.AppendUvarint(dst, uint64(len(d.Watermarks)))
	for _, w := range d.Watermarks {
		var flags byte
		if w.At.IsZero() {
			flags |= flagAtZero
		}
		dst = append(dst, flags)
		dst = binary.AppendUvarint(dst, idx[w.Observer])
		dst = binary.AppendUvarint(dst, w.Seq)
		dst = binary.AppendVarint(dst, nanos(w.At))
	}

	dst = binary.AppendUvarint(dst, uint64(len(d.Digest)))
	for _, n := range names { // table order: deterministic
		if s, ok := d.Digest[n]; ok {
			dst = binary.AppendUvarint(dst, idx[n])
			dst = binary.AppendUvarint(dst, s)
		}
	}
	return dst
}

// nanos returns t as Unix nanoseconds, 0 for the zero time, clamped to the
// int64 range.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	switch {
	case t.Before(minTime):
		return minTime.UnixNano()
	case t.After(maxTime):
		return maxTime.UnixNano()
	}
	return t.UnixNano()
}

var (
	minTime = time.Unix(0, -1<<63)
	maxTime = time.Unix(0, 1<<63-1)
)

func fromNanos(n int64, zero bool) time.Time {
	if zero {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// DecodeDelta decodes what AppendDelta wrote. Malformed input gives an
// error wrapping crdt.ErrCorrupt, never a panic.
func DecodeDelta(b []byte) (Delta, error) {
	var d Delta
	r := crdt.NewReader(b)
	if v := r.Byte(); r.Err() == nil && v != deltaVersion {
		return d, fmt.Errorf("%w: delta version %d, want %d", crdt.ErrCorrupt, v, deltaVersion)
	}
	nn := r.Count(1)
	names := make([]string, 0, nn)
	for range nn {
		names = append(names, r.String())
	}
	name := func(what string, i int) (string, error) {
		x := r.Uvarint()
		if r.Err() != nil {
			return "", fmt.Errorf("%s %d: %w", what, i, r.Err())
		}
		if x >= uint64(len(names)) {
			return "", fmt.Errorf("%w: %s %d: observer index %d of %d", crdt.ErrCorrupt, what, i, x, len(names))
		}
		return names[x], nil
	}

	n := r.Count(9) // the smallest observation takes 9 bytes
	if n > 0 {
		d.Observations = make([]Observation, 0, n)
	}
	for i := range n {
		var o Observation
		flags := r.Byte()
		st := r.Byte()
		o.TargetID = r.String()
		obs, err := name("observation", i)
		if err != nil {
			return Delta{}, err
		}
		o.Observer = obs
		o.Seq = r.Uvarint()
		at := r.Varint()
		o.At = fromNanos(at, flags&flagAtZero != 0)
		if flags&flagSinceZero == 0 {
			o.Since = time.Unix(0, at-r.Varint())
		}
		o.Latency = time.Duration(r.Varint())
		o.Interval = time.Duration(r.Varint())
		o.Message = r.String()
		var vst byte
		if flags&flagVerdict != 0 {
			vst = r.Byte()
			o.VerdictSince = time.Unix(0, at-r.Varint())
		}
		if flags&flagOutlier != 0 {
			o.Fails, o.ErrorPct = r.Byte(), r.Byte()
		}
		if r.Err() != nil {
			return Delta{}, fmt.Errorf("observation %d: %w", i, r.Err())
		}
		o.Released = flags&flagReleased != 0
		if flags&^(flagSinceZero|flagAtZero|flagReleased|flagVerdict|flagOutlier) != 0 || State(st) > Stale ||
			o.Fails > MaxFails || o.ErrorPct > 100 ||
			flags&flagVerdict != 0 && (vst == 0 || State(vst) > Stale) {
			return Delta{}, fmt.Errorf("%w: observation %d: flags %#x state %d verdict %d", crdt.ErrCorrupt, i, flags, st, vst)
		}
		o.Verdict = State(vst)
		o.State = State(st)
		d.Observations = append(d.Observations, o)
	}

	n = r.Count(4)
	if n > 0 {
		d.Watermarks = make([]Watermark, 0, n)
	}
	for i := range n {
		flags := r.Byte()
		obs, err := name("watermark", i)
		if err != nil {
			return Delta{}, err
		}
		w := Watermark{Observer: obs, Seq: r.Uvarint()}
		w.At = fromNanos(r.Varint(), flags&flagAtZero != 0)
		if r.Err() != nil {
			return Delta{}, fmt.Errorf("watermark %d: %w", i, r.Err())
		}
		if flags&^flagAtZero != 0 {
			return Delta{}, fmt.Errorf("%w: watermark %d: flags %#x", crdt.ErrCorrupt, i, flags)
		}
		d.Watermarks = append(d.Watermarks, w)
	}

	n = r.Count(2)
	if n > 0 {
		d.Digest = make(crdt.VersionVector, n)
	}
	for i := range n {
		obs, err := name("digest entry", i)
		if err != nil {
			return Delta{}, err
		}
		d.Digest[obs] = r.Uvarint()
	}
	if r.Err() != nil {
		return Delta{}, fmt.Errorf("digest: %w", r.Err())
	}
	if r.Len() != 0 {
		return Delta{}, fmt.Errorf("%w: %d trailing bytes", crdt.ErrCorrupt, r.Len())
	}
	return d, nil
}
