package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"
)

// heartbeatEvery keeps proxies from closing an idle stream.
const heartbeatEvery = 15 * time.Second

// events streams the node's transitions to the open pages as server-sent
// events (event "state", data liveEvent), from the log's cursor: a page
// that reconnects with Last-Event-ID (the cursor) misses nothing this
// node logged meanwhile. It ends when the client goes, on Close, or when
// the log closes.
func (h *Handler) events(w http.ResponseWriter, r *http.Request, _ visitor) {
	if h.d.Log == nil {
		h.fail(w, r, http.StatusNotFound, "No live updates", "this node has no transition log")
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	go func() { // ends with the request
		select {
		case <-h.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	lg := h.d.Log
	cursor := lg.Last()
	if n, err := strconv.ParseInt(r.Header.Get("Last-Event-ID"), 10, 64); err == nil && n >= 0 && n <= cursor {
		cursor = n
	}
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{})
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-cache")
	hd.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write([]byte("retry: 2000\n: connected\n\n")); err != nil || rc.Flush() != nil {
		return
	}
	// Wait wakes on a new transition; a timer wakes it for heartbeats.
	for {
		wctx, wcancel := context.WithTimeout(ctx, heartbeatEvery)
		err := lg.Wait(wctx, cursor)
		wcancel()
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				if _, err := w.Write([]byte(": heartbeat\n\n")); err != nil || rc.Flush() != nil {
					return
				}
				continue
			}
			return // the log closed
		}
		ts, err := lg.Read(ctx, cursor, 256)
		if err != nil {
			return
		}
		if len(ts) == 0 { // nothing readable after all: do not spin
			cursor = max(cursor, lg.Last())
			continue
		}
		var buf []byte
		for i := range ts {
			t := &ts[i]
			cursor = max(cursor, t.Seq)
			if t.Type != "" {
				continue
			}
			data, _ := json.Marshal(liveOf(t))
			buf = append(buf, "id: "...)
			buf = strconv.AppendInt(buf, t.Seq, 10)
			buf = append(buf, "\nevent: state\ndata: "...)
			buf = append(buf, data...)
			buf = append(buf, "\n\n"...)
		}
		if len(buf) > 0 {
			if _, err := w.Write(buf); err != nil || rc.Flush() != nil {
				return
			}
		}
	}
}
