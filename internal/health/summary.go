package health

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/heckhq/heck/internal/crdt"
)

// Summary is what a table tells a peer at anti-entropy: per observer, the
// sequence up to which it holds everything (Complete), the highest it has
// seen (Max), and the holes in between: the sequences above Complete it
// has not seen. A peer answers with only the live observations (and
// watermarks) that fall in a hole or above Max (DeltaFor), so the answer
// follows what is actually missing even while a lost, since superseded,
// message keeps Complete from advancing.
type Summary map[string]ObserverSummary

// ObserverSummary is one observer's entry of a Summary.
type ObserverSummary struct {
	Complete uint64
	Max      uint64     // >= Complete
	Holes    []SeqRange // sorted, disjoint, within (Complete, Max]
}

// SeqRange is the sequences Lo..Hi, both included.
type SeqRange struct{ Lo, Hi uint64 }

// maxHoles bounds the holes a summary lists per observer; when there are
// more, Max is lowered to below the first hole left out, so the peer sends
// everything above it (more than needed, never less).
const maxHoles = 32

// lacks reports whether a peer with this entry lacks sequence seq.
func (s *ObserverSummary) lacks(seq uint64) bool {
	if seq <= s.Complete {
		return false
	}
	if seq > s.Max {
		return true
	}
	_, found := slices.BinarySearchFunc(s.Holes, seq, func(r SeqRange, seq uint64) int {
		switch {
		case r.Hi < seq:
			return -1
		case r.Lo > seq:
			return 1
		}
		return 0
	})
	return found
}

// Summary returns the table's summary.
func (t *Table) Summary() Summary {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make(Summary, len(t.observers))
	for o, l := range t.observers {
		if s := l.summary(); s.Max > 0 {
			out[o] = s
		}
	}
	return out
}

func (l *observerLog) summary() ObserverSummary {
	s := ObserverSummary{Complete: l.complete, Max: l.complete}
	if len(l.pending) == 0 {
		return s
	}
	seen := make([]uint64, 0, len(l.pending))
	for q := range l.pending {
		seen = append(seen, q)
	}
	slices.Sort(seen)
	prev := l.complete
	for _, q := range seen {
		if q > prev+1 {
			if len(s.Holes) == maxHoles {
				// Too many to list: claim only up to just below this hole.
				s.Max = prev
				return s
			}
			s.Holes = append(s.Holes, SeqRange{Lo: prev + 1, Hi: q - 1})
		}
		prev = q
	}
	s.Max = prev
	return s
}

// DeltaFor answers a peer's summary: the live observations and watermarks
// it lacks, with this table's digest taken at the same instant, so the peer
// may raise its own digest to it (see Merge). Its cost follows the size of
// the answer and the number of holes, not the size of the table.
func (t *Table) DeltaFor(peer Summary) Delta {
	t.mu.RLock()
	defer t.mu.RUnlock()
	d := Delta{Digest: t.digest()}
	for _, o := range t.sortedObservers() {
		t.appendLacking(&d, o, peer[o])
	}
	return d
}

// appendLacking appends to d the live observations and the watermark of
// observer o that a peer with summary entry ps lacks; t.mu must be held.
func (t *Table) appendLacking(d *Delta, o string, ps ObserverSummary) {
	l := t.observers[o]
	if l == nil {
		return
	}
	add := func(from, to uint64) { // live observations with seq in [from, to]
		for i := l.search(from); i < len(l.index) && l.index[i].seq <= to; i++ {
			if ob, ok := t.live(o, l.index[i]); ok {
				d.Observations = append(d.Observations, *ob)
			}
		}
	}
	for _, h := range ps.Holes {
		add(h.Lo, h.Hi)
	}
	if ps.Max < ^uint64(0) {
		add(max(ps.Max, ps.Complete)+1, ^uint64(0))
	}
	if l.hasWM && ps.lacks(l.wm.Seq) {
		d.Watermarks = append(d.Watermarks, l.wm)
	}
}

// summaryVersion is the first byte of an encoded Summary.
const summaryVersion = 1

// AppendSummary appends a compact encoding of s to dst: observers in name
// order, integers as varints, holes as deltas.
func AppendSummary(dst []byte, s Summary) []byte {
	dst = append(dst, summaryVersion)
	names := make([]string, 0, len(s))
	for o := range s {
		names = append(names, o)
	}
	slices.Sort(names)
	dst = binary.AppendUvarint(dst, uint64(len(names)))
	for _, o := range names {
		e := s[o]
		dst = crdt.AppendString(dst, o)
		dst = binary.AppendUvarint(dst, e.Complete)
		dst = binary.AppendUvarint(dst, e.Max-e.Complete)
		dst = binary.AppendUvarint(dst, uint64(len(e.Holes)))
		prev := e.Complete
		for _, h := range e.Holes {
			dst = binary.AppendUvarint(dst, h.Lo-prev)
			dst = binary.AppendUvarint(dst, h.Hi-h.Lo)
			prev = h.Hi
		}
	}
	return dst
}

// DecodeSummary decodes what AppendSummary wrote. Malformed input (holes
// out of order or outside (Complete, Max]) gives an error wrapping
// crdt.ErrCorrupt, never a panic.
func DecodeSummary(b []byte) (Summary, error) {
	r := crdt.NewReader(b)
	if v := r.Byte(); r.Err() == nil && v != summaryVersion {
		return nil, fmt.Errorf("%w: summary version %d, want %d", crdt.ErrCorrupt, v, summaryVersion)
	}
	n := r.Count(4)
	s := make(Summary, n)
	for i := range n {
		o := r.String()
		var e ObserverSummary
		e.Complete = r.Uvarint()
		e.Max = e.Complete + r.Uvarint()
		if e.Max < e.Complete {
			return nil, fmt.Errorf("%w: summary entry %d (%s): max overflows", crdt.ErrCorrupt, i, o)
		}
		nh := r.Count(2)
		prev := e.Complete
		for range nh {
			lo := prev + r.Uvarint()
			hi := lo + r.Uvarint()
			if r.Err() != nil {
				break
			}
			if lo <= prev || hi < lo || hi > e.Max {
				return nil, fmt.Errorf("%w: summary entry %d (%s): hole %d-%d outside (%d, %d]", crdt.ErrCorrupt, i, o, lo, hi, prev, e.Max)
			}
			e.Holes = append(e.Holes, SeqRange{Lo: lo, Hi: hi})
			prev = hi
		}
		if r.Err() != nil {
			return nil, fmt.Errorf("summary entry %d: %w", i, r.Err())
		}
		s[o] = e
	}
	if r.Err() != nil {
		return nil, fmt.Errorf("summary: %w", r.Err())
	}
	if r.Len() != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", crdt.ErrCorrupt, r.Len())
	}
	return s, nil
}
