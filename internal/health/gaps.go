package health

import "github.com/heckhq/heck/internal/crdt"

// Gaps: a table that sees an observer's watermark run ahead of what it
// holds of that observer (a multicast packet lost, or everything the
// observer published while the two were apart) can ask for exactly that
// observer's missing part, instead of waiting for the next anti-entropy
// round. These are the table's side of that exchange; the replica decides
// when to ask and whom.

// Complete returns the sequence up to which the table holds everything of
// observer (its digest entry; 0 when it has nothing).
func (t *Table) Complete(observer string) uint64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if l := t.observers[observer]; l != nil {
		return l.complete
	}
	return 0
}

// SummaryOf returns the table's summary of one observer, as Summary would
// list it (a zero entry when it holds nothing of it).
func (t *Table) SummaryOf(observer string) ObserverSummary {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if l := t.observers[observer]; l != nil {
		return l.summary()
	}
	return ObserverSummary{}
}

// DeltaForObservers answers a summary that names only some observers: the
// live observations and watermarks of those observers the peer lacks, and
// this table's digest entries of those observers only, so the peer raises
// its digest for what the answer covers and nothing else (see Merge).
func (t *Table) DeltaForObservers(peer Summary) Delta {
	t.mu.RLock()
	defer t.mu.RUnlock()
	d := Delta{Digest: crdt.VersionVector{}}
	for o, ps := range peer {
		l := t.observers[o]
		if l == nil {
			continue
		}
		t.appendLacking(&d, o, ps)
		if l.complete > 0 {
			d.Digest[o] = l.complete
		}
	}
	if len(d.Digest) == 0 {
		d.Digest = nil
	}
	return d
}
