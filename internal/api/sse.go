package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/heckhq/heck/internal/events"
)

// events streams the node's log of transitions, every target's, as
// server-sent events:
//
//	id: <transition id>   event: transition   data: events.Transition as JSON
//
// and a ": heartbeat" comment every Options.Heartbeat. ?target=ID keeps
// only that target's transitions. A client that reconnects with
// Last-Event-ID (or ?after=ID) gets every transition this node logged
// after that one, from the store if need be, then the live ones: no gap,
// no duplicate. A slow client is never dropped from: it reads on from the
// log at its own pace. The stream ends when the client goes, the server
// closes (Server.Close) or the log closes.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	only := r.URL.Query().Get("target")
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	go func() {
		select {
		case <-s.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	lg := s.b.TransitionLog()
	cursor := lg.Last()
	after := r.Header.Get("Last-Event-ID")
	if after == "" {
		after = r.URL.Query().Get("after")
	}
	if after != "" {
		if seq, ok := lg.SeqOf(ctx, after); ok {
			cursor = seq
		}
	}

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

	var buf bytes.Buffer
	for {
		wctx, wcancel := context.WithTimeout(ctx, s.opts.Heartbeat)
		err := lg.Wait(wctx, cursor)
		wcancel()
		switch {
		case ctx.Err() != nil, errors.Is(err, events.ErrClosed):
			return
		case err != nil: // the heartbeat is due
			if _, err := w.Write([]byte(": heartbeat\n\n")); err != nil || rc.Flush() != nil {
				return
			}
			continue
		}
		ts, err := lg.Read(ctx, cursor, 256)
		if err != nil {
			s.log.Warn("event stream: read the transition log", "err", err)
			return
		}
		buf.Reset()
		for _, t := range ts {
			cursor = t.Seq
			if only != "" && t.TargetID != only {
				continue
			}
			writeTransition(&buf, t)
		}
		if buf.Len() == 0 {
			continue
		}
		if _, err := w.Write(buf.Bytes()); err != nil || rc.Flush() != nil {
			return
		}
	}
}

func writeTransition(buf *bytes.Buffer, t events.Transition) {
	d, err := json.Marshal(t)
	if err != nil {
		return
	}
	id := t.ID
	if id == "" {
		id = strconv.FormatInt(t.Seq, 10)
	}
	buf.WriteString("id: ")
	buf.WriteString(id)
	buf.WriteString("\nevent: ")
	buf.WriteString(t.Kind())
	buf.WriteString("\ndata: ")
	buf.Write(d)
	buf.WriteString("\n\n")
}
