package api

import (
	"bufio"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"

	"github.com/heckhq/heck/internal/health"
)

// metricsHandler serves /metrics. Without per-target series it is
// promhttp's handler. With them, the registry's families are encoded as
// text and heck_target_up{id} is then written line by line straight from
// the backend's states, so a scrape costs memory in proportion to one
// buffered response instead of one dto.Metric (labels, strings, sorting)
// per target: at 5,000 targets promhttp built 5,000 const metrics per
// scrape. The answer is always the text format (gzip when asked), which
// every Prometheus accepts.
func (s *Server) metricsHandler() http.Handler {
	if !s.opts.PerTargetMetrics {
		return promhttp.HandlerFor(s.opts.Registry, promhttp.HandlerOpts{})
	}
	format := expfmt.NewFormat(expfmt.TypeTextPlain)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mfs, err := s.opts.Registry.Gather()
		if err != nil {
			s.log.Warn("api: gathering metrics", "err", err)
			http.Error(w, "gathering metrics: "+err.Error(), http.StatusInternalServerError)
			return
		}
		h := w.Header()
		h.Set("Content-Type", string(format))
		var out io.Writer = w
		if acceptsGzip(r) {
			h.Set("Content-Encoding", "gzip")
			h.Add("Vary", "Accept-Encoding")
			gz := gzipPool.Get().(*gzip.Writer)
			gz.Reset(w)
			defer func() {
				_ = gz.Close()
				gz.Reset(io.Discard)
				gzipPool.Put(gz)
			}()
			out = gz
		}
		bw := bufPool.Get().(*bufio.Writer)
		bw.Reset(out)
		defer func() {
			bw.Reset(io.Discard)
			bufPool.Put(bw)
		}()
		enc := expfmt.NewEncoder(bw, format)
		for _, mf := range mfs {
			if err := enc.Encode(mf); err != nil {
				return // the client went away
			}
		}
		s.writeTargetUp(bw)
		_ = bw.Flush()
	})
}

var (
	gzipPool = sync.Pool{New: func() any { return gzip.NewWriter(io.Discard) }}
	bufPool  = sync.Pool{New: func() any { return bufio.NewWriterSize(io.Discard, 32<<10) }}
)

func acceptsGzip(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept-Encoding") {
		for part := range strings.SplitSeq(v, ",") {
			if enc, _, _ := strings.Cut(strings.TrimSpace(part), ";"); strings.EqualFold(enc, "gzip") {
				return true
			}
		}
	}
	return false
}

// writeTargetUp writes the heck_target_up family in the text exposition
// format, one line per target, without building any per-target value.
func (s *Server) writeTargetUp(bw *bufio.Writer) {
	bw.WriteString("# HELP " + MetricTargetUp + " Whether a target is up (1), down (0) or neither (-1).\n")
	bw.WriteString("# TYPE " + MetricTargetUp + " gauge\n")
	each := func(id string, st health.State) {
		bw.WriteString(MetricTargetUp + `{id="`)
		writeLabelValue(bw, id)
		switch st {
		case health.Up:
			bw.WriteString("\"} 1\n")
		case health.Down:
			bw.WriteString("\"} 0\n")
		default:
			bw.WriteString("\"} -1\n")
		}
	}
	if ss, ok := s.b.(StateSource); ok {
		ss.EachState(each)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, t := range s.b.Targets(ctx) {
		each(t.ID, t.State)
	}
}

// writeLabelValue writes v escaped as the text format wants: backslash,
// double quote and line feed.
func writeLabelValue(bw *bufio.Writer, v string) {
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '\\':
			bw.WriteString(`\\`)
		case '"':
			bw.WriteString(`\"`)
		case '\n':
			bw.WriteString(`\n`)
		default:
			bw.WriteByte(c)
		}
	}
}
