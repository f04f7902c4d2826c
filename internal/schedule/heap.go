package schedule

// timerHeap is a min-heap of entries by due time. It is written out rather
// than built on container/heap to avoid boxing on every push and pop; each
// entry keeps its index so it can be fixed or removed in place.
type timerHeap []*entry

func (h *timerHeap) push(e *entry) {
	e.hidx = int32(len(*h))
	*h = append(*h, e)
	h.up(len(*h) - 1)
}

func (h *timerHeap) pop() *entry {
	return h.remove(0)
}

func (h *timerHeap) remove(i int) *entry {
	old := *h
	n := len(old) - 1
	e := old[i]
	if i != n {
		old[i] = old[n]
		old[i].hidx = int32(i)
	}
	old[n] = nil
	*h = old[:n]
	if i != n {
		h.fix(i)
	}
	e.hidx = -1
	return e
}

func (h timerHeap) fix(i int) {
	if !h.down(i) {
		h.up(i)
	}
}

func (h timerHeap) up(i int) {
	e := h[i]
	for i > 0 {
		p := (i - 1) / 2
		if h[p].due <= e.due {
			break
		}
		h[i] = h[p]
		h[i].hidx = int32(i)
		i = p
	}
	h[i] = e
	e.hidx = int32(i)
}

// down sifts h[i] down and reports whether it moved.
func (h timerHeap) down(i int) bool {
	e := h[i]
	start := i
	n := len(h)
	for {
		c := 2*i + 1
		if c >= n {
			break
		}
		if r := c + 1; r < n && h[r].due < h[c].due {
			c = r
		}
		if e.due <= h[c].due {
			break
		}
		h[i] = h[c]
		h[i].hidx = int32(i)
		i = c
	}
	h[i] = e
	e.hidx = int32(i)
	return i > start
}
