package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/heckhq/heck/internal/events"
)

// events streams transitions as server-sent events:
//
//	event: transition   data: events.Transition as JSON
//	event: dropped      data: {"dropped": n}, when the client fell behind
//
// and a ": heartbeat" comment every Options.Heartbeat. ?target=ID keeps
// only that target's transitions. The stream ends when the client goes,
// the server closes (Server.Close) or the backend's bus closes.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	only := r.URL.Query().Get("target")
	sub := s.b.Subscribe()
	defer sub.Close()

	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // a stream outlives any write timeout
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write([]byte("retry: 3000\n: connected\n\n")); err != nil {
		return
	}
	if rc.Flush() != nil {
		return
	}

	tick := time.NewTicker(s.opts.Heartbeat)
	defer tick.Stop()
	var buf bytes.Buffer
	var seq uint64
	send := func() bool {
		ts, dropped := sub.Drain()
		buf.Reset()
		if dropped > 0 {
			d, _ := json.Marshal(Dropped{Dropped: dropped})
			buf.WriteString("event: dropped\ndata: ")
			buf.Write(d)
			buf.WriteString("\n\n")
		}
		for _, t := range ts {
			if only != "" && t.TargetID != only {
				continue
			}
			seq++
			writeTransition(&buf, seq, t)
		}
		if buf.Len() == 0 {
			return true
		}
		if _, err := w.Write(buf.Bytes()); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.done:
			return
		case <-sub.Done():
			send()
			return
		case <-sub.C():
			if !send() {
				return
			}
		case <-tick.C:
			if _, err := w.Write([]byte(": heartbeat\n\n")); err != nil || rc.Flush() != nil {
				return
			}
		}
	}
}

func writeTransition(buf *bytes.Buffer, seq uint64, t events.Transition) {
	d, err := json.Marshal(t)
	if err != nil {
		return
	}
	buf.WriteString("id: ")
	buf.WriteString(strconv.FormatUint(seq, 10))
	buf.WriteString("\nevent: transition\ndata: ")
	buf.Write(d)
	buf.WriteString("\n\n")
}
